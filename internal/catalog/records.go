package catalog

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/ethersphere/bee/v2/pkg/swarm"
	bolt "go.etcd.io/bbolt"

	"github.com/lpswarm/archiver/hls"
)

// Accept records a segment as Pending once the spool has accepted it. See
// the package documentation for repeats, conflicts and gaps.
func (ix *Index) Accept(ctx context.Context, id StreamID, rendition string, seq uint64, contentHash [32]byte, size int64, duration, ext string) error {
	op := fmt.Sprintf("accept %s %s/%d", id, rendition, seq)
	if err := checkSegment(contentHash, size, duration, ext); err != nil {
		return fmt.Errorf("index: %s: %w", op, err)
	}
	return ix.update(ctx, op, func(tx *bolt.Tx) error {
		return ix.accept(tx, id, rendition, seq, contentHash, size, duration, ext)
	})
}

// SegmentFile is one file of a segment, for AcceptSegment.
type SegmentFile struct {
	Rendition   string
	ContentHash [32]byte
	Size        int64
}

// AcceptSegment is Rendition (without a listing) and Accept for every file
// of one segment, in one transaction: the decorator's reply waits for this
// record, and one fsync costs it a fraction of one per call (six for a
// source and two renditions). All or nothing: a refused file records none.
func (ix *Index) AcceptSegment(ctx context.Context, id StreamID, seq uint64, duration, ext string, files []SegmentFile) error {
	op := fmt.Sprintf("accept %s seq %d", id, seq)
	if err := checkFiles(op, duration, ext, files); err != nil {
		return err
	}
	return ix.update(ctx, op, func(tx *bolt.Tx) error {
		return ix.acceptFiles(tx, id, seq, duration, ext, files)
	})
}

// checkFiles is what AcceptSegment and CompleteSegment check of a
// segment's files before their transaction.
func checkFiles(op, duration, ext string, files []SegmentFile) error {
	for _, f := range files {
		if err := hls.ValidName(f.Rendition); err != nil {
			return fmt.Errorf("index: %s: rendition %q: %w: %w", op, f.Rendition, ErrInvalid, err)
		}
		if err := checkSegment(f.ContentHash, f.Size, duration, ext); err != nil {
			return fmt.Errorf("index: %s: %s: %w", op, f.Rendition, err)
		}
	}
	return nil
}

// acceptFiles registers a segment's renditions and accepts its files in
// tx: all of them, or an error that rolls tx back.
func (ix *Index) acceptFiles(tx *bolt.Tx, id StreamID, seq uint64, duration, ext string, files []SegmentFile) error {
	for _, f := range files {
		if err := ix.rendition(tx, id, f.Rendition, nil); err != nil {
			return fmt.Errorf("%s: %w", f.Rendition, err)
		}
		if err := ix.accept(tx, id, f.Rendition, seq, f.ContentHash, f.Size, duration, ext); err != nil {
			return fmt.Errorf("%s: %w", f.Rendition, err)
		}
	}
	return nil
}

// accept is Accept's transaction.
func (ix *Index) accept(tx *bolt.Tx, id StreamID, rendition string, seq uint64, contentHash [32]byte, size int64, duration, ext string) error {
	s, err := openStream(tx, id)
	if err != nil {
		return err
	}
	ord, err := s.ordinal(rendition)
	if err != nil {
		return err
	}
	k := recordKey(ord, seq)
	if v := s.records.Get(k); v != nil {
		old, err := decodeRecord(k, v, rendition)
		if err != nil {
			return err
		}
		switch {
		case old.State == Gap:
			// Nothing was archived for a gap, so new content may
			// still fill it: a fresh Pending record, if still Live.
		case old.ContentHash == contentHash:
			// Checked before End so that a spool replayed after a
			// restart gets its no-op even on an ended stream.
			return nil
		default:
			return fmt.Errorf("%w: first %x, now %x", ErrConflict, old.ContentHash[:6], contentHash[:6])
		}
	}
	m, err := s.meta()
	if err != nil {
		return err
	}
	if m.State == Ended {
		return ErrEnded
	}
	r := Record{
		State: Pending, Bytes: size, Duration: duration, Ext: ext,
		ContentHash: contentHash, UpdatedAt: ix.now(),
	}
	return s.records.Put(k, r.encode())
}

