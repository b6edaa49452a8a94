package spool

import (
	"context"
	"fmt"
	"strconv"

	"github.com/lpswarm/archiver"
)

// Queue is the spool as the dispatcher reads it: jobs by string id.
func (s *Spool) Queue() archiver.Queue { return queue{s} }

type queue struct{ s *Spool }

func (q queue) Next(ctx context.Context) (archiver.QueuedJob, error) {
	e, err := q.s.Next(ctx)
	if err != nil {
		return archiver.QueuedJob{}, err
	}
	return archiver.QueuedJob{ID: e.ID.String(), Job: e.Job, Attempts: e.Attempts}, nil
}

func (q queue) Done(id string) error {
	n, err := ParseID(id)
	if err != nil {
		return err
	}
	return q.s.Done(n)
}

func (q queue) Release(id string) error {
	n, err := ParseID(id)
	if err != nil {
		return err
	}
	return q.s.Release(n)
}

// ParseID reverses ID.String (hexadecimal).
func ParseID(s string) (ID, error) {
	n, err := strconv.ParseUint(s, 16, 64)
	if err != nil {
		return 0, fmt.Errorf("spool: job id %q: %w", s, err)
	}
	return ID(n), nil
}
