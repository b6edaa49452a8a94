package postage

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"math/big"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	ethcrypto "github.com/ethereum/go-ethereum/crypto"
	beepostage "github.com/ethersphere/bee/v2/pkg/postage"
	"github.com/ethersphere/bee/v2/pkg/swarm"
	"github.com/stretchr/testify/require"
)

const (
	helperEnvDir = "POSTAGE_ISSUER_HELPER_DIR"
	helperEnvKey = "POSTAGE_ISSUER_HELPER_KEY"
	// helperEnvDepth passes batch a's depth, which grows with the rounds.
	helperEnvDepth = "POSTAGE_ISSUER_HELPER_DEPTH"
	// helperLifetime stops an orphaned helper if the parent test dies.
	helperLifetime = 30 * time.Second
)

// crashRounds is how many times TestCrashNeverReissuesIndex kills its
// issuer: CI runs the default, RELIABILITY.md gives the long run.
var crashRounds = flag.Int("crash.rounds", 25, "TestCrashNeverReissuesIndex: SIGKILLed issuer processes")

// crashBatches are small enough to fill during the test, with different
// bucket depths, one mutable, so the fallback and never-wrap paths run
// under crashes too.
func crashBatches(owner common.Address) []Batch {
	return []Batch{
		{ID: idFromSeed("crash-a"), Owner: owner, Depth: crashDepth(), BucketDepth: 6, Immutable: true, Amount: big.NewInt(1)},
		{ID: idFromSeed("crash-b"), Owner: owner, Depth: 12, BucketDepth: 5, Immutable: false, Amount: big.NewInt(1)},
	}
}

// TestHelperIssuerProcess is the child of TestCrashNeverReissuesIndex: it
// stamps random addresses until killed and, after each Stamp returns,
// writes one line per stamp: "STAMP batch bucket counter address stamp".
func TestHelperIssuerProcess(t *testing.T) {
	dir := os.Getenv(helperEnvDir)
	if dir == "" {
		t.Skip("helper process for TestCrashNeverReissuesIndex")
	}
	if err := runHelper(dir, os.Getenv(helperEnvKey)); err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(3)
	}
}

// crashDepth is batch a's depth: 14 for the default rounds (the batches
// fill after some 25 rounds), one more per doubling of the rounds, so a
// long run keeps issuing to its end. The parent passes it to its children.
func crashDepth() uint8 {
	if d, err := strconv.ParseUint(os.Getenv(helperEnvDepth), 10, 8); err == nil {
		return uint8(d)
	}
	depth := uint8(14)
	for r := 25; r < *crashRounds; r *= 2 {
		depth++
	}
	return depth
}

func runHelper(dir, keyHex string) error {
	key, err := ethcrypto.HexToECDSA(keyHex)
	if err != nil {
		return err
	}
	is, err := OpenIssuer(dir, key, crashBatches(ethcrypto.PubkeyToAddress(key.PublicKey)))
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), helperLifetime)
	defer cancel()
	maxBatch := 48
	for ctx.Err() == nil {
		addrs := make([]swarm.Address, 1+rand.IntN(maxBatch))
		for i := range addrs {
			a := make([]byte, swarm.HashSize)
			for j := range a {
				a[j] = byte(rand.Uint32())
			}
			addrs[i] = swarm.NewAddress(a)
		}
		stamps, err := is.Stamp(ctx, addrs)
		if errors.Is(err, ErrBucketFull) {
			// Keep issuing into buckets that still have room.
			maxBatch = max(1, maxBatch/2)
			time.Sleep(time.Millisecond)
			continue
		}
		if err != nil {
			return err
		}
		if _, err := os.Stdout.Write(stampLines(addrs, stamps)); err != nil {
			return err
		}
	}
	return nil
}

func stampLines(addrs []swarm.Address, stamps []*beepostage.Stamp) []byte {
	var buf []byte
	for i, st := range stamps {
		bucket, counter := beepostage.BucketIndexFromBytes(st.Index())
		raw, _ := st.MarshalBinary()
		buf = fmt.Appendf(buf, "STAMP %x %d %d %s %x\n", st.BatchID(), bucket, counter, addrs[i], raw)
	}
	return buf
}

type issued struct {
	batch           string
	bucket, counter uint32
}

