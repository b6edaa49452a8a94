package postage

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/ethereum/go-ethereum/common"
)

// State file layout, all integers big-endian:
//
//	magic       8 bytes  "LPSWISSU"
//	version     2 bytes  stateVersion
//	body length 4 bytes  n
//	body        n bytes:
//	  batch ID      32 bytes
//	  owner         20 bytes
//	  depth          1 byte
//	  bucket depth   1 byte
//	  flags          1 byte   bit 0: immutable
//	  counters      2^bucketDepth uvarints, bucket 0 first
//	checksum   32 bytes  SHA-256 of everything before it
//
// The file length must be exactly 14+n+32, so truncation is caught by the
// length check even before the checksum.
const (
	stateMagic     = "LPSWISSU"
	stateVersion   = 1
	stateHeaderLen = len(stateMagic) + 2 + 4
	stateParamsLen = 32 + common.AddressLength + 3
	stateSuffix    = ".issuer"
	tempSuffix     = ".tmp"
	flagImmutable  = 1
)

var (
	// ErrStateCorrupt reports a state file that is truncated, torn or
	// altered. The issuer refuses to start rather than reset counters.
	ErrStateCorrupt = errors.New("issuer state corrupt")
	// ErrStateVersion reports a state file written by an unknown format
	// version.
	ErrStateVersion = errors.New("unsupported issuer state version")
	// ErrBatchMismatch reports a state file whose batch parameters differ
	// from the configured batch.
	ErrBatchMismatch = errors.New("issuer state belongs to a different batch")
)

// stateFileName is the per-batch state file inside the issuer directory.
// A leased part of a batch has its own file: its counters count within the
// lease, and a different lease must never continue from them.
func stateFileName(b Batch) string {
	name := hex.EncodeToString(b.ID[:])
	if b.Lease != (Lease{}) {
		name += fmt.Sprintf("-%d-%d", b.Lease.From, b.Lease.To)
	}
	return name + stateSuffix
}

// encodeState serialises b with counters plus the pending deltas, so a
// reservation can be made durable before it is applied in memory.
func encodeState(b Batch, counters []uint32, deltas map[uint32]uint32) []byte {
	body := make([]byte, 0, stateParamsLen+2*len(counters))
	body = append(body, b.ID[:]...)
	body = append(body, b.Owner[:]...)
	body = append(body, b.Depth, b.BucketDepth, flags(b))
	for bucket, c := range counters {
		body = binary.AppendUvarint(body, uint64(c+deltas[uint32(bucket)]))
	}

	out := make([]byte, 0, stateHeaderLen+len(body)+sha256.Size)
	out = append(out, stateMagic...)
	out = binary.BigEndian.AppendUint16(out, stateVersion)
	out = binary.BigEndian.AppendUint32(out, uint32(len(body)))
	out = append(out, body...)
	sum := sha256.Sum256(out)
	return append(out, sum[:]...)
}

func flags(b Batch) byte {
	if b.Immutable {
		return flagImmutable
	}
	return 0
}

// decodeState verifies and parses a state file. The returned Batch carries
// only the persisted parameters (no Amount or BlockNumber).
func decodeState(data []byte) (Batch, []uint32, error) {
	body, err := verifyFrame(data)
	if err != nil {
		return Batch{}, nil, err
	}
	b, err := decodeParams(body)
	if err != nil {
		return Batch{}, nil, err
	}
	counters, err := decodeCounters(body[stateParamsLen:], b)
	if err != nil {
		return Batch{}, nil, err
	}
	return b, counters, nil
}

// verifyFrame checks magic, length and checksum and returns the body.
func verifyFrame(data []byte) ([]byte, error) {
	if len(data) < stateHeaderLen+sha256.Size {
		return nil, fmt.Errorf("%w: %d bytes is shorter than the header", ErrStateCorrupt, len(data))
	}
	if !bytes.Equal(data[:len(stateMagic)], []byte(stateMagic)) {
		return nil, fmt.Errorf("%w: bad magic", ErrStateCorrupt)
	}
	bodyLen := binary.BigEndian.Uint32(data[len(stateMagic)+2:])
	if want := uint64(stateHeaderLen) + uint64(bodyLen) + sha256.Size; uint64(len(data)) != want {
		return nil, fmt.Errorf("%w: file is %d bytes, header says %d", ErrStateCorrupt, len(data), want)
	}
	split := len(data) - sha256.Size
	if sum := sha256.Sum256(data[:split]); !bytes.Equal(sum[:], data[split:]) {
		return nil, fmt.Errorf("%w: checksum mismatch", ErrStateCorrupt)
	}
	// Checked after the checksum so that a flipped version byte reads as
	// corruption, not as a newer format.
	if v := binary.BigEndian.Uint16(data[len(stateMagic):]); v != stateVersion {
		return nil, fmt.Errorf("%w: %d", ErrStateVersion, v)
	}
	return data[stateHeaderLen:split], nil
}

