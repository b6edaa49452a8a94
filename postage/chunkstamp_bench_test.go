package postage

import (
	"bytes"
	"context"
	"encoding/binary"
	"math/rand/v2"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts"
	ethcrypto "github.com/ethereum/go-ethereum/crypto"
	"github.com/ethersphere/bee/v2/pkg/bmtpool"
	"github.com/ethersphere/bee/v2/pkg/file/pipeline/builder"
	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	beepostage "github.com/ethersphere/bee/v2/pkg/postage"
	"github.com/ethersphere/bee/v2/pkg/storage"
	"github.com/ethersphere/bee/v2/pkg/swarm"

	"github.com/lpswarm/archiver/chunker"
)

// BenchmarkChunkStampCPU makes and stamps the chunks of
// one 1 MiB segment three ways, and reports CPU and wall time per chunk:
//   - archiver: chunker.Split (level NONE: its own BMT, chunks spread over
//     GOMAXPROCS goroutines, copies kept) and Issuer.Stamp (durable index
//     reservation: one state write and fsync per call, mainnet-shaped
//     bucket depth 16; signatures on GOMAXPROCS goroutines);
//   - archiver-beepipeline: the same with the chunks from Bee's pipeline,
//     as chunker made them before;
//   - bee+geth: the same chunks hashed with bee's pkg/bmtpool and signed
//     with go-ethereum's crypto.Sign over the same EIP-191 digest, on
//     GOMAXPROCS goroutines, with no state at all: the floor.
//
// Run: go test ./postage -run '^$' -bench ChunkStampCPU -benchtime 100x
func BenchmarkChunkStampCPU(b *testing.B) {
	data := make([]byte, 1<<20)
	_, _ = rand.NewChaCha8([32]byte{2}).Read(data)
	ctx := context.Background()
	key := newKey(b)
	batch := testBatch(ownerOf(key), "chunkstamp", 32, 16, true)
	f, err := chunker.Split(ctx, data, redundancy.NONE)
	if err != nil {
		b.Fatal(err)
	}
	chunks := len(f.Chunks)

	run := func(b *testing.B, one func()) {
		c0, n := cpuNow(b), 0
		for b.Loop() {
			one()
			n++
		}
		cpu := cpuNow(b) - c0
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(n*chunks), "cpu-ns/chunk")
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n*chunks), "ns/chunk")
		b.ReportMetric(0, "ns/op")
	}

	b.Run("archiver", func(b *testing.B) {
		is, err := OpenIssuer(b.TempDir(), key, []Batch{batch})
		if err != nil {
			b.Fatal(err)
		}
		defer is.Close()
		run(b, func() {
			f, err := chunker.Split(ctx, data, redundancy.NONE)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := is.Stamp(ctx, f.Addresses()); err != nil {
				b.Fatal(err)
			}
		})
	})

	b.Run("archiver-beepipeline", func(b *testing.B) {
		// The archiver as it was: chunks from Bee's own pipeline, whose
		// BMT hasher runs a goroutine per 64-byte section.
		is, err := OpenIssuer(b.TempDir(), key, []Batch{batch})
		if err != nil {
			b.Fatal(err)
		}
		defer is.Close()
		discard := storage.PutterFunc(func(context.Context, swarm.Chunk) error { return nil })
		run(b, func() {
			var addrs []swarm.Address
			var mu sync.Mutex
			pipe := builder.NewPipelineBuilder(ctx, storage.PutterFunc(func(ctx context.Context, ch swarm.Chunk) error {
				mu.Lock()
				addrs = append(addrs, ch.Address().Clone())
				mu.Unlock()
				return discard.Put(ctx, ch)
			}), false, redundancy.NONE)
			if _, err := builder.FeedPipeline(ctx, pipe, bytes.NewReader(data)); err != nil {
				b.Fatal(err)
			}
			if _, err := is.Stamp(ctx, addrs); err != nil {
				b.Fatal(err)
			}
		})
	})

	b.Run("bee+geth", func(b *testing.B) {
		id := batch.ID[:]
		var counter uint32
		run(b, func() {
			ts := binary.BigEndian.AppendUint64(nil, uint64(time.Now().UnixNano()))
			workers := runtime.GOMAXPROCS(0)
			var wg sync.WaitGroup
			for w := range workers {
				wg.Go(func() {
					for i := w; i < chunks; i += workers {
						h := bmtpool.Get()
						data := f.Chunks[i].Data()
						h.SetHeader(data[:swarm.SpanSize])
						_, _ = h.Write(data[swarm.SpanSize:])
						addr, _ := h.Hash(nil)
						bmtpool.Put(h)
						index := binary.BigEndian.AppendUint32(nil, uint32(i))
						index = binary.BigEndian.AppendUint32(index, counter)
						digest, err := beepostage.ToSignDigest(addr, id, index, ts)
						if err != nil {
							panic(err)
						}
						sig, err := ethcrypto.Sign(accounts.TextHash(digest), key)
						if err != nil {
							panic(err)
						}
						_ = beepostage.NewStamp(id, index, ts, sig)
					}
				})
			}
			wg.Wait()
			counter++
		})
	})
}

func cpuNow(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
