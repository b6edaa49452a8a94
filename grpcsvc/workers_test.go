package grpcsvc

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRegistryLeastLoadedWithAffinity(t *testing.T) {
	r := newRegistry()
	a := &worker{id: "a", capacity: 2}
	b := &worker{id: "b", capacity: 4}
	r.add(a)
	r.add(b)
	ctx := context.Background()

	w, err := r.pick(ctx, "s1", nil)
	require.NoError(t, err)
	require.Equal(t, "a", w.id, "tie broken by id")
	w, err = r.pick(ctx, "s2", nil)
	require.NoError(t, err)
	require.Equal(t, "b", w.id, "a is half full, b empty")
	w, err = r.pick(ctx, "s1", nil)
	require.NoError(t, err)
	require.Equal(t, "a", w.id, "affinity: s1 stays on a while a has room")
	w, err = r.pick(ctx, "s1", nil)
	require.NoError(t, err)
	require.Equal(t, "b", w.id, "a is full: s1 moves on")
	require.Equal(t, 2, a.load)
	require.Equal(t, 2, b.load)
}

func TestRegistryWaitsForCapacityAndHandsOver(t *testing.T) {
	r := newRegistry()
	a := &worker{id: "a", capacity: 1}
	r.add(a)
	_, err := r.pick(context.Background(), "s", nil)
	require.NoError(t, err)

	got := make(chan *worker, 1)
	go func() {
		w, err := r.pick(context.Background(), "s", nil)
		if err == nil {
			got <- w
		}
	}()
	select {
	case <-got:
		t.Fatal("picked a full worker")
	case <-time.After(20 * time.Millisecond):
	}
	b := &worker{id: "b", capacity: 1}
	r.remove(a) // a goes away: its stream is handed over
	r.add(b)
	select {
	case w := <-got:
		require.Equal(t, "b", w.id)
	case <-time.After(5 * time.Second):
		t.Fatal("waiting pick not woken")
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = r.pick(ctx, "s", nil)
	require.ErrorIs(t, err, context.Canceled)
}

func TestRegistryAvoidsWorkersThatMissedTheJob(t *testing.T) {
	r := newRegistry()
	slow := &worker{id: "a", capacity: 1}
	r.add(slow)
	avoid := map[*worker]bool{slow: true}
	w, err := r.pick(context.Background(), "s", avoid)
	require.NoError(t, err)
	require.Equal(t, slow, w, "the only worker is used even if it missed the job")
	r.release(w)
	fast := &worker{id: "b", capacity: 1}
	r.add(fast)
	w, err = r.pick(context.Background(), "s", avoid)
	require.NoError(t, err)
	require.Equal(t, fast, w)
}
