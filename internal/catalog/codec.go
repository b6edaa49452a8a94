package catalog

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/ethersphere/bee/v2/pkg/swarm"
)

// Values are versioned so a future layout can be told from this one; a
// decoder never guesses: anything it cannot read fully is ErrCorrupt.
const (
	recordVersion = 1
	metaVersion   = 1
	feedVersion   = 1
)

// encode appends, in order: version, state, content hash, reference, bytes,
// duration, ext, attempts, error, updated-at. Rendition and seq are the key.
func (r *Record) encode() []byte {
	b := make([]byte, 0, 96+len(r.Reference.Bytes())+len(r.Duration)+len(r.Ext)+len(r.Error))
	b = append(b, recordVersion, byte(r.State))
	b = append(b, r.ContentHash[:]...)
	b = appendBytes(b, r.Reference.Bytes())
	b = binary.AppendUvarint(b, uint64(r.Bytes))
	b = appendBytes(b, []byte(r.Duration))
	b = appendBytes(b, []byte(r.Ext))
	b = binary.AppendUvarint(b, uint64(r.Attempts))
	b = appendBytes(b, []byte(r.Error))
	return appendTime(b, r.UpdatedAt)
}

// decodeRecord reads a record stored under key k. v belongs to bbolt and is
// valid only inside the transaction, so everything is copied out.
func decodeRecord(k, v []byte, rendition string) (Record, error) {
	if len(k) != 12 {
		return Record{}, fmt.Errorf("%w: record key of %d bytes", ErrCorrupt, len(k))
	}
	r := Record{Rendition: rendition, Seq: binary.BigEndian.Uint64(k[4:])}
	d := decoder{b: v}
	if ver := d.byte(); ver != recordVersion && d.err == nil {
		return Record{}, fmt.Errorf("%w: record version %d", ErrCorrupt, ver)
	}
	r.State = State(d.byte())
	copy(r.ContentHash[:], d.next(len(r.ContentHash)))
	r.Reference = address(d.bytes())
	r.Bytes = d.int()
	r.Duration = string(d.bytes())
	r.Ext = string(d.bytes())
	r.Attempts = int(d.int())
	r.Error = string(d.bytes())
	r.UpdatedAt = d.time()
	if err := d.done(); err != nil {
		return Record{}, fmt.Errorf("record %s/%d: %w", rendition, r.Seq, err)
	}
	if !r.State.valid() {
		return Record{}, fmt.Errorf("%w: record %s/%d in %v", ErrCorrupt, rendition, r.Seq, r.State)
	}
	return r, nil
}

func (m meta) encode() []byte {
	b := []byte{metaVersion, byte(m.State)}
	b = appendTime(b, m.Created)
	b = appendTime(b, m.Ended)
	b = appendBytes(b, m.Published.Reference.Bytes())
	b = binary.AppendUvarint(b, uint64(m.Published.Segments))
	b = appendTime(b, m.Published.At)
	final := byte(0)
	if m.Published.Final {
		final = 1
	}
	return append(b, final)
}

func decodeMeta(v []byte) (meta, error) {
	d := decoder{b: v}
	if ver := d.byte(); ver != metaVersion && d.err == nil {
		return meta{}, fmt.Errorf("%w: stream metadata version %d", ErrCorrupt, ver)
	}
	m := meta{State: StreamState(d.byte())}
	m.Created = d.time()
	m.Ended = d.time()
	m.Published.Reference = address(d.bytes())
	m.Published.Segments = int(d.int())
	m.Published.At = d.time()
	m.Published.Final = d.byte() == 1
	if err := d.done(); err != nil {
		return meta{}, fmt.Errorf("stream metadata: %w", err)
	}
	if m.State != Live && m.State != Ended {
		return meta{}, fmt.Errorf("%w: stream in %v", ErrCorrupt, m.State)
	}
	return m, nil
}

func (f Feed) encode() []byte {
	b := append([]byte{feedVersion}, f.Owner[:]...)
	b = append(b, f.Topic[:]...)
	b = appendBytes(b, f.Manifest.Bytes())
	return binary.AppendUvarint(b, f.Updates)
}

func decodeFeed(v []byte) (Feed, error) {
	d := decoder{b: v}
	if ver := d.byte(); ver != feedVersion && d.err == nil {
		return Feed{}, fmt.Errorf("%w: feed version %d", ErrCorrupt, ver)
	}
	var f Feed
	copy(f.Owner[:], d.next(len(f.Owner)))
	copy(f.Topic[:], d.next(len(f.Topic)))
	f.Manifest = address(d.bytes())
	f.Updates = uint64(d.int())
	if err := d.done(); err != nil {
		return Feed{}, fmt.Errorf("stream feed: %w", err)
	}
	return f, nil
}

func encodeRendition(ordinal uint32, listing []byte) []byte {
	return append(binary.AppendUvarint(nil, uint64(ordinal)), listing...)
}

// decodeRendition returns the ordinal and a copy of the listing.
func decodeRendition(v []byte) (uint32, []byte, error) {
	ord, n := binary.Uvarint(v)
	if n <= 0 || ord > math.MaxUint32 {
		return 0, nil, fmt.Errorf("%w: rendition value", ErrCorrupt)
	}
	return uint32(ord), bytes.Clone(v[n:]), nil
}

func appendBytes(b, p []byte) []byte { return append(binary.AppendUvarint(b, uint64(len(p))), p...) }

// appendTime stores UnixNano; 0 stands for the zero time, whose UnixNano
// is undefined.
func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return binary.AppendVarint(b, 0)
	}
	return binary.AppendVarint(b, t.UnixNano())
}

// address returns the zero address for no bytes so that a decoded record
// compares equal to the one encoded.
func address(b []byte) swarm.Address {
	if len(b) == 0 {
		return swarm.ZeroAddress
	}
	return swarm.NewAddress(bytes.Clone(b))
}

// decoder reads a value front to back; the first error sticks and later
// reads return zero values, so callers check once at the end.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = fmt.Errorf("%w: truncated value", ErrCorrupt)
	}
	d.b = nil
}

func (d *decoder) next(n int) []byte {
	if d.err != nil || n < 0 || n > len(d.b) {
		d.fail()
		return nil
	}
	p := d.b[:n]
	d.b = d.b[n:]
	return p
}

func (d *decoder) byte() byte {
	if p := d.next(1); p != nil {
		return p[0]
	}
	return 0
}

// int reads a non-negative count stored as a uvarint.
func (d *decoder) int() int64 {
	v, n := binary.Uvarint(d.b)
	if d.err != nil || n <= 0 || v > math.MaxInt64 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return int64(v)
}

func (d *decoder) bytes() []byte {
	n := d.int()
	if n > int64(len(d.b)) {
		d.fail()
		return nil
	}
	return d.next(int(n))
}

func (d *decoder) time() time.Time {
	v, n := binary.Varint(d.b)
	if d.err != nil || n <= 0 {
		d.fail()
		return time.Time{}
	}
	d.b = d.b[n:]
	if v == 0 {
		return time.Time{}
	}
	return time.Unix(0, v).UTC()
}

func (d *decoder) done() error {
	if d.err == nil && len(d.b) != 0 {
		return fmt.Errorf("%w: %d trailing bytes", ErrCorrupt, len(d.b))
	}
	return d.err
}
