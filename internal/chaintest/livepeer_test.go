package chaintest

import (
	"context"
	"fmt"
	"math"
	"math/big"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/livepeer/go-livepeer/eth/contracts"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// goLivepeerNames are the names go-livepeer's eth client resolves through
// the Controller (eth/client.go setContracts).
var goLivepeerNames = []string{
	"LivepeerToken", "ServiceRegistry", "BondingManager", "TicketBroker",
	"RoundsManager", "Minter", "LivepeerTokenFaucet",
}

// TestDeployLivepeer deploys the protocol on a real dev chain and goes
// through what a go-livepeer orchestrator and broadcaster need: every
// contract resolvable through the Controller, an active orchestrator with
// its terms and service URI, a funded broadcaster.
func TestDeployLivepeer(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	began := time.Now()
	n, err := StartChain(ctx, Options{})
	require.NoError(t, err)
	defer func() { assert.NoError(t, n.Close()) }()
	t.Logf("chain up in %s", time.Since(began).Round(time.Millisecond))

	began = time.Now()
	lp, err := n.DeployLivepeer(ctx, LivepeerOptions{})
	require.NoError(t, err)
	t.Logf("protocol deployed in %s, controller %s", time.Since(began).Round(time.Millisecond), lp.Controller)

	want := map[string]common.Address{
		"LivepeerToken": lp.LivepeerToken, "ServiceRegistry": lp.ServiceRegistry, "BondingManager": lp.BondingManager,
		"TicketBroker": lp.TicketBroker, "RoundsManager": lp.RoundsManager, "Minter": lp.Minter,
		"LivepeerTokenFaucet": lp.LivepeerTokenFaucet,
	}
	for _, name := range goLivepeerNames {
		var addr common.Address
		require.NoError(t, call(ctx, lp.controller, &addr, "getContract", crypto.Keccak256Hash([]byte(name))))
		code, err := n.chain.eth.CodeAt(ctx, addr, nil)
		require.NoError(t, err)
		assert.NotEmpty(t, code, "%s at %s has no code", name, addr)
		assert.Equal(t, want[name], addr, name)
	}
	var paused bool
	require.NoError(t, call(ctx, lp.controller, &paused, "paused"))
	assert.False(t, paused, "controller paused")
	assert.EqualValues(t, 20, lp.Options.RoundLength)
	for _, p := range []struct {
		c      *contract
		getter string
		want   uint64
	}{
		{lp.rounds, "roundLength", lp.Options.RoundLength},
		{lp.rounds, "roundLockAmount", lp.Options.RoundLockAmount},
		{lp.bonding, "getTranscoderPoolMaxSize", lp.Options.NumActiveTranscoders},
		{lp.bonding, "unbondingPeriod", lp.Options.UnbondingPeriod},
		{lp.broker, "ticketValidityPeriod", lp.Options.TicketValidityPeriod},
		{lp.broker, "unlockPeriod", lp.Options.UnlockPeriod},
	} {
		var res []any
		require.NoError(t, p.c.bound.Call(&bind.CallOpts{Context: ctx}, &res, p.getter))
		assert.Equal(t, new(big.Int).SetUint64(p.want).String(), fmt.Sprint(res[0]), "%s.%s", p.c.name, p.getter)
	}

	began = time.Now()
	orch, err := crypto.GenerateKey()
	require.NoError(t, err)
	bcast, err := crypto.GenerateKey()
	require.NoError(t, err)
	orchAddr, bcastAddr := crypto.PubkeyToAddress(orch.PublicKey), crypto.PubkeyToAddress(bcast.PublicKey)
	require.NoError(t, n.Fund(ctx, orchAddr, big.NewInt(1e18), nil))
	require.NoError(t, n.Fund(ctx, bcastAddr, new(big.Int).Mul(big.NewInt(10), big.NewInt(1e18)), nil))
	stake := lpt(1000)
	require.NoError(t, lp.MintLPT(ctx, orchAddr, stake))
	const rewardCut, feeShare, uri = 100_000, 500_000, "https://127.0.0.1:8935"
	require.NoError(t, lp.ActivateOrchestrator(ctx, orch, stake, rewardCut, feeShare, uri))
	deposit, reserve := big.NewInt(3e18), big.NewInt(2e18)
	require.NoError(t, lp.FundBroadcaster(ctx, bcast, deposit, reserve))
	t.Logf("orchestrator and broadcaster set up in %s", time.Since(began).Round(time.Millisecond))

	began = time.Now()
	round, err := lp.NextRound(ctx)
	require.NoError(t, err)
	t.Logf("round %d reached and initialized in %s", round, time.Since(began).Round(time.Millisecond))

	active, err := lp.IsActiveTranscoder(ctx, orchAddr)
	require.NoError(t, err)
	assert.True(t, active, "orchestrator active in round %d", round)
	gotDeposit, gotReserve, err := lp.SenderInfo(ctx, bcastAddr)
	require.NoError(t, err)
	assert.Zero(t, deposit.Cmp(gotDeposit), "deposit %s, want %s", gotDeposit, deposit)
	assert.Zero(t, reserve.Cmp(gotReserve), "reserve %s, want %s", gotReserve, reserve)
	info, err := lp.Orchestrator(ctx, orchAddr)
	require.NoError(t, err)
	assert.True(t, info.Registered)
	assert.EqualValues(t, rewardCut, info.RewardCut)
	assert.EqualValues(t, feeShare, info.FeeShare)
	assert.Equal(t, uri, info.ServiceURI)
	// Registered in the round before round, unless that ended while the
	// test was setting up: then earlier.
	assert.LessOrEqual(t, info.ActivationRound, round)
	assert.Positive(t, info.ActivationRound)
	assert.EqualValues(t, uint64(math.MaxUint64), info.DeactivationRound)
	assert.Zero(t, stake.Cmp(info.TotalStake), "stake %s, want %s", info.TotalStake, stake)
	fees, err := lp.PendingFees(ctx, orchAddr, round)
	require.NoError(t, err)
	assert.Zero(t, fees.Sign(), "pending fees before any ticket: %s", fees)
}

// TestLivepeerActivateWaitsOutTheLock: asked to register in the
// locked end of a round, ActivateOrchestrator registers in the next round
// instead, so the orchestrator becomes active the round after that. Also
// non-default options: a 10-block round, 3 of them locked.
func TestLivepeerActivateWaitsOutTheLock(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	n, err := StartChain(ctx, Options{})
	require.NoError(t, err)
	defer func() { assert.NoError(t, n.Close()) }()
	lp, err := n.DeployLivepeer(ctx, LivepeerOptions{RoundLength: 10, RoundLockAmount: 300_000})
	require.NoError(t, err)
	var lockAmount *big.Int
	require.NoError(t, call(ctx, lp.rounds, &lockAmount, "roundLockAmount"))
	assert.EqualValues(t, 300_000, lockAmount.Uint64())

	key, err := crypto.GenerateKey()
	require.NoError(t, err)
	addr := crypto.PubkeyToAddress(key.PublicKey)
	require.NoError(t, n.Fund(ctx, addr, big.NewInt(1e18), nil))
	stake := lpt(10)
	require.NoError(t, lp.MintLPT(ctx, addr, stake))
	require.Error(t, lp.ActivateOrchestrator(ctx, key, stake, 1_000_001, 0, "https://127.0.0.1:8935"), "reward cut above 100%")
	require.Error(t, lp.ActivateOrchestrator(ctx, key, lpt(11), 0, 0, "https://127.0.0.1:8935"), "stake above the balance")

	var lockedRound uint64
	err = n.chain.proc.waitUntil(ctx, 30*time.Second, 100*time.Millisecond, "a locked round",
		func(ctx context.Context) (bool, error) {
			head, err := n.chain.eth.BlockNumber(ctx)
			if err != nil {
				return false, err
			}
			// Both at one block: the round may end between two calls.
			at := &bind.CallOpts{Context: ctx, BlockNumber: new(big.Int).SetUint64(head)}
			var locked bool
			var round *big.Int
			if err := lp.rounds.bound.Call(at, &[]any{&locked}, "currentRoundLocked"); err != nil {
				return false, err
			}
			if err := lp.rounds.bound.Call(at, &[]any{&round}, "currentRound"); err != nil {
				return false, err
			}
			lockedRound = round.Uint64()
			return locked, nil
		})
	require.NoError(t, err)
	require.NoError(t, lp.ActivateOrchestrator(ctx, key, stake, 0, 0, "https://127.0.0.1:8935"))
	info, err := lp.Orchestrator(ctx, addr)
	require.NoError(t, err)
	assert.True(t, info.Registered)
	assert.Equal(t, lockedRound+2, info.ActivationRound, "registered in the locked round %d", lockedRound)
	active, err := lp.IsActiveTranscoder(ctx, addr)
	require.NoError(t, err)
	assert.False(t, active, "active in the round it registered in")
}

func TestLivepeerOptions(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      LivepeerOptions
		want    LivepeerOptions
		wantErr bool
	}{
		{"defaults", LivepeerOptions{}, LivepeerOptions{RoundLength: 20, RoundLockAmount: 100_000,
			NumActiveTranscoders: 10, UnbondingPeriod: 2, TicketValidityPeriod: 2, UnlockPeriod: 3}, false},
		{"kept", LivepeerOptions{RoundLength: 50, RoundLockAmount: 1, NumActiveTranscoders: 1,
			UnbondingPeriod: 7, TicketValidityPeriod: 1, UnlockPeriod: 40},
			LivepeerOptions{RoundLength: 50, RoundLockAmount: 1, NumActiveTranscoders: 1,
				UnbondingPeriod: 7, TicketValidityPeriod: 1, UnlockPeriod: 40}, false},
		{"whole round locked", LivepeerOptions{RoundLockAmount: 1_000_000}, LivepeerOptions{}, true},
		{"no block left to register in", LivepeerOptions{RoundLength: 2, RoundLockAmount: 500_000}, LivepeerOptions{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.in.withDefaults()
			if tc.wantErr {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

// TestLivepeerABIsMatchGoLivepeer: every method and event of go-livepeer's
// bindings exists in the deployed artifacts with the same selector or
// topic, and the views return the same types, so go-livepeer v0.7.9 can
// drive these contracts. The exceptions are the old L1 token's
// Ownable/MintableToken parts, which go-livepeer never calls (its client
// uses only transfer, approve, allowance, balanceOf and totalSupply).
func TestLivepeerABIsMatchGoLivepeer(t *testing.T) {
	dir, err := LivepeerArtifacts()
	require.NoError(t, err)
	for _, tc := range []struct {
		name       string // key in livepeerArtifactPaths
		goLivepeer string
		unused     []string // in go-livepeer's ABI, never called by it
	}{
		{"Controller", contracts.ControllerMetaData.ABI, nil},
		{"LivepeerToken", contracts.LivepeerTokenMetaData.ABI, []string{
			"owner", "transferOwnership", "finishMinting", "version", "mintingFinished",
			"MintFinished", "OwnershipTransferred",
		}},
		{"ServiceRegistry", contracts.ServiceRegistryMetaData.ABI, nil},
		{"BondingManager", contracts.BondingManagerMetaData.ABI, nil},
		{"TicketBroker", contracts.TicketBrokerMetaData.ABI, nil},
		{"RoundsManager", contracts.RoundsManagerMetaData.ABI, nil},
		{"Minter", contracts.MinterMetaData.ABI, nil},
		{"LivepeerTokenFaucet", contracts.LivepeerTokenFaucetMetaData.ABI, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			theirs, err := abi.JSON(strings.NewReader(tc.goLivepeer))
			require.NoError(t, err)
			art, err := loadArtifact(dir, tc.name)
			require.NoError(t, err)
			ours := art.abi
			for name, m := range theirs.Methods {
				got, ok := ours.Methods[name]
				if slices.Contains(tc.unused, name) {
					if ok {
						t.Logf("%s, listed as unused, is in the artifact", m.Sig)
					}
					continue
				}
				if !assert.True(t, ok, "method %s missing", m.Sig) {
					continue
				}
				assert.Equal(t, m.Sig, got.Sig, "method %s", name)
				assert.Equal(t, m.ID, got.ID, "selector of %s", m.Sig)
				// Only a view's results are decoded; a transaction's are not.
				if m.IsConstant() {
					assert.Equal(t, argTypes(m.Outputs), argTypes(got.Outputs), "results of %s", m.Sig)
				}
			}
			for name, e := range theirs.Events {
				got, ok := ours.Events[name]
				if slices.Contains(tc.unused, name) {
					continue
				}
				if !assert.True(t, ok, "event %s missing", e.Sig) {
					continue
				}
				assert.Equal(t, e.ID, got.ID, "topic of %s", e.Sig)
				assert.Equal(t, indexed(e.Inputs), indexed(got.Inputs), "indexed fields of %s", e.Sig)
			}
			for name, m := range ours.Methods {
				if _, ok := theirs.Methods[name]; !ok {
					t.Logf("only in the artifact: method %s", m.Sig)
				}
			}
			for name, e := range ours.Events {
				if _, ok := theirs.Events[name]; !ok {
					t.Logf("only in the artifact: event %s", e.Sig)
				}
			}
		})
	}
}

func argTypes(args abi.Arguments) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = a.Type.String()
	}
	return out
}

func indexed(args abi.Arguments) []bool {
	out := make([]bool, len(args))
	for i, a := range args {
		out[i] = a.Indexed
	}
	return out
}

// TestLivepeerArtifactsOverride: LIVEPEER_SDK_DIR may name the package or
// its abis directory, and a directory without artifacts is
// ErrNoLivepeerProtocol, never a skip.
func TestLivepeerArtifactsOverride(t *testing.T) {
	installed, err := LivepeerArtifacts()
	require.NoError(t, err)
	for _, tc := range []struct {
		name, env string
		wantErr   bool
	}{
		{"package dir", filepath.Dir(installed), false},
		{"abis dir", installed, false},
		{"empty dir", t.TempDir(), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("LIVEPEER_SDK_DIR", tc.env)
			got, err := LivepeerArtifacts()
			if tc.wantErr {
				require.ErrorIs(t, err, ErrNoLivepeerProtocol)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, installed, got)
		})
	}
	t.Run("empty cache", func(t *testing.T) {
		t.Setenv("ARCHIVER_CACHE", t.TempDir())
		t.Setenv("LIVEPEER_SDK_DIR", "")
		_, err := LivepeerArtifacts()
		require.ErrorIs(t, err, ErrNoLivepeerProtocol)
	})
}
