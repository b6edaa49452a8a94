package catalog

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/ethereum/go-ethereum/common"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Sentinel errors callers can test with errors.Is.
var (
	// ErrConflict: a (rendition, seq) was accepted before with other
	// content, or a report names other content than was accepted. The
	// first version stays; archives are append-only.
	ErrConflict = errors.New("segment already recorded with different content")
	// ErrReferenceMismatch: a worker reported a reference other than the
	// one already recorded for the same content. The first one stays.
	ErrReferenceMismatch = errors.New("reference differs from the recorded one")
	// ErrUnknownRecord: a report names a (rendition, seq) never accepted.
	ErrUnknownRecord = errors.New("unknown record")
	// ErrUnknownStream: the stream has no rendition registered yet.
	ErrUnknownStream = errors.New("unknown stream")
	// ErrUnknownRendition: a record names a rendition not registered.
	ErrUnknownRendition = errors.New("unknown rendition")
	// ErrEnded: the stream was ended; it takes no new segments or renditions.
	ErrEnded = errors.New("stream ended")
	// ErrStalePublish: a publish lists fewer segments than the recorded one.
	ErrStalePublish = errors.New("publish older than the recorded one")
	// ErrInvalid: an argument is malformed (empty id, zero hash, bad name...).
	ErrInvalid = errors.New("invalid argument")
	// ErrCorrupt: a stored value cannot be decoded.
	ErrCorrupt = errors.New("index corrupt")
	// ErrIncompatible: the file was written by another format version.
	ErrIncompatible = errors.New("index format not supported")
	// ErrLocked: another process holds the index file.
	ErrLocked = errors.New("index file locked by another process")
	// ErrClosed: the index was closed.
	ErrClosed = errors.New("index closed")
)

// MaxManifestIDLen bounds a manifest id so a stream key always fits a bbolt
// key with room to spare; Livepeer's ids are a few dozen bytes.
const MaxManifestIDLen = 1024

// schemaVersion is bumped on any incompatible change of layout or encoding.
const schemaVersion = 1

var (
	keyInfo       = []byte("info")
	keySchema     = []byte("schema")
	keyStreams    = []byte("streams")
	keyMeta       = []byte("meta")
	keyRenditions = []byte("renditions")
	keyRecords    = []byte("records")
	keyFeed       = []byte("feed")
)

// StreamID names a stream: Livepeer keys a stream by its manifest id, and
// two senders may pick the same id, so the sender is part of the key.
type StreamID struct {
	ManifestID string
	Sender     common.Address
}

// String is for logs and errors; the id is quoted because it is the
// sender's choice.
func (s StreamID) String() string { return fmt.Sprintf("%s/%q", s.Sender.Hex(), s.ManifestID) }

func (s StreamID) key() ([]byte, error) {
	if s.ManifestID == "" || len(s.ManifestID) > MaxManifestIDLen {
		return nil, fmt.Errorf("%w: manifest id of %d bytes (1 to %d)", ErrInvalid, len(s.ManifestID), MaxManifestIDLen)
	}
	k := make([]byte, 0, common.AddressLength+len(s.ManifestID))
	k = append(k, s.Sender[:]...)
	return append(k, s.ManifestID...), nil
}

func streamFromKey(k []byte) (StreamID, error) {
	if len(k) <= common.AddressLength {
		return StreamID{}, fmt.Errorf("%w: stream key of %d bytes", ErrCorrupt, len(k))
	}
	return StreamID{Sender: common.BytesToAddress(k[:common.AddressLength]), ManifestID: string(k[common.AddressLength:])}, nil
}

// Index is the archive index. It is safe for concurrent use: bbolt runs one
// writer at a time and readers on snapshots.
type Index struct {
	db  *bolt.DB
	now func() time.Time
}

// Option configures Open.
type Option func(*options)

type options struct {
	now         func() time.Time
	lockTimeout time.Duration
}

// WithClock sets the time source for UpdatedAt and the stream times.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithLockTimeout sets how long Open waits for another process to release
// the file before failing with ErrLocked. bbolt's default is to wait
// forever, which would hang a second orchestrator silently.
func WithLockTimeout(d time.Duration) Option { return func(o *options) { o.lockTimeout = d } }

// Open opens or creates the index file at path.
func Open(path string, opts ...Option) (*Index, error) {
	o := options{now: time.Now, lockTimeout: time.Second}
	for _, opt := range opts {
		opt(&o)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: o.lockTimeout})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("index: open %s: %w", path, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("index: open %s: %w", path, err)
	}
	if err := db.Update(initSchema); err != nil {
		return nil, errors.Join(fmt.Errorf("index: open %s: %w", path, err), db.Close())
	}
	return &Index{db: db, now: o.now}, nil
}

