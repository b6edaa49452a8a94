// Package memstore is an in-memory stand-in for a Bee node in unit tests:
// files are split with Bee's pipeline and single-owner chunks checked with
// Bee's validator, into Bee's in-memory chunk store, so Bee's own readers
// (mantaray, feed lookups) can read back what was stored. Integration tests
// use real Bee nodes instead.
package memstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/ethersphere/bee/v2/pkg/file/joiner"
	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	"github.com/ethersphere/bee/v2/pkg/soc"
	"github.com/ethersphere/bee/v2/pkg/storage/inmemchunkstore"
	"github.com/ethersphere/bee/v2/pkg/swarm"

	"github.com/lpswarm/archiver/bee"
	"github.com/lpswarm/archiver/chunker"
	"github.com/lpswarm/archiver/upload"
)

// ErrInvalidSOC: a single-owner chunk Bee would refuse.
var ErrInvalidSOC = errors.New("memstore: invalid single-owner chunk")

// Store implements the uploader interfaces (Upload, UploadSOC, Redundancy).
type Store struct {
	Chunks *inmemchunkstore.ChunkStore
	level  redundancy.Level

	mu    sync.Mutex
	files map[string]int // reference → times uploaded
	bytes int64          // file bytes uploaded, every upload counted
	socs  int
}

// New returns an empty store uploading at level.
func New(level redundancy.Level) *Store {
	return &Store{Chunks: inmemchunkstore.New(), level: level, files: map[string]int{}}
}

// Redundancy is the level every upload uses.
func (s *Store) Redundancy() redundancy.Level { return s.level }

// Upload stores data as a Swarm file.
func (s *Store) Upload(ctx context.Context, data []byte) (upload.Receipt, error) {
	f, err := chunker.Split(ctx, data, s.level)
	if err != nil {
		return upload.Receipt{}, err
	}
	for _, ch := range f.Chunks {
		if err := s.Chunks.Put(ctx, ch); err != nil {
			return upload.Receipt{}, err
		}
	}
	s.mu.Lock()
	s.files[f.Root.String()]++
	s.bytes += int64(len(data))
	s.mu.Unlock()
	return upload.Receipt{Reference: f.Root, Bytes: f.Size, Chunks: len(f.Chunks)}, nil
}

// UploadSOC stores a single-owner chunk, replacing an older one at the same
// address as Bee's reserve does.
func (s *Store) UploadSOC(ctx context.Context, ch swarm.Chunk) (upload.Receipt, error) {
	if !soc.Valid(ch) {
		return upload.Receipt{}, ErrInvalidSOC
	}
	if err := s.Chunks.Replace(ctx, ch, true); err != nil {
		return upload.Receipt{}, err
	}
	s.mu.Lock()
	s.socs++
	s.mu.Unlock()
	return upload.Receipt{Reference: ch.Address(), Chunks: 1}, nil
}

// Uploads is how many times the file at ref was uploaded.
func (s *Store) Uploads(ref swarm.Address) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.files[ref.String()]
}

// Files is how many file uploads there were.
func (s *Store) Files() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.files {
		n += c
	}
	return n
}

// SOCs is how many single-owner chunks were stored.
func (s *Store) SOCs() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.socs
}

// Bytes is how many file bytes were uploaded, counting every upload.
func (s *Store) Bytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bytes
}

// DownloadBytes reads the file at ref back with Bee's joiner, as GET
// /bytes/<ref> would; bee.ErrTooLarge past limit bytes.
func (s *Store) DownloadBytes(ctx context.Context, ref swarm.Address, limit int64) ([]byte, error) {
	j, size, err := joiner.New(ctx, s.Chunks, nil, ref, s.level)
	if err != nil {
		return nil, fmt.Errorf("memstore: %s: %w", ref, err)
	}
	if size > limit {
		return nil, fmt.Errorf("memstore: %s: %w", ref, bee.ErrTooLarge)
	}
	data := make([]byte, size)
	if _, err := io.ReadFull(j, data); err != nil {
		return nil, fmt.Errorf("memstore: %s: %w", ref, err)
	}
	return data, nil
}