func checkSegment(contentHash [32]byte, size int64, duration, ext string) error {
	if contentHash == [32]byte{} {
		return fmt.Errorf("%w: zero content hash", ErrInvalid)
	}
	if size < 0 {
		return fmt.Errorf("%w: %d bytes", ErrInvalid, size)
	}
	// The playlist reproduces EXTINF verbatim, so it must parse as one.
	if d, err := strconv.ParseFloat(duration, 64); err != nil || d < 0 || math.IsInf(d, 0) || math.IsNaN(d) {
		return fmt.Errorf("%w: duration %q", ErrInvalid, duration)
	}
	// Extensions become manifest paths; only the allowlist may get there.
	if hls.SegmentExt("x"+ext) != ext {
		return fmt.Errorf("%w: extension %q", ErrInvalid, ext)
	}
	return nil
}

// Complete records the reference a worker reported for a segment and
// reports whether the record changed. contentHash and size describe what
// the worker uploaded (size is upload.Receipt.Bytes, the payload size) and
// must match what was accepted. A late duplicate report changes nothing;
// see the package documentation for mismatches.
func (ix *Index) Complete(ctx context.Context, id StreamID, rendition string, seq uint64, contentHash [32]byte, ref swarm.Address, size int64) (bool, error) {
	op := fmt.Sprintf("complete %s %s/%d", id, rendition, seq)
	if ref.IsZero() {
		return false, fmt.Errorf("index: %s: %w: zero reference", op, ErrInvalid)
	}
	var changed bool
	err := ix.update(ctx, op, func(tx *bolt.Tx) (err error) {
		changed, err = ix.complete(tx, id, rendition, seq, contentHash, ref, size)
		return err
	})
	if err != nil {
		return false, err
	}
	return changed, nil
}

// complete is Complete's transaction.
func (ix *Index) complete(tx *bolt.Tx, id StreamID, rendition string, seq uint64, contentHash [32]byte, ref swarm.Address, size int64) (bool, error) {
	s, k, r, err := findRecord(tx, id, rendition, seq)
	if err != nil {
		return false, err
	}
	if r.ContentHash != contentHash || r.Bytes != size {
		return false, fmt.Errorf("%w: report for %x (%d bytes), accepted %x (%d bytes)",
			ErrConflict, contentHash[:6], size, r.ContentHash[:6], r.Bytes)
	}
	if r.State == Archived {
		if !r.Reference.Equal(ref) {
			return false, fmt.Errorf("%w: recorded %s, reported %s", ErrReferenceMismatch, r.Reference, ref)
		}
		return false, nil
	}
	// Pending, or a Gap whose upload finished after the final failure
	// was recorded: the content is on Swarm, so the gap can close.
	r.State, r.Reference, r.Error, r.UpdatedAt = Archived, ref, "", ix.now()
	return true, s.records.Put(k, r.encode())
}

