package integration_test

// Client-side stamping on a local Swarm (geth dev chain,
// two Bee full nodes), the archiver's upload path against the fastest raw
// client we could write for the same job.
//
//	go test ./integration -run '^$' -bench 'ClientStampedVsRawChunks' -benchtime 3x -v

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"math/big"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts"
	ethcrypto "github.com/ethereum/go-ethereum/crypto"
	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	beepostage "github.com/ethersphere/bee/v2/pkg/postage"
	"github.com/ethersphere/bee/v2/pkg/swarm"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/bee"
	"github.com/lpswarm/archiver/chunker"
	"github.com/lpswarm/archiver/internal/chaintest"
	"github.com/lpswarm/archiver/postage"
	"github.com/lpswarm/archiver/upload"
)

var (
	csFiles    = flag.Int("cs.files", 16, "client-stamping benchmark: files per variant per iteration")
	csSize     = flag.Int("cs.size", 512<<10, "client-stamping benchmark: bytes per file")
	csFileConc = flag.Int("cs.fileconc", 4, "client-stamping benchmark: files uploaded at once by the archiver (a worker's -capacity)")
	csRawConc  = flag.String("cs.rawconc", "8,32", "client-stamping benchmark: concurrencies of the raw client's POST /chunks, each a variant")
)

// csRaw is the plainest client-stamping client: split with Bee's own file
// pipeline (pkg/file, pkg/bmt),
// stamp with go-ethereum in memory (no durable issuer state: it would
// reuse indices after a crash, which the archiver must never do), post
// every chunk to /chunks, conc at a time, on one tag per file.
type csRaw struct {
	hc       *http.Client
	url      string
	key      *ecdsa.PrivateKey
	id       []byte
	bucketDp uint8
	mu       sync.Mutex
	counters map[uint32]uint32
}

func (r *csRaw) stamp(addr swarm.Address, ts []byte) ([]byte, error) {
	bucket := binary.BigEndian.Uint32(addr.Bytes()) >> (32 - r.bucketDp)
	r.mu.Lock()
	c := r.counters[bucket]
	r.counters[bucket]++
	r.mu.Unlock()
	index := binary.BigEndian.AppendUint32(nil, bucket)
	index = binary.BigEndian.AppendUint32(index, c)
	digest, err := beepostage.ToSignDigest(addr.Bytes(), r.id, index, ts)
	if err != nil {
		return nil, err
	}
	sig, err := ethcrypto.Sign(accounts.TextHash(digest), r.key)
	if err != nil {
		return nil, err
	}
	sig[64] += 27
	return beepostage.NewStamp(r.id, index, ts, sig).MarshalBinary()
}

func (r *csRaw) upload(ctx context.Context, c *bee.Client, data []byte, conc int) (swarm.Address, error) {
	root, chunks, err := tpBeeSplit(ctx, data, redundancy.NONE)
	if err != nil {
		return swarm.ZeroAddress, err
	}
	ts := binary.BigEndian.AppendUint64(nil, uint64(time.Now().UnixNano()))
	tag, err := c.CreateTag(ctx)
	if err != nil {
		return swarm.ZeroAddress, err
	}
	idx := make([]int, len(chunks))
	for i := range idx {
		idx[i] = i
	}
	err = tpParallel(conc, idx, func(i int) error {
		// Signed on the posting goroutines: the signatures spread over
		// the cores while other posts wait on Bee.
		stamp, err := r.stamp(chunks[i].Address(), ts)
		if err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url+"/chunks", bytes.NewReader(chunks[i].Data()))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/octet-stream")
		req.Header.Set(bee.HeaderStamp, fmt.Sprintf("%x", stamp))
		req.Header.Set(bee.HeaderTag, strconv.FormatUint(tag.UID, 10))
		req.Header.Set(bee.HeaderDeferred, "true")
		resp, err := r.hc.Do(req)
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			return fmt.Errorf("POST /chunks: %s: %s", resp.Status, body)
		}
		return nil
	})
	return root, err
}

