package dispatch

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// worker is a pool member with no link, as the tests need none.
type worker = Worker[struct{}]

func TestPoolLeastLoadedWithAffinity(t *testing.T) {
	r := NewPool[struct{}](0)
	a := &worker{ID: "a", Capacity: 2}
	b := &worker{ID: "b", Capacity: 4}
	r.Add(a)
	r.Add(b)
	ctx := context.Background()

	w, err := r.Pick(ctx, "s1", nil)
	require.NoError(t, err)
	require.Equal(t, "a", w.ID, "tie broken by id")
	w, err = r.Pick(ctx, "s2", nil)
	require.NoError(t, err)
	require.Equal(t, "b", w.ID, "a is half full, b empty")
	w, err = r.Pick(ctx, "s1", nil)
	require.NoError(t, err)
	require.Equal(t, "a", w.ID, "affinity: s1 stays on a while a has room")
	w, err = r.Pick(ctx, "s1", nil)
	require.NoError(t, err)
	require.Equal(t, "b", w.ID, "a is full: s1 moves on")
	require.Equal(t, 2, a.load)
	require.Equal(t, 2, b.load)
}

func TestPoolWaitsForCapacityAndHandsOver(t *testing.T) {
	r := NewPool[struct{}](0)
	a := &worker{ID: "a", Capacity: 1}
	r.Add(a)
	_, err := r.Pick(context.Background(), "s", nil)
	require.NoError(t, err)

	got := make(chan *worker, 1)
	go func() {
		w, err := r.Pick(context.Background(), "s", nil)
		if err == nil {
			got <- w
		}
	}()
	require.Eventually(t, r.Declined, 5*time.Second, time.Millisecond, "the pick waits: a is full")
	require.Empty(t, got, "picked a full worker")
	b := &worker{ID: "b", Capacity: 1}
	r.Remove(a) // a goes away: its stream is handed over
	r.Add(b)
	select {
	case w := <-got:
		require.Equal(t, "b", w.ID)
	case <-time.After(5 * time.Second):
		t.Fatal("waiting pick not woken")
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = r.Pick(ctx, "s", nil)
	require.ErrorIs(t, err, context.Canceled)
}

func TestPoolAvoidsWorkersThatMissedTheJob(t *testing.T) {
	r := NewPool[struct{}](0)
	slow := &worker{ID: "a", Capacity: 1}
	r.Add(slow)
	avoid := map[*worker]bool{slow: true}
	w, err := r.Pick(context.Background(), "s", avoid)
	require.NoError(t, err)
	require.Equal(t, slow, w, "the only worker is used even if it missed the job")
	r.Release(w)
	fast := &worker{ID: "b", Capacity: 1}
	r.Add(fast)
	w, err = r.Pick(context.Background(), "s", avoid)
	require.NoError(t, err)
	require.Equal(t, fast, w)
}

// TestPoolDeclined: Declined holds while a pick waits having judged the
// pool as it is, and not once a change came that it has yet to judge.
func TestPoolDeclined(t *testing.T) {
	r := NewPool[struct{}](0)
	require.False(t, r.Declined(), "no pick yet")
	busy := &worker{ID: "busy", Capacity: 1}
	r.Add(busy)
	_, err := r.Pick(context.Background(), "s", nil)
	require.NoError(t, err)
	got := make(chan *worker)
	go func() {
		w, _ := r.Pick(context.Background(), "s", nil)
		got <- w
	}()
	require.Eventually(t, r.Declined, 5*time.Second, time.Millisecond, "the pick waits: busy is full")
	r.mu.Lock()
	r.signal() // a change the waiting pick has not judged yet
	r.mu.Unlock()
	require.Eventually(t, r.Declined, 5*time.Second, time.Millisecond, "judged again: still nobody fits")
	r.Release(busy)
	require.Equal(t, busy, <-got)
	require.False(t, r.Declined(), "nobody waits")
}

// TestPoolPublishLanes: a publish takes a publish lane, never a segment's
// slot: a worker whose capacity is all taken still publishes, the
// stream's worker first; lanes are bounded per worker, a stalled worker
// gets none, and a waiting publish is woken when a lane frees.
func TestPoolPublishLanes(t *testing.T) {
	r := NewPool[struct{}](0)
	a := &worker{ID: "a", Capacity: 4}
	b := &worker{ID: "b", Capacity: 1}
	r.Add(a)
	r.Add(b)
	ctx := context.Background()
	for range 5 { // a: 4, then b: 1; the stream's last segment went to b
		_, err := r.Pick(ctx, "s", nil)
		require.NoError(t, err)
	}
	require.Equal(t, 2, PublishLanes(a.Capacity))
	require.Equal(t, 1, PublishLanes(b.Capacity))

	w, err := r.PickPublish(ctx, "s", nil)
	require.NoError(t, err)
	require.Equal(t, b, w, "the stream's worker, though every slot is taken")
	for range 2 {
		w, err = r.PickPublish(ctx, "s", nil)
		require.NoError(t, err)
		require.Equal(t, a, w, "b's one lane is taken")
	}
	require.Equal(t, 4, a.load, "publishes took no slot")
	require.Equal(t, 1, b.load)

	got := make(chan *worker, 1)
	go func() {
		w, _ := r.PickPublish(ctx, "other", nil)
		got <- w
	}()
	require.Eventually(t, r.Declined, 5*time.Second, time.Millisecond, "every lane is taken: the publish waits")
	require.Empty(t, got)
	r.Stall(b)
	r.ReleasePublish(b)
	require.Eventually(t, r.Declined, 5*time.Second, time.Millisecond, "b's free lane is no use: b is stalled")
	require.Empty(t, got)
	r.ReleasePublish(a)
	require.Equal(t, a, <-got)
}
