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
	batches      string // comma-separated batch ids; client mode tries them in order
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
		if strings.Contains(s.batches, ",") {
			return errors.New("-batch takes one id with -stamping node")
		}
	case "client":
		if s.keyFile == "" {
			return errors.New("-stamping client needs -key (-ethKeystorePath for node)")
		}
	default:
		return fmt.Errorf("-stamping must be node or client, not %q", s.mode)
	}
	if s.batches == "" && !(leased && s.mode == "client") {
		return errors.New("a postage batch is required (-batch, -postageBatch)")
	}
	return nil
}

// newUploader builds the uploader for the stamping mode; close releases the
// client-side issuer (its lock and state files).
func newUploader(ctx context.Context, c *bee.Client, s stampingConfig, cfg upload.Config) (up *upload.Uploader, close func() error, err error) {
	if s.mode == "node" {
		if err := checkNodeBatch(ctx, c, s.batches); err != nil {
			return nil, nil, err
		}
		return upload.NodeStamped(c, s.batches, cfg), func() error { return nil }, nil
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
// go-livepeer's -ethPassword, a file holding it; empty means
// $ARCHIVER_KEY_PASSWORD.
func loadKey(keyFile, password string) (*ecdsa.PrivateKey, error) {
	switch b, err := os.ReadFile(password); {
	case password == "":
		password = os.Getenv("ARCHIVER_KEY_PASSWORD")
	case err == nil:
		password = strings.TrimRight(string(b), "\r\n")
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

// checkNodeBatch fails early, with a clear message, when Bee is unreachable
// or does not have the batch it is asked to stamp with.
func checkNodeBatch(ctx context.Context, c *bee.Client, id string) error {
	b, err := c.Batch(ctx, id)
	switch {
	case errors.Is(err, bee.ErrNotFound):
		return fmt.Errorf("batch %s: the Bee node has no such batch: %w", id, err)
	case err != nil:
		return unreachable(fmt.Errorf("batch %s: %w", id, err))
	case !b.Usable:
		return fmt.Errorf("batch %s: %w", id, bee.ErrBatchUnusable)
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