// TestCrashNeverReissuesIndex SIGKILLs an issuing child process at random
// points, restarting it on the same state directory, and checks that no
// (batch, bucket, counter) the child ever reported is reported twice and
// that the state on disk is ahead of everything reported.
func TestCrashNeverReissuesIndex(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	key := newKey(t)
	dir := t.TempDir()
	seen := map[issued]int{} // → round that reported it
	var lines []string
	var perRound []int
	for round := range *crashRounds {
		// Most kills land while the child issues (counted from its first
		// stamp, so a loaded machine's slow start does not turn them into
		// kills before any work); one in five from its start, which may
		// be while it opens its state.
		fromStart := round%5 == 0
		out := runAndKill(t, dir, key, time.Duration(20+rand.IntN(180))*time.Millisecond, fromStart)
		complete, _ := splitComplete(out)
		perRound = append(perRound, len(complete))
		for _, line := range complete {
			is := parseLine(t, line)
			prev, dup := seen[is]
			require.False(t, dup, "%+v reported in round %d and again in round %d", is, prev, round)
			seen[is] = round
			lines = append(lines, line)
		}
	}
	t.Logf("stamps reported per round: %v (%d in total)", perRound, len(seen))
	require.Greater(t, len(seen), 2000, "too few stamps issued to exercise crashes")

	verifySample(t, lines, ownerOf(key))
	verifyStateAhead(t, dir, key, seen)
}

// runAndKill runs the helper and SIGKILLs it d after it started or, unless
// fromStart, d after it reported its first stamp.
func runAndKill(t *testing.T, dir string, key *ecdsa.PrivateKey, d time.Duration, fromStart bool) []byte {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperIssuerProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnvDir+"="+dir, helperEnvKey+"="+hex.EncodeToString(ethcrypto.FromECDSA(key)),
		helperEnvDepth+"="+strconv.Itoa(int(crashDepth())))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	read := make(chan []byte)
	first := make(chan struct{})
	go func() {
		var b []byte
		buf := make([]byte, 32<<10)
		reported := false
		for {
			n, err := stdout.Read(buf)
			if !reported && bytes.IndexByte(buf[:n], '\n') >= 0 {
				close(first)
				reported = true
			}
			b = append(b, buf[:n]...)
			if err != nil {
				break
			}
		}
		read <- b
	}()
	if !fromStart {
		select {
		case <-first:
		case <-time.After(helperLifetime / 2):
			t.Fatalf("the helper reported no stamp; stderr: %s", stderr.String())
		}
	}
	time.Sleep(d)
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	out := <-read // all reads must finish before Wait
	err = cmd.Wait()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit, "helper exited on its own; stderr: %s", stderr.String())
	ws, ok := exit.Sys().(syscall.WaitStatus)
	require.True(t, ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL,
		"helper was not killed by us: %v; stderr: %s", err, stderr.String())
	return out
}

// splitComplete drops a torn last line: the kill can land mid-write.
func splitComplete(out []byte) (complete []string, torn string) {
	lines := strings.Split(string(out), "\n")
	return lines[:len(lines)-1], lines[len(lines)-1]
}

func parseLine(t *testing.T, line string) issued {
	t.Helper()
	f := strings.Fields(line)
	require.Len(t, f, 6, line)
	require.Equal(t, "STAMP", f[0], line)
	bucket, err := strconv.ParseUint(f[2], 10, 32)
	require.NoError(t, err, line)
	counter, err := strconv.ParseUint(f[3], 10, 32)
	require.NoError(t, err, line)
	return issued{batch: f[1], bucket: uint32(bucket), counter: uint32(counter)}
}

// verifySample checks that stamps issued across restarts pass Bee's
// validation.
func verifySample(t *testing.T, lines []string, owner common.Address) {
	t.Helper()
	batches := map[string]Batch{}
	for _, b := range crashBatches(owner) {
		batches[hex.EncodeToString(b.ID[:])] = b
	}
	for i := 0; i < len(lines); i += 37 {
		f := strings.Fields(lines[i])
		addr, err := swarm.ParseHexAddress(f[4])
		require.NoError(t, err)
		raw, err := hex.DecodeString(f[5])
		require.NoError(t, err)
		st := new(beepostage.Stamp)
		require.NoError(t, st.UnmarshalBinary(raw))
		b := batches[f[1]]
		require.NoError(t, st.Valid(addr, owner.Bytes(), b.Depth, b.BucketDepth, b.Immutable), lines[i])
	}
}

// verifyStateAhead reopens the state and checks every reported counter is
// below the persisted next-free counter of its bucket.
func verifyStateAhead(t *testing.T, dir string, key *ecdsa.PrivateKey, seen map[issued]int) {
	t.Helper()
	batches := crashBatches(ownerOf(key))
	is := openIssuer(t, dir, key, batches...)
	next := map[string][]uint32{}
	var persisted uint64
	for _, b := range batches {
		counters, err := is.BucketCounters(b.ID)
		require.NoError(t, err)
		next[hex.EncodeToString(b.ID[:])] = counters
	}
	for _, u := range is.Usage() {
		persisted += u.Issued
	}
	for s := range seen {
		require.Less(t, s.counter, next[s.batch][s.bucket], "%+v not covered by persisted state", s)
	}
	require.GreaterOrEqual(t, persisted, uint64(len(seen)))
}
