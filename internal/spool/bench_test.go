package spool_test

import (
	"testing"

	"github.com/lpswarm/archiver/internal/spool"
)

// BenchmarkSubmit measures accepted 1 MiB jobs per second, each counted
// only once its Outcome arrived, i.e. including the durable write (file
// fsync, rename, directory fsync). Nothing drains the spool, so the
// figure is the writer alone. "serial" waits for each outcome before the
// next Submit (one job per directory fsync); "parallel" keeps many
// submitters in flight, as concurrent segment handlers do, so batches
// share directory fsyncs.
func BenchmarkSubmit(b *testing.B) {
	const jobSize = 1 << 20
	job := makeJob(alice, "bench", 1, jobSize*4/7) // 4/7 + 2/7 + 1/7 of 1 MiB
	job.Source = append(job.Source, make([]byte, jobSize-int(job.Bytes()))...)
	if job.Bytes() != jobSize {
		b.Fatalf("job is %d bytes", job.Bytes())
	}
	cfg := spool.Config{MaxBytes: 1 << 40, QueueLen: 256}

	b.Run("serial", func(b *testing.B) {
		s := open(b, b.TempDir(), cfg)
		b.SetBytes(jobSize)
		for b.Loop() {
			if err := (<-s.Submit(job)).Err; err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "jobs/s")
	})
	b.Run("parallel", func(b *testing.B) {
		s := open(b, b.TempDir(), cfg)
		b.SetBytes(jobSize)
		b.SetParallelism(8)
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := (<-s.Submit(job)).Err; err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "jobs/s")
	})
}
