package chaintest

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
)

// sender sends transactions from one key. It numbers them itself instead
// of asking the node per transaction, so that several can go out before
// any is mined (they then share a block) and concurrent callers never reuse
// a nonce.
type sender struct {
	eth    bind.ContractBackend
	opts   bind.TransactOpts // signer and sender; copied per transaction
	mu     sync.Mutex
	nonce  uint64
	synced bool // nonce is known; false at first and after a failed send
}

func newSender(eth bind.ContractBackend, chainID *big.Int, key *ecdsa.PrivateKey) *sender {
	return &sender{eth: eth, opts: *bind.NewKeyedTransactor(key, chainID)}
}

func (s *sender) address() common.Address { return s.opts.From }

// send signs and sends one transaction built by fn from opts that carry
// the next nonce and the given gas limit (0: let the node estimate, which
// only works when everything the transaction depends on is mined).
func (s *sender) send(ctx context.Context, gas uint64, value *big.Int,
	fn func(opts *bind.TransactOpts) (*types.Transaction, error)) (common.Hash, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.synced {
		n, err := s.eth.PendingNonceAt(ctx, s.opts.From)
		if err != nil {
			return common.Hash{}, fmt.Errorf("chaintest: nonce of %s: %w", s.opts.From, err)
		}
		s.nonce, s.synced = n, true
	}
	opts := s.opts
	opts.Context = ctx
	opts.Nonce = new(big.Int).SetUint64(s.nonce)
	opts.GasLimit = gas
	opts.Value = value
	tx, err := fn(&opts)
	if err != nil {
		// The node may or may not have taken the nonce: ask it next time.
		s.synced = false
		return common.Hash{}, err
	}
	s.nonce++
	return tx.Hash(), nil
}

// deploy sends a contract creation and returns the address it will have.
func (s *sender) deploy(ctx context.Context, bytecode, constructorInput []byte) (common.Address, common.Hash, error) {
	var addr common.Address
	hash, err := s.send(ctx, 0, nil, func(opts *bind.TransactOpts) (*types.Transaction, error) {
		a, tx, err := bind.DeployContract(opts, bytecode, s.eth, constructorInput)
		addr = a
		return tx, err
	})
	return addr, hash, err
}

// transact calls a contract method with an explicit gas limit.
func (s *sender) transact(ctx context.Context, c *contract, gas uint64, method string, args ...any) (common.Hash, error) {
	hash, err := s.send(ctx, gas, nil, func(opts *bind.TransactOpts) (*types.Transaction, error) {
		return c.bound.Transact(opts, method, args...)
	})
	if err != nil {
		return common.Hash{}, fmt.Errorf("chaintest: %s.%s from %s: %w", c.name, method, s.address(), err)
	}
	return hash, nil
}

// transfer sends wei to an address.
func (s *sender) transfer(ctx context.Context, to common.Address, wei *big.Int) (common.Hash, error) {
	hash, err := s.send(ctx, gasTransfer, wei, func(opts *bind.TransactOpts) (*types.Transaction, error) {
		return bind.NewBoundContract(to, abi.ABI{}, s.eth, s.eth, s.eth).Transfer(opts)
	})
	if err != nil {
		return common.Hash{}, fmt.Errorf("chaintest: send %s wei to %s: %w", wei, to, err)
	}
	return hash, nil
}

// pendingTx is a sent transaction and what it was for, for error messages.
type pendingTx struct {
	label string
	hash  common.Hash
}

// waitMined waits until all txs are mined and returns their receipts in
// order; a reverted one is an error naming it.
func (c *chain) waitMined(ctx context.Context, txs ...pendingTx) ([]*types.Receipt, error) {
	receipts := make([]*types.Receipt, len(txs))
	left := len(txs)
	err := c.proc.waitUntil(ctx, 30*time.Second, 100*time.Millisecond, fmt.Sprintf("%d transactions to be mined", len(txs)),
		func(ctx context.Context) (bool, error) {
			for i, tx := range txs {
				if receipts[i] != nil {
					continue
				}
				r, err := c.eth.TransactionReceipt(ctx, tx.hash)
				if errors.Is(err, ethereum.NotFound) {
					return false, fmt.Errorf("%s (%s) not mined yet", tx.label, tx.hash)
				}
				if err != nil {
					return false, fmt.Errorf("receipt of %s: %w", tx.label, err)
				}
				receipts[i] = r
				left--
			}
			return left == 0, nil
		})
	if err != nil {
		return nil, err
	}
	for i, r := range receipts {
		if r.Status != types.ReceiptStatusSuccessful {
			return nil, fmt.Errorf("chaintest: %s (%s) reverted in block %s, gas used %d", txs[i].label, txs[i].hash, r.BlockNumber, r.GasUsed)
		}
	}
	return receipts, nil
}

// batchID is the id PostageStamp gives a batch: keccak256(abi.encode(sender, nonce)).
func batchID(sender common.Address, nonce [32]byte) [32]byte {
	var enc [64]byte
	copy(enc[12:32], sender[:])
	copy(enc[32:], nonce[:])
	return crypto.Keccak256Hash(enc[:])
}
