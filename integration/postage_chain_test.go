package integration_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/accounts/keystore"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethersphere/bee/v2/pkg/cac"
	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	"github.com/ethersphere/bee/v2/pkg/swarm"
	sabi "github.com/ethersphere/go-storage-incentives-abi/abi"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/bee"
	"github.com/lpswarm/archiver/chunker"
	"github.com/lpswarm/archiver/internal/chaintest"
	"github.com/lpswarm/archiver/internal/hlstest"
	"github.com/lpswarm/archiver/postage"
	"github.com/lpswarm/archiver/postage/onchain"
)

// TestPostageCommandsOnALocalSwarm runs `archiver-node postage` against a
// real local Swarm (geth dev chain, storage-incentives contracts, two Bee
// full nodes) with the operator's keystore: buy a mutable depth-17 batch
// (two stamps per bucket), archive a stream client-stamped with it, top it
// up; a segment with three chunks in one bucket is refused ("bucket
// full"); dilute to depth 19 (eight per bucket) with the issuer state
// migrated, and the same segment is archived with indices beyond the old
// bound. Everything reads back byte-identical from the other node.
// Balances, owner and depth come from the contract; status must print what
// the contract and the issuer state say. Refusals (wrong password, an
// immutable batch, another key's batch) send nothing.
func TestPostageCommandsOnALocalSwarm(t *testing.T) {
	ctx := testContext(t, 4*time.Minute)
	began := time.Now()
	net, err := chaintest.Start(ctx, chaintest.Options{Logger: warnings()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = net.Close() })
	keyFile, passFile := writeKey(t)
	blob, err := os.ReadFile(keyFile)
	require.NoError(t, err)
	key, err := keystore.DecryptKey(blob, "secret")
	require.NoError(t, err)
	owner := key.Address
	require.NoError(t, net.Fund(ctx, owner, big.NewInt(1e18), big.NewInt(1e17)))
	c := newChainReader(t, ctx, net)
	nodeA, nodeB := net.Nodes()[0], net.Nodes()[1]
	state := t.TempDir()
	chainFlags := []string{"-postageEthUrl", net.RPCURL(), "-postageContract", net.Contracts().PostageStamp.Hex(), "-postageBlockTime", "1s"}
	keyFlags := append(slices.Clone(chainFlags), "-ethKeystorePath", keyFile, "-ethPassword", passFile)
	postageCLI := func(args ...string) (string, string, error) {
		t.Helper()
		return runCLI(t, ctx, append([]string{"postage"}, args...)...)
	}
	t.Logf("network up in %s", time.Since(began).Round(time.Millisecond))

	// Buy: the cost is printed before anything is spent, and charged exactly.
	step := time.Now()
	bzzBefore := c.bzz(t, ctx, owner)
	stdout, stderr, err := postageCLI(append([]string{"buy", "-depth", "17", "-amount", "4000000000"}, keyFlags...)...)
	require.NoError(t, err, stderr)
	id := parseBatch(t, stdout)
	// 4e9 × 2^17 = 5.24288e14 PLUR
	require.Contains(t, stdout, "cost         0.0524288 xBZZ (524288000000000 PLUR)\n")
	require.Less(t, strings.Index(stdout, "cost "), strings.Index(stdout, "tx: approve 0x"), stdout)
	require.Regexp(t, `tx: createBatch 0x[0-9a-f]{64} \(block \d+\)`, stdout)
	require.Equal(t, big.NewInt(524288000000000), new(big.Int).Sub(bzzBefore, c.bzz(t, ctx, owner)))
	chainOwner, err := net.BatchOwner(ctx, id)
	require.NoError(t, err)
	require.Equal(t, owner, chainOwner, "the batch belongs to the operator's key on chain")
	b := c.batch(t, ctx, id)
	require.Equal(t, uint8(17), b.Depth)
	require.False(t, b.Immutable)
	waitBeeDepth(t, ctx, net, id, 17)
	t.Logf("bought and listed by both nodes in %s", time.Since(step).Round(time.Millisecond))

	// Archive a stream stamped client-side with the new batch.
	step = time.Now()
	stream := generate(t, hlstest.Options{Seconds: 2})
	importArgs := []string{"import", "-bee", nodeA, "-stamping", "client", "-postageBatch", hex.EncodeToString(id[:]),
		"-ethKeystorePath", keyFile, "-ethPassword", passFile, "-issuerState", state, "-redundancy", "0", "-waitSynced", "2m"}
	stdout, stderr, err = runCLI(t, ctx, append(importArgs, stream)...)
	require.NoError(t, err, stderr)
	streamRef := parseRef(t, stdout)
	t.Logf("stream archived in %s", time.Since(step).Round(time.Millisecond))

	// Top up: the normalised balance grows by exactly the amount, the key
	// pays exactly amount × 2^17.
	before, bzzBefore := c.batch(t, ctx, id), c.bzz(t, ctx, owner)
	stdout, stderr, err = postageCLI(append([]string{"topup", "-postageBatch", hex.EncodeToString(id[:]), "-amount", "1000000"}, keyFlags...)...)
	require.NoError(t, err, stderr)
	require.Contains(t, stdout, "cost         0.0000131072 xBZZ (131072000000 PLUR)\n")
	require.Regexp(t, `tx: topUp 0x[0-9a-f]{64}`, stdout)
	after := c.batch(t, ctx, id)
	require.Equal(t, new(big.Int).Add(before.NormalisedBalance, big.NewInt(1_000_000)), after.NormalisedBalance)
	require.Equal(t, big.NewInt(1_000_000<<17), new(big.Int).Sub(bzzBefore, c.bzz(t, ctx, owner)))

	// Refusals send nothing.
	step = time.Now()
	stdout, _, err = postageCLI(append([]string{"buy", "-depth", "17", "-amount", "500000000", "-immutable"}, keyFlags...)...)
	require.NoError(t, err)
	immutable := parseBatch(t, stdout)
	otherKey, err := crypto.GenerateKey()
	require.NoError(t, err)
	require.NoError(t, net.Fund(ctx, crypto.PubkeyToAddress(otherKey.PublicKey), big.NewInt(1e18), big.NewInt(1e17)))
	foreign := c.buyAs(t, ctx, otherKey)
	wrongPass := filepath.Join(t.TempDir(), "wrong")
	require.NoError(t, os.WriteFile(wrongPass, []byte("not the password\n"), 0o600))
	hexID := func(id [32]byte) string { return hex.EncodeToString(id[:]) }
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"wrong password", append([]string{"topup", "-postageBatch", hexID(id), "-amount", "1000000"},
			append(slices.Clone(chainFlags), "-ethKeystorePath", keyFile, "-ethPassword", wrongPass)...), "wrong keystore password"},
		{"dilute an immutable batch", append([]string{"dilute", "-postageBatch", hexID(immutable), "-depth", "18", "-issuerState", state}, keyFlags...),
			"batch is immutable"},
		{"dilute another key's batch", append([]string{"dilute", "-postageBatch", hexID(foreign), "-depth", "18", "-issuerState", state}, keyFlags...),
			"batch owned by another address"},
		{"top up another key's batch", append([]string{"topup", "-postageBatch", hexID(foreign), "-amount", "1000000"}, keyFlags...),
			"batch owned by another address"},
	} {
		nonce, bzz := c.nonce(t, ctx, owner), c.bzz(t, ctx, owner)
		stdout, stderr, err := postageCLI(tc.args...)
		require.Error(t, err, tc.name)
		require.Contains(t, stderr, tc.want, tc.name)
		require.NotContains(t, stdout, "tx:", tc.name)
		require.Equal(t, nonce, c.nonce(t, ctx, owner), "%s: a transaction was sent", tc.name)
		require.Equal(t, bzz, c.bzz(t, ctx, owner), tc.name)
	}
	require.Equal(t, uint8(17), c.batch(t, ctx, foreign).Depth)
	require.Equal(t, uint8(17), c.batch(t, ctx, immutable).Depth)
	t.Logf("refusals checked in %s", time.Since(step).Round(time.Millisecond))

	// At depth 17 a segment with three chunks in one bucket is refused.
	segment, bucket := collidingSegment(t, 3)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "c.ts"), segment, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "index.m3u8"),
		[]byte("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nc.ts\n#EXT-X-ENDLIST\n"), 0o644))
	_, stderr, err = runCLI(t, ctx, append(importArgs, dir)...)
	require.Error(t, err)
	require.Contains(t, stderr, "bucket full")

	// Dilute 17 → 19 with the issuer state migrated.
	step = time.Now()
	stdout, stderr, err = postageCLI(append([]string{"dilute", "-postageBatch", hexID(id), "-depth", "19", "-issuerState", state}, keyFlags...)...)
	require.NoError(t, err, stderr)
	require.Regexp(t, `tx: increaseDepth 0x[0-9a-f]{64}`, stdout)
	require.Contains(t, stdout, "issuer state "+state+" migrated to depth 19 (1 file(s)); new stamps continue after the old bound of 2 per bucket")
	require.Equal(t, uint8(19), c.batch(t, ctx, id).Depth)
	usage, err := postage.ReadUsage(state, id)
	require.NoError(t, err)
	require.Equal(t, uint8(19), usage.Depth)
	waitBeeDepth(t, ctx, net, id, 19)
	t.Logf("diluted and seen by both nodes in %s", time.Since(step).Round(time.Millisecond))

	// The same segment at depth 19.
	step = time.Now()
	stdout, stderr, err = runCLI(t, ctx, append(importArgs, dir)...)
	require.NoError(t, err, stderr)
	parseRef(t, stdout)
	t.Logf("colliding segment archived in %s", time.Since(step).Round(time.Millisecond))

	issuer, err := postage.OpenIssuer(state, key.PrivateKey, []postage.Batch{{ID: id, Owner: owner, Depth: 19, BucketDepth: 16}})
	require.NoError(t, err)
	counters, err := issuer.BucketCounters(id)
	require.NoError(t, err)
	require.NoError(t, issuer.Close())
	require.GreaterOrEqual(t, counters[bucket], uint32(3), "bucket %d: indices beyond the old bound of 2", bucket)
	fullest := slices.Max(counters)
	require.LessOrEqual(t, fullest, uint32(8))

	// Everything reads back from the other node.
	step = time.Now()
	nb, err := bee.New(nodeB)
	require.NoError(t, err)
	for _, r := range []string{"audio", "hi", "lo"} {
		src := readSource(t, filepath.Join(stream, r, "index.m3u8"))
		for i := range src.segments {
			got, err := nb.Get(ctx, "/bzz/"+streamRef.String()+"/"+r+"/"+strconv.Itoa(i)+".ts", 16<<20)
			require.NoError(t, err, "%s/%d from node B", r, i)
			require.Equal(t, src.segments[i], got.Data, "%s/%d", r, i)
		}
	}
	segRef, err := chunker.Reference(ctx, segment, redundancy.NONE)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		got, err := nb.DownloadBytes(ctx, segRef, 1<<20)
		return err == nil && bytes.Equal(segment, got)
	}, time.Minute, 500*time.Millisecond, "the colliding segment does not read back from node B")
	t.Logf("read back from node B in %s", time.Since(step).Round(time.Millisecond))

	// Status: the contract's depth and TTL at the block it names, the fill
	// of the fullest bucket from the issuer state.
	stdout, stderr, err = postageCLI(append([]string{"status", "-postageBatch", hexID(id), "-issuerState", state}, chainFlags...)...)
	require.NoError(t, err, stderr)
	require.Contains(t, stdout, "depth        19 (bucket depth 16), mutable\n")
	require.Contains(t, stdout, "owner        "+owner.Hex()+"\n")
	m := regexp.MustCompile(`(?m)^block        (\d+)$`).FindStringSubmatch(stdout)
	require.NotNil(t, m, stdout)
	block, err := strconv.ParseUint(m[1], 10, 64)
	require.NoError(t, err)
	remaining, price := c.at(t, ctx, block, "remainingBalance", id), c.at(t, ctx, block, "lastPrice")
	seconds := new(big.Int).Quo(remaining, price).Int64() // 1 s blocks
	require.Less(t, seconds, int64(86400), "about 11.6 h: (4e9 + 1e6 PLUR) / 4 at 24000 PLUR a second")
	require.Contains(t, stdout, fmt.Sprintf("ttl          %d hours %d minutes\n", seconds/3600, seconds%3600/60))
	require.Contains(t, stdout, fmt.Sprintf("utilization  %.2f %% of the fullest bucket (%d in 8;", 100*float64(fullest)/8, fullest))
	t.Logf("whole test %s", time.Since(began).Round(time.Millisecond))
}

