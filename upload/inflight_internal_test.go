package upload

import (
	"context"
	"testing"

	"github.com/ethersphere/bee/v2/pkg/swarm"
	"github.com/stretchr/testify/require"
)

// TestInflightHoldsSharedChunks: an upload sharing a chunk with one in
// flight waits until that one lets go; uploads sharing none go at once; a
// caller that gives up waiting holds nothing.
func TestInflightHoldsSharedChunks(t *testing.T) {
	a, b, c := swarm.RandAddress(t), swarm.RandAddress(t), swarm.RandAddress(t)
	g := newInflight()
	release1, err := g.acquire(context.Background(), []swarm.Address{a, b, a})
	require.NoError(t, err)

	// No chunk in common: at once.
	release3, err := g.acquire(context.Background(), []swarm.Address{c})
	require.NoError(t, err)

	// One chunk in common: waits; giving up holds nothing.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = g.acquire(ctx, []swarm.Address{c, b})
	require.ErrorIs(t, err, context.Canceled)

	got := make(chan error, 1)
	go func() {
		release, err := g.acquire(context.Background(), []swarm.Address{b, c})
		if err == nil {
			release(0)
		}
		got <- err
	}()
	release1(0)
	select {
	case err := <-got:
		t.Fatalf("acquired while c was still held: %v", err)
	default:
	}
	release3(0)
	require.NoError(t, <-got)
	require.Empty(t, g.held)
}
