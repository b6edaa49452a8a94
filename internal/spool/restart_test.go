package spool_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver"
	"github.com/lpswarm/archiver/internal/spool"
)

func TestRestartServesEveryJob(t *testing.T) {
	dir := t.TempDir()
	cfg := spool.Config{MaxBytes: 1 << 24, MaxBytesPerSender: 1 << 23}
	s, err := spool.Open(dir, cfg)
	require.NoError(t, err)
	require.NoError(t, s.Start(context.Background()))

	const n = 30
	submitted := map[key]archiver.Job{}
	senders := []common.Address{alice, bob, carol}
	for i := range n {
		job := makeJob(senders[i%3], []string{"x", "y"}[i%2], int64(i), 500+i*37)
		accept(t, s, job)
		submitted[keyOf(job)] = job
	}
	var maxID spool.ID
	for range 5 { // leased, never Done: must come back
		e, err := s.Next(context.Background())
		require.NoError(t, err)
		maxID = max(maxID, e.ID)
	}
	done, err := s.Next(context.Background())
	require.NoError(t, err)
	require.NoError(t, s.Done(done.ID))
	delete(submitted, keyOf(done.Job))
	before := s.Stats()
	require.NoError(t, s.Close())

	s = open(t, dir, cfg)
	st := s.Stats()
	require.Equal(t, n-1, st.Jobs)
	require.Zero(t, st.Leased, "leases do not survive a restart")
	require.Equal(t, before.Bytes, st.Bytes, "budgets recomputed from the files")
	require.Equal(t, before.PerSender, st.PerSender)

	for _, e := range drain(t, s) {
		want, ok := submitted[keyOf(e.Job)]
		require.True(t, ok, "unexpected job %+v", keyOf(e.Job))
		require.Equal(t, want, e.Job)
		delete(submitted, keyOf(e.Job))
	}
	require.Empty(t, submitted, "every job not Done came back")

	job := makeJob(alice, "z", 1, 10)
	accept(t, s, job)
	e, err := s.Next(context.Background())
	require.NoError(t, err)
	require.Greater(t, e.ID, maxID, "a new job never takes the ID of one on disk")
}

func TestRestartQuarantinesCorruptFiles(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t *testing.T, path string)
	}{
		{"truncated to half", func(t *testing.T, p string) { truncate(t, p, func(n int64) int64 { return n / 2 }) }},
		{"last byte missing", func(t *testing.T, p string) { truncate(t, p, func(n int64) int64 { return n - 1 }) }},
		{"empty", func(t *testing.T, p string) { truncate(t, p, func(int64) int64 { return 0 }) }},
		{"byte flipped in data", func(t *testing.T, p string) { flip(t, p, 200) }},
		{"byte flipped in header", func(t *testing.T, p string) { flip(t, p, 3) }},
		{"garbage appended", func(t *testing.T, p string) {
			f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
			require.NoError(t, err)
			_, err = f.Write([]byte("junk"))
			require.NoError(t, err)
			require.NoError(t, f.Close())
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := spool.Config{MaxBytes: 1 << 20}
			s, err := spool.Open(dir, cfg)
			require.NoError(t, err)
			require.NoError(t, s.Start(context.Background()))
			jobs := []archiver.Job{makeJob(alice, "m", 1, 1000), makeJob(alice, "m", 2, 1000), makeJob(bob, "m", 3, 1000)}
			for _, j := range jobs {
				accept(t, s, j)
			}
			victim := spool.JobPath(s, 1) // jobs[1]
			require.NoError(t, s.Close())
			tc.damage(t, victim)
			damaged, err := os.ReadFile(victim)
			require.NoError(t, err)

			var logs logBuffer
			cfg.Logger = logs.logger()
			s = open(t, dir, cfg)

			require.NoFileExists(t, victim)
			moved := filepath.Join(dir, "corrupt", filepath.Base(victim))
			kept, err := os.ReadFile(moved)
			require.NoError(t, err, "the file is moved aside, not deleted")
			require.Equal(t, damaged, kept)
			require.Contains(t, logs.String(), "level=ERROR")
			require.Contains(t, logs.String(), moved)

			st := s.Stats()
			require.Equal(t, 2, st.Jobs)
			require.Equal(t, 1, st.Corrupt)
			got := drain(t, s)
			require.Len(t, got, 2)
			require.Equal(t, jobs[0], got[0].Job)
			require.Equal(t, jobs[2], got[1].Job)
		})
	}
}

// TestCorruptionFoundByNext: damage after Open is caught when the job is
// read, and Next goes on to the next job.
func TestCorruptionFoundByNext(t *testing.T) {
	dir := t.TempDir()
	var logs logBuffer
	s := open(t, dir, spool.Config{MaxBytes: 1 << 20, Logger: logs.logger()})
	bad, good := makeJob(alice, "m", 1, 1000), makeJob(alice, "m", 2, 1000)
	accept(t, s, bad)
	accept(t, s, good)
	flip(t, spool.JobPath(s, 0), 500)

	e, err := s.Next(context.Background())
	require.NoError(t, err)
	require.Equal(t, good, e.Job)
	require.FileExists(t, filepath.Join(dir, "corrupt", filepath.Base(spool.JobPath(s, 0))))
	require.Contains(t, logs.String(), "checksum mismatch")
	st := s.Stats()
	require.Equal(t, 1, st.Corrupt)
	require.Equal(t, 1, st.Jobs, "the corrupt job's bytes are released")
}

func TestRestartCleansUp(t *testing.T) {
	dir := t.TempDir()
	cfg := spool.Config{MaxBytes: 1 << 20}
	s, err := spool.Open(dir, cfg)
	require.NoError(t, err)
	require.NoError(t, s.Close())

	temp := filepath.Join(dir, "0000000000000007.tmp")
	other := filepath.Join(dir, "README")
	require.NoError(t, os.WriteFile(temp, []byte("half a job"), 0o600))
	require.NoError(t, os.WriteFile(other, []byte("not ours"), 0o600))
	var logs logBuffer
	cfg.Logger = logs.logger()
	s = open(t, dir, cfg)
	require.NoFileExists(t, temp, "an unfinished write is removed")
	require.FileExists(t, other, "an unknown file is left alone")
	require.Contains(t, logs.String(), "unknown file")
	require.Zero(t, s.Stats().Jobs)
}

func truncate(t *testing.T, path string, size func(int64) int64) {
	t.Helper()
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.NoError(t, os.Truncate(path, size(fi.Size())))
}

func flip(t *testing.T, path string, at int64) {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	data[at] ^= 0x10
	require.NoError(t, os.WriteFile(path, data, 0o600))
}