var batchLine = regexp.MustCompile(`(?m)^batch: ([0-9a-f]{64})$`)

func parseBatch(t *testing.T, stdout string) [32]byte {
	t.Helper()
	m := batchLine.FindStringSubmatch(stdout)
	require.NotNil(t, m, "no batch id in output: %q", stdout)
	id, err := postage.ParseBatchID(m[1])
	require.NoError(t, err)
	return id
}

// waitBeeDepth waits until both nodes list the batch at depth: they learn
// of purchases and dilutions from contract events a few blocks later, and
// refuse stamps beyond what they know.
func waitBeeDepth(t *testing.T, ctx context.Context, net *chaintest.Net, id [32]byte, depth uint8) {
	t.Helper()
	for _, u := range net.Nodes() {
		c, err := bee.New(u)
		require.NoError(t, err)
		require.Eventually(t, func() bool {
			b, err := c.ChainBatch(ctx, hex.EncodeToString(id[:]))
			return err == nil && b.Depth == depth
		}, 30*time.Second, 250*time.Millisecond, "%s does not list batch %x at depth %d", u, id, depth)
	}
}

// chainReader reads the chain for assertions, beside the command under test.
type chainReader struct {
	net    *chaintest.Net
	eth    *ethclient.Client
	client *onchain.Client
	ps     *bind.BoundContract
}

