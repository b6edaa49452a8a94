package catalog

import (
	"context"
	"testing"
)

func TestAcceptPolicy(t *testing.T) {
	s := testStream(1)
	with := func(ops ...op) []op { return append(twoRenditions(), ops...) }
	invalid := func(rend string, seq uint64, hash [32]byte, size int64, dur, ext string) op {
		return func(ctx context.Context, ix *Index) (bool, error) {
			return false, ix.Accept(ctx, s, rend, seq, hash, size, dur, ext)
		}
	}
	runPolicy(t, []policyCase{
		{name: "new record is pending", setup: with(), act: accept(s, "source", 10, "a"),
			want: []string{"source/10 pending a"}},
		{name: "idempotent duplicate", setup: with(accept(s, "source", 10, "a")),
			act: accept(s, "source", 10, "a"), unchanged: true},
		{name: "duplicate of an archived record", setup: with(accept(s, "source", 10, "a"), complete(s, "source", 10, "a", "a")),
			act: accept(s, "source", 10, "a"), unchanged: true, want: []string{"source/10 archived a ref:a"}},
		{name: "conflicting repeat keeps the first", setup: with(accept(s, "source", 10, "a")),
			act: accept(s, "source", 10, "b"), wantErr: ErrConflict, unchanged: true},
		{name: "conflicting repeat of an archived record", setup: with(accept(s, "source", 10, "a"), complete(s, "source", 10, "a", "a")),
			act: accept(s, "source", 10, "b"), wantErr: ErrConflict, unchanged: true},
		{name: "same seq in another rendition is another record", setup: with(accept(s, "source", 10, "a")),
			act: accept(s, "720p", 10, "b"), want: []string{"source/10 pending a", "720p/10 pending b"}},
		{name: "out-of-order seq is accepted and sorted", setup: with(accept(s, "source", 10, "a"), complete(s, "source", 10, "a", "a")),
			act: accept(s, "source", 5, "b"), want: []string{"source/5 pending b", "source/10 archived a ref:a"}},
		{name: "jump in seq is accepted", setup: with(accept(s, "source", 10, "a")),
			act: accept(s, "source", 1000, "b"), want: []string{"source/10 pending a", "source/1000 pending b"}},
		{name: "gap is refilled with fresh attempts", setup: with(accept(s, "source", 10, "a"), fail(s, "source", 10, "down", true)),
			act: accept(s, "source", 10, "b"), want: []string{"source/10 pending b"}},
		{name: "unknown rendition", setup: with(), act: accept(s, "1080p", 10, "a"), wantErr: ErrUnknownRendition},
		{name: "unknown stream", setup: with(), act: accept(testStream(2), "source", 10, "a"), wantErr: ErrUnknownStream},
		{name: "ended stream", setup: with(end(s)), act: accept(s, "source", 10, "a"), wantErr: ErrEnded},
		{name: "replayed duplicate after end", setup: with(accept(s, "source", 10, "a"), end(s)),
			act: accept(s, "source", 10, "a"), unchanged: true},
		{name: "conflicting repeat after end", setup: with(accept(s, "source", 10, "a"), end(s)),
			act: accept(s, "source", 10, "b"), wantErr: ErrConflict, unchanged: true},
		{name: "gap of an ended stream stays", setup: with(accept(s, "source", 10, "a"), fail(s, "source", 10, "x", true), end(s)),
			act: accept(s, "source", 10, "a"), wantErr: ErrEnded, unchanged: true},
		{name: "zero content hash", setup: with(), act: invalid("source", 1, [32]byte{}, 1, "2", ".ts"), wantErr: ErrInvalid},
		{name: "negative size", setup: with(), act: invalid("source", 1, content("a"), -1, "2", ".ts"), wantErr: ErrInvalid},
		{name: "unparsable duration", setup: with(), act: invalid("source", 1, content("a"), 1, "2s", ".ts"), wantErr: ErrInvalid},
		{name: "extension off the allowlist", setup: with(), act: invalid("source", 1, content("a"), 1, "2", ".html"), wantErr: ErrInvalid},
		{name: "empty manifest id", setup: with(), act: accept(StreamID{}, "source", 1, "a"), wantErr: ErrInvalid},
	})
}

