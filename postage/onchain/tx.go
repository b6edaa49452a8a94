package onchain

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/lpswarm/archiver/postage"
)

// Gas. Every transaction is estimated first (a revert is caught before
// sending) and sent with the estimate plus gasHeadroom, as Bee adds 50 %.
// Batch operations get at least gasBatchOp, Bee's DefaultGasLimit: they
// insert the batch into the contract's tree keyed by normalised balance,
// which depends on the block number, so an estimate made at the head can be
// short when mined a block later (seen: estimated 206k, needed over 309k;
// approve uses 46k, createBatch 216k-270k, topUp 148k, increaseDepth 171k).
// Unused gas is not paid for; the native balance must cover the limit.
const (
	gasApprove  = 100_000
	gasBatchOp  = 1_000_000
	gasHeadroom = 50 // percent
)

// Tx is one transaction sent for an operation.
type Tx struct {
	Label   string // "approve", "createBatch", "topUp", "increaseDepth"
	Hash    common.Hash
	Block   uint64 // the block it was mined in
	GasUsed uint64
}

// Buy creates a batch owned by the key: approve PostageStamp for amount ×
// 2^depth PLUR, then createBatch(owner, amount, depth, minimum bucket
// depth, random nonce, immutable). The batch id is keccak256(abi.encode(
// owner, nonce)), checked against the BatchCreated event. amountPerChunk
// must exceed the contract's minimum (as Bee requires). The transactions
// sent are returned even when a later step fails. Unlike Bee, no separate
// expireLimited transaction goes first: createBatch and increaseDepth
// expire due batches themselves, and the estimate prices that in.
func (c *Client) Buy(ctx context.Context, depth uint8, amountPerChunk *big.Int, immutable bool) ([32]byte, []Tx, error) {
	if err := c.needKey(); err != nil {
		return [32]byte{}, nil, err
	}
	var bucketDepth uint8
	if err := c.call(ctx, nil, c.postage, &bucketDepth, "minimumBucketDepth"); err != nil {
		return [32]byte{}, nil, err
	}
	if depth <= bucketDepth {
		return [32]byte{}, nil, fmt.Errorf("onchain: buy: %w: depth %d must exceed the bucket depth %d", ErrInvalidDepth, depth, bucketDepth)
	}
	if err := c.checkPaused(ctx, "buy"); err != nil {
		return [32]byte{}, nil, err
	}
	if err := c.checkAmount(ctx, "buy", amountPerChunk, nil); err != nil {
		return [32]byte{}, nil, err
	}
	total := postage.Cost(depth, amountPerChunk)
	if err := c.checkFunds(ctx, "buy", total, gasApprove+gasBatchOp); err != nil {
		return [32]byte{}, nil, err
	}
	var nonce [32]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return [32]byte{}, nil, fmt.Errorf("onchain: batch nonce: %w", err)
	}
	id := BatchID(c.owner, nonce)

	var txs []Tx
	tx, err := c.send(ctx, c.token, "approve", c.postage.addr, total)
	if err != nil {
		return [32]byte{}, txs, fmt.Errorf("onchain: buy: %w", err)
	}
	txs = append(txs, tx)
	tx, receipt, err := c.sendReceipt(ctx, c.postage, "createBatch", c.owner, amountPerChunk, depth, bucketDepth, nonce, immutable)
	if tx.Hash != (common.Hash{}) {
		txs = append(txs, tx)
	}
	if err != nil {
		return [32]byte{}, txs, fmt.Errorf("onchain: buy: %w", err)
	}
	if !c.hasEvent(receipt, "BatchCreated", id) {
		return [32]byte{}, txs, fmt.Errorf("onchain: buy: createBatch %s emitted no BatchCreated for batch %x", tx.Hash, id)
	}
	c.log.Info("batch bought", "id", common.Hash(id), "owner", c.owner, "depth", depth, "amount", amountPerChunk, "immutable", immutable)
	return id, txs, nil
}

// TopUp adds amountPerChunk PLUR to every chunk of a batch the key owns:
// approve amount × 2^depth, then topUp. A batch another address owns is
// refused (ErrNotOwner): the contract would take anyone's money, but paying
// for a stranger's batch is usually a mistyped id; see TopUpAnyOwner.
func (c *Client) TopUp(ctx context.Context, id [32]byte, amountPerChunk *big.Int) ([]Tx, error) {
	return c.topUp(ctx, id, amountPerChunk, false)
}

// TopUpAnyOwner is TopUp for a batch whoever owns it.
func (c *Client) TopUpAnyOwner(ctx context.Context, id [32]byte, amountPerChunk *big.Int) ([]Tx, error) {
	return c.topUp(ctx, id, amountPerChunk, true)
}

