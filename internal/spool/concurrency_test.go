package spool_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"github.com/lpswarm/archiver"
	"github.com/lpswarm/archiver/internal/spool"
)

// TestConcurrentSubmitNextDone runs submitters and workers against one
// spool with a budget small enough to refuse often: every accepted job is
// served and finished exactly once, with its content, and the budget ends
// at zero.
func TestConcurrentSubmitNextDone(t *testing.T) {
	const submitters, workers, perSubmitter = 4, 3, 40
	s := open(t, t.TempDir(), spool.Config{MaxBytes: 40 << 10, MaxBytesPerSender: 16 << 10, QueueLen: 4})

	var mu sync.Mutex
	accepted := map[key]archiver.Job{}
	finished := map[key]int{}
	served := map[key]archiver.Job{}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var work errgroup.Group
	for w := range workers {
		work.Go(func() error {
			for {
				e, err := s.Next(ctx)
				if errors.Is(err, context.Canceled) {
					return nil
				}
				if err != nil {
					return err
				}
				if e.Attempts == 0 && w == 0 { // one flaky worker: every job it takes is retried
					if err := s.Release(e.ID); err != nil {
						return err
					}
					continue
				}
				if err := s.Done(e.ID); err != nil {
					return err
				}
				mu.Lock()
				finished[keyOf(e.Job)]++
				served[keyOf(e.Job)] = e.Job
				mu.Unlock()
			}
		})
	}

	var submit errgroup.Group
	for i := range submitters {
		sender := common.Address{byte(1 + i%3)} // three senders, one shared by two submitters
		submit.Go(func() error {
			for seq := range perSubmitter {
				job := makeJob(sender, fmt.Sprint("m", i), int64(seq), 1024)
				for {
					err := (<-s.Submit(job)).Err
					if errors.Is(err, archiver.ErrSpoolFull) {
						runtime.Gosched() // refused: retry once workers made room
						continue
					}
					if err != nil {
						return err
					}
					break
				}
				mu.Lock()
				accepted[keyOf(job)] = job
				mu.Unlock()
				_ = s.Stats() // readers race with everything else
			}
			return nil
		})
	}
	require.NoError(t, submit.Wait())
	for s.Stats().Jobs > 0 {
		runtime.Gosched()
	}
	cancel()
	require.NoError(t, work.Wait())

	require.Len(t, accepted, submitters*perSubmitter)
	require.Len(t, finished, len(accepted))
	for k, n := range finished {
		require.Equal(t, 1, n, "job %+v finished %d times", k, n)
		require.Equal(t, accepted[k], served[k], "job %+v served with other content", k)
	}
	require.Equal(t, spool.Stats{PerSender: map[common.Address]spool.SenderStats{}}, s.Stats())
}
