package spool_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"github.com/lpswarm/archiver"
	"github.com/lpswarm/archiver/internal/spool"
)

const (
	crashEnvDir   = "SPOOL_CRASH_HELPER_DIR"
	crashEnvFirst = "SPOOL_CRASH_HELPER_FIRST"
	// crashLifetime stops an orphaned helper if the parent test dies.
	crashLifetime = 30 * time.Second
)

// crashRounds is how many times TestCrashAcknowledgedIsDurable kills its
// writer: CI runs the default, RELIABILITY.md gives the long run.
var crashRounds = flag.Int("crash.rounds", 12, "TestCrashAcknowledgedIsDurable: SIGKILLed writer processes")

func crashConfig() spool.Config { return spool.Config{MaxBytes: 1 << 30, QueueLen: 16} }

// crashJob is a pure function of seq, so the parent can rebuild what the
// child submitted: three senders, two streams, 1 B to 16 KiB sources.
func crashJob(seq int64) archiver.Job {
	senders := []common.Address{alice, bob, carol}
	return makeJob(senders[seq%3], fmt.Sprint("m", seq%2), seq, 1+int(seq*7919%(16<<10)))
}

// TestHelperSpoolProcess is the child of TestCrashAcknowledgedIsDurable:
// four goroutines submit jobs until the process is killed, and each prints
// "ACK <seq>" only after its job's Outcome said accepted.
func TestHelperSpoolProcess(t *testing.T) {
	dir := os.Getenv(crashEnvDir)
	if dir == "" {
		t.Skip("helper process for TestCrashAcknowledgedIsDurable")
	}
	first, err := strconv.ParseInt(os.Getenv(crashEnvFirst), 10, 64)
	if err == nil {
		err = runCrashHelper(dir, first)
	}
	fmt.Fprintln(os.Stderr, "helper:", err)
	os.Exit(3) // only a kill may end the helper
}

func runCrashHelper(dir string, first int64) error {
	ctx, cancel := context.WithTimeout(context.Background(), crashLifetime)
	defer cancel()
	s, err := spool.Open(dir, crashConfig())
	if err != nil {
		return err
	}
	if err := s.Start(ctx); err != nil {
		return err
	}
	if _, err := os.Stdout.WriteString("READY\n"); err != nil {
		return err
	}
	var next atomic.Int64
	next.Store(first)
	var stdout sync.Mutex
	var g errgroup.Group
	for range 4 {
		g.Go(func() error {
			for ctx.Err() == nil {
				seq := next.Add(1) - 1
				if err := (<-s.Submit(crashJob(seq))).Err; err != nil {
					return fmt.Errorf("seq %d: %w", seq, err)
				}
				stdout.Lock()
				_, err := fmt.Fprintf(os.Stdout, "ACK %d\n", seq)
				stdout.Unlock()
				if err != nil {
					return err
				}
			}
			return nil
		})
	}
	return errors.Join(g.Wait(), s.Close())
}

// TestCrashAcknowledgedIsDurable SIGKILLs a submitting child at random
// points, restarting it on the same directory each round, and then checks
// that every job the child acknowledged is in the spool, intact, and that
// no crash ever left a torn job file (Corrupt stays zero: the rename is
// the commit point). A kill is a process crash, not a power cut: it proves
// the ordering (ack after rename, temp files never served), while the
// fsyncs cover the page cache, which a kill does not drop.
func TestCrashAcknowledgedIsDurable(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	dir := t.TempDir()
	acked := map[int64]bool{}
	var perRound []int
	for round := range *crashRounds {
		// Killed after a random number of acknowledgements, then a random
		// delay: counting acks rather than time keeps every round busy
		// however loaded the machine is.
		lines := runAndKill(t, dir, int64(round)<<32, 10+rand.IntN(30), time.Duration(rand.IntN(20))*time.Millisecond)
		for _, line := range lines {
			seq, ok := strings.CutPrefix(line, "ACK ")
			require.True(t, ok, "unexpected line %q", line)
			n, err := strconv.ParseInt(seq, 10, 64)
			require.NoError(t, err, line)
			acked[n] = true
		}
		perRound = append(perRound, len(lines))
	}
	t.Logf("acknowledged per round: %v", perRound)
	require.Greater(t, len(acked), 10*(*crashRounds), "too few jobs acknowledged to exercise crashes")

	s := open(t, dir, crashConfig())
	require.Zero(t, s.Stats().Corrupt, "a crash never leaves a torn job file")
	temps, err := filepath.Glob(filepath.Join(dir, "*.tmp"))
	require.NoError(t, err)
	require.Empty(t, temps)
	served := map[int64]bool{}
	for _, e := range drain(t, s) {
		require.Equal(t, crashJob(e.Job.Seq), e.Job, "seq %d", e.Job.Seq)
		served[e.Job.Seq] = true
	}
	for seq := range acked {
		require.True(t, served[seq], "acknowledged seq %d lost in a crash", seq)
	}
	t.Logf("%d acknowledged, %d on disk (the rest were written but killed before their ACK)", len(acked), len(served))
}

// runAndKill runs the helper until it is ready, lets it submit for about
// d, SIGKILLs it and returns its complete output lines after READY.
func runAndKill(t *testing.T, dir string, first int64, acks int, d time.Duration) []string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperSpoolProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnvDir+"="+dir, crashEnvFirst+"="+strconv.FormatInt(first, 10))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())

	r := bufio.NewReader(stdout)
	if ready, err := r.ReadString('\n'); ready != "READY\n" {
		_ = cmd.Process.Kill()
		_ = cmd.Wait() // stderr is complete only after Wait
		t.Fatalf("helper did not start: %q %v; stderr: %s", ready, err, stderr.String())
	}
	var lines []string
	for len(lines) < acks {
		line, err := r.ReadString('\n')
		if err != nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatalf("helper stopped after %d acknowledgements: %v; stderr: %s", len(lines), err, stderr.String())
		}
		lines = append(lines, strings.TrimSuffix(line, "\n"))
	}
	time.Sleep(d)
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			// A line without its newline was torn by the kill: "ACK 12"
			// could be the start of "ACK 123", so it proves nothing.
			require.ErrorIs(t, err, io.EOF)
			break
		}
		lines = append(lines, strings.TrimSuffix(line, "\n"))
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, "helper exited on its own; stderr: %s", stderr.String())
	ws, ok := exit.Sys().(syscall.WaitStatus)
	require.True(t, ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL,
		"helper was not killed by us: %v; stderr: %s", err, stderr.String())
	return lines
}
