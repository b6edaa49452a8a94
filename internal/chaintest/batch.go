package chaintest

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/lpswarm/archiver/bee"
)

// ErrNoBatch: the postage contract knows no batch by that id.
var ErrNoBatch = errors.New("no such batch")

// batchKeyWei is the ETH BuyBatch gives a key for its two transactions.
const batchKeyWei = 1e18

// BuyBatch buys a postage batch on chain from key, as an operator's wallet
// would: the dev account sends the key ETH for gas and mints it the BZZ the
// batch costs (amount << depth PLUR), then the key approves PostageStamp
// and calls createBatch(owner = key, amount, depth, 16, random nonce,
// immutable). It returns the batch id once both Bee nodes list the batch in
// GET /batches. amount is PLUR per chunk and must cover the contract's
// minimum validity (17280 blocks at the price of 24000: 414,720,000).
//
// Only the key can stamp for the batch (client-side stamps): a node uses
// Swarm-Postage-Batch-Id only for batches it bought itself.
func (n *Net) BuyBatch(ctx context.Context, key *ecdsa.PrivateKey, depth uint8, amount *big.Int, immutable bool) ([32]byte, error) {
	if depth <= minimumBucketDepth {
		return [32]byte{}, fmt.Errorf("chaintest: batch depth %d: must exceed the bucket depth %d", depth, minimumBucketDepth)
	}
	if amount == nil || amount.Sign() <= 0 {
		return [32]byte{}, fmt.Errorf("chaintest: batch amount %v: must be positive", amount)
	}
	var minimum *big.Int
	if err := call(ctx, n.storage.postage, &minimum, "minimumInitialBalancePerChunk"); err != nil {
		return [32]byte{}, err
	}
	if amount.Cmp(minimum) < 0 {
		return [32]byte{}, fmt.Errorf("chaintest: batch amount %s PLUR per chunk is below the minimum %s", amount, minimum)
	}
	began := time.Now()
	owner := crypto.PubkeyToAddress(key.PublicKey)
	total := new(big.Int).Lsh(amount, uint(depth))

	gas, err := n.dev.transfer(ctx, owner, big.NewInt(batchKeyWei))
	if err != nil {
		return [32]byte{}, err
	}
	mint, err := n.dev.transact(ctx, n.storage.token, gasCall, "mint", owner, total)
	if err != nil {
		return [32]byte{}, err
	}
	// The key's own transactions wait for the ETH: a node refuses a
	// transaction whose sender cannot pay for its gas.
	if _, err := n.chain.waitMined(ctx, pendingTx{"ETH to batch key", gas}, pendingTx{"BZZ to batch key", mint}); err != nil {
		return [32]byte{}, err
	}

	var nonce [32]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return [32]byte{}, fmt.Errorf("chaintest: batch nonce: %w", err)
	}
	s := n.senderFor(key)
	approve, err := s.transact(ctx, n.storage.token, gasCall, "approve", n.storage.postage.addr, total)
	if err != nil {
		return [32]byte{}, err
	}
	// Sent before approve is mined, so its gas cannot be estimated; mined
	// after it (next nonce), so the transferFrom inside succeeds.
	create, err := s.transact(ctx, n.storage.postage, gasBatchCall, "createBatch",
		owner, amount, depth, uint8(minimumBucketDepth), nonce, immutable)
	if err != nil {
		return [32]byte{}, err
	}
	if _, err := n.chain.waitMined(ctx, pendingTx{"approve", approve}, pendingTx{"createBatch", create}); err != nil {
		return [32]byte{}, err
	}

	id := batchID(owner, nonce)
	got, err := n.BatchOwner(ctx, id)
	if err != nil {
		return [32]byte{}, err
	}
	if got != owner {
		return [32]byte{}, fmt.Errorf("chaintest: batch %x is owned by %s, want %s", id, got, owner)
	}
	if err := n.waitListed(ctx, id); err != nil {
		return [32]byte{}, err
	}
	n.log.Info("batch bought", "id", common.Hash(id), "owner", owner, "depth", depth, "elapsed", time.Since(began))
	return id, nil
}

// waitListed waits until both nodes have the batch in GET /batches: they
// learn of it from contract events a few blocks after it is mined. A
// chain-only Net (StartChain) has no nodes to wait for.
func (n *Net) waitListed(ctx context.Context, id [32]byte) error {
	hexID := common.Bytes2Hex(id[:])
	for _, b := range n.nodes {
		if b == nil {
			continue
		}
		err := b.proc.waitUntil(ctx, 30*time.Second, 250*time.Millisecond, "batch "+hexID+" in /batches",
			func(ctx context.Context) (bool, error) {
				_, err := b.client.ChainBatch(ctx, hexID)
				if errors.Is(err, bee.ErrNotFound) {
					return false, err
				}
				return err == nil, err
			})
		if err != nil {
			return err
		}
	}
	return nil
}

// BatchOwner reads a batch's owner from the postage contract; ErrNoBatch
// when there is no such batch (or it has expired and been removed).
func (n *Net) BatchOwner(ctx context.Context, id [32]byte) (common.Address, error) {
	var owner common.Address
	if err := call(ctx, n.storage.postage, &owner, "batchOwner", id); err != nil {
		return common.Address{}, err
	}
	if owner == (common.Address{}) {
		return common.Address{}, fmt.Errorf("chaintest: batch %x: %w", id, ErrNoBatch)
	}
	return owner, nil
}

// senderFor returns the one sender of key's address, so that concurrent
// BuyBatch calls with the same key number their transactions in one
// sequence.
func (n *Net) senderFor(key *ecdsa.PrivateKey) *sender {
	n.mu.Lock()
	defer n.mu.Unlock()
	addr := crypto.PubkeyToAddress(key.PublicKey)
	s, ok := n.senders[addr]
	if !ok {
		s = newSender(n.chain.eth, n.chain.chainID, key)
		n.senders[addr] = s
	}
	return s
}
