package catalog

import (
	"context"
	"encoding/binary"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// BenchmarkAcceptComplete measures records per second through Accept then
// Complete: two transactions, so two fsyncs, per record. "parallel" shows
// what concurrent callers get; bbolt still commits one writer at a time.
func BenchmarkAcceptComplete(b *testing.B) {
	setup := func(b *testing.B) *Index {
		ix, _ := openTest(b)
		require.NoError(b, ix.Rendition(context.Background(), testStream(1), "source", nil))
		return ix
	}
	// record returns its error rather than failing: RunParallel's
	// goroutines may not call b.Fatal.
	record := func(ix *Index, seq uint64) error {
		var h [32]byte
		binary.BigEndian.PutUint64(h[:], seq+1)
		ctx := context.Background()
		if err := ix.Accept(ctx, testStream(1), "source", seq, h, segBytes, "2", ".ts"); err != nil {
			return err
		}
		_, err := ix.Complete(ctx, testStream(1), "source", seq, h, ref(string(h[24:])), segBytes)
		return err
	}
	b.Run("serial", func(b *testing.B) {
		ix := setup(b)
		var seq uint64
		for b.Loop() {
			if err := record(ix, seq); err != nil {
				b.Fatal(err)
			}
			seq++
		}
		b.ReportMetric(float64(seq)/b.Elapsed().Seconds(), "records/s")
	})
	b.Run("parallel", func(b *testing.B) {
		ix := setup(b)
		var seq atomic.Uint64
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := record(ix, seq.Add(1)); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(seq.Load())/b.Elapsed().Seconds(), "records/s")
	})
}