func (c *Client) topUp(ctx context.Context, id [32]byte, amountPerChunk *big.Int, anyOwner bool) ([]Tx, error) {
	if err := c.needKey(); err != nil {
		return nil, err
	}
	b, err := c.Batch(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("onchain: top up: %w", err)
	}
	if b.Owner != c.owner && !anyOwner {
		return nil, fmt.Errorf("onchain: top up: %w: batch %x belongs to %s, not to the key's %s "+
			"(the contract lets anyone pay for any batch; this refuses so a mistyped id costs nothing)", ErrNotOwner, id, b.Owner, c.owner)
	}
	if err := c.checkLive(ctx, "top up", b); err != nil {
		return nil, err
	}
	if amountPerChunk == nil || amountPerChunk.Sign() <= 0 {
		return nil, fmt.Errorf("onchain: top up: %w: amount %v must be positive", ErrAmountTooLow, amountPerChunk)
	}
	if err := c.checkAmount(ctx, "top up", new(big.Int).Add(b.RemainingBalance, amountPerChunk), b.RemainingBalance); err != nil {
		return nil, err
	}
	total := postage.Cost(b.Depth, amountPerChunk)
	if err := c.checkFunds(ctx, "top up", total, gasApprove+gasBatchOp); err != nil {
		return nil, err
	}
	var txs []Tx
	tx, err := c.send(ctx, c.token, "approve", c.postage.addr, total)
	if err != nil {
		return txs, fmt.Errorf("onchain: top up: %w", err)
	}
	txs = append(txs, tx)
	tx, receipt, err := c.sendReceipt(ctx, c.postage, "topUp", id, amountPerChunk)
	if tx.Hash != (common.Hash{}) {
		txs = append(txs, tx)
	}
	if err != nil {
		return txs, fmt.Errorf("onchain: top up: %w", err)
	}
	if !c.hasEvent(receipt, "BatchTopUp", id) {
		return txs, fmt.Errorf("onchain: top up: topUp %s emitted no BatchTopUp for batch %x", tx.Hash, id)
	}
	c.log.Info("batch topped up", "id", common.Hash(id), "amount", amountPerChunk)
	return txs, nil
}

// Dilute deepens a mutable batch the key owns to newDepth
// (increaseDepth): 2^(newDepth-depth) times the chunks, the remaining
// balance spread over them. Refused before sending: another owner
// (ErrNotOwner), an immutable batch (ErrImmutable), a depth not above the
// current one (ErrInvalidDepth), and a dilution that would leave less than
// the contract's minimum per chunk (ErrAmountTooLow).
//
// The client-side issuer's state must follow: see postage.MigrateDepth.
func (c *Client) Dilute(ctx context.Context, id [32]byte, newDepth uint8) ([]Tx, error) {
	if err := c.needKey(); err != nil {
		return nil, err
	}
	b, err := c.Batch(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("onchain: dilute: %w", err)
	}
	switch {
	case b.Owner != c.owner:
		return nil, fmt.Errorf("onchain: dilute: %w: batch %x belongs to %s, not to the key's %s; only the owner can dilute",
			ErrNotOwner, id, b.Owner, c.owner)
	case b.Immutable:
		return nil, fmt.Errorf("onchain: dilute: %w: batch %x was bought immutable; buy a new batch instead", ErrImmutable, id)
	case newDepth <= b.Depth:
		return nil, fmt.Errorf("onchain: dilute: %w: new depth %d must exceed the batch's depth %d", ErrInvalidDepth, newDepth, b.Depth)
	}
	if err := c.checkLive(ctx, "dilute", b); err != nil {
		return nil, err
	}
	left := new(big.Int).Rsh(b.RemainingBalance, uint(newDepth-b.Depth))
	if err := c.checkAmount(ctx, "dilute", left, b.RemainingBalance); err != nil {
		return nil, err
	}
	if err := c.checkFunds(ctx, "dilute", nil, gasBatchOp); err != nil {
		return nil, err
	}
	tx, receipt, err := c.sendReceipt(ctx, c.postage, "increaseDepth", id, newDepth)
	var txs []Tx
	if tx.Hash != (common.Hash{}) {
		txs = append(txs, tx)
	}
	if err != nil {
		return txs, fmt.Errorf("onchain: dilute: %w", err)
	}
	if !c.hasEvent(receipt, "BatchDepthIncrease", id) {
		return txs, fmt.Errorf("onchain: dilute: increaseDepth %s emitted no BatchDepthIncrease for batch %x", tx.Hash, id)
	}
	c.log.Info("batch diluted", "id", common.Hash(id), "from", b.Depth, "to", newDepth)
	return txs, nil
}

// BatchID is the id PostageStamp gives the batch sender creates with
// nonce: keccak256(abi.encode(sender, nonce)).
func BatchID(sender common.Address, nonce [32]byte) [32]byte {
	var enc [64]byte
	copy(enc[12:32], sender[:])
	copy(enc[32:], nonce[:])
	return crypto.Keccak256Hash(enc[:])
}

