package worker_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ethersphere/bee/v2/pkg/swarm"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/proto/archiverpb"
	"github.com/lpswarm/archiver/upload"
	"github.com/lpswarm/archiver/worker"
)

// barrierUploader answers an upload only once files uploads have begun;
// the file told to fail fails at once. It counts the uploads cancelled.
type barrierUploader struct {
	files     int
	fail      string // content of the file whose upload fails
	mu        sync.Mutex
	began     int
	cancelled int
	all       chan struct{}
}

func (u *barrierUploader) Upload(ctx context.Context, data []byte) (upload.Receipt, error) {
	if string(data) == u.fail {
		return upload.Receipt{}, errors.New("the chunk was refused")
	}
	u.mu.Lock()
	u.began++
	if u.began == u.files {
		close(u.all)
	}
	u.mu.Unlock()
	select {
	case <-u.all:
		if u.fail != "" {
			// Long enough for a failing sibling's cancellation, were
			// there one, to arrive: it is counted below.
			time.Sleep(50 * time.Millisecond)
		}
		if ctx.Err() != nil {
			u.mu.Lock()
			u.cancelled++
			u.mu.Unlock()
			return upload.Receipt{}, ctx.Err()
		}
		var ref [swarm.HashSize]byte
		copy(ref[:], data)
		return upload.Receipt{Reference: swarm.NewAddress(ref[:]), Bytes: int64(len(data))}, nil
	case <-ctx.Done():
		u.mu.Lock()
		u.cancelled++
		u.mu.Unlock()
		return upload.Receipt{}, ctx.Err()
	}
}

func jobOf(data [][]byte) *archiverpb.ArchiveJob {
	j := &archiverpb.ArchiveJob{JobId: "j", Token: []byte("t"), ManifestId: []byte("m"),
		DeadlineUnixMs: time.Now().Add(time.Minute).UnixMilli()}
	for i, d := range data {
		sum := sha256.Sum256(d)
		j.Files = append(j.Files, &archiverpb.JobFile{Name: fmt.Sprintf("r%d", i), Size: uint64(len(d)), Sha256: sum[:]})
	}
	return j
}

// TestJobFilesGoUpTogether: a job's files are uploaded at once, even by a
// worker of capacity 1 (an upload that waits for the others would wait
// for the job's deadline if they went one after the other), and reported
// in the job's order; when one fails, the others still finish (an aborted
// upload's clean-up in Bee could delete chunks a retry stores) and the
// failure is what the report says.
func TestJobFilesGoUpTogether(t *testing.T) {
	data := [][]byte{[]byte("source bytes"), []byte("rendition one"), []byte("rendition two")}
	for _, c := range []struct {
		name string
		fail string
	}{{"all succeed", ""}, {"one fails", "rendition one"}} {
		t.Run(c.name, func(t *testing.T) {
			files := len(data)
			if c.fail != "" {
				files-- // the others meet without it
			}
			up := &barrierUploader{files: files, fail: c.fail, all: make(chan struct{})}
			orch := &archiveOrch{job: jobOf(data), data: data, reports: make(chan *archiverpb.JobResult, 1)}
			w, err := worker.New(serveOrch(t, orch), up, worker.Config{ID: "w", Secret: "s", Capacity: 1})
			require.NoError(t, err)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go func() { _ = w.Run(ctx, nil) }()
			var r *archiverpb.JobResult
			select {
			case r = <-orch.reports:
			case <-time.After(10 * time.Second):
				t.Fatal("no report: the files did not go up together")
			}
			up.mu.Lock()
			require.Zero(t, up.cancelled, "no upload cancelled")
			up.mu.Unlock()
			if c.fail != "" {
				require.Contains(t, r.GetError(), "the chunk was refused")
				require.True(t, r.GetRetryable())
				require.Empty(t, r.GetFiles())
				return
			}
			require.Empty(t, r.GetError())
			require.Len(t, r.GetFiles(), len(data))
			for i, f := range r.GetFiles() {
				require.Equal(t, fmt.Sprintf("r%d", i), f.GetName())
				var ref [swarm.HashSize]byte
				copy(ref[:], data[i])
				require.Equal(t, ref[:], f.GetReference())
			}
		})
	}
}
