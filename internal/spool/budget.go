package spool

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/ethereum/go-ethereum/common"

	"github.com/lpswarm/archiver"
)

// Limit names the bound that refused a job.
type Limit string

const (
	// LimitTotal is Config.MaxBytes, the whole spool.
	LimitTotal Limit = "MaxBytes"
	// LimitSender is Config.MaxBytesPerSender, one broadcaster's share.
	LimitSender Limit = "MaxBytesPerSender"
	// LimitQueue is Config.QueueLen, the in-memory hand-off to the writer.
	LimitQueue Limit = "QueueLen"
	// LimitDisk is the file system under the spool: it ran out of space
	// (ENOSPC, or EDQUOT for a user quota) before MaxBytes was reached.
	LimitDisk Limit = "disk"
)

// FullError is the refusal Submit answers when a job does not fit. It
// matches archiver.ErrSpoolFull, so the decorator needs nothing
// spool-specific; Limit tells operators which bound to raise.
type FullError struct {
	Limit  Limit
	Sender common.Address
	// Used and Need are bytes (jobs for LimitQueue): what the limit already
	// holds and what the refused job asked for; Max is the configured bound.
	Used, Need, Max int64
	// Err is the file system's error for LimitDisk.
	Err error
}

func (e *FullError) Error() string {
	switch e.Limit {
	case LimitDisk:
		return fmt.Sprintf("%v: %s: no space left for a job of %d bytes from sender %s (raise free space or lower MaxBytes): %v",
			archiver.ErrSpoolFull, e.Limit, e.Need, e.Sender, e.Err)
	case LimitQueue:
		return fmt.Sprintf("%v: %s: hand-off queue holds %d of %d jobs", archiver.ErrSpoolFull, e.Limit, e.Used, e.Max)
	}
	return fmt.Sprintf("%v: %s: sender %s needs %d bytes, %d of %d in use",
		archiver.ErrSpoolFull, e.Limit, e.Sender, e.Need, e.Used, e.Max)
}

// Unwrap makes errors.Is(err, archiver.ErrSpoolFull) hold, and for
// LimitDisk errors.Is(err, syscall.ENOSPC) too.
func (e *FullError) Unwrap() []error {
	if e.Err != nil {
		return []error{archiver.ErrSpoolFull, e.Err}
	}
	return []error{archiver.ErrSpoolFull}
}

// noSpace reports a write the file system refused for lack of space.
func noSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

// usage is what one sender, or the whole spool, holds. Bytes count from
// the moment Submit reserves them, so jobs still in the hand-off queue
// (and in memory) are bounded by the same budget as those on disk.
type usage struct {
	bytes   int64
	jobs    int // durable
	pending int // reserved, not yet durable
}

// budget enforces MaxBytes and MaxBytesPerSender. Not safe for concurrent
// use; the Spool's mutex guards it.
type budget struct {
	max, maxPerSender int64
	total             usage
	senders           map[common.Address]*usage
}

func newBudget(total, perSender int64) *budget {
	return &budget{max: total, maxPerSender: perSender, senders: map[common.Address]*usage{}}
}

// reserve books size bytes for a job about to be written, or refuses it
// and books nothing.
func (b *budget) reserve(sender common.Address, size int64) error {
	u := b.senders[sender]
	var held int64
	if u != nil {
		held = u.bytes
	}
	switch {
	case b.total.bytes+size > b.max:
		return &FullError{Limit: LimitTotal, Sender: sender, Used: b.total.bytes, Need: size, Max: b.max}
	case held+size > b.maxPerSender:
		return &FullError{Limit: LimitSender, Sender: sender, Used: held, Need: size, Max: b.maxPerSender}
	}
	u = b.of(sender)
	u.bytes += size
	u.pending++
	b.total.bytes += size
	b.total.pending++
	return nil
}

// of returns a sender's usage, creating it on first use.
func (b *budget) of(sender common.Address) *usage {
	u := b.senders[sender]
	if u == nil {
		u = &usage{}
		b.senders[sender] = u
	}
	return u
}

// persisted moves a reservation from pending to durable.
func (b *budget) persisted(sender common.Address) {
	b.senders[sender].pending--
	b.senders[sender].jobs++
	b.total.pending--
	b.total.jobs++
}

// loaded books a job found on disk at Open. It is never refused: the data
// was accepted and charged, so a lowered limit only stops new work.
func (b *budget) loaded(sender common.Address, size int64) {
	u := b.of(sender)
	u.bytes += size
	u.jobs++
	b.total.bytes += size
	b.total.jobs++
}

// release returns a job's bytes: durable says whether it had been written.
func (b *budget) release(sender common.Address, size int64, durable bool) {
	u := b.senders[sender]
	u.bytes -= size
	b.total.bytes -= size
	if durable {
		u.jobs--
		b.total.jobs--
	} else {
		u.pending--
		b.total.pending--
	}
	if u.jobs == 0 && u.pending == 0 {
		delete(b.senders, sender)
	}
}
