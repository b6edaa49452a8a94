package hlsimport

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/archive"
	"github.com/lpswarm/archiver/internal/memstore"
)

// These tests run the importer end to end against an in-memory Bee
// (internal/memstore): the behaviour under test is on the reading side.

func testContext(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func memArchive() (*archive.Archive, *memstore.Store) {
	st := memstore.New(redundancy.NONE)
	return archive.New(st), st
}

// logBuffer collects the importer's log lines from concurrent readers.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(b, nil)) }

// gaps maps every archived sequence number of a rendition to its gap
// reason, "" for an archived segment.
func gaps(t *testing.T, a *archive.Archive, rendition string) map[uint64]string {
	t.Helper()
	entries, err := a.Entries(rendition)
	require.NoError(t, err)
	out := make(map[uint64]string, len(entries))
	for _, e := range entries {
		out[e.Seq] = e.Gap
	}
	return out
}

func writeFile(t *testing.T, path, body string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(body), 0o644))
}

// mediaPlaylist is a finished media playlist listing uris, 2 s each.
func mediaPlaylist(uris ...string) string {
	var b bytes.Buffer
	b.WriteString("#EXTM3U\n#EXT-X-TARGETDURATION:2\n")
	for _, u := range uris {
		b.WriteString("#EXTINF:2.0,\n" + u + "\n")
	}
	b.WriteString("#EXT-X-ENDLIST\n")
	return b.String()
}
