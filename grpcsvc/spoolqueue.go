package grpcsvc

import (
	"context"
	"fmt"
	"strconv"

	"github.com/lpswarm/archiver/internal/spool"
)

// SpoolQueue serves jobs from the orchestrator's durable spool.
func SpoolQueue(s *spool.Spool) Queue { return spoolQueue{s} }

type spoolQueue struct{ s *spool.Spool }

func (q spoolQueue) Next(ctx context.Context) (QueuedJob, error) {
	e, err := q.s.Next(ctx)
	if err != nil {
		return QueuedJob{}, err
	}
	return QueuedJob{ID: e.ID.String(), Job: e.Job, Attempts: e.Attempts}, nil
}

func (q spoolQueue) Done(id string) error {
	n, err := parseID(id)
	if err != nil {
		return err
	}
	return q.s.Done(n)
}

func (q spoolQueue) Release(id string) error {
	n, err := parseID(id)
	if err != nil {
		return err
	}
	return q.s.Release(n)
}

// parseID reverses spool.ID.String (hexadecimal).
func parseID(s string) (spool.ID, error) {
	n, err := strconv.ParseUint(s, 16, 64)
	if err != nil {
		return 0, fmt.Errorf("grpcsvc: job id %q: %w", s, err)
	}
	return spool.ID(n), nil
}