func TestCompletePolicy(t *testing.T) {
	s := testStream(1)
	pending := func(ops ...op) []op {
		return append(twoRenditions(), append([]op{accept(s, "source", 10, "a")}, ops...)...)
	}
	runPolicy(t, []policyCase{
		{name: "pending becomes archived", setup: pending(), act: complete(s, "source", 10, "a", "a"),
			wantChanged: true, want: []string{"source/10 archived a ref:a"}},
		{name: "late duplicate report is harmless", setup: pending(complete(s, "source", 10, "a", "a")),
			act: complete(s, "source", 10, "a", "a"), unchanged: true},
		{name: "different reference keeps the first", setup: pending(complete(s, "source", 10, "a", "a")),
			act: complete(s, "source", 10, "a", "liar"), wantErr: ErrReferenceMismatch, unchanged: true,
			want: []string{"source/10 archived a ref:a"}},
		{name: "report for other content", setup: pending(), act: complete(s, "source", 10, "b", "b"),
			wantErr: ErrConflict, unchanged: true},
		{name: "report for another size", setup: pending(), wantErr: ErrConflict, unchanged: true,
			act: func(ctx context.Context, ix *Index) (bool, error) {
				return ix.Complete(ctx, s, "source", 10, content("a"), ref("a"), segBytes+1)
			}},
		{name: "unknown seq", setup: pending(), act: complete(s, "source", 11, "a", "a"), wantErr: ErrUnknownRecord, unchanged: true},
		{name: "unknown rendition", setup: pending(), act: complete(s, "1080p", 10, "a", "a"), wantErr: ErrUnknownRecord},
		{name: "unknown stream", setup: pending(), act: complete(testStream(2), "source", 10, "a", "a"), wantErr: ErrUnknownRecord},
		{name: "late upload closes a gap", setup: pending(fail(s, "source", 10, "timeout", true)),
			act: complete(s, "source", 10, "a", "a"), wantChanged: true, want: []string{"source/10 archived a ref:a attempts:1"}},
		{name: "completes after end", setup: pending(end(s)), act: complete(s, "source", 10, "a", "a"),
			wantChanged: true, want: []string{"source/10 archived a ref:a"}},
		{name: "zero reference", setup: pending(), wantErr: ErrInvalid, unchanged: true,
			act: func(ctx context.Context, ix *Index) (bool, error) {
				return ix.Complete(ctx, s, "source", 10, content("a"), swarmZero(), segBytes)
			}},
	})
}

func TestFailPolicy(t *testing.T) {
	s := testStream(1)
	pending := func(ops ...op) []op {
		return append(twoRenditions(), append([]op{accept(s, "source", 10, "a")}, ops...)...)
	}
	runPolicy(t, []policyCase{
		{name: "attempt is counted", setup: pending(), act: fail(s, "source", 10, "503", false),
			want: []string{"source/10 pending a attempts:1 err:503"}},
		{name: "final attempt leaves a gap", setup: pending(fail(s, "source", 10, "503", false), fail(s, "source", 10, "503", false)),
			act: fail(s, "source", 10, "timeout", true), want: []string{"source/10 gap a attempts:3 err:timeout"}},
		{name: "failure after success changes nothing", setup: pending(complete(s, "source", 10, "a", "a")),
			act: fail(s, "source", 10, "late", true), unchanged: true},
		{name: "failure after gap changes nothing", setup: pending(fail(s, "source", 10, "x", true)),
			act: fail(s, "source", 10, "y", true), unchanged: true, want: []string{"source/10 gap a attempts:1 err:x"}},
		{name: "unknown record", setup: pending(), act: fail(s, "source", 9, "x", true), wantErr: ErrUnknownRecord, unchanged: true},
		{name: "unknown stream", setup: pending(), act: fail(testStream(2), "source", 10, "x", true), wantErr: ErrUnknownRecord},
	})
}

func TestStreamPolicy(t *testing.T) {
	s := testStream(1)
	runPolicy(t, []policyCase{
		{name: "rendition again is a no-op", setup: twoRenditions(), act: rendition(s, "source", "other"), unchanged: true},
		{name: "rendition with an unsafe name", act: rendition(s, "../x", ""), wantErr: ErrInvalid},
		{name: "new rendition after end", setup: append(twoRenditions(), end(s)), act: rendition(s, "1080p", ""), wantErr: ErrEnded},
		{name: "known rendition after end", setup: append(twoRenditions(), end(s)), act: rendition(s, "720p", "")},
		{name: "end twice", setup: append(twoRenditions(), end(s)), act: end(s)},
		{name: "end of an unknown stream", act: end(s), wantErr: ErrUnknownStream},
		{name: "publish", setup: twoRenditions(), act: publish(s, "m1", 0)},
		{name: "republish with as many segments", setup: append(twoRenditions(), publish(s, "m1", 5)), act: publish(s, "m2", 5)},
		{name: "stale publish", setup: append(twoRenditions(), publish(s, "m2", 5)), act: publish(s, "m1", 4), wantErr: ErrStalePublish},
		{name: "publish of an unknown stream", act: publish(s, "m1", 1), wantErr: ErrUnknownStream},
		{name: "publish without reference", setup: twoRenditions(), wantErr: ErrInvalid,
			act: func(ctx context.Context, ix *Index) (bool, error) {
				return false, ix.SetPublished(ctx, s, swarmZero(), 1)
			}},
	})
}
