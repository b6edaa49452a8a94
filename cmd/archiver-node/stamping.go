package main

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/lpswarm/archiver/bee"
	"github.com/lpswarm/archiver/postage"
	"github.com/lpswarm/archiver/upload"
)

// stampingConfig selects who stamps chunks: the Bee node with its own batch
// (node), or this process with the operator's key (client).
type stampingConfig struct {
	mode         string // "node" or "client"
	batches      string // comma-separated batch ids, used in order
	keyFile      string // go-ethereum keystore file (client mode)
	passwordFile string // file holding the keystore password
	stateDir     string // durable issuer state (client mode)
}

func defaultStateDir() string {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "lpswarm-archiver", "issuer")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "state", "lpswarm-archiver", "issuer")
	}
	return "issuer-state"
}

// validate checks the flags; leased is true where client-side stamping
// gets its batch from the orchestrator's lease (the worker daemon).
func (s stampingConfig) validate(leased bool) error {
	switch s.mode {
	case "node":
		for _, id := range s.ids() {
			if id == "" {
				return fmt.Errorf("empty batch id in %q", s.batches)
			}
		}
	case "client":
		if s.keyFile == "" {
			return errors.New("-stamping client needs -ethKeystorePath")
		}
	default:
		return fmt.Errorf("-stamping must be node or client, not %q", s.mode)
	}
	if s.batches == "" && !(leased && s.mode == "client") {
		return errors.New("a postage batch is required (-postageBatch)")
	}
	return nil
}

// ids lists the configured batch ids, trimmed, in order.
func (s stampingConfig) ids() []string {
	if s.batches == "" {
		return nil
	}
	out := strings.Split(s.batches, ",")
	for i := range out {
		out[i] = strings.TrimSpace(out[i])
	}
	return out
}

// newUploader builds the uploader for the stamping mode; close releases the
// client-side issuer (its lock and state files). Node-side stamping uses
// the batches in order, the next once Bee calls one overissued.
func newUploader(ctx context.Context, c *bee.Client, s stampingConfig, cfg upload.Config) (up *upload.Uploader, close func() error, err error) {
	if s.mode == "node" {
		for _, id := range s.ids() {
			if err := checkNodeBatch(ctx, c, id); err != nil {
				return nil, nil, err
			}
		}
		return upload.NodeStampedBatches(c, s.ids(), cfg), func() error { return nil }, nil
	}
	key, err := loadKey(s.keyFile, s.passwordFile)
	if err != nil {
		return nil, nil, err
	}
	return clientUploader(ctx, c, key, strings.Split(s.batches, ","), postage.Lease{}, s.stateDir, cfg)
}

// clientUploader stamps with key from the given batches, all under lease
// (the zero lease is the whole batch).
func clientUploader(ctx context.Context, c *bee.Client, key *ecdsa.PrivateKey, ids []string, lease postage.Lease,
	stateDir string, cfg upload.Config) (*upload.Uploader, func() error, error) {
	owner := crypto.PubkeyToAddress(key.PublicKey)
	var batches []postage.Batch
	for _, id := range ids {
		b, err := chainBatch(ctx, c, strings.TrimSpace(id), owner)
		if err != nil {
			return nil, nil, err
		}
		b.Lease = lease
		batches = append(batches, b)
	}
	issuer, err := postage.OpenIssuer(stateDir, key, batches)
	if err != nil {
		return nil, nil, fmt.Errorf("stamp issuer state %s: %w", stateDir, err)
	}
	return upload.ClientStamped(c, issuer, cfg), issuer.Close, nil
}

// loadKey decrypts the keystore. password is the password itself or, as
// go-livepeer's -ethPassword, a file holding it. (The environment's
// ARCHIVER_ETH_PASSWORD reaches it as -ethPassword.)
func loadKey(keyFile, password string) (*ecdsa.PrivateKey, error) {
	if password != "" {
		if b, err := os.ReadFile(password); err == nil {
			password = strings.TrimRight(string(b), "\r\n")
		}
	}
	key, err := postage.LoadKey(keyFile, password)
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", keyFile, err)
	}
	return key, nil
}

// chainBatch reads a batch's parameters from the node's view of the chain
// and checks the operator's key owns it: only the owner's stamps are valid.
func chainBatch(ctx context.Context, c *bee.Client, id string, owner common.Address) (postage.Batch, error) {
	parsed, err := postage.ParseBatchID(id)
	if err != nil {
		return postage.Batch{}, err
	}
	b, err := c.ChainBatch(ctx, id)
	if err != nil {
		return postage.Batch{}, unreachable(fmt.Errorf("batch %s: %w", id, err))
	}
	if !strings.EqualFold(strings.TrimPrefix(b.Owner, "0x"), strings.TrimPrefix(owner.Hex(), "0x")) {
		return postage.Batch{}, fmt.Errorf("batch %s is owned by 0x%s, not by the key's address %s: client-side stamps would be refused",
			id, strings.TrimPrefix(b.Owner, "0x"), owner.Hex())
	}
	return postage.Batch{
		ID: parsed, Owner: owner, Depth: b.Depth, BucketDepth: b.BucketDepth,
		Immutable: b.Immutable, BlockNumber: b.Start,
	}, nil
}

// ErrMutableBatch: node-side stamping was asked to use a mutable batch.
var ErrMutableBatch = errors.New("mutable batch refused for node-side stamping")

// checkNodeBatch fails early, with a clear message, when Bee is unreachable
// or does not have the batch it is asked to stamp with, or the batch is
// mutable: Bee stamps a full bucket of a mutable batch by wrapping its
// counter, silently overwriting the oldest archived chunks of that bucket
// (an immutable batch answers 402 instead, and the next batch is used).
func checkNodeBatch(ctx context.Context, c *bee.Client, id string) error {
	b, err := c.Batch(ctx, id)
	switch {
	case errors.Is(err, bee.ErrNotFound):
		return fmt.Errorf("batch %s: the Bee node has no such batch: %w", id, err)
	case err != nil:
		return unreachable(fmt.Errorf("batch %s: %w", id, err))
	case !b.Usable:
		return fmt.Errorf("batch %s: %w", id, bee.ErrBatchUnusable)
	case !b.ImmutableFlag:
		return fmt.Errorf("batch %s: %w: once a bucket is full Bee would overwrite the oldest archived chunks; "+
			"buy an immutable batch (POST /stamps with header Immutable: true, Bee's default) or use -stamping client, "+
			"whose issuer never reuses an index", id, ErrMutableBatch)
	}
	return nil
}

// unreachable words a connection failure for operators.
func unreachable(err error) error {
	if errors.Is(err, bee.ErrUnreachable) {
		return fmt.Errorf("cannot reach Bee: %w", err)
	}
	return err
}