// CompleteSegment records a worker's report of a whole segment in one
// transaction, one fsync, where AcceptSegment and Complete per file took
// four: it accepts the files first (a no-op for files already accepted
// with the same content, and what covers a job spooled before a crash
// kept it from the index), then completes them in order, as Complete
// would. A refused accept records nothing; a refused completion keeps the
// completions before it, as separate Complete calls would.
func (ix *Index) CompleteSegment(ctx context.Context, id StreamID, seq uint64, duration, ext string, files []SegmentFile, refs []swarm.Address) error {
	op := fmt.Sprintf("complete %s seq %d", id, seq)
	if len(refs) != len(files) {
		return fmt.Errorf("index: %s: %w: %d references for %d files", op, ErrInvalid, len(refs), len(files))
	}
	if err := checkFiles(op, duration, ext, files); err != nil {
		return err
	}
	for i, f := range files {
		if refs[i].IsZero() {
			return fmt.Errorf("index: %s: %s: %w: zero reference", op, f.Rendition, ErrInvalid)
		}
	}
	var refused error
	err := ix.update(ctx, op, func(tx *bolt.Tx) error {
		if err := ix.acceptFiles(tx, id, seq, duration, ext, files); err != nil {
			return err
		}
		for i, f := range files {
			if _, err := ix.complete(tx, id, f.Rendition, seq, f.ContentHash, refs[i], f.Size); err != nil {
				if errors.Is(err, ErrConflict) || errors.Is(err, ErrReferenceMismatch) {
					refused = fmt.Errorf("index: %s: %s: %w", op, f.Rendition, err)
					return nil // commit the completions before it
				}
				return fmt.Errorf("%s: %w", f.Rendition, err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return refused
}

// Fail counts a failed attempt at a Pending segment; final turns it into a
// Gap. Fail on an Archived or Gap record changes nothing.
func (ix *Index) Fail(ctx context.Context, id StreamID, rendition string, seq uint64, reason string, final bool) error {
	return ix.update(ctx, fmt.Sprintf("fail %s %s/%d", id, rendition, seq), func(tx *bolt.Tx) error {
		s, k, r, err := findRecord(tx, id, rendition, seq)
		if err != nil {
			return err
		}
		if r.State != Pending {
			return nil // the success, or the final failure, stands
		}
		r.Attempts++
		r.Error, r.UpdatedAt = reason, ix.now()
		if final {
			r.State = Gap
		}
		return s.records.Put(k, r.encode())
	})
}

// findRecord loads a record a report names; anything missing on the way is
// ErrUnknownRecord, so callers need one check to drop stray reports.
func findRecord(tx *bolt.Tx, id StreamID, rendition string, seq uint64) (stream, []byte, Record, error) {
	s, err := openStream(tx, id)
	if err != nil {
		return stream{}, nil, Record{}, fmt.Errorf("%w: %w", ErrUnknownRecord, err)
	}
	ord, err := s.ordinal(rendition)
	if err != nil {
		return stream{}, nil, Record{}, fmt.Errorf("%w: %w", ErrUnknownRecord, err)
	}
	k := recordKey(ord, seq)
	v := s.records.Get(k)
	if v == nil {
		return stream{}, nil, Record{}, ErrUnknownRecord
	}
	r, err := decodeRecord(k, v, rendition)
	return s, k, r, err
}

// Records returns every record of a stream, ordered by rendition (first
// seen first), then seq.
func (ix *Index) Records(id StreamID) ([]Record, error) {
	return ix.records(id, "records", func(Record) bool { return true })
}

// Pending returns the records no worker has reported yet, in Records order:
// the jobs a successor must redo or wait for.
func (ix *Index) Pending(id StreamID) ([]Record, error) {
	return ix.records(id, "pending", func(r Record) bool { return r.State == Pending })
}

func (ix *Index) records(id StreamID, op string, keep func(Record) bool) ([]Record, error) {
	var out []Record
	err := ix.view(fmt.Sprintf("%s %s", op, id), func(tx *bolt.Tx) error {
		s, err := openStream(tx, id)
		if err != nil {
			return err
		}
		names, err := s.names()
		if err != nil {
			return err
		}
		return s.records.ForEach(func(k, v []byte) error {
			if len(k) != 12 {
				return fmt.Errorf("%w: record key of %d bytes", ErrCorrupt, len(k))
			}
			ord := binary.BigEndian.Uint32(k)
			name, ok := names[ord]
			if !ok {
				return fmt.Errorf("%w: record of unregistered rendition %d", ErrCorrupt, ord)
			}
			r, err := decodeRecord(k, v, name)
			if err != nil {
				return err
			}
			if keep(r) {
				out = append(out, r)
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// names maps rendition ordinals to names.
func (s stream) names() (map[uint32]string, error) {
	names := make(map[uint32]string)
	err := s.renditions.ForEach(func(k, v []byte) error {
		ord, _, err := decodeRendition(v)
		names[ord] = string(k)
		return err
	})
	return names, err
}