func decodeParams(body []byte) (Batch, error) {
	if len(body) < stateParamsLen {
		return Batch{}, fmt.Errorf("%w: body of %d bytes lacks batch parameters", ErrStateCorrupt, len(body))
	}
	var b Batch
	n := copy(b.ID[:], body)
	n += copy(b.Owner[:], body[n:])
	b.Depth, b.BucketDepth = body[n], body[n+1]
	b.Immutable = body[n+2]&flagImmutable != 0
	if err := b.checkShape(); err != nil {
		return Batch{}, fmt.Errorf("%w: %w", ErrStateCorrupt, err)
	}
	return b, nil
}

func decodeCounters(buf []byte, b Batch) ([]uint32, error) {
	counters := make([]uint32, 1<<b.BucketDepth)
	from, to := b.counters()
	limit := to - from
	for i := range counters {
		c, n := binary.Uvarint(buf)
		if n <= 0 {
			return nil, fmt.Errorf("%w: counter %d unreadable", ErrStateCorrupt, i)
		}
		if c > limit {
			return nil, fmt.Errorf("%w: bucket %d counter %d exceeds capacity %d", ErrStateCorrupt, i, c, limit)
		}
		counters[i] = uint32(c)
		buf = buf[n:]
	}
	if len(buf) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrStateCorrupt, len(buf))
	}
	return counters, nil
}

// loadState reads the state of b from dir. A missing file is a batch never
// issued from; anything unreadable is an error, never a reset.
func loadState(dir string, b Batch) ([]uint32, error) {
	data, err := os.ReadFile(filepath.Join(dir, stateFileName(b)))
	if errors.Is(err, fs.ErrNotExist) {
		return make([]uint32, 1<<b.BucketDepth), nil
	}
	if err != nil {
		return nil, err
	}
	stored, counters, err := decodeState(data)
	if err != nil {
		return nil, err
	}
	if err := compatible(stored, b); err != nil {
		return nil, err
	}
	return counters, nil
}

// compatible accepts a stored batch that matches the configured one, or
// that a dilution has since deepened: counters stay valid when only the
// per-bucket capacity grows. Anything else would reuse or invent indices.
func compatible(stored, cfg Batch) error {
	switch {
	case stored.ID != cfg.ID:
		return fmt.Errorf("%w: state is for batch %x", ErrBatchMismatch, stored.ID)
	case stored.Owner != cfg.Owner:
		return fmt.Errorf("%w: state owner %s, configured %s", ErrBatchMismatch, stored.Owner, cfg.Owner)
	case stored.BucketDepth != cfg.BucketDepth:
		return fmt.Errorf("%w: state bucket depth %d, configured %d", ErrBatchMismatch, stored.BucketDepth, cfg.BucketDepth)
	case stored.Immutable != cfg.Immutable:
		return fmt.Errorf("%w: state immutable=%t, configured %t", ErrBatchMismatch, stored.Immutable, cfg.Immutable)
	case stored.Depth > cfg.Depth:
		// After a dilution and MigrateDepth, until Bee reports the new depth.
		return fmt.Errorf("%w: state depth %d above configured %d (diluted? wait until the node reports the new depth)",
			ErrBatchMismatch, stored.Depth, cfg.Depth)
	case stored.Depth < cfg.Depth && cfg.Immutable:
		return fmt.Errorf("%w: immutable batch depth changed from %d to %d", ErrBatchMismatch, stored.Depth, cfg.Depth)
	}
	return nil
}

// removeTemps deletes temp files a crash left behind. They never hold
// state that was acknowledged: the rename is the commit point.
func removeTemps(dir string) error {
	temps, err := filepath.Glob(filepath.Join(dir, "*"+stateSuffix+tempSuffix))
	if err != nil {
		return err
	}
	for _, t := range temps {
		if err := os.Remove(t); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}
