package chaintest

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
)

// activationMargin is how many blocks before the round lock
// ActivateOrchestrator wants to send its transactions: they are mined in
// the next block or the one after, and bond and transcoder must be mined
// before the lock.
const activationMargin = 3

// transcoderRegistered is BondingManager.TranscoderStatus.Registered.
const transcoderRegistered = 1

// senderOf returns the one sender of key's address; nil means the dev
// account, which deployed the protocol.
func (lp *Livepeer) senderOf(key *ecdsa.PrivateKey) *sender {
	if key == nil || crypto.PubkeyToAddress(key.PublicKey) == lp.net.dev.address() {
		return lp.net.dev
	}
	return lp.net.senderFor(key)
}

// read calls a view function and copies its results into out: a pointer
// to the one result's type, or to a struct with a field per named result.
func read(ctx context.Context, c *contract, out any, method string, args ...any) error {
	var res []any
	if err := c.bound.Call(&bind.CallOpts{Context: ctx}, &res, method, args...); err != nil {
		return fmt.Errorf("chaintest: %s.%s: %w", c.name, method, err)
	}
	if err := c.abi.Methods[method].Outputs.Copy(out, res); err != nil {
		return fmt.Errorf("chaintest: %s.%s result: %w", c.name, method, err)
	}
	return nil
}

// MintLPT mints amount LPT (in its 18-decimal base unit) to the address
// from the dev account, which holds the token's minter role, and waits
// until it is mined.
func (lp *Livepeer) MintLPT(ctx context.Context, to common.Address, amount *big.Int) error {
	if amount == nil || amount.Sign() <= 0 {
		return fmt.Errorf("chaintest: mint %v LPT: must be positive", amount)
	}
	tx, err := lp.net.dev.transact(ctx, lp.token, gasProtocolCall, "mint", to, amount)
	if err != nil {
		return err
	}
	_, err = lp.net.chain.waitMined(ctx, pendingTx{"LPT to " + to.Hex(), tx})
	return err
}

// LPTBalance returns the address's LPT balance in the base unit.
func (lp *Livepeer) LPTBalance(ctx context.Context, addr common.Address) (*big.Int, error) {
	var b *big.Int
	if err := read(ctx, lp.token, &b, "balanceOf", addr); err != nil {
		return nil, err
	}
	return b, nil
}

// ActivateOrchestrator registers key's address as an orchestrator that
// bonds stake to itself: approve the BondingManager, bond(stake, self),
// transcoder(rewardCut, feeShare) and ServiceRegistry.setServiceURI, sent
// together and waited for. rewardCut and feeShare are millionths (1e6 is
// 100%); serviceURI is what broadcasters dial (go-livepeer's
// -serviceAddr, as https://host:port). The key needs ETH for gas (Net.Fund)
// and at least stake LPT (MintLPT).
//
// The protocol refuses new terms in the locked end of a round and any bond
// before the round is initialized: it first initializes the current round
// and, when the lock is too near, waits for the next one. The orchestrator
// joins the active set from the next round on: NextRound, then
// IsActiveTranscoder reports it.
func (lp *Livepeer) ActivateOrchestrator(ctx context.Context, key *ecdsa.PrivateKey, stake *big.Int,
	rewardCut, feeShare uint32, serviceURI string) error {
	if key == nil {
		return errors.New("chaintest: ActivateOrchestrator needs the orchestrator's key")
	}
	if stake == nil || stake.Sign() <= 0 {
		return fmt.Errorf("chaintest: stake %v: must be positive", stake)
	}
	if rewardCut > percDivisor || feeShare > percDivisor {
		return fmt.Errorf("chaintest: reward cut %d and fee share %d: must be at most %d", rewardCut, feeShare, percDivisor)
	}
	addr := crypto.PubkeyToAddress(key.PublicKey)
	balance, err := lp.LPTBalance(ctx, addr)
	if err != nil {
		return err
	}
	if balance.Cmp(stake) < 0 {
		return fmt.Errorf("chaintest: %s has %s LPT base units, stake is %s: MintLPT first", addr, balance, stake)
	}
	if err := lp.InitializeRound(ctx, nil); err != nil {
		return err
	}
	if err := lp.waitUnlocked(ctx); err != nil {
		return err
	}
	s := lp.senderOf(key)
	// Sent together: each is mined after the one before it (next nonce),
	// which is all each needs. Hence explicit gas.
	var txs []pendingTx
	for _, c := range []struct {
		c      *contract
		gas    uint64
		method string
		args   []any
	}{
		{lp.token, gasProtocolCall, "approve", []any{lp.BondingManager, stake}},
		{lp.bonding, gasBond, "bond", []any{stake, addr}},
		{lp.bonding, gasBond, "transcoder", []any{big.NewInt(int64(rewardCut)), big.NewInt(int64(feeShare))}},
		{lp.registry, gasProtocolCall, "setServiceURI", []any{serviceURI}},
	} {
		tx, err := s.transact(ctx, c.c, c.gas, c.method, c.args...)
		if err != nil {
			return err
		}
		txs = append(txs, pendingTx{label: c.c.name + "." + c.method + " from " + addr.Hex(), hash: tx})
	}
	if _, err := lp.net.chain.waitMined(ctx, txs...); err != nil {
		return fmt.Errorf("chaintest: activate orchestrator %s: %w", addr, err)
	}
	var status uint8
	if err := read(ctx, lp.bonding, &status, "transcoderStatus", addr); err != nil {
		return err
	}
	if status != transcoderRegistered {
		return fmt.Errorf("chaintest: %s: transcoder status %d after bond and transcoder, want registered", addr, status)
	}
	lp.net.log.Info("orchestrator registered", "address", addr, "stake", stake, "serviceURI", serviceURI)
	return nil
}