// initSchema creates the root buckets of a new file and refuses a file of
// another format version rather than misreading it.
func initSchema(tx *bolt.Tx) error {
	info := tx.Bucket(keyInfo)
	if info == nil {
		if tx.Bucket(keyStreams) != nil {
			return fmt.Errorf("%w: streams without format version", ErrIncompatible)
		}
		var err error
		if info, err = tx.CreateBucket(keyInfo); err != nil {
			return err
		}
		if _, err := tx.CreateBucket(keyStreams); err != nil {
			return err
		}
		return info.Put(keySchema, binary.AppendUvarint(nil, schemaVersion))
	}
	v := info.Get(keySchema)
	if got, n := binary.Uvarint(v); n != len(v) || got != schemaVersion {
		return fmt.Errorf("%w: format %x, want %d", ErrIncompatible, v, schemaVersion)
	}
	if tx.Bucket(keyStreams) == nil {
		return fmt.Errorf("%w: no streams bucket", ErrCorrupt)
	}
	return nil
}

// Close closes the file; it waits for transactions in progress.
func (ix *Index) Close() error {
	if err := ix.db.Close(); err != nil {
		return fmt.Errorf("index: close: %w", err)
	}
	return nil
}

// update runs fn in one read-write transaction, committed (and fsynced)
// before it returns; op names the call in errors.
func (ix *Index) update(ctx context.Context, op string, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("index: %s: %w", op, err)
	}
	if err := ix.db.Update(fn); err != nil {
		return fmt.Errorf("index: %s: %w", op, closedErr(err))
	}
	return nil
}

// view runs fn in a read-only transaction.
func (ix *Index) view(op string, fn func(tx *bolt.Tx) error) error {
	if err := ix.db.View(fn); err != nil {
		return fmt.Errorf("index: %s: %w", op, closedErr(err))
	}
	return nil
}

func closedErr(err error) error {
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

// stream is one stream's buckets inside a transaction.
type stream struct {
	b          *bolt.Bucket
	renditions *bolt.Bucket
	records    *bolt.Bucket
}

// openStream finds a stream's buckets; ErrUnknownStream if it has none.
func openStream(tx *bolt.Tx, id StreamID) (stream, error) {
	k, err := id.key()
	if err != nil {
		return stream{}, err
	}
	b := tx.Bucket(keyStreams).Bucket(k)
	if b == nil {
		return stream{}, ErrUnknownStream
	}
	s := stream{b: b, renditions: b.Bucket(keyRenditions), records: b.Bucket(keyRecords)}
	if s.renditions == nil || s.records == nil {
		return stream{}, fmt.Errorf("%w: stream %s lacks a bucket", ErrCorrupt, id)
	}
	return s, nil
}

// createStream opens a stream, creating it Live if it does not exist.
func createStream(tx *bolt.Tx, id StreamID, now time.Time) (stream, error) {
	s, err := openStream(tx, id)
	if !errors.Is(err, ErrUnknownStream) {
		return s, err
	}
	k, _ := id.key() // validated by openStream
	b, err := tx.Bucket(keyStreams).CreateBucket(k)
	if err != nil {
		return stream{}, err
	}
	if s.renditions, err = b.CreateBucket(keyRenditions); err != nil {
		return stream{}, err
	}
	if s.records, err = b.CreateBucket(keyRecords); err != nil {
		return stream{}, err
	}
	s.b = b
	return s, s.putMeta(meta{State: Live, Created: now})
}

func (s stream) meta() (meta, error) {
	v := s.b.Get(keyMeta)
	if v == nil {
		return meta{}, fmt.Errorf("%w: stream without metadata", ErrCorrupt)
	}
	return decodeMeta(v)
}

func (s stream) putMeta(m meta) error { return s.b.Put(keyMeta, m.encode()) }

// feed returns the stream's feed; the zero Feed when it has none. Streams
// recorded before feeds existed simply lack the key.
func (s stream) feed() (Feed, error) {
	v := s.b.Get(keyFeed)
	if v == nil {
		return Feed{}, nil
	}
	return decodeFeed(v)
}

// ordinal returns a rendition's position in first-seen order.
func (s stream) ordinal(name string) (uint32, error) {
	v := s.renditions.Get([]byte(name))
	if v == nil {
		return 0, fmt.Errorf("%w %q", ErrUnknownRendition, name)
	}
	ord, _, err := decodeRendition(v)
	return ord, err
}

func recordKey(ordinal uint32, seq uint64) []byte {
	k := binary.BigEndian.AppendUint32(make([]byte, 0, 12), ordinal)
	return binary.BigEndian.AppendUint64(k, seq)
}
