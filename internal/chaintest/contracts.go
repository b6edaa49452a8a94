package chaintest

import (
	"context"
	"fmt"
	"math/big"
	"strings"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	sabi "github.com/ethersphere/go-storage-incentives-abi/abi"
)

// Contracts are the addresses of the storage-incentive contracts on the
// chain, as Bee's --*-address flags want them.
type Contracts struct {
	Token          common.Address // BzzToken (16 decimals), minted by the dev account
	PostageStamp   common.Address
	PriceOracle    common.Address
	Staking        common.Address
	Redistribution common.Address
	// PostageStartBlock is the block PostageStamp was deployed in: where Bee
	// starts reading batch events.
	PostageStartBlock uint64
}

const (
	// bzzSupply is the token's initial supply, all the deployer's: 1e6 BZZ
	// in PLUR (1 BZZ = 1e16 PLUR).
	bzzSupplyBZZ = 1_000_000
	plurPerBZZ   = 1e16
	// minimumBucketDepth is the PostageStamp constructor's bucket depth,
	// the one Bee requires (postage.BucketDepth).
	minimumBucketDepth = 16
	// storagePrice is set through the oracle: PLUR per chunk per block, the
	// Swarm docs' example, so batch costs and TTLs look like mainnet's.
	storagePrice = 24000
)

// Explicit gas limits for transactions sent before the ones they depend on
// are mined: estimation would run against state that lacks them. Each is
// a few times what the call uses.
const (
	gasTransfer  = 21_000
	gasCall      = 300_000 // grantRole, setPrice, mint, approve
	gasBatchCall = 1_000_000
)

// contract is one deployed contract with its ABI.
type contract struct {
	name  string
	addr  common.Address
	abi   *abi.ABI
	bound *bind.BoundContract
}

func parseABI(name, def string) (*abi.ABI, error) {
	a, err := abi.JSON(strings.NewReader(def))
	if err != nil {
		return nil, fmt.Errorf("chaintest: %s ABI: %w", name, err)
	}
	return &a, nil
}

// storage holds the deployed contracts.
type storage struct {
	token, postage, oracle, staking, redistribution *contract
	startBlock                                      uint64
}

func (s *storage) addresses() Contracts {
	return Contracts{
		Token: s.token.addr, PostageStamp: s.postage.addr, PriceOracle: s.oracle.addr,
		Staking: s.staking.addr, Redistribution: s.redistribution.addr, PostageStartBlock: s.startBlock,
	}
}