func (c *Client) needKey() error {
	if c.key == nil {
		return ErrNoKey
	}
	return nil
}

// checkLive refuses operations the contract would revert on a paused
// contract, an expired batch or one too shallow to top up.
func (c *Client) checkLive(ctx context.Context, op string, b Batch) error {
	if err := c.checkPaused(ctx, op); err != nil {
		return err
	}
	if b.RemainingBalance.Sign() == 0 {
		return fmt.Errorf("onchain: %s: %w: batch %x has no balance left", op, ErrExpired, b.ID)
	}
	var bucketDepth uint8
	if err := c.call(ctx, nil, c.postage, &bucketDepth, "minimumBucketDepth"); err != nil {
		return err
	}
	if b.Depth <= bucketDepth {
		return fmt.Errorf("onchain: %s: %w: batch depth %d is not above the bucket depth %d", op, ErrInvalidDepth, b.Depth, bucketDepth)
	}
	return nil
}

func (c *Client) checkPaused(ctx context.Context, op string) error {
	var paused bool
	if err := c.call(ctx, nil, c.postage, &paused, "paused"); err != nil {
		return err
	}
	if paused {
		return fmt.Errorf("onchain: %s: %w", op, ErrPaused)
	}
	return nil
}

// checkAmount checks a per-chunk balance against the contract's minimum.
// A new batch must exceed it (Bee's rule, which leaves a margin for a
// price rise before the transaction is mined); a top up or dilution must
// leave at least it (the contract's). before is the balance now, for the
// message; nil for a new batch.
func (c *Client) checkAmount(ctx context.Context, op string, perChunk, before *big.Int) error {
	if perChunk == nil || perChunk.Sign() <= 0 {
		return fmt.Errorf("onchain: %s: %w: amount %v must be positive", op, ErrAmountTooLow, perChunk)
	}
	minimum, err := c.MinimumAmount(ctx)
	if err != nil {
		return err
	}
	switch {
	case before == nil && perChunk.Cmp(minimum) <= 0:
		return fmt.Errorf("onchain: %s: %w: %s PLUR per chunk, must exceed %s (%d blocks at the current price)",
			op, ErrAmountTooLow, perChunk, minimum, postage.MinimumValidityBlocks)
	case before != nil && perChunk.Cmp(minimum) < 0:
		return fmt.Errorf("onchain: %s: %w: it would leave %s PLUR per chunk (now %s), the minimum is %s; top up first",
			op, ErrAmountTooLow, perChunk, before, minimum)
	}
	return nil
}

// checkFunds checks the key holds plur BZZ (nil: none needed) and enough
// of the native token for gas units at the current fee cap.
func (c *Client) checkFunds(ctx context.Context, op string, plur *big.Int, gas uint64) error {
	wei, have, err := c.Balances(ctx, c.owner)
	if err != nil {
		return err
	}
	if plur != nil && have.Cmp(plur) < 0 {
		return fmt.Errorf("onchain: %s: %w: %s holds %s PLUR (%s xBZZ), the operation costs %s PLUR (%s xBZZ)",
			op, ErrInsufficientBZZ, c.owner, have, postage.FormatBZZ(have), plur, postage.FormatBZZ(plur))
	}
	feeCap, err := c.feeCap(ctx)
	if err != nil {
		return err
	}
	need := new(big.Int).Mul(feeCap, new(big.Int).SetUint64(gas))
	if wei.Cmp(need) < 0 {
		return fmt.Errorf("onchain: %s: %w: %s holds %s wei, gas may cost up to %s wei (%d gas at %s wei)",
			op, ErrInsufficientETH, c.owner, wei, need, gas, feeCap)
	}
	return nil
}

// feeCap is the most a unit of gas may cost, as bind prices a transaction:
// tip + 2 × base fee, or the legacy gas price before London.
func (c *Client) feeCap(ctx context.Context) (*big.Int, error) {
	head, err := c.eth.HeaderByNumber(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("onchain: head: %w", err)
	}
	if head.BaseFee == nil {
		p, err := c.eth.SuggestGasPrice(ctx)
		if err != nil {
			return nil, fmt.Errorf("onchain: gas price: %w", err)
		}
		return p, nil
	}
	tip, err := c.eth.SuggestGasTipCap(ctx)
	if err != nil {
		return nil, fmt.Errorf("onchain: gas tip: %w", err)
	}
	return new(big.Int).Add(tip, new(big.Int).Mul(head.BaseFee, big.NewInt(2))), nil
}