// waitUnlocked returns when the current round is initialized and at least
// activationMargin blocks remain before its lock, waiting for the next
// round (and initializing it) when they do not.
func (lp *Livepeer) waitUnlocked(ctx context.Context) error {
	length := lp.opts.RoundLength
	locked := length * lp.opts.RoundLockAmount / percDivisor
	for {
		head, err := lp.net.chain.eth.BlockNumber(ctx)
		if err != nil {
			return fmt.Errorf("chaintest: block number: %w", err)
		}
		// Both read at head, so they describe the same round.
		at := &bind.CallOpts{Context: ctx, BlockNumber: new(big.Int).SetUint64(head)}
		var round, start *big.Int
		if err := lp.rounds.bound.Call(at, &[]any{&round}, "currentRound"); err != nil {
			return fmt.Errorf("chaintest: RoundsManager.currentRound: %w", err)
		}
		if err := lp.rounds.bound.Call(at, &[]any{&start}, "currentRoundStartBlock"); err != nil {
			return fmt.Errorf("chaintest: RoundsManager.currentRoundStartBlock: %w", err)
		}
		if head+activationMargin < start.Uint64()+length-locked {
			return nil
		}
		if err := lp.WaitRound(ctx, round.Uint64()+1); err != nil {
			return err
		}
	}
}

// FundBroadcaster pays deposit + reserve wei from key into the
// TicketBroker as key's deposit and reserve (fundDepositAndReserve), what
// a go-livepeer broadcaster pays orchestrators' tickets from, and waits
// until it is mined. The key needs that much ETH and some for gas.
func (lp *Livepeer) FundBroadcaster(ctx context.Context, key *ecdsa.PrivateKey, deposit, reserve *big.Int) error {
	if key == nil {
		return errors.New("chaintest: FundBroadcaster needs the broadcaster's key")
	}
	if deposit == nil || reserve == nil || deposit.Sign() < 0 || reserve.Sign() < 0 {
		return fmt.Errorf("chaintest: deposit %v and reserve %v: must not be negative", deposit, reserve)
	}
	s := lp.senderOf(key)
	value := new(big.Int).Add(deposit, reserve)
	tx, err := s.send(ctx, gasRound, value, func(opts *bind.TransactOpts) (*types.Transaction, error) {
		return lp.broker.bound.Transact(opts, "fundDepositAndReserve", deposit, reserve)
	})
	if err != nil {
		return fmt.Errorf("chaintest: TicketBroker.fundDepositAndReserve from %s: %w", s.address(), err)
	}
	_, err = lp.net.chain.waitMined(ctx, pendingTx{"TicketBroker.fundDepositAndReserve from " + s.address().Hex(), tx})
	return err
}

// InitializeRound initializes the current round from key (nil: the dev
// account), as an orchestrator's -initializeRound does; nothing when it is
// already initialized. Bonding, registering and redeeming tickets need an
// initialized round, and a round's tickets need the block hash it records.
func (lp *Livepeer) InitializeRound(ctx context.Context, key *ecdsa.PrivateKey) error {
	done, err := lp.roundInitialized(ctx)
	if err != nil || done {
		return err
	}
	s := lp.senderOf(key)
	tx, err := s.transact(ctx, lp.rounds, gasRound, "initializeRound")
	if err != nil {
		return err
	}
	if _, err := lp.net.chain.waitMined(ctx, pendingTx{"RoundsManager.initializeRound", tx}); err != nil {
		// A go-livepeer orchestrator that initialized the round first makes
		// ours revert with "round already initialized".
		if done, rerr := lp.roundInitialized(ctx); rerr == nil && done {
			return nil
		}
		return err
	}
	return nil
}

func (lp *Livepeer) roundInitialized(ctx context.Context) (bool, error) {
	var done bool
	err := read(ctx, lp.rounds, &done, "currentRoundInitialized")
	return done, err
}

// CurrentRound returns the protocol's current round: the chain's block
// number divided by the round length.
func (lp *Livepeer) CurrentRound(ctx context.Context) (uint64, error) {
	var r *big.Int
	if err := read(ctx, lp.rounds, &r, "currentRound"); err != nil {
		return 0, err
	}
	return r.Uint64(), nil
}

