// Package onchain buys, tops up and dilutes postage batches with the
// operator's own Ethereum key, on the PostageStamp contract of the chain
// that holds Swarm postage (Gnosis Chain in production), and reads batches
// back from the contract.
//
// It mirrors Bee v2.7.0's pkg/postage/postagecontract: approve the token,
// then createBatch; approve, then topUp; increaseDepth. Every contract rule
// a call would break is checked before anything is sent, so a refusal
// (ErrNotOwner, ErrImmutable, ErrInsufficientBZZ, ...) costs nothing.
// Transactions are sent one at a time and waited for (receipt, status),
// bounded by the caller's context.
package onchain

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	sabi "github.com/ethersphere/go-storage-incentives-abi/abi"

	"github.com/lpswarm/archiver/postage"
)

// Production defaults: Swarm mainnet's PostageStamp on Gnosis Chain, as
// Bee v2.7.0's pkg/config.Mainnet takes them from go-storage-incentives-abi.
const (
	GnosisChainID             = sabi.MainnetChainID
	GnosisPostageStampAddress = sabi.MainnetPostageStampAddress
)

var (
	// ErrNoKey: the operation sends a transaction, and the Client was made
	// without a key.
	ErrNoKey = errors.New("no key to sign transactions with")
	// ErrWrongChain: the RPC endpoint serves another chain than expected.
	ErrWrongChain = errors.New("wrong chain")
	// ErrNoContract: there is no contract at the PostageStamp address.
	ErrNoContract = errors.New("no contract at the postage address")
	// ErrNoBatch: the contract has no such batch (never bought, or expired
	// and removed).
	ErrNoBatch = errors.New("no such batch")
	// ErrNotOwner: the batch belongs to another address than the key's.
	ErrNotOwner = errors.New("batch owned by another address")
	// ErrImmutable: an immutable batch cannot be diluted.
	ErrImmutable = errors.New("batch is immutable")
	// ErrInvalidDepth: a depth the contract would refuse.
	ErrInvalidDepth = errors.New("invalid depth")
	// ErrAmountTooLow: the batch would be funded for less than the
	// contract's minimum validity (minimumInitialBalancePerChunk).
	ErrAmountTooLow = errors.New("amount below the contract's minimum")
	// ErrExpired: the batch's balance is used up.
	ErrExpired = errors.New("batch expired")
	// ErrInsufficientBZZ: the key holds less BZZ than the operation costs.
	ErrInsufficientBZZ = errors.New("insufficient BZZ")
	// ErrInsufficientETH: the key holds less of the chain's native token
	// (xDAI on Gnosis) than the gas may cost.
	ErrInsufficientETH = errors.New("insufficient native balance for gas")
	// ErrPaused: the contract is paused and refuses every batch operation.
	ErrPaused = errors.New("postage contract paused")
	// ErrWouldRevert: gas estimation says the transaction would revert; it
	// was not sent.
	ErrWouldRevert = errors.New("transaction would revert")
	// ErrReverted: the transaction was mined and reverted.
	ErrReverted = errors.New("transaction reverted")
	// ErrPending: the transaction was sent but not seen mined before the
	// context ended. It may still be mined: check its hash before retrying.
	ErrPending = errors.New("transaction sent, not mined yet")
)

// Options tune a Client. The zero value is for Gnosis Chain with any chain
// id accepted.
type Options struct {
	// ChainID, when set, must be the RPC endpoint's chain id.
	ChainID *big.Int
	// BlockTime is the chain's block time, for TTLs; 0 means Gnosis's 5 s.
	BlockTime time.Duration
	// PollInterval is how often receipts are polled; 0 means 1 s.
	PollInterval time.Duration
	// Logger gets every transaction sent and mined; nil discards.
	Logger *slog.Logger
}

// Client talks to the PostageStamp contract and its token.
type Client struct {
	eth       *ethclient.Client
	chainID   *big.Int
	key       *ecdsa.PrivateKey // nil: read only
	owner     common.Address
	postage   *contract
	token     *contract
	blockTime time.Duration
	poll      time.Duration
	log       *slog.Logger
}

// contract is one contract with its ABI.
type contract struct {
	name  string
	addr  common.Address
	abi   abi.ABI
	bound *bind.BoundContract
}

// erc20ABI is the part of ERC-20 used here; xBZZ on Gnosis is a standard
// ERC-20 (Bee uses go-sw3-abi's ERC20 ABI the same way).
const erc20ABI = `[
{"type":"function","name":"balanceOf","stateMutability":"view","inputs":[{"name":"account","type":"address"}],"outputs":[{"name":"","type":"uint256"}]},
{"type":"function","name":"allowance","stateMutability":"view","inputs":[{"name":"owner","type":"address"},{"name":"spender","type":"address"}],"outputs":[{"name":"","type":"uint256"}]},
{"type":"function","name":"approve","stateMutability":"nonpayable","inputs":[{"name":"spender","type":"address"},{"name":"amount","type":"uint256"}],"outputs":[{"name":"","type":"bool"}]}
]`

