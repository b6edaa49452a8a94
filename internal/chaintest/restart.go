package chaintest

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"time"
)

// StopMode is how StopNode ends a Bee node.
type StopMode int

const (
	// Graceful sends SIGINT, on which Bee closes its stores and exits
	// (killed if it takes more than 15 s), as an operator's restart does.
	Graceful StopMode = iota
	// Crash kills the node with SIGKILL, as a crash does: Bee closes
	// nothing (what it wrote is still with the OS: not a power cut).
	Crash
)

func (m StopMode) String() string {
	if m == Crash {
		return "crash"
	}
	return "graceful"
}

// StopNode stops Bee node i (0 or 1) and keeps its data dir, keys and
// ports, so StartNode can bring the same node back. The other node and the
// chain keep running. Calls for node i must not overlap each other or
// Close.
func (n *Net) StopNode(i int, mode StopMode) error {
	b, err := n.node(i)
	if err != nil {
		return err
	}
	began := time.Now()
	if mode == Crash {
		b.proc.kill()
	} else {
		b.proc.stop(15 * time.Second)
	}
	_, exit := b.proc.exited()
	n.log.Info("bee node stopped", "node", b.name, "mode", mode, "exit", exit, "elapsed", time.Since(began))
	return nil
}

// StartNode starts the stopped Bee node i again with the same data dir,
// ports, keys and settings, and waits until it is ready, connected to the
// other node and out of warm-up, as Start leaves it. The node's API URL
// (Nodes) does not change.
func (n *Net) StartNode(ctx context.Context, i int) error {
	b, err := n.node(i)
	if err != nil {
		return err
	}
	if gone, _ := b.proc.exited(); !gone {
		return fmt.Errorf("chaintest: %s is running; StopNode it first", b.name)
	}
	began := time.Now()
	// No retry on other ports, unlike Start: the point is the same ports.
	if err := b.run(ctx); err != nil {
		return fmt.Errorf("chaintest: restart %s: %w", b.name, err)
	}
	ready := time.Since(began)
	if err := relink(ctx, n.nodes[1], n.nodes[0]); err != nil {
		return err
	}
	n.log.Info("bee node back", "node", b.name, "ready", ready, "linked", time.Since(began)-ready,
		"elapsed", time.Since(began))
	return nil
}

// RestartNode stops Bee node i and starts it again (StopNode, StartNode).
func (n *Net) RestartNode(ctx context.Context, i int, mode StopMode) error {
	if err := n.StopNode(i, mode); err != nil {
		return err
	}
	return n.StartNode(ctx, i)
}

func (n *Net) node(i int) (*beeNode, error) {
	if i < 0 || i >= len(n.nodes) {
		return nil, fmt.Errorf("chaintest: no Bee node %d (there are %d)", i, len(n.nodes))
	}
	return n.nodes[i], nil
}

// relink waits until from and to are connected and both out of warm-up
// after one of them restarted. They usually find each other again through
// their address books; a POST /connect then fails with "already
// connected", or with "peer not found" while it races their own dial or
// the survivor has not yet noticed that a killed peer's connection is
// dead. So check first, link as Start does if need be, and try again for
// a while.
func relink(ctx context.Context, from, to *beeNode) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var last error
	for {
		if ok, _ := linked(ctx, from, to); ok {
			return nil
		}
		if last = link(ctx, from, to); last == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("chaintest: relink %s and %s: %w (last: %w)", from.name, to.name, ctx.Err(), last)
		case <-time.After(time.Second):
		}
	}
}

// linked reports whether from lists to as a connected peer and neither is
// warming up.
func linked(ctx context.Context, from, to *beeNode) (bool, error) {
	connected, err := from.connectedTo(ctx, to)
	if err != nil || !connected {
		return false, err
	}
	for _, b := range []*beeNode{from, to} {
		if w, err := b.warmingUp(ctx); err != nil || w {
			return false, err
		}
	}
	return true, nil
}

// connectedTo reports whether b lists other among its connected peers.
func (b *beeNode) connectedTo(ctx context.Context, other *beeNode) (bool, error) {
	type peer struct {
		Address string `json:"address"`
	}
	var p struct {
		Peers []peer `json:"peers"`
	}
	if err := b.api(ctx, http.MethodGet, "/peers", &p); err != nil {
		return false, err
	}
	return slices.Contains(p.Peers, peer{Address: other.overlay}), nil
}
