package archive_test

import (
	"context"
	"fmt"
	"sync"

	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	"github.com/ethersphere/bee/v2/pkg/swarm"

	"github.com/lpswarm/archiver/chunker"
	"github.com/lpswarm/archiver/upload"
)

// memStore stands in for Bee in the manifest-logic tests: it computes real
// references and counts what was stored. The real Bee is exercised by the
// integration tests.
type memStore struct {
	mu       sync.Mutex
	files    map[string][]byte
	uploaded int64
}

func newMemStore() *memStore { return &memStore{files: map[string][]byte{}} }

func (m *memStore) Upload(ctx context.Context, data []byte) (upload.Receipt, error) {
	ref, err := chunker.Reference(ctx, data, redundancy.NONE)
	if err != nil {
		return upload.Receipt{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.files[ref.ByteString()] = append([]byte(nil), data...)
	m.uploaded += int64(len(data))
	return upload.Receipt{Reference: ref, Bytes: int64(len(data))}, nil
}

func (m *memStore) DownloadBytes(ctx context.Context, ref swarm.Address, limit int64) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	d, ok := m.files[ref.ByteString()]
	if !ok {
		return nil, fmt.Errorf("not found %s", ref)
	}
	return d, nil
}
