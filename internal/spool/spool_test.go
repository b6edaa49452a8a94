package spool_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver"
	"github.com/lpswarm/archiver/internal/spool"
)

func TestSubmitNextDone(t *testing.T) {
	s := open(t, t.TempDir(), spool.Config{MaxBytes: 1 << 20})
	job := makeJob(alice, "stream-1", 7, 4096)

	accept(t, s, job)
	st := s.Stats()
	require.Equal(t, 1, st.Jobs)
	require.Equal(t, 0, st.Pending)
	require.Positive(t, st.Bytes)
	require.Equal(t, spool.SenderStats{Jobs: 1, Bytes: st.Bytes}, st.PerSender[alice])

	e, err := s.Next(context.Background())
	require.NoError(t, err)
	require.Equal(t, job, e.Job, "bytes, names, seq, sender and manifest come back as submitted")
	require.Zero(t, e.Attempts)
	require.Equal(t, 1, s.Stats().Leased)
	fi, err := os.Stat(spool.JobPath(s, e.ID))
	require.NoError(t, err)
	require.Equal(t, st.Bytes, fi.Size(), "the budget charges the file's size")

	require.NoError(t, s.Done(e.ID))
	require.NoFileExists(t, spool.JobPath(s, e.ID))
	require.Equal(t, spool.Stats{PerSender: map[common.Address]spool.SenderStats{}}, s.Stats())
	require.ErrorIs(t, s.Done(e.ID), spool.ErrNotLeased)
}

func TestQuotas(t *testing.T) {
	const size = 1000
	jobBytes := int64(2000) // 1750 bytes of source and renditions plus framing, rounded up
	type step struct {
		sender common.Address
		refuse spool.Limit // "" = accepted
	}
	tests := []struct {
		name  string
		cfg   spool.Config
		steps []step
	}{
		{
			name: "global limit refuses every sender",
			cfg:  spool.Config{MaxBytes: 3 * jobBytes},
			steps: []step{
				{alice, ""}, {bob, ""}, {carol, ""},
				{carol, spool.LimitTotal}, {alice, spool.LimitTotal},
			},
		},
		{
			name: "one sender over its quota, others still get in",
			cfg:  spool.Config{MaxBytes: 10 * jobBytes, MaxBytesPerSender: 2 * jobBytes},
			steps: []step{
				{alice, ""}, {alice, ""}, {alice, spool.LimitSender},
				{bob, ""}, {bob, ""}, {carol, ""}, {alice, spool.LimitSender}, {bob, spool.LimitSender},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t, t.TempDir(), tc.cfg)
			accepted := map[key]archiver.Job{}
			for i, st := range tc.steps {
				job := makeJob(st.sender, "m", int64(i), size)
				err := (<-s.Submit(job)).Err
				if st.refuse == "" {
					require.NoError(t, err, "step %d", i)
					accepted[keyOf(job)] = job
					continue
				}
				require.ErrorIs(t, err, archiver.ErrSpoolFull, "step %d", i)
				var full *spool.FullError
				require.ErrorAs(t, err, &full)
				require.Equal(t, st.refuse, full.Limit)
				require.Equal(t, st.sender, full.Sender)
				require.Contains(t, err.Error(), string(st.refuse)+":", "the message names the limit")
			}

			st := s.Stats()
			require.Equal(t, len(accepted), st.Jobs)
			require.Zero(t, st.Pending, "refusals hold no reservation")
			for _, e := range drain(t, s) {
				want, ok := accepted[keyOf(e.Job)]
				require.True(t, ok, "served a refused job %+v", keyOf(e.Job))
				require.Equal(t, want, e.Job, "old jobs are intact")
				delete(accepted, keyOf(e.Job))
			}
			require.Empty(t, accepted)
			accept(t, s, makeJob(alice, "m", 99, size)) // Done gave the room back
		})
	}
}

