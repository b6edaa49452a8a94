package dispatch

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestPoolBoundsUnacknowledgedJobs: which worker an archive job goes
// to, given what each declared, holds unacknowledged, or missed.
func TestPoolBoundsUnacknowledgedJobs(t *testing.T) {
	tests := []struct {
		name    string
		workers []*worker // a declares a big capacity, b a small one
		avoid   []int     // indexes of workers that missed the job
		want    string    // "" when the pick must wait
	}{
		{"big capacity, under the bound", []*worker{{ID: "a", Capacity: 4096, unacked: 1, load: 1}, {ID: "b", Capacity: 2, load: 1}}, nil, "a"},
		{"big capacity, at the bound", []*worker{{ID: "a", Capacity: 4096, unacked: 2, load: 2}, {ID: "b", Capacity: 2, load: 1}}, nil, "b"},
		{"acknowledged jobs count against capacity only", []*worker{{ID: "a", Capacity: 4096, load: 100}, {ID: "b", Capacity: 2, load: 1}}, nil, "a"},
		{"stalled, though empty", []*worker{{ID: "a", Capacity: 4096, stalled: true}, {ID: "b", Capacity: 2, load: 1}}, nil, "b"},
		{"stalled and alone: wait", []*worker{{ID: "a", Capacity: 4096, stalled: true}}, nil, ""},
		{"all at the bound: wait", []*worker{{ID: "a", Capacity: 4096, unacked: 2, load: 2}, {ID: "b", Capacity: 4, unacked: 2, load: 2}}, nil, ""},
		{"the one that missed the job is used when the other is stalled", []*worker{{ID: "a", Capacity: 4096, stalled: true}, {ID: "b", Capacity: 2}}, []int{1}, "b"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := NewPool[struct{}](0)
			r.maxUnacked = 2
			avoid := map[*worker]bool{}
			for _, w := range tc.workers {
				r.Add(w)
			}
			for _, i := range tc.avoid {
				avoid[tc.workers[i]] = true
			}
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			w, err := r.PickJob(ctx, "s", avoid)
			if tc.want == "" {
				require.ErrorIs(t, err, context.DeadlineExceeded, "picked %v", w)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, w.ID)
		})
	}
}

// TestPoolAckWakesAWaitingPick: a pick waiting on a worker at its bound
// or stalled gets it once the worker acknowledges.
func TestPoolAckWakesAWaitingPick(t *testing.T) {
	for _, tc := range []struct {
		name    string
		w       *worker
		held    bool
		stalled bool
	}{
		{"at the bound", &worker{ID: "a", Capacity: 8, unacked: 2, load: 2}, true, false},
		{"stalled", &worker{ID: "a", Capacity: 8, stalled: true}, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := NewPool[struct{}](0)
			r.maxUnacked = 2
			r.Add(tc.w)
			got := make(chan *worker, 1)
			go func() {
				if w, err := r.PickJob(context.Background(), "s", nil); err == nil {
					got <- w
				}
			}()
			select {
			case <-got:
				t.Fatal("picked a worker that may hold no more")
			case <-time.After(20 * time.Millisecond):
			}
			require.Equal(t, tc.stalled, r.Ack(tc.w, tc.held))
			select {
			case w := <-got:
				require.Equal(t, tc.w, w)
			case <-time.After(5 * time.Second):
				t.Fatal("waiting pick not woken by the acknowledgement")
			}
		})
	}
}