// WaitRound waits until the chain has reached round (a block a second
// makes a round last RoundLength seconds) and initializes the current
// round from the dev account.
func (lp *Livepeer) WaitRound(ctx context.Context, round uint64) error {
	cur, err := lp.CurrentRound(ctx)
	if err != nil {
		return err
	}
	if cur < round {
		blocks := (round - cur) * lp.opts.RoundLength
		limit := 2*time.Duration(blocks)*time.Second + 10*time.Second
		err := lp.net.chain.proc.waitUntil(ctx, limit, 250*time.Millisecond, fmt.Sprintf("livepeer round %d", round),
			func(ctx context.Context) (bool, error) {
				cur, err := lp.CurrentRound(ctx)
				return err == nil && cur >= round, err
			})
		if err != nil {
			return err
		}
	}
	return lp.InitializeRound(ctx, nil)
}

// NextRound waits for the round after the current one, initializes it and
// returns it.
func (lp *Livepeer) NextRound(ctx context.Context) (uint64, error) {
	cur, err := lp.CurrentRound(ctx)
	if err != nil {
		return 0, err
	}
	if err := lp.WaitRound(ctx, cur+1); err != nil {
		return 0, err
	}
	return cur + 1, nil
}

// SenderInfo returns a broadcaster's deposit and reserve in the
// TicketBroker, in wei (getSenderInfo).
func (lp *Livepeer) SenderInfo(ctx context.Context, addr common.Address) (deposit, reserve *big.Int, err error) {
	var info struct {
		Sender  struct{ Deposit, WithdrawRound *big.Int }
		Reserve struct{ FundsRemaining, ClaimedInCurrentRound *big.Int }
	}
	if err := read(ctx, lp.broker, &info, "getSenderInfo", addr); err != nil {
		return nil, nil, err
	}
	return info.Sender.Deposit, info.Reserve.FundsRemaining, nil
}

// PendingFees returns the fees, in wei, a delegator (an orchestrator is
// its own) can claim as of endRound (BondingManager.pendingFees).
func (lp *Livepeer) PendingFees(ctx context.Context, addr common.Address, endRound uint64) (*big.Int, error) {
	var fees *big.Int
	if err := read(ctx, lp.bonding, &fees, "pendingFees", addr, new(big.Int).SetUint64(endRound)); err != nil {
		return nil, err
	}
	return fees, nil
}

// IsActiveTranscoder reports whether the address is in the current round's
// active set, the orchestrators broadcasters pick from.
func (lp *Livepeer) IsActiveTranscoder(ctx context.Context, addr common.Address) (bool, error) {
	var active bool
	err := read(ctx, lp.bonding, &active, "isActiveTranscoder", addr)
	return active, err
}

// OrchestratorInfo is what the protocol records of an orchestrator.
type OrchestratorInfo struct {
	Registered bool // transcoderStatus is Registered
	// RewardCut and FeeShare are millionths, as given to transcoder().
	RewardCut, FeeShare uint32
	// ActivationRound is the first round it is active in;
	// DeactivationRound the first it no longer is: math.MaxUint64 while it
	// stays, 0 before it registered.
	ActivationRound, DeactivationRound uint64
	LastRewardRound                    uint64
	TotalStake                         *big.Int // LPT base units bonded to it
	ServiceURI                         string   // from the ServiceRegistry
}

// Orchestrator reads what BondingManager.getTranscoder, transcoderStatus,
// transcoderTotalStake and ServiceRegistry.getServiceURI say of addr.
func (lp *Livepeer) Orchestrator(ctx context.Context, addr common.Address) (OrchestratorInfo, error) {
	var t struct {
		LastRewardRound, RewardCut, FeeShare, LastActiveStakeUpdateRound, ActivationRound, DeactivationRound,
		ActiveCumulativeRewards, CumulativeRewards, CumulativeFees, LastFeeRound *big.Int
	}
	if err := read(ctx, lp.bonding, &t, "getTranscoder", addr); err != nil {
		return OrchestratorInfo{}, err
	}
	info := OrchestratorInfo{
		RewardCut: uint32(t.RewardCut.Uint64()), FeeShare: uint32(t.FeeShare.Uint64()),
		ActivationRound: t.ActivationRound.Uint64(), DeactivationRound: t.DeactivationRound.Uint64(),
		LastRewardRound: t.LastRewardRound.Uint64(),
	}
	// An orchestrator that stays has 2^256-1 there.
	if !t.DeactivationRound.IsUint64() {
		info.DeactivationRound = math.MaxUint64
	}
	var status uint8
	if err := read(ctx, lp.bonding, &status, "transcoderStatus", addr); err != nil {
		return OrchestratorInfo{}, err
	}
	info.Registered = status == transcoderRegistered
	if err := read(ctx, lp.bonding, &info.TotalStake, "transcoderTotalStake", addr); err != nil {
		return OrchestratorInfo{}, err
	}
	if err := read(ctx, lp.registry, &info.ServiceURI, "getServiceURI", addr); err != nil {
		return OrchestratorInfo{}, err
	}
	return info, nil
}