// New connects to rpcURL, checks the chain id (Options.ChainID) and that
// postageContract holds code, and reads the BZZ token's address from it
// (bzzToken). key may be nil for a read-only client.
func New(ctx context.Context, rpcURL string, postageContract common.Address, key *ecdsa.PrivateKey, o Options) (*Client, error) {
	eth, err := ethclient.DialContext(ctx, rpcURL)
	if err != nil {
		return nil, fmt.Errorf("onchain: dial %s: %w", rpcURL, err)
	}
	c, err := newClient(ctx, eth, postageContract, key, o)
	if err != nil {
		eth.Close()
		return nil, err
	}
	return c, nil
}

func newClient(ctx context.Context, eth *ethclient.Client, postageContract common.Address, key *ecdsa.PrivateKey, o Options) (*Client, error) {
	chainID, err := eth.ChainID(ctx)
	if err != nil {
		return nil, fmt.Errorf("onchain: chain id: %w", err)
	}
	if o.ChainID != nil && o.ChainID.Cmp(chainID) != 0 {
		return nil, fmt.Errorf("onchain: %w: the endpoint serves chain %s, want %s", ErrWrongChain, chainID, o.ChainID)
	}
	code, err := eth.CodeAt(ctx, postageContract, nil)
	if err != nil {
		return nil, fmt.Errorf("onchain: code at %s: %w", postageContract, err)
	}
	if len(code) == 0 {
		return nil, fmt.Errorf("onchain: %w: %s on chain %s", ErrNoContract, postageContract, chainID)
	}
	c := &Client{eth: eth, chainID: chainID, key: key, blockTime: o.BlockTime, poll: o.PollInterval, log: o.Logger}
	if c.blockTime <= 0 {
		c.blockTime = postage.GnosisBlockTime
	}
	if c.poll <= 0 {
		c.poll = time.Second
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if key != nil {
		c.owner = crypto.PubkeyToAddress(key.PublicKey)
	}
	if c.postage, err = bindContract(eth, "PostageStamp", postageContract, sabi.MainnetPostageStampABI); err != nil {
		return nil, err
	}
	var token common.Address
	if err := c.call(ctx, nil, c.postage, &token, "bzzToken"); err != nil {
		return nil, err
	}
	if c.token, err = bindContract(eth, "BZZ token", token, erc20ABI); err != nil {
		return nil, err
	}
	return c, nil
}

func bindContract(eth *ethclient.Client, name string, addr common.Address, def string) (*contract, error) {
	a, err := abi.JSON(strings.NewReader(def))
	if err != nil {
		return nil, fmt.Errorf("onchain: %s ABI: %w", name, err)
	}
	return &contract{name: name, addr: addr, abi: a, bound: bind.NewBoundContract(addr, a, eth, eth, eth)}, nil
}

// Close closes the RPC connection.
func (c *Client) Close() { c.eth.Close() }

// Owner is the key's address; zero for a read-only client.
func (c *Client) Owner() common.Address { return c.owner }

// ChainID is the chain id the endpoint reported.
func (c *Client) ChainID() *big.Int { return new(big.Int).Set(c.chainID) }

// Token is the BZZ token's address, read from PostageStamp.bzzToken.
func (c *Client) Token() common.Address { return c.token.addr }

// BlockTime is the block time TTLs are computed with.
func (c *Client) BlockTime() time.Duration { return c.blockTime }

// Price is the current storage price, PLUR per chunk per block
// (lastPrice).
func (c *Client) Price(ctx context.Context) (*big.Int, error) {
	var price uint64
	if err := c.call(ctx, nil, c.postage, &price, "lastPrice"); err != nil {
		return nil, err
	}
	return new(big.Int).SetUint64(price), nil
}

// MinimumAmount is the smallest per-chunk balance the contract accepts for
// a new batch or what is left after a top up or dilution
// (minimumInitialBalancePerChunk: minimumValidityBlocks × lastPrice).
func (c *Client) MinimumAmount(ctx context.Context) (*big.Int, error) {
	var m *big.Int
	if err := c.call(ctx, nil, c.postage, &m, "minimumInitialBalancePerChunk"); err != nil {
		return nil, err
	}
	return m, nil
}

// Balances returns addr's native balance in wei and its BZZ in PLUR.
func (c *Client) Balances(ctx context.Context, addr common.Address) (wei, plur *big.Int, err error) {
	if wei, err = c.eth.BalanceAt(ctx, addr, nil); err != nil {
		return nil, nil, fmt.Errorf("onchain: balance of %s: %w", addr, err)
	}
	if err = c.call(ctx, nil, c.token, &plur, "balanceOf", addr); err != nil {
		return nil, nil, err
	}
	return wei, plur, nil
}

// Batch is a batch as the contract holds it, read at one block.
type Batch struct {
	ID          [32]byte
	Owner       common.Address
	Depth       uint8
	BucketDepth uint8
	Immutable   bool
	// NormalisedBalance is the batch's balance on the contract's payout
	// scale (Bee's "value"); it grows by exactly the per-chunk amount of a
	// top up.
	NormalisedBalance *big.Int
	// RemainingBalance is what is left per chunk: NormalisedBalance minus
	// the payout so far (currentTotalOutPayment), at least 0.
	RemainingBalance *big.Int
	// LastUpdatedBlock is the block of creation or of the last dilution.
	LastUpdatedBlock uint64
	// Price is lastPrice, PLUR per chunk per block.
	Price *big.Int
	// Block is the block all fields were read at.
	Block uint64
	// TTL is how long RemainingBalance lasts at Price (0 when the price is
	// not set).
	TTL time.Duration
}

// Postage is the batch as package postage's issuer wants it. BlockNumber
// is the last update, the contract keeps no creation block.
func (b Batch) Postage() postage.Batch {
	return postage.Batch{ID: b.ID, Owner: b.Owner, Depth: b.Depth, BucketDepth: b.BucketDepth,
		Immutable: b.Immutable, BlockNumber: b.LastUpdatedBlock}
}

// Value is what is left of the batch in PLUR: RemainingBalance × 2^Depth.
func (b Batch) Value() *big.Int { return postage.Cost(b.Depth, b.RemainingBalance) }

// Batch reads batch id from the contract, every field at the same block.
// ErrNoBatch when the contract has none by that id.
func (c *Client) Batch(ctx context.Context, id [32]byte) (Batch, error) {
	head, err := c.eth.BlockNumber(ctx)
	if err != nil {
		return Batch{}, fmt.Errorf("onchain: block number: %w", err)
	}
	return c.batchAt(ctx, id, head)
}

func (c *Client) batchAt(ctx context.Context, id [32]byte, block uint64) (Batch, error) {
	at := new(big.Int).SetUint64(block)
	var res []any
	if err := c.postage.bound.Call(&bind.CallOpts{Context: ctx, BlockNumber: at}, &res, "batches", id); err != nil {
		return Batch{}, fmt.Errorf("onchain: PostageStamp.batches(%x): %w", id, err)
	}
	var raw struct {
		Owner                  common.Address
		Depth                  uint8
		BucketDepth            uint8
		ImmutableFlag          bool
		NormalisedBalance      *big.Int
		LastUpdatedBlockNumber *big.Int
	}
	if err := c.postage.abi.Methods["batches"].Outputs.Copy(&raw, res); err != nil {
		return Batch{}, fmt.Errorf("onchain: PostageStamp.batches result: %w", err)
	}
	if raw.Owner == (common.Address{}) {
		return Batch{}, fmt.Errorf("onchain: batch %x: %w", id, ErrNoBatch)
	}
	b := Batch{ID: id, Owner: raw.Owner, Depth: raw.Depth, BucketDepth: raw.BucketDepth, Immutable: raw.ImmutableFlag,
		NormalisedBalance: raw.NormalisedBalance, LastUpdatedBlock: raw.LastUpdatedBlockNumber.Uint64(), Block: block}
	if err := c.call(ctx, at, c.postage, &b.RemainingBalance, "remainingBalance", id); err != nil {
		return Batch{}, err
	}
	var price uint64
	if err := c.call(ctx, at, c.postage, &price, "lastPrice"); err != nil {
		return Batch{}, err
	}
	b.Price = new(big.Int).SetUint64(price)
	if price > 0 {
		var err error
		if b.TTL, err = postage.TTL(b.RemainingBalance, b.Price, c.blockTime); err != nil {
			return Batch{}, fmt.Errorf("onchain: batch %x TTL: %w", id, err)
		}
	}
	return b, nil
}

// call reads one value from a view function at block (nil: latest).
func (c *Client) call(ctx context.Context, block *big.Int, on *contract, out any, method string, args ...any) error {
	var res []any
	if err := on.bound.Call(&bind.CallOpts{Context: ctx, BlockNumber: block}, &res, method, args...); err != nil {
		return fmt.Errorf("onchain: %s.%s: %w", on.name, method, err)
	}
	if len(res) != 1 {
		return fmt.Errorf("onchain: %s.%s: %d results, want 1", on.name, method, len(res))
	}
	if err := on.abi.Methods[method].Outputs.Copy(out, res); err != nil {
		return fmt.Errorf("onchain: %s.%s result: %w", on.name, method, err)
	}
	return nil
}
