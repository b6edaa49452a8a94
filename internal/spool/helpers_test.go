package spool_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver"
	"github.com/lpswarm/archiver/internal/spool"
)

var (
	alice = common.HexToAddress("0x00000000000000000000000000000000000000a1")
	bob   = common.HexToAddress("0x00000000000000000000000000000000000000b0")
	carol = common.HexToAddress("0x00000000000000000000000000000000000000c4")
)

// makeJob builds a job whose bytes are a function of its identity, so a
// test (or a crash-test parent) can rebuild exactly what was submitted.
func makeJob(sender common.Address, manifest string, seq int64, size int) archiver.Job {
	var seed [32]byte
	copy(seed[:], fmt.Sprintf("%s/%s/%d", sender.Hex(), manifest, seq))
	rng := rand.NewChaCha8(seed)
	fill := func(n int) []byte {
		b := make([]byte, n)
		_, _ = rng.Read(b)
		return b
	}
	return archiver.Job{
		Sender:     sender,
		ManifestID: archiver.ManifestID(manifest),
		Seq:        seq,
		Duration:   time.Duration(seq+1) * time.Second,
		Source:     fill(size),
		Renditions: []archiver.Rendition{
			{Name: "720p", Data: fill(size / 2)},
			{Name: "360p", Data: fill(size / 4)},
		},
	}
}

// open opens and starts a spool in dir, closed when the test ends.
func open(t testing.TB, dir string, cfg spool.Config) *spool.Spool {
	t.Helper()
	s, err := spool.Open(dir, cfg)
	require.NoError(t, err)
	require.NoError(t, s.Start(context.Background()))
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

// accept submits job and requires it to be durably accepted.
func accept(t testing.TB, s *spool.Spool, job archiver.Job) {
	t.Helper()
	require.NoError(t, (<-s.Submit(job)).Err)
}

// drain leases and completes every ready job, in the order served.
func drain(t testing.TB, s *spool.Spool) []spool.Entry {
	t.Helper()
	var got []spool.Entry
	for s.Stats().Jobs > s.Stats().Leased {
		e, err := s.Next(context.Background())
		require.NoError(t, err)
		require.NoError(t, s.Done(e.ID))
		got = append(got, e)
	}
	return got
}

// answered returns the outcome if it is already there, without waiting.
func answered(ch <-chan archiver.Outcome) (archiver.Outcome, bool) {
	select {
	case o := <-ch:
		return o, true
	default:
		return archiver.Outcome{}, false
	}
}

type key struct {
	sender   common.Address
	manifest archiver.ManifestID
	seq      int64
}

func keyOf(j archiver.Job) key { return key{j.Sender, j.ManifestID, j.Seq} }

// logBuffer collects log output for assertions.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(l, nil)) }

// stall is an fsync that blocks job-file syncs until released, so the
// writer is provably busy while a test submits.
type stall struct {
	entered chan struct{} // one value per stalled sync
	release chan struct{}
}

func newStall() *stall {
	return &stall{entered: make(chan struct{}, 1024), release: make(chan struct{})}
}

func (st *stall) sync(f *os.File) error {
	if strings.HasSuffix(f.Name(), ".tmp") {
		st.entered <- struct{}{}
		<-st.release
	}
	return f.Sync()
}
