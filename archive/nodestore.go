package archive

import (
	"context"
	"crypto/sha256"
	"errors"
	"sync"

	"github.com/ethersphere/bee/v2/pkg/swarm"
)

// nodeStore stores manifest nodes and playlists, skipping those stored by
// an earlier publish: every publish rebuilds the manifest from the archive's
// records, and only what changed reaches Bee.
//
// Rebuilding instead of editing a stored manifest in place is deliberate:
// fresh mantaray builds are deterministic and order-independent (anyone can
// recompute the root from the records), while bee v2.7's mantaray loses
// entries when a stored trie is edited with Remove and fails to serialise
// some re-added paths.
type nodeStore struct {
	up Uploader

	mu       sync.Mutex
	prev     map[[32]byte]swarm.Address // stored by the previous publish
	cur      map[[32]byte]swarm.Address // used by the publish in progress
	uploaded int64                      // bytes actually uploaded
}

func newNodeStore(up Uploader) *nodeStore {
	return &nodeStore{up: up, prev: map[[32]byte]swarm.Address{}, cur: map[[32]byte]swarm.Address{}}
}

// Stored is what one publish of a stream stored: every manifest node and
// playlist, by the SHA-256 of its bytes. RebuildFrom takes it so that a
// publish rebuilt from records (a worker's) uploads only what changed since,
// as an Archive that lives across publishes does: a stream of n segments
// has some 3.3 n manifest nodes, of which ten new segments change a few.
// It is read-only once returned.
type Stored struct {
	refs map[[32]byte]swarm.Address
}

// Len is the number of nodes and playlists held.
func (s Stored) Len() int { return len(s.refs) }

// put stores data unless an earlier publish stored the same bytes.
func (s *nodeStore) put(ctx context.Context, data []byte) (swarm.Address, error) {
	key := sha256.Sum256(data)
	s.mu.Lock()
	ref, ok := s.cur[key]
	if !ok {
		ref, ok = s.prev[key]
	}
	s.mu.Unlock()
	if !ok {
		rec, err := s.up.Upload(ctx, data)
		if err != nil {
			return swarm.ZeroAddress, err
		}
		ref = rec.Reference
		s.mu.Lock()
		s.uploaded += int64(len(data))
		s.mu.Unlock()
	}
	s.mu.Lock()
	s.cur[key] = ref
	s.mu.Unlock()
	return ref, nil
}

// done ends a publish: only what it used is remembered, so the memory held
// is one manifest's worth of keys.
func (s *nodeStore) done() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.prev, s.cur = s.cur, make(map[[32]byte]swarm.Address, len(s.cur))
}

// bytes returns how many bytes were uploaded so far.
func (s *nodeStore) bytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.uploaded
}

// Save implements mantaray's saver.
func (s *nodeStore) Save(ctx context.Context, data []byte) ([]byte, error) {
	ref, err := s.put(ctx, data)
	if err != nil {
		return nil, err
	}
	return ref.Bytes(), nil
}

// Load is never needed: manifests are built fresh and stored, not edited.
func (*nodeStore) Load(context.Context, []byte) ([]byte, error) {
	return nil, errors.New("archive: manifests are rebuilt, not loaded")
}