func TestSubmitNeverBlocks(t *testing.T) {
	s, err := spool.Open(t.TempDir(), spool.Config{MaxBytes: 1 << 20, QueueLen: 2})
	require.NoError(t, err)
	st := newStall()
	spool.SetSync(s, st.sync)
	require.NoError(t, s.Start(context.Background()))

	first := s.Submit(makeJob(alice, "m", 0, 100))
	<-st.entered // the writer holds job 0 in fsync until released

	queued := []<-chan archiver.Outcome{
		s.Submit(makeJob(alice, "m", 1, 100)),
		s.Submit(makeJob(bob, "m", 2, 100)),
	}
	// Submit returned although the writer is stuck, and with the queue
	// full the refusal is already there when it returns.
	overflow := s.Submit(makeJob(carol, "m", 3, 100))
	o, ok := answered(overflow)
	require.True(t, ok, "overflow must be answered by the time Submit returns")
	require.ErrorIs(t, o.Err, archiver.ErrSpoolFull)
	require.ErrorContains(t, o.Err, string(spool.LimitQueue))
	for i, ch := range append(queued, first) {
		_, ok := answered(ch)
		require.False(t, ok, "job %d answered before it was durable", i)
	}
	require.Equal(t, 3, s.Stats().Pending)

	close(st.release)
	for _, ch := range append(queued, first) {
		require.NoError(t, (<-ch).Err)
	}
	require.NoError(t, s.Close())
	require.Len(t, st.entered, 2, "jobs 1 and 2 were fsynced after job 0")
}

func TestCloseAnswersEveryJob(t *testing.T) {
	t.Run("started: queued jobs are written", func(t *testing.T) {
		dir := t.TempDir()
		s, err := spool.Open(dir, spool.Config{MaxBytes: 1 << 20, QueueLen: 8})
		require.NoError(t, err)
		st := newStall()
		spool.SetSync(s, st.sync)
		require.NoError(t, s.Start(context.Background()))
		var outs []<-chan archiver.Outcome
		for i := range 5 {
			outs = append(outs, s.Submit(makeJob(alice, "m", int64(i), 100)))
		}
		<-st.entered
		closed := make(chan error)
		go func() { closed <- s.Close() }()
		close(st.release)
		require.NoError(t, <-closed)
		for _, ch := range outs {
			o, ok := answered(ch)
			require.True(t, ok, "Close returned before answering a job")
			require.NoError(t, o.Err)
		}
		require.ErrorIs(t, (<-s.Submit(makeJob(alice, "m", 9, 1))).Err, spool.ErrClosed)
		_, err = s.Next(context.Background())
		require.ErrorIs(t, err, spool.ErrClosed)

		s = open(t, dir, spool.Config{MaxBytes: 1 << 20})
		require.Equal(t, 5, s.Stats().Jobs)
	})
	t.Run("never started: queued jobs are refused", func(t *testing.T) {
		s, err := spool.Open(t.TempDir(), spool.Config{MaxBytes: 1 << 20})
		require.NoError(t, err)
		ch := s.Submit(makeJob(alice, "m", 1, 100))
		require.NoError(t, s.Close())
		o, ok := answered(ch)
		require.True(t, ok)
		require.ErrorIs(t, o.Err, spool.ErrClosed)
		require.Zero(t, s.Stats().Bytes)
		require.NoError(t, s.Close(), "second Close is a no-op")
		require.ErrorIs(t, s.Start(context.Background()), spool.ErrClosed)
	})
}

func TestWriterStoppedByContext(t *testing.T) {
	s, err := spool.Open(t.TempDir(), spool.Config{MaxBytes: 1 << 20})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.NoError(t, s.Start(ctx))
	require.ErrorIs(t, s.Start(ctx), spool.ErrStarted)

	err = (<-s.Submit(makeJob(alice, "m", 1, 100))).Err
	require.ErrorIs(t, err, context.Canceled)
	require.NotErrorIs(t, err, archiver.ErrSpoolFull)
	require.Zero(t, s.Stats().Bytes, "a failed write returns its reservation")
}

func TestWriteFailureReleasesReservation(t *testing.T) {
	s, err := spool.Open(t.TempDir(), spool.Config{MaxBytes: 1 << 20})
	require.NoError(t, err)
	diskFull := errors.New("no space left on device")
	spool.SetSync(s, func(f *os.File) error {
		if strings.HasSuffix(f.Name(), ".tmp") {
			return diskFull
		}
		return f.Sync()
	})
	require.NoError(t, s.Start(context.Background()))
	t.Cleanup(func() { require.NoError(t, s.Close()) })

	err = (<-s.Submit(makeJob(alice, "m", 1, 100))).Err
	require.ErrorIs(t, err, diskFull)
	require.Equal(t, spool.Stats{PerSender: map[common.Address]spool.SenderStats{}}, s.Stats())
	left, err := filepath.Glob(filepath.Join(filepath.Dir(spool.JobPath(s, 0)), "*.*"))
	require.NoError(t, err)
	require.Empty(t, left, "no temp or job file remains")
}