// deployStorage deploys the contracts in dependency order, wires their
// roles and sets the price. First all five creations go out together: their
// addresses follow from the deployer's nonces, so later constructors can
// name earlier contracts before any is mined, and as no constructor calls
// another contract, gas estimates made before then hold. Then the role
// grants and the price go out together: two waits for a block, not eleven.
// extra runs after the creations are sent and may queue its own
// transactions (funding the Bee nodes) into the first wait.
func deployStorage(ctx context.Context, ch *chain, dev *sender, networkID uint64,
	extra func(s *storage) ([]pendingTx, error)) (*storage, error) {
	s := &storage{}
	var pending []pendingTx
	deploy := func(name, abiDef, bin string, args ...any) (*contract, error) {
		a, err := parseABI(name, abiDef)
		if err != nil {
			return nil, err
		}
		input, err := a.Pack("", args...)
		if err != nil {
			return nil, fmt.Errorf("chaintest: %s constructor arguments: %w", name, err)
		}
		addr, tx, err := dev.deploy(ctx, common.FromHex(bin), input)
		if err != nil {
			return nil, fmt.Errorf("chaintest: deploy %s: %w", name, err)
		}
		pending = append(pending, pendingTx{label: "deploy " + name, hash: tx})
		return &contract{name: name, addr: addr, abi: a, bound: bind.NewBoundContract(addr, *a, ch.eth, ch.eth, ch.eth)}, nil
	}
	var err error
	supply := new(big.Int).Mul(big.NewInt(bzzSupplyBZZ), big.NewInt(plurPerBZZ))
	if s.token, err = deploy("BzzToken", sabi.TestnetBzzTokenABI, sabi.TestnetBzzTokenBin, "Test BZZ", "tBZZ", supply); err != nil {
		return nil, err
	}
	if s.postage, err = deploy("PostageStamp", sabi.TestnetPostageStampABI, sabi.TestnetPostageStampBin,
		s.token.addr, uint8(minimumBucketDepth)); err != nil {
		return nil, err
	}
	if s.oracle, err = deploy("PriceOracle", sabi.TestnetPriceOracleABI, sabi.TestnetPriceOracleBin, s.postage.addr); err != nil {
		return nil, err
	}
	if s.staking, err = deploy("Staking", sabi.TestnetStakingABI, sabi.TestnetStakingBin,
		s.token.addr, networkID, s.oracle.addr); err != nil {
		return nil, err
	}
	if s.redistribution, err = deploy("Redistribution", sabi.TestnetRedistributionABI, sabi.TestnetRedistributionBin,
		s.staking.addr, s.postage.addr, s.oracle.addr); err != nil {
		return nil, err
	}
	if extra != nil {
		more, err := extra(s)
		if err != nil {
			return nil, err
		}
		pending = append(pending, more...)
	}
	receipts, err := ch.waitMined(ctx, pending...)
	if err != nil {
		return nil, err
	}
	s.startBlock = receipts[1].BlockNumber.Uint64() // PostageStamp's

	// Role ids are read from the contracts rather than recomputed, so a
	// renamed role fails here instead of being granted under a dead name.
	grants := []struct {
		on   *contract
		role string
		to   *contract
	}{
		{s.postage, "PRICE_ORACLE_ROLE", s.oracle},
		{s.postage, "REDISTRIBUTOR_ROLE", s.redistribution},
		{s.oracle, "PRICE_UPDATER_ROLE", s.redistribution},
		{s.staking, "REDISTRIBUTOR_ROLE", s.redistribution},
	}
	pending = pending[:0]
	for _, g := range grants {
		var role [32]byte
		if err := call(ctx, g.on, &role, g.role); err != nil {
			return nil, err
		}
		tx, err := dev.transact(ctx, g.on, gasCall, "grantRole", role, g.to.addr)
		if err != nil {
			return nil, err
		}
		pending = append(pending, pendingTx{label: fmt.Sprintf("%s.grantRole(%s, %s)", g.on.name, g.role, g.to.name), hash: tx})
	}
	// Sent after the grant of PRICE_ORACLE_ROLE, so mined after it: the
	// oracle forwards the price to PostageStamp, which checks that role.
	tx, err := dev.transact(ctx, s.oracle, gasCall, "setPrice", uint32(storagePrice))
	if err != nil {
		return nil, err
	}
	pending = append(pending, pendingTx{label: "PriceOracle.setPrice", hash: tx})
	if _, err := ch.waitMined(ctx, pending...); err != nil {
		return nil, err
	}
	var price uint64
	if err := call(ctx, s.postage, &price, "lastPrice"); err != nil {
		return nil, err
	}
	if price != storagePrice {
		return nil, fmt.Errorf("chaintest: PostageStamp.lastPrice is %d after setPrice(%d)", price, storagePrice)
	}
	return s, nil
}

// call reads one value from a view function into out.
func call(ctx context.Context, c *contract, out any, method string, args ...any) error {
	var res []any
	if err := c.bound.Call(&bind.CallOpts{Context: ctx}, &res, method, args...); err != nil {
		return fmt.Errorf("chaintest: %s.%s: %w", c.name, method, err)
	}
	if len(res) != 1 {
		return fmt.Errorf("chaintest: %s.%s: %d results, want 1", c.name, method, len(res))
	}
	if err := c.abi.Methods[method].Outputs.Copy(out, res); err != nil {
		return fmt.Errorf("chaintest: %s.%s result: %w", c.name, method, err)
	}
	return nil
}