// send sends one transaction and waits until it is mined successfully.
func (c *Client) send(ctx context.Context, to *contract, method string, args ...any) (Tx, error) {
	tx, _, err := c.sendReceipt(ctx, to, method, args...)
	return tx, err
}

// sendReceipt estimates, signs and sends one transaction from the key and
// waits for its receipt. A transaction the estimate says would revert is
// not sent (ErrWouldRevert, with the contract's error name); one mined
// with a failed status is ErrReverted. The returned Tx has a hash once the
// transaction was sent.
func (c *Client) sendReceipt(ctx context.Context, to *contract, method string, args ...any) (Tx, *types.Receipt, error) {
	label := method
	input, err := to.abi.Pack(method, args...)
	if err != nil {
		return Tx{}, nil, fmt.Errorf("%s.%s arguments: %w", to.name, method, err)
	}
	gas, err := c.eth.EstimateGas(ctx, ethereum.CallMsg{From: c.owner, To: &to.addr, Data: input})
	if err != nil {
		return Tx{}, nil, fmt.Errorf("%w: %s.%s: %s; nothing sent", ErrWouldRevert, to.name, method, c.revertReason(err))
	}
	opts := bind.NewKeyedTransactor(c.key, c.chainID)
	opts.Context = ctx
	opts.GasLimit = gas + gas*gasHeadroom/100
	if to == c.postage {
		opts.GasLimit = max(opts.GasLimit, gasBatchOp)
	}
	sent, err := bind.Transact(to.bound, opts, input)
	if err != nil {
		return Tx{}, nil, fmt.Errorf("send %s.%s: %w", to.name, method, err)
	}
	tx := Tx{Label: label, Hash: sent.Hash()}
	c.log.Info("transaction sent", "tx", label, "hash", tx.Hash, "nonce", sent.Nonce(), "gas", sent.Gas())
	receipt, err := c.waitMined(ctx, label, tx.Hash)
	if err != nil {
		return tx, nil, err
	}
	tx.Block, tx.GasUsed = receipt.BlockNumber.Uint64(), receipt.GasUsed
	if receipt.Status != types.ReceiptStatusSuccessful {
		return tx, receipt, fmt.Errorf("%w: %s %s in block %d (gas used %d of %d)", ErrReverted, label, tx.Hash, tx.Block, receipt.GasUsed, sent.Gas())
	}
	c.log.Info("transaction mined", "tx", label, "hash", tx.Hash, "block", tx.Block, "gasUsed", tx.GasUsed)
	return tx, receipt, nil
}

// waitMined polls for the receipt of hash until it is mined or ctx ends.
func (c *Client) waitMined(ctx context.Context, label string, hash common.Hash) (*types.Receipt, error) {
	t := time.NewTicker(c.poll)
	defer t.Stop()
	for {
		r, err := c.eth.TransactionReceipt(ctx, hash)
		switch {
		case err == nil:
			return r, nil
		case ctx.Err() != nil:
			return nil, fmt.Errorf("%w: %s %s: %w", ErrPending, label, hash, ctx.Err())
		case !errors.Is(err, ethereum.NotFound):
			// A flaky endpoint is not a failed transaction: keep polling,
			// but say why if the wait ends.
			c.log.Warn("receipt", "tx", label, "hash", hash, "err", err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: %s %s: %w", ErrPending, label, hash, ctx.Err())
		case <-t.C:
		}
	}
}

// hasEvent reports whether receipt has the named PostageStamp event for
// batch id (its first indexed topic).
func (c *Client) hasEvent(receipt *types.Receipt, event string, id [32]byte) bool {
	topic := c.postage.abi.Events[event].ID
	for _, l := range receipt.Logs {
		if l.Address == c.postage.addr && len(l.Topics) > 1 && l.Topics[0] == topic && l.Topics[1] == common.Hash(id) {
			return true
		}
	}
	return false
}

// revertReason names the contract error in a failed estimate or call:
// one of PostageStamp's custom errors, a require message, or err as is.
func (c *Client) revertReason(err error) string {
	return revertReason(err, c.postage.abi)
}

func revertReason(err error, abis ...abi.ABI) string {
	var de rpc.DataError
	if !errors.As(err, &de) {
		return err.Error()
	}
	s, ok := de.ErrorData().(string)
	if !ok {
		return err.Error()
	}
	data, derr := hex.DecodeString(strings.TrimPrefix(s, "0x"))
	if derr != nil || len(data) < 4 {
		return err.Error()
	}
	if msg, uerr := abi.UnpackRevert(data); uerr == nil {
		return fmt.Sprintf("%s: %s", err, msg)
	}
	for _, a := range abis {
		for name, e := range a.Errors {
			if string(e.ID[:4]) == string(data[:4]) {
				return fmt.Sprintf("%s: contract error %s()", err, name)
			}
		}
	}
	return fmt.Sprintf("%s: data %s", err, s)
}