func TestReleaseCountsAttempts(t *testing.T) {
	s := open(t, t.TempDir(), spool.Config{MaxBytes: 1 << 20})
	first, second := makeJob(alice, "m", 1, 100), makeJob(alice, "m", 2, 100)
	accept(t, s, first)
	accept(t, s, second)

	for attempt := range 3 {
		e, err := s.Next(context.Background())
		require.NoError(t, err)
		require.Equal(t, first, e.Job, "a released job is the next served for its manifest")
		require.Equal(t, attempt, e.Attempts)
		require.NoError(t, s.Release(e.ID))
		require.ErrorIs(t, s.Release(e.ID), spool.ErrNotLeased)
		require.ErrorIs(t, s.Done(e.ID), spool.ErrNotLeased)
	}
	require.Len(t, drain(t, s), 2)
	require.ErrorIs(t, s.Release(12345), spool.ErrNotLeased)
}

func TestNextHonoursContext(t *testing.T) {
	s := open(t, t.TempDir(), spool.Config{MaxBytes: 1 << 20})
	type result struct {
		e   spool.Entry
		err error
	}
	next := func(ctx context.Context) <-chan result {
		ch := make(chan result, 1)
		go func() {
			e, err := s.Next(ctx)
			ch <- result{e, err}
		}()
		waitIdle(s, 1)
		return ch
	}

	ctx, cancel := context.WithCancel(context.Background())
	waiting := next(ctx)
	cancel()
	require.ErrorIs(t, (<-waiting).err, context.Canceled, "a waiting Next returns when its context ends")

	accept(t, s, makeJob(alice, "m", 1, 100))
	_, err := s.Next(ctx)
	require.ErrorIs(t, err, context.Canceled, "a done context wins over a ready job")
	require.Zero(t, s.Stats().Leased, "and leases nothing")
	require.Len(t, drain(t, s), 1)

	waiting = next(context.Background())
	accept(t, s, makeJob(bob, "m", 2, 100))
	r := <-waiting
	require.NoError(t, r.err)
	require.Equal(t, int64(2), r.e.Job.Seq, "a waiting Next gets the job submitted meanwhile")
	require.NoError(t, s.Done(r.e.ID))

	waiting = next(context.Background())
	require.NoError(t, s.Close())
	require.ErrorIs(t, (<-waiting).err, spool.ErrClosed, "Close wakes a waiting Next")
}

// waitIdle yields until n Next calls are blocked waiting for work.
func waitIdle(s *spool.Spool, n int) {
	for s.Stats().Waiting != n {
		runtime.Gosched()
	}
}

func TestOpen(t *testing.T) {
	tests := []struct {
		name string
		cfg  spool.Config
		want error
	}{
		{"no MaxBytes", spool.Config{}, spool.ErrInvalidConfig},
		{"negative quota", spool.Config{MaxBytes: 1, MaxBytesPerSender: -1}, spool.ErrInvalidConfig},
		{"negative queue", spool.Config{MaxBytes: 1, QueueLen: -1}, spool.ErrInvalidConfig},
		{"defaults", spool.Config{MaxBytes: 1}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := spool.Open(filepath.Join(t.TempDir(), "a", "b"), tc.cfg)
			if tc.want != nil {
				require.ErrorIs(t, err, tc.want)
				return
			}
			require.NoError(t, err)
			require.NoError(t, s.Close())
		})
	}

	t.Run("one spool per directory", func(t *testing.T) {
		dir := t.TempDir()
		s, err := spool.Open(dir, spool.Config{MaxBytes: 1})
		require.NoError(t, err)
		_, err = spool.Open(dir, spool.Config{MaxBytes: 1})
		require.ErrorIs(t, err, spool.ErrLocked)
		require.NoError(t, s.Close())
		s, err = spool.Open(dir, spool.Config{MaxBytes: 1})
		require.NoError(t, err, "Close releases the lock")
		require.NoError(t, s.Close())
	})
}

func TestSubmitRejectsUnencodableJob(t *testing.T) {
	s := open(t, t.TempDir(), spool.Config{MaxBytes: 1 << 30})
	job := makeJob(alice, strings.Repeat("x", 1<<16), 1, 10)
	require.ErrorIs(t, (<-s.Submit(job)).Err, spool.ErrInvalidJob)
	job = makeJob(alice, "m", 1, 10)
	job.Renditions[0].Name = strings.Repeat("n", 1<<16)
	require.ErrorIs(t, (<-s.Submit(job)).Err, spool.ErrInvalidJob)
	require.Zero(t, s.Stats().Bytes)
}
