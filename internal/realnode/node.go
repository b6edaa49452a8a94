// Package realnode runs real go-livepeer nodes (livepeer-archiver, or a
// stock livepeer) and archiver-node workers as processes on loopback, pushes
// video into them with ffmpeg and records what a broadcaster serves. The
// golivepeer module's end-to-end tests and the demo use it; it links nothing
// of go-livepeer, so the main module builds it without FFmpeg.
package realnode

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/ethereum/go-ethereum/accounts/keystore"

	"github.com/lpswarm/archiver/internal/freeport"
)

// Node is one running process with its ports.
type Node struct {
	Name    string
	Bin     string
	Args    []string
	Env     []string // added to this process's environment
	LogPath string
	// Loopback addresses go-livepeer binds (host:port); empty for workers.
	CLI, HTTP, RTMP, Service string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// Start runs bin with args, its output appended to logPath.
func Start(name, bin, logPath string, args ...string) (*Node, error) {
	return StartEnv(name, bin, logPath, nil, args...)
}

// StartEnv is Start with variables added to the environment.
func StartEnv(name, bin, logPath string, env []string, args ...string) (*Node, error) {
	n := &Node{Name: name, Bin: bin, Args: args, Env: env, LogPath: logPath}
	return n, n.start()
}

func (n *Node) start() error {
	if err := os.MkdirAll(filepath.Dir(n.LogPath), 0o755); err != nil {
		return err
	}
	logf, err := os.OpenFile(n.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(n.Bin, n.Args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(), n.Env...)
	// Its own process group: a test that dies takes no orphan with it
	// that Stop could not reach.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("%s: %w", n.Name, err)
	}
	done := make(chan struct{})
	n.mu.Lock()
	n.cmd, n.done, n.err = cmd, done, nil
	n.mu.Unlock()
	go func() {
		err := cmd.Wait()
		logf.Close()
		n.mu.Lock()
		n.err = err
		n.mu.Unlock()
		close(done)
	}()
	return nil
}

// Pid is the process id of the running process (0 before Start).
func (n *Node) Pid() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil || n.cmd.Process == nil {
		return 0
	}
	return n.cmd.Process.Pid
}

// Exited reports whether the process has ended, and how.
func (n *Node) Exited() (bool, error) {
	n.mu.Lock()
	done := n.done
	n.mu.Unlock()
	select {
	case <-done:
		n.mu.Lock()
		defer n.mu.Unlock()
		return true, n.err
	default:
		return false, nil
	}
}

// Kill sends SIGKILL and waits for the process to be gone.
func (n *Node) Kill() {
	n.signal(syscall.SIGKILL, 0)
}

// Stop sends SIGINT, then SIGKILL after grace.
func (n *Node) Stop(grace time.Duration) {
	n.signal(syscall.SIGINT, grace)
}

func (n *Node) signal(sig syscall.Signal, grace time.Duration) {
	n.mu.Lock()
	cmd, done := n.cmd, n.done
	n.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, sig)
	if grace > 0 {
		select {
		case <-done:
			return
		case <-time.After(grace):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	}
	<-done
}

// Restart starts the same command again (after Kill or Stop).
func (n *Node) Restart() error { return n.start() }

// Log returns what the process wrote so far.
func (n *Node) Log() string {
	b, _ := os.ReadFile(n.LogPath)
	return string(b)
}

