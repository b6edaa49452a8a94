package spool

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"math"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/lpswarm/archiver"
)

// Job file layout, all integers big-endian:
//
//	magic          8 bytes  "LPSWSPOL"
//	version        2 bytes  formatVersion
//	sender        20 bytes
//	seq            8 bytes  two's complement
//	duration       8 bytes  nanoseconds, two's complement
//	manifest len   2 bytes  m
//	manifest       m bytes
//	source len     8 bytes  s
//	source         s bytes
//	renditions     4 bytes  r
//	r times:
//	  name len     2 bytes  n
//	  name         n bytes
//	  data len     8 bytes  d
//	  data         d bytes
//	crc32c         4 bytes  CRC-32C (Castagnoli) of everything before it
//
// Every length is checked against the bytes left in the file before it is
// trusted, and the file must end exactly after the checksum, so truncation
// is caught even where the checksum happens to match. CRC-32C rather than a
// cryptographic hash: the file is ours on our own disk, the threat is torn
// writes and bit rot, not an adversary, and the checksum runs over every
// byte of every segment on both write and read.
const (
	formatMagic   = "LPSWSPOL"
	formatVersion = 2 // 2 added the segment duration
	headerLen     = len(formatMagic) + 2 + common.AddressLength + 8 + 8
	checksumLen   = 4
	// fixedLen is a job with no manifest, source or renditions.
	fixedLen = headerLen + 2 + 8 + 4 + checksumLen
	// renditionFixedLen is the per-rendition overhead.
	renditionFixedLen = 2 + 8
	// bufSize batches the small header fields; segment data larger than
	// this goes straight to the file without a copy.
	bufSize = 64 << 10
)

var (
	// ErrCorrupt reports a job file that is truncated, torn or altered.
	// Such a file is moved to the corrupt/ directory and never served.
	ErrCorrupt = errors.New("spool job file corrupt")
	// ErrInvalidJob reports a job the file format cannot hold (a manifest
	// ID or rendition name longer than 65535 bytes).
	ErrInvalidJob = errors.New("job cannot be spooled")
)

func newChecksum() hash.Hash32 { return crc32.New(crc32.MakeTable(crc32.Castagnoli)) }

// checkJob rejects what the length fields cannot express, before any
// budget is reserved.
func checkJob(job archiver.Job) error {
	switch {
	case len(job.ManifestID) > math.MaxUint16:
		return fmt.Errorf("%w: manifest id of %d bytes", ErrInvalidJob, len(job.ManifestID))
	case len(job.Renditions) > math.MaxUint32:
		return fmt.Errorf("%w: %d renditions", ErrInvalidJob, len(job.Renditions))
	}
	for i, r := range job.Renditions {
		if len(r.Name) > math.MaxUint16 {
			return fmt.Errorf("%w: rendition %d name of %d bytes", ErrInvalidJob, i, len(r.Name))
		}
	}
	return nil
}

// encodedSize is the job's file size: what it costs against the budgets.
// Charging the file rather than the payload keeps the budget equal to the
// disk actually used, which is what MaxBytes is meant to bound.
func encodedSize(job archiver.Job) int64 {
	n := int64(fixedLen + len(job.ManifestID) + len(job.Source))
	for _, r := range job.Renditions {
		n += int64(renditionFixedLen + len(r.Name) + len(r.Data))
	}
	return n
}

// encode writes job to w in the file format. Segment data is not copied:
// bufio passes writes larger than its buffer straight through.
func encode(w io.Writer, job archiver.Job) error {
	bw := bufio.NewWriterSize(w, bufSize)
	sum := newChecksum()
	out := io.MultiWriter(bw, sum)

	hdr := make([]byte, 0, headerLen+2+len(job.ManifestID)+8)
	hdr = append(hdr, formatMagic...)
	hdr = binary.BigEndian.AppendUint16(hdr, formatVersion)
	hdr = append(hdr, job.Sender[:]...)
	hdr = binary.BigEndian.AppendUint64(hdr, uint64(job.Seq))
	hdr = binary.BigEndian.AppendUint64(hdr, uint64(job.Duration))
	hdr = binary.BigEndian.AppendUint16(hdr, uint16(len(job.ManifestID)))
	hdr = append(hdr, job.ManifestID...)
	hdr = binary.BigEndian.AppendUint64(hdr, uint64(len(job.Source)))
	if _, err := out.Write(hdr); err != nil {
		return err
	}
	if _, err := out.Write(job.Source); err != nil {
		return err
	}
	var field [8]byte
	if _, err := out.Write(binary.BigEndian.AppendUint32(field[:0], uint32(len(job.Renditions)))); err != nil {
		return err
	}
	for _, r := range job.Renditions {
		rh := make([]byte, 0, renditionFixedLen+len(r.Name))
		rh = binary.BigEndian.AppendUint16(rh, uint16(len(r.Name)))
		rh = append(rh, r.Name...)
		rh = binary.BigEndian.AppendUint64(rh, uint64(len(r.Data)))
		if _, err := out.Write(rh); err != nil {
			return err
		}
		if _, err := out.Write(r.Data); err != nil {
			return err
		}
	}
	if _, err := bw.Write(sum.Sum(field[:0])); err != nil {
		return err
	}
	return bw.Flush()
}

