package catalog

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"
)

// crashEnv makes the test binary a writer process for TestCrash; its value
// is the index path, and crashRoundEnv keeps each round's seqs apart.
const (
	crashEnv      = "INDEX_CRASH_WRITER"
	crashRoundEnv = "INDEX_CRASH_ROUND"
	crashWriters  = 3
)

// crashRounds is how many times TestCrash kills its writers: CI runs the
// default, RELIABILITY.md gives the long run.
var crashRounds = flag.Int("crash.rounds", 12, "TestCrash: SIGKILLed writer rounds")

// TestCrash SIGKILLs a writer process at random points and checks, after
// every kill, that each call the writer saw return is in the index with
// (at least) the state it set. The writer prints a line only after the
// call returned, so a printed line is a promise the index must keep.
func TestCrash(t *testing.T) {
	if os.Getenv(crashEnv) != "" {
		crashWriter(t)
		return
	}
	if testing.Short() {
		t.Skip("spawns processes")
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, seed))
	path := filepath.Join(t.TempDir(), "index.db")

	promised := make(map[string]string) // "rendition/seq" -> strongest printed state
	for round := range *crashRounds {
		lines := rng.IntN(150) + 1
		got, stderr := killWriter(t, path, round, lines, time.Duration(rng.IntN(3000))*time.Microsecond)
		require.GreaterOrEqual(t, len(got), lines, "writer died early: %s", stderr)
		for _, l := range got {
			state, key, ok := strings.Cut(l, " ")
			require.True(t, ok, "line %q", l)
			if promised[key] != "archived" && promised[key] != "gap" {
				promised[key] = state
			}
		}
		checkPromises(t, path, promised)
		t.Logf("round %d: killed after %d lines, %d records promised", round, len(got), len(promised))
	}
}

// killWriter runs one writer, kills it once it printed lines lines and a
// further pause elapsed, and returns every line it printed before dying.
func killWriter(t *testing.T, path string, round, lines int, pause time.Duration) ([]string, string) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrash$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashEnv+"="+path, crashRoundEnv+"="+strconv.Itoa(round))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())

	var got []string
	sc := bufio.NewScanner(out)
	for len(got) < lines && sc.Scan() {
		if l, ok := strings.CutPrefix(sc.Text(), "ok "); ok {
			got = append(got, l)
		}
	}
	time.Sleep(pause)
	// SIGKILL: nothing in the writer gets to run. The error (a writer that
	// already died) is left to the caller, who sees too few lines.
	_ = cmd.Process.Kill()
	for sc.Scan() { // lines written before the kill are still in the pipe
		if l, ok := strings.CutPrefix(sc.Text(), "ok "); ok {
			got = append(got, l)
		}
	}
	_ = cmd.Wait()
	return got, stderr.String()
}

// checkPromises reopens the index, verifies bbolt's own consistency check
// and that every promised record is there in its state or a later one.
func checkPromises(t *testing.T, path string, promised map[string]string) {
	t.Helper()
	ix, err := Open(path)
	require.NoError(t, err)
	defer ix.Close()
	require.NoError(t, ix.db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			return err
		}
		return nil
	}))
	recs, err := ix.Records(testStream(1))
	require.NoError(t, err)
	have := make(map[string]Record, len(recs))
	for _, r := range recs {
		have[fmt.Sprintf("%s/%d", r.Rendition, r.Seq)] = r
	}
	for key, state := range promised {
		r, ok := have[key]
		require.True(t, ok, "record %s was promised %s and is lost", key, state)
		require.Equal(t, content(key), r.ContentHash, key)
		switch state {
		case "pending": // a Complete or Fail may have committed unprinted
		case "archived":
			require.Equal(t, Archived, r.State, key)
			require.True(t, ref(key).Equal(r.Reference), key)
		case "gap":
			require.Equal(t, Gap, r.State, key)
		}
		if r.State == Archived {
			require.True(t, ref(key).Equal(r.Reference), key)
		}
	}
}

// crashWriter is the body of the writer process: crashWriters goroutines,
// one rendition each, accept segments, archive most, leave some pending and
// fail some for good, printing each call after it returned.
func crashWriter(t *testing.T) {
	ctx := context.Background()
	round, err := strconv.Atoi(os.Getenv(crashRoundEnv))
	require.NoError(t, err)
	ix, err := Open(os.Getenv(crashEnv))
	require.NoError(t, err)
	s := testStream(1)
	var mu sync.Mutex // one line per write: concurrent prints never interleave
	say := func(state, rend string, seq uint64) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(os.Stdout, "ok %s %s/%d\n", state, rend, seq)
	}
	var wg sync.WaitGroup
	for w := range crashWriters {
		rend := fmt.Sprintf("r%d", w)
		require.NoError(t, ix.Rendition(ctx, s, rend, nil))
		wg.Go(func() {
			for i := uint64(0); ; i++ {
				seq := uint64(round)*1_000_000 + i
				key := fmt.Sprintf("%s/%d", rend, seq)
				must(ix.Accept(ctx, s, rend, seq, content(key), segBytes, "2", ".ts"))
				say("pending", rend, seq)
				switch i % 5 {
				case 3: // left pending
				case 4:
					must(ix.Fail(ctx, s, rend, seq, "gone", true))
					say("gap", rend, seq)
				default:
					_, err := ix.Complete(ctx, s, rend, seq, content(key), ref(key), segBytes)
					must(err)
					say("archived", rend, seq)
				}
			}
		})
	}
	wg.Wait()
}

// must stops the writer loudly; require cannot be used off the test's
// goroutine, and the parent reads stderr when the writer dies early.
func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "writer:", err)
		os.Exit(2)
	}
}