func newChainReader(t *testing.T, ctx context.Context, net *chaintest.Net) *chainReader {
	t.Helper()
	eth, err := ethclient.DialContext(ctx, net.RPCURL())
	require.NoError(t, err)
	t.Cleanup(eth.Close)
	client, err := onchain.New(ctx, net.RPCURL(), net.Contracts().PostageStamp, nil, onchain.Options{BlockTime: time.Second})
	require.NoError(t, err)
	t.Cleanup(client.Close)
	a, err := abi.JSON(strings.NewReader(sabi.TestnetPostageStampABI))
	require.NoError(t, err)
	return &chainReader{net: net, eth: eth, client: client, ps: bind.NewBoundContract(net.Contracts().PostageStamp, a, eth, eth, eth)}
}

func (c *chainReader) bzz(t *testing.T, ctx context.Context, addr common.Address) *big.Int {
	t.Helper()
	_, plur, err := c.client.Balances(ctx, addr)
	require.NoError(t, err)
	return plur
}

func (c *chainReader) nonce(t *testing.T, ctx context.Context, addr common.Address) uint64 {
	t.Helper()
	n, err := c.eth.PendingNonceAt(ctx, addr)
	require.NoError(t, err)
	return n
}

func (c *chainReader) batch(t *testing.T, ctx context.Context, id [32]byte) onchain.Batch {
	t.Helper()
	b, err := c.client.Batch(ctx, id)
	require.NoError(t, err)
	return b
}