// WaitHTTP waits until GET url answers anything below 500, or the process
// exits, or ctx ends.
func (n *Node) WaitHTTP(ctx context.Context, url string) error {
	for {
		if exited, err := n.Exited(); exited {
			return fmt.Errorf("%s exited before serving %s: %v; log:\n%s", n.Name, url, err, tail(n.Log(), 3000))
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode < 500 {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: waiting for %s: %w; log:\n%s", n.Name, url, ctx.Err(), tail(n.Log(), 3000))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// WaitLog waits until the process's log contains s.
func (n *Node) WaitLog(ctx context.Context, s string) error {
	for {
		if bytes.Contains([]byte(n.Log()), []byte(s)) {
			return nil
		}
		if exited, err := n.Exited(); exited {
			return fmt.Errorf("%s exited before logging %q: %v", n.Name, s, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: waiting for %q in its log: %w", n.Name, s, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// LivepeerConfig is a go-livepeer node to start offchain on loopback.
type LivepeerConfig struct {
	Name string
	Bin  string // livepeer-archiver, or a stock livepeer
	Dir  string // data directory; the log goes beside it
	// Orchestrator makes an orchestrator+transcoder; otherwise a
	// broadcaster of OrchAddr.
	Orchestrator bool
	OrchAddr     string
	// HTTPAddr is the media (and, on an orchestrator, service) address to
	// bind; empty picks a free one. An orchestrator registered on chain
	// needs it before it starts.
	HTTPAddr string
	// Chain, when set, runs the node on chain instead of offchain.
	Chain *Chain
	Args  []string
}

// Chain is where an on-chain go-livepeer node finds the Livepeer protocol
// and its own account.
type Chain struct {
	EthURL     string
	Controller string // the Livepeer Controller's address, hex
	Keystore   string // the folder holding the account's keystore file, and only it (WriteKeystore)
	Password   string // a file holding its password
}

// args are go-livepeer's flags for the chain: -network devenv is any
// network go-livepeer has no preset for; blocks are polled every second as
// the dev chain mines them.
func (c *Chain) args() []string {
	return []string{"-network", "devenv", "-ethUrl", c.EthURL, "-ethController", c.Controller,
		"-ethKeystorePath", c.Keystore, "-ethPassword", c.Password, "-blockPollingInterval", "1"}
}

// WriteKeystore writes key into dir as a go-ethereum keystore file
// encrypted with password (light scrypt: these are test keys), with the
// password in a file beside it, and returns both paths.
func WriteKeystore(dir string, key *ecdsa.PrivateKey, password string) (keyFile, passwordFile string, err error) {
	ks := keystore.NewKeyStore(dir, keystore.LightScryptN, keystore.LightScryptP)
	acct, err := ks.ImportECDSA(key, password)
	if err != nil {
		return "", "", fmt.Errorf("realnode: keystore: %w", err)
	}
	passwordFile = filepath.Join(filepath.Dir(dir), filepath.Base(dir)+".password")
	if err := os.WriteFile(passwordFile, []byte(password), 0o600); err != nil {
		return "", "", fmt.Errorf("realnode: %w", err)
	}
	return acct.URL.Path, passwordFile, nil
}

// StartLivepeer starts a go-livepeer node on free loopback ports and waits
// until its CLI answers.
func StartLivepeer(ctx context.Context, c LivepeerConfig) (*Node, error) {
	var addrs [3]string
	for i := range addrs {
		a, err := freeport.Addr()
		if err != nil {
			return nil, err
		}
		addrs[i] = a
	}
	cli, httpAddr, rtmp := addrs[0], addrs[1], addrs[2]
	if c.HTTPAddr != "" {
		httpAddr = c.HTTPAddr
	}
	args := []string{"-dataDir", c.Dir, "-cliAddr", cli, "-httpAddr", httpAddr, "-rtmpAddr", rtmp, "-v", "4"}
	if c.Chain != nil {
		args = append(args, c.Chain.args()...)
	} else {
		args = append(args, "-network", "offchain")
	}
	if c.Orchestrator {
		args = append(args, "-orchestrator", "-transcoder", "-serviceAddr", httpAddr)
	} else {
		args = append(args, "-broadcaster", "-orchAddr", c.OrchAddr)
	}
	args = append(args, c.Args...)
	n, err := Start(c.Name, c.Bin, c.Dir+".log", args...)
	if err != nil {
		return nil, err
	}
	n.CLI, n.HTTP, n.RTMP = cli, httpAddr, rtmp
	if c.Orchestrator {
		n.Service = httpAddr
	}
	if err := n.WaitHTTP(ctx, "http://"+cli+"/status"); err != nil {
		n.Kill()
		return nil, err
	}
	return n, nil
}

// StartWorker starts an archiver-node worker of the orchestrator at
// orchAddr, stamping with the Bee node's own batch.
func StartWorker(ctx context.Context, bin, name, dir, orchAddr, secret, bee, batch string, capacity int) (*Node, error) {
	return startWorker(ctx, bin, name, dir, orchAddr, secret, bee, capacity, "-postageBatch", batch)
}

// StartClientWorker starts an archiver-node worker that stamps client-side
// with the key in keyFile, on the range of the batch its orchestrator
// leases it (-archivePostageBatch).
func StartClientWorker(ctx context.Context, bin, name, dir, orchAddr, secret, bee, keyFile, passwordFile string, capacity int) (*Node, error) {
	return startWorker(ctx, bin, name, dir, orchAddr, secret, bee, capacity,
		"-stamping", "client", "-ethKeystorePath", keyFile, "-ethPassword", passwordFile)
}

func startWorker(ctx context.Context, bin, name, dir, orchAddr, secret, bee string, capacity int, stamping ...string) (*Node, error) {
	args := append([]string{"node", "-orchAddr", orchAddr, "-archiverSecret", secret, "-orchInsecure",
		"-bee", bee, "-dataDir", dir, "-capacity", strconv.Itoa(capacity), "-v"}, stamping...)
	n, err := Start(name, bin, dir+".log", args...)
	if err != nil {
		return nil, err
	}
	return n, n.WaitLog(ctx, "archiver worker starting")
}

// ErrNoFFmpeg: ffmpeg is not installed.
var ErrNoFFmpeg = errors.New("ffmpeg not found")
