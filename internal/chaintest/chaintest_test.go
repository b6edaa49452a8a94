package chaintest_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"log/slog"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/lpswarm/archiver/bee"
	"github.com/lpswarm/archiver/internal/chaintest"
)

// TestSmoke runs the whole network once: a batch bought on chain by an
// outside key shows up on both nodes as bought, and data uploaded to one
// node (stamped with a batch that node bought) is read back from the other.
func TestSmoke(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	began := time.Now()
	net, err := chaintest.Start(ctx, chaintest.Options{Logger: slog.New(slog.NewTextHandler(t.Output(), nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := net.Close(); err != nil {
			t.Error(err)
		}
	}()
	t.Logf("network up in %s", time.Since(began).Round(time.Millisecond))

	key, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	owner := crypto.PubkeyToAddress(key.PublicKey)
	// PLUR per chunk: ~11.5 h at 24000 PLUR per chunk per 1 s block, above
	// the contract's 24 h-at-5 s minimum of 414,720,000.
	amount := big.NewInt(1_000_000_000)
	id, err := net.BuyBatch(ctx, key, 20, amount, true)
	if err != nil {
		t.Fatal(err)
	}
	got, err := net.BatchOwner(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if got != owner {
		t.Errorf("batch owner on chain: %s, want %s", got, owner)
	}

	nodes := make([]*bee.Client, 0, 2)
	for _, u := range net.Nodes() {
		c, err := bee.New(u)
		if err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, c)
	}
	for i, c := range nodes {
		b, err := c.ChainBatch(ctx, common.Bytes2Hex(id[:]))
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		if b.Depth != 20 || b.BucketDepth != 16 || !b.Immutable || !strings.EqualFold(b.Owner, common.Bytes2Hex(owner[:])) {
			t.Errorf("node %d lists %+v, want depth 20, bucket depth 16, immutable, owner %s", i, b, owner)
		}
	}

	// A node stamps with Swarm-Postage-Batch-Id only for batches it bought
	// itself, so node A buys one (Start gave it BZZ) for the upload.
	step := time.Now()
	own, err := nodes[0].BuyBatch(ctx, amount, 17, "smoke", true)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("node A bought batch %s in %s", own, time.Since(step).Round(time.Millisecond))
	step = time.Now()
	waitUsable(ctx, t, nodes[0], own)
	t.Logf("usable after %s more", time.Since(step).Round(time.Millisecond))
	step = time.Now()

	data := make([]byte, 100_000)
	_, _ = rand.Read(data)
	up, err := nodes[0].UploadBytes(ctx, data, bee.UploadOptions{BatchID: own, Direct: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("uploaded %s in %s", up.Reference, time.Since(step).Round(time.Millisecond))
	step = time.Now()
	back, err := nodes[1].DownloadBytes(ctx, up.Reference, int64(len(data)))
	if err != nil {
		t.Fatalf("read %s back from node B: %v", up.Reference, err)
	}
	if !bytes.Equal(back, data) {
		t.Fatalf("node B returned %d bytes that differ from the %d uploaded", len(back), len(data))
	}
	t.Logf("read back from node B in %s; whole test %s", time.Since(step).Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
}

// waitUsable waits until the node may stamp with its new batch: Bee holds a
// batch back for a few blocks after it is mined.
func waitUsable(ctx context.Context, t *testing.T, c *bee.Client, id string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		b, err := c.Batch(ctx, id)
		if err == nil && b.Usable {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("batch %s not usable after a minute: %+v, %v", id, b, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}