// BenchmarkClientStampedVsRawChunks runs, in every iteration and in
// alternating order, one round of each variant on fresh random files of
// the same sizes through node A of a local Swarm:
//
//   - archiver: upload.ClientStamped with a postage.Issuer (durable index
//     reservation, stamp memo, per-file tag, Concurrency 8 posts per file),
//     -cs.fileconc files at once;
//   - raw/conc=N: csRaw, the files one after the other, N chunk posts at a
//     time (a raw client gains nothing from files in parallel that more
//     posts in flight do not give it).
//
// Metrics: MB/s and chunks/s per variant, ratio to the best raw, and this
// process's CPU per chunk (split, stamps, HTTP). One file per variant and
// round is read back from node B.
func BenchmarkClientStampedVsRawChunks(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start := time.Now()
	net, err := chaintest.Start(ctx, chaintest.Options{Logger: warnings()})
	require.NoError(b, err)
	defer func() { _ = net.Close() }()
	key, err := ethcrypto.GenerateKey()
	require.NoError(b, err)
	const depth = 22
	id, err := net.BuyBatch(ctx, key, depth, big.NewInt(1_000_000_000), true)
	require.NoError(b, err)
	b.Logf("local Swarm up and batch bought in %s", time.Since(start).Round(time.Second))
	nodeA, nodeB := net.Nodes()[0], net.Nodes()[1]
	ca, err := bee.New(nodeA)
	require.NoError(b, err)
	cb, err := bee.New(nodeB)
	require.NoError(b, err)

	issuer, err := postage.OpenIssuer(b.TempDir(), key, []postage.Batch{{
		ID: id, Owner: ethcrypto.PubkeyToAddress(key.PublicKey), Depth: depth, BucketDepth: 16, Immutable: true,
	}})
	require.NoError(b, err)
	defer issuer.Close()
	up := upload.ClientStamped(ca, issuer, upload.Config{})
	// The raw client gets the upper half of every bucket: the archiver's
	// issuer counts up from 0 and stays far below it here.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 128
	raw := &csRaw{hc: &http.Client{Transport: tr}, url: nodeA, key: key, id: id[:], bucketDp: 16, counters: map[uint32]uint32{}}
	for bkt := range uint32(1 << 16) {
		raw.counters[bkt] = 1 << (depth - 16 - 1)
	}

	var names []string
	rawConc := map[string]int{}
	for _, s := range strings.Split(*csRawConc, ",") {
		c, err := strconv.Atoi(strings.TrimSpace(s))
		require.NoError(b, err, "-cs.rawconc")
		n := fmt.Sprintf("raw/conc=%d", c)
		names = append(names, n)
		rawConc[n] = c
	}
	names = append(names, "archiver")
	tallies := map[string]*tpTally{}
	chunks := map[string]int{}
	for _, n := range names {
		tallies[n] = &tpTally{}
	}
	rng := rand.NewChaCha8([32]byte{9})
	b.Logf("loadavg before %s", tpLoadavg())
	iter := 0
	for b.Loop() {
		order := make([]string, len(names))
		for i, n := range names {
			if iter%2 == 1 {
				i = len(names) - 1 - i
			}
			order[i] = n
		}
		iter++
		for _, n := range order {
			b.StopTimer()
			files := make([][]byte, *csFiles)
			for i := range files {
				files[i] = make([]byte, *csSize)
				_, _ = rng.Read(files[i])
			}
			for _, f := range files {
				ff, err := chunker.Split(ctx, f, redundancy.NONE)
				require.NoError(b, err)
				chunks[n] += len(ff.Chunks)
			}
			refs := make([]swarm.Address, len(files))
			b.StartTimer()
			t := tallies[n]
			c0, w0 := tpSelfCPU(b), time.Now()
			if conc := rawConc[n]; conc > 0 {
				for i, f := range files {
					refs[i], err = raw.upload(ctx, ca, f, conc)
					require.NoError(b, err)
				}
			} else {
				idx := make([]int, len(files))
				for i := range idx {
					idx[i] = i
				}
				require.NoError(b, tpParallel(*csFileConc, idx, func(i int) error {
					rec, err := up.Upload(ctx, files[i])
					refs[i] = rec.Reference
					return err
				}))
			}
			t.wall += time.Since(w0)
			t.self += tpSelfCPU(b) - c0
			t.bytes += tpSum(files)
			b.StopTimer()
			got, err := cb.DownloadBytes(ctx, refs[len(refs)-1], int64(*csSize)+1)
			require.NoError(b, err, "%s: read back from node B", n)
			require.True(b, bytes.Equal(got, files[len(files)-1]), "%s: bytes read back from node B differ", n)
			b.StartTimer()
		}
	}
	base := 0.0
	for n := range rawConc {
		base = max(base, tallies[n].mbps())
	}
	for _, n := range names {
		t := tallies[n]
		cps := float64(chunks[n]) / t.wall.Seconds()
		b.ReportMetric(t.mbps(), n+"-MB/s")
		b.ReportMetric(float64(t.self.Microseconds())/float64(chunks[n]), n+"-cpu-µs/chunk")
		if rawConc[n] == 0 {
			b.ReportMetric(t.mbps()/base, n+"-x")
		}
		b.Logf("%-12s %6.2f MB/s  %6.0f chunks/s  %.3fx best raw  this process %.0f µs CPU/chunk",
			n, t.mbps(), cps, t.mbps()/base, float64(t.self.Microseconds())/float64(chunks[n]))
	}
	b.Logf("loadavg after %s", tpLoadavg())
}
