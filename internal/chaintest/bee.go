package chaintest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/lpswarm/archiver/bee"
	"github.com/lpswarm/archiver/internal/freeport"
)

// beePassword protects the throwaway keys of the test nodes; it is on the
// command line, which is fine for keys that live in a temp dir.
const beePassword = "chaintest"

// beeNode is one Bee full node on the dev chain.
type beeNode struct {
	name string
	dir  string
	eth  common.Address // the node's chain address, from its keystore
	url  string         // API base URL
	// bin, args and out are how the node was started, kept so a restart
	// runs it on the same data dir, ports and settings.
	bin     string
	args    []string
	out     io.Writer
	proc    *process // replaced by a restart
	client  *bee.Client
	overlay string
}

// initBee creates the node's keys in dir and reads its chain address, so
// the address can be funded before the node starts.
func initBee(ctx context.Context, bin, name, dir string) (*beeNode, error) {
	out, err := exec.CommandContext(ctx, bin, "init", "--data-dir", dir, "--password", beePassword).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("chaintest: %s: bee init: %w\n%s", name, err, out)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "keys", "swarm.key"))
	if err != nil {
		return nil, fmt.Errorf("chaintest: %s: %w", name, err)
	}
	var key struct {
		Address string `json:"address"`
	}
	if err := json.Unmarshal(raw, &key); err != nil || !common.IsHexAddress(key.Address) {
		return nil, fmt.Errorf("chaintest: %s: no address in keys/swarm.key (err %v)", name, err)
	}
	return &beeNode{name: name, dir: dir, eth: common.HexToAddress(key.Address)}, nil
}

// start runs the node as a full node of network networkID on the chain and
// waits until it is ready. A node that exits while starting, as on a port
// taken since it was probed, is tried again on fresh ports.
func (b *beeNode) start(ctx context.Context, bin, rpcURL string, c Contracts, networkID uint64,
	allowPrivate bool, out io.Writer) error {
	var last error
	for range 3 {
		err := b.startOnce(ctx, bin, rpcURL, c, networkID, allowPrivate, out)
		if err == nil || !errors.Is(err, errExited) {
			return err
		}
		last = err
	}
	return last
}

func (b *beeNode) startOnce(ctx context.Context, bin, rpcURL string, c Contracts, networkID uint64,
	allowPrivate bool, out io.Writer) error {
	apiPort, err := freeport.Port()
	if err != nil {
		return err
	}
	p2pPort, err := freeport.Port()
	if err != nil {
		return err
	}
	args := []string{"start",
		"--data-dir", b.dir, "--password", beePassword,
		"--api-addr", hostPort(apiPort), "--p2p-addr", hostPort(p2pPort),
		"--blockchain-rpc-endpoint", rpcURL,
		"--swap-enable=false", "--full-node", "--mainnet=false",
		"--network-id", strconv.FormatUint(networkID, 10),
		"--postage-stamp-address", c.PostageStamp.Hex(),
		"--postage-stamp-start-block", strconv.FormatUint(c.PostageStartBlock, 10),
		"--staking-address", c.Staking.Hex(),
		"--redistribution-address", c.Redistribution.Hex(),
		"--block-time", "1",
		// Leave warm-up as soon as the first peer connects instead of after
		// five minutes of watching the connection rate.
		"--warmup-time", "0s",
		// Without SWAP the nodes settle by time only; the highest threshold
		// Bee accepts lets a node owe its peer 8 times the default for
		// pushes and retrievals before it must wait for the debt to refresh.
		"--payment-threshold", "108000000",
		"--verbosity", "info",
	}
	if allowPrivate {
		args = append(args, "--allow-private-cidrs")
	}
	b.bin, b.args, b.out = bin, args, out
	b.url = "http://" + hostPort(apiPort)
	if b.client, err = bee.New(b.url); err != nil {
		return err
	}
	return b.run(ctx)
}

// run starts the node's process with the arguments start chose and waits
// until it is ready.
func (b *beeNode) run(ctx context.Context) error {
	var err error
	b.proc, err = startProcess(b.name, b.bin, b.args, b.out)
	if err != nil {
		return err
	}
	// /readiness turns ready once the node is fully built: the postage
	// contract synced, the full API on and p2p listening. Before that most
	// endpoints answer 503 "Node is syncing".
	err = b.proc.waitUntil(ctx, 60*time.Second, 200*time.Millisecond, "/readiness",
		func(ctx context.Context) (bool, error) {
			err := b.api(ctx, http.MethodGet, "/readiness", nil)
			return err == nil, err
		})
	if err == nil {
		var a addresses
		a, err = b.addresses(ctx)
		switch {
		case err != nil:
		case b.overlay == "":
			b.overlay = a.Overlay
		case a.Overlay != b.overlay:
			// Same keys and nonce must give the same overlay; another one
			// would make the restart a different node to its peers.
			err = b.proc.failure(fmt.Errorf("restarted with overlay %s, was %s", a.Overlay, b.overlay))
		}
	}
	if err != nil {
		b.proc.stop(5 * time.Second)
	}
	return err
}