// at reads one integer from PostageStamp at block.
func (c *chainReader) at(t *testing.T, ctx context.Context, block uint64, method string, args ...any) *big.Int {
	t.Helper()
	var res []any
	require.NoError(t, c.ps.Call(&bind.CallOpts{Context: ctx, BlockNumber: new(big.Int).SetUint64(block)}, &res, method, args...))
	require.Len(t, res, 1)
	switch v := res[0].(type) {
	case *big.Int:
		return v
	case uint64:
		return new(big.Int).SetUint64(v)
	}
	t.Fatalf("%s returned %T", method, res[0])
	return nil
}

// buyAs buys a mutable depth-17 batch owned by key.
func (c *chainReader) buyAs(t *testing.T, ctx context.Context, key *ecdsa.PrivateKey) [32]byte {
	t.Helper()
	cl, err := onchain.New(ctx, c.net.RPCURL(), c.net.Contracts().PostageStamp, key, onchain.Options{PollInterval: 100 * time.Millisecond})
	require.NoError(t, err)
	defer cl.Close()
	id, _, err := cl.Buy(ctx, 17, big.NewInt(500_000_000), false)
	require.NoError(t, err)
	return id
}

// collidingSegment returns n random 4 KiB blocks, one after the other,
// whose chunk addresses all fall in one bucket (bucket depth 16): the data
// chunks of the file they make. Found by the birthday paradox: about 3,000
// random blocks for three in a bucket.
func collidingSegment(t *testing.T, n int) ([]byte, uint32) {
	t.Helper()
	buckets := map[uint32][][]byte{}
	for {
		block := randomBytes(t, swarm.ChunkSize)
		ch, err := cac.New(block)
		require.NoError(t, err)
		bucket := binary.BigEndian.Uint32(ch.Address().Bytes()) >> 16
		buckets[bucket] = append(buckets[bucket], block)
		if len(buckets[bucket]) == n {
			return bytes.Join(buckets[bucket], nil), bucket
		}
	}
}
