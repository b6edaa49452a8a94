// Package beetest starts a real Bee dev node for tests: `bee dev` on a free
// loopback port, a wait for /health, and a postage batch bought from it.
//
// The Bee binary is built once by scripts/install-deps.sh into a cache
// outside the repository; BEE_BIN overrides its location.
package beetest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/lpswarm/archiver/bee"
	"github.com/lpswarm/archiver/internal/freeport"
)

// BeeVersion is the Bee release the scripts build: the last with `bee dev`.
const BeeVersion = "v2.7.0"

// beeBuild names the scripts' build flags (scripts/lib.sh BEE_BUILD).
const beeBuild = "loopback"

// ErrNoBinary: the Bee binary has not been built on this machine.
var ErrNoBinary = errors.New("bee binary not found: run scripts/install-deps.sh (or set BEE_BIN)")

// Binary returns the path of the Bee binary built by scripts/build-bee.sh.
func Binary() (string, error) {
	p, err := CachedTool("BEE_BIN", "bee-"+BeeVersion+"-"+beeBuild, "bee")
	if err != nil {
		return "", fmt.Errorf("beetest: %w: %w", ErrNoBinary, err)
	}
	return p, nil
}

// CachedTool finds a tool the scripts build into the cache outside the
// repository ($ARCHIVER_CACHE, by default the user cache directory's
// lpswarm-archiver/<dir>/<name>); the environment variable env overrides it.
func CachedTool(env, dir, name string) (string, error) {
	if p := os.Getenv(env); p != "" {
		return p, nil
	}
	cache := os.Getenv("ARCHIVER_CACHE")
	if cache == "" {
		d, err := os.UserCacheDir()
		if err != nil {
			return "", err
		}
		cache = filepath.Join(d, "lpswarm-archiver")
	}
	p := filepath.Join(cache, dir, name)
	if _, err := os.Stat(p); err != nil {
		return "", err
	}
	return p, nil
}

// Dev is a running `bee dev` node.
type Dev struct {
	URL    string      // API base URL, e.g. http://127.0.0.1:41633
	Client *bee.Client // client for URL
	cmd    *exec.Cmd
	done   chan error
	once   sync.Once
}

// StartDev starts a dev node and waits until /health answers. Its output goes
// to logw (io.Discard when nil).
func StartDev(ctx context.Context, logw io.Writer) (*Dev, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	if logw == nil {
		logw = io.Discard
	}
	var last error
	for range 3 { // a free port can be taken between probe and bind
		d, err := startOnce(ctx, bin, logw)
		if err == nil {
			return d, nil
		}
		last = err
	}
	return nil, last
}

func startOnce(ctx context.Context, bin string, logw io.Writer) (*Dev, error) {
	port, err := freeport.Port()
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(bin, "dev", "--api-addr", addr, "--verbosity", "2", "--cors-allowed-origins", "*")
	cmd.Stdout, cmd.Stderr = logw, logw
	cmd.SysProcAttr = ChildProcAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("beetest: start %s: %w", bin, err)
	}
	d := &Dev{URL: "http://" + addr, cmd: cmd, done: make(chan error, 1)}
	go func() { d.done <- cmd.Wait() }()
	d.Client, err = bee.New(d.URL, bee.WithRetry(bee.Retry{Attempts: 1}))
	if err == nil {
		err = d.waitHealthy(ctx, 30*time.Second)
	}
	if err != nil {
		d.Close()
		return nil, err
	}
	d.Client, _ = bee.New(d.URL)
	return d, nil
}

func (d *Dev) waitHealthy(ctx context.Context, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		hctx, cancel := context.WithTimeout(ctx, time.Second)
		h, err := d.Client.Health(hctx)
		cancel()
		if err == nil && h.Status == "ok" {
			return nil
		}
		select {
		case werr := <-d.done:
			return fmt.Errorf("beetest: bee dev exited before it was healthy: %v", werr)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("beetest: bee dev not healthy after %s: %w", limit, err)
		}
	}
}

// Pid is the node's process id, for benchmarks that read its CPU time.
func (d *Dev) Pid() int { return d.cmd.Process.Pid }

// BuyBatch buys an immutable batch of the given depth, usable at once.
func (d *Dev) BuyBatch(ctx context.Context, depth uint8) (string, error) {
	// Dev nodes accept any amount; this one is far above the 24 h minimum.
	return Buy(ctx, d.Client, big.NewInt(1_000_000_000), depth, "test", true)
}

// Buy is bee.Client.BuyBatch for tests, tried a second time when the node
// closed the connection without answering. The client never retries a buy
// (it cannot tell whether the node acted on it), but on a heavily loaded
// machine Bee's 3 s ReadHeaderTimeout can close a connection whose request
// arrived late, and a test's node buying one batch too many costs nothing.
func Buy(ctx context.Context, c *bee.Client, amount *big.Int, depth uint8, label string, immutable bool) (string, error) {
	id, err := c.BuyBatch(ctx, amount, depth, label, immutable)
	if err != nil && errors.Is(err, bee.ErrUnreachable) && (errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)) {
		id, err = c.BuyBatch(ctx, amount, depth, label, immutable)
	}
	return id, err
}

// Close stops the node; its data lives in memory and is gone.
func (d *Dev) Close() error {
	d.once.Do(func() {
		_ = d.cmd.Process.Signal(os.Interrupt)
		select {
		case <-d.done:
		case <-time.After(5 * time.Second):
			_ = d.cmd.Process.Kill()
			<-d.done
		}
	})
	return nil
}

// Main runs a package's tests against one shared dev node, started before
// and stopped after them; it is meant for TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(beetest.Main(m, &dev)) }
//
// A missing Bee binary fails the run: tests that store data never skip.
func Main(m interface{ Run() int }, dev **Dev) int {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	d, err := StartDev(ctx, nil)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	*dev = d
	defer d.Close()
	return m.Run()
}