type addresses struct {
	Overlay  string   `json:"overlay"`
	Underlay []string `json:"underlay"`
}

func (b *beeNode) addresses(ctx context.Context) (addresses, error) {
	var a addresses
	err := b.api(ctx, http.MethodGet, "/addresses", &a)
	return a, err
}

// loopbackUnderlay is the node's p2p address on 127.0.0.1.
func (b *beeNode) loopbackUnderlay(ctx context.Context) (string, error) {
	a, err := b.addresses(ctx)
	if err != nil {
		return "", err
	}
	for _, u := range a.Underlay {
		if strings.HasPrefix(u, "/ip4/127.0.0.1/tcp/") {
			return u, nil
		}
	}
	return "", fmt.Errorf("chaintest: %s: no 127.0.0.1 underlay among %v", b.name, a.Underlay)
}

// warmingUp reports GET /status's isWarmingUp (/readiness says ready
// before the node pushes to peers, so it is the wrong signal).
func (b *beeNode) warmingUp(ctx context.Context) (bool, error) {
	var s struct {
		IsWarmingUp bool `json:"isWarmingUp"`
	}
	if err := b.api(ctx, http.MethodGet, "/status", &s); err != nil {
		return true, err
	}
	return s.IsWarmingUp, nil
}

// api makes one call to the node's operator endpoints, which package bee
// (the archiver's client, for content and postage) does not cover.
func (b *beeNode) api(ctx context.Context, method, path string, out any) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, b.url+path, nil)
	if err != nil {
		return fmt.Errorf("chaintest: %s: %w", b.name, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("chaintest: %s: %w", b.name, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("chaintest: %s: %s %s: %w", b.name, method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("chaintest: %s: %s %s: %s: %s", b.name, method, path, resp.Status, strings.TrimSpace(string(body)))
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("chaintest: %s: %s %s: %w", b.name, method, path, err)
	}
	return nil
}

// link connects from to the node to (POST /connect with to's underlay; a
// --bootnode peer would be hidden from the nodes' health checks) and waits
// until both have left warm-up. Warm-up ends on a new connection, so a node
// that stays warming up is disconnected and linked again.
func link(ctx context.Context, from, to *beeNode) error {
	underlay, err := to.loopbackUnderlay(ctx)
	if err != nil {
		return err
	}
	var last error
	for attempt := range 3 {
		if attempt > 0 {
			// Either side may hold the stale connection; dropping it on both
			// makes the next connect a new one for both detectors.
			_ = from.api(ctx, http.MethodDelete, "/peers/"+to.overlay, nil)
			_ = to.api(ctx, http.MethodDelete, "/peers/"+from.overlay, nil)
		}
		if err := from.api(ctx, http.MethodPost, "/connect"+underlay, nil); err != nil {
			last = err
			continue
		}
		last = nil
		for _, n := range []*beeNode{from, to} {
			err := n.proc.waitUntil(ctx, 15*time.Second, 200*time.Millisecond, "isWarmingUp: false in /status",
				func(ctx context.Context) (bool, error) {
					w, err := n.warmingUp(ctx)
					return err == nil && !w, err
				})
			if err != nil {
				last = err
				break
			}
		}
		if last == nil {
			return nil
		}
		if ctx.Err() != nil {
			break
		}
	}
	return fmt.Errorf("chaintest: link %s to %s: %w", from.name, to.name, last)
}

func (b *beeNode) close() {
	if b.proc != nil {
		// Bee flushes its stores on SIGINT; they are deleted anyway, but a
		// clean exit keeps the log free of misleading errors.
		b.proc.stop(15 * time.Second)
	}
}

// reachability is the node's own view of whether peers can dial it
// (GET /topology): "Public", "Private" or "Unknown".
func (b *beeNode) reachability(ctx context.Context) (string, error) {
	var t struct {
		Reachability string `json:"reachability"`
	}
	err := b.api(ctx, http.MethodGet, "/topology", &t)
	return t.Reachability, err
}