// decoder reads a job file of known size, checksumming as it goes.
type decoder struct {
	r      io.Reader // tees into sum
	raw    io.Reader // the file itself, for the trailing checksum
	sum    hash.Hash32
	remain int64 // bytes left before the checksum
	keep   bool  // false: verify segment data without holding it
}

// decode reads and verifies a whole job file of size bytes from r. With
// keep false the segment data is checked and dropped, so reloading a large
// spool at startup costs no memory per job. Every failure that means "the
// bytes are wrong" matches ErrCorrupt; read errors do not.
func decode(r io.Reader, size int64, keep bool) (archiver.Job, error) {
	if size < int64(fixedLen) {
		return archiver.Job{}, fmt.Errorf("%w: %d bytes is shorter than the smallest job", ErrCorrupt, size)
	}
	br := bufio.NewReaderSize(r, bufSize)
	d := &decoder{raw: br, sum: newChecksum(), remain: size - checksumLen, keep: keep}
	d.r = io.TeeReader(br, d.sum)

	var job archiver.Job
	hdr, err := d.fixed(headerLen)
	if err != nil {
		return job, err
	}
	if !bytes.Equal(hdr[:len(formatMagic)], []byte(formatMagic)) {
		return job, fmt.Errorf("%w: bad magic", ErrCorrupt)
	}
	version := binary.BigEndian.Uint16(hdr[len(formatMagic):])
	copy(job.Sender[:], hdr[len(formatMagic)+2:])
	job.Seq = int64(binary.BigEndian.Uint64(hdr[headerLen-16:]))
	job.Duration = time.Duration(binary.BigEndian.Uint64(hdr[headerLen-8:]))

	manifest, err := d.chunk(2, true)
	if err != nil {
		return job, err
	}
	job.ManifestID = archiver.ManifestID(manifest)
	if job.Source, err = d.chunk(8, d.keep); err != nil {
		return job, err
	}
	count, err := d.integer(4)
	if err != nil {
		return job, err
	}
	// Each rendition takes at least its fixed fields, which bounds count
	// before it sizes an allocation.
	if count > uint64(d.remain)/renditionFixedLen {
		return job, fmt.Errorf("%w: %d renditions cannot fit in %d bytes", ErrCorrupt, count, d.remain)
	}
	job.Renditions = make([]archiver.Rendition, count)
	for i := range job.Renditions {
		name, err := d.chunk(2, true)
		if err != nil {
			return job, err
		}
		data, err := d.chunk(8, d.keep)
		if err != nil {
			return job, err
		}
		job.Renditions[i] = archiver.Rendition{Name: string(name), Data: data}
	}
	if d.remain != 0 {
		return job, fmt.Errorf("%w: %d bytes after the last rendition", ErrCorrupt, d.remain)
	}
	return job, d.verify(version)
}

// verify compares the trailing checksum and makes sure the file ends there.
// The version is checked after the checksum so that a flipped version byte
// reads as corruption, not as a newer format.
func (d *decoder) verify(version uint16) error {
	var want [checksumLen + 1]byte
	n, err := io.ReadFull(d.raw, want[:])
	switch {
	case n < checksumLen && (err == io.EOF || err == io.ErrUnexpectedEOF):
		return fmt.Errorf("%w: checksum truncated", ErrCorrupt)
	case n == checksumLen+1:
		return fmt.Errorf("%w: file longer than its contents", ErrCorrupt)
	case err != io.ErrUnexpectedEOF:
		return err
	}
	if got := d.sum.Sum32(); got != binary.BigEndian.Uint32(want[:checksumLen]) {
		return fmt.Errorf("%w: checksum mismatch", ErrCorrupt)
	}
	if version != formatVersion {
		return fmt.Errorf("%w: unknown format version %d", ErrCorrupt, version)
	}
	return nil
}

// fixed reads n bytes of fields.
func (d *decoder) fixed(n int) ([]byte, error) {
	if int64(n) > d.remain {
		return nil, fmt.Errorf("%w: truncated (%d bytes left, %d needed)", ErrCorrupt, d.remain, n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(d.r, b); err != nil {
		return nil, d.readErr(err)
	}
	d.remain -= int64(n)
	return b, nil
}

func (d *decoder) integer(width int) (uint64, error) {
	b, err := d.fixed(width)
	if err != nil {
		return 0, err
	}
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v, nil
}

// chunk reads a length-prefixed byte string, returning it when keep is set
// and otherwise only running it through the checksum.
func (d *decoder) chunk(width int, keep bool) ([]byte, error) {
	n, err := d.integer(width)
	if err != nil {
		return nil, err
	}
	if n > uint64(d.remain) {
		return nil, fmt.Errorf("%w: length %d exceeds the %d bytes left", ErrCorrupt, n, d.remain)
	}
	d.remain -= int64(n)
	if !keep {
		if _, err := io.CopyN(io.Discard, d.r, int64(n)); err != nil {
			return nil, d.readErr(err)
		}
		return nil, nil
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(d.r, b); err != nil {
		return nil, d.readErr(err)
	}
	return b, nil
}

// readErr tells a short file (corrupt: it changed under us or lied about
// its size) from a failing disk.
func (d *decoder) readErr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: file ends early", ErrCorrupt)
	}
	return err
}
