package upload_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"github.com/lpswarm/archiver/bee"
	"github.com/lpswarm/archiver/upload"
)

// abortProxy stands in front of Bee and, for the first upload of doomed,
// sends Bee all of it but the last byte, waits until the upload of other
// has reached Bee as far, and then breaks the doomed one off: Bee sees a
// deferred upload fail while another is in flight. The other is finished
// only after Bee has cleaned up the failed one. (Bee works on each at its
// own pace: the sleeps give it the time; too short, the test cannot fail.)
type abortProxy struct {
	doomed, other byte // first bytes of the two files
	otherIn       chan struct{}
	failed        chan struct{}
	once          sync.Once
}

func (p *abortProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	pr, pw := io.Pipe()
	out, err := http.NewRequestWithContext(r.Context(), r.Method, dev.URL+r.URL.RequestURI(), pr)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	out.Header = r.Header.Clone()
	out.ContentLength = int64(len(body))
	type answer struct {
		resp *http.Response
		err  error
	}
	answers := make(chan answer, 1)
	go func() {
		resp, err := http.DefaultClient.Do(out)
		answers <- answer{resp, err}
	}()
	first := r.Method == http.MethodPost && len(body) > 1
	doomed := false
	if first && body[0] == p.doomed {
		p.once.Do(func() { doomed = true })
	}
	if first && (doomed || body[0] == p.other) {
		_, _ = pw.Write(body[:len(body)-1])
		if doomed {
			<-p.otherIn
			pw.CloseWithError(errors.New("the uploader gave up"))
			if a := <-answers; a.err == nil {
				a.resp.Body.Close()
			}
			time.Sleep(300 * time.Millisecond) // Bee notices the broken upload and cleans up
			close(p.failed)
			http.Error(w, "upload broken off", http.StatusBadGateway)
			return
		}
		time.Sleep(300 * time.Millisecond) // Bee stores the chunks it has read
		close(p.otherIn)
		<-p.failed
		_, _ = pw.Write(body[len(body)-1:])
	} else {
		_, _ = pw.Write(body)
	}
	_ = pw.Close()
	a := <-answers
	if a.err != nil {
		http.Error(w, a.err.Error(), http.StatusBadGateway)
		return
	}
	defer a.resp.Body.Close()
	for k, v := range a.resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(a.resp.StatusCode)
	_, _ = io.Copy(w, a.resp.Body)
}

// TestFailedUploadKeepsOthers: a deferred upload that fails while another
// upload of the same uploader is in flight must not take the other's
// chunks with it. Both used to count on the uploader's one tag, and Bee's
// clean-up of the failed upload deletes every unsynced chunk on its tag
// since the latest upload on it started: the other upload still answered
// 201 with the right reference, its file then read back truncated. Found
// by TestBeeUnreachable (integration/faults_test.go) with a 60 s outage.
func TestFailedUploadKeepsOthers(t *testing.T) {
	ctx := testContext(t)
	batch, err := dev.BuyBatch(ctx, 22)
	require.NoError(t, err)
	doomed, other := randomBytes(1, 40_000), randomBytes(2, 40_000)
	doomed[0], other[0] = 'D', 'O'
	p := &abortProxy{doomed: 'D', other: 'O', otherIn: make(chan struct{}), failed: make(chan struct{})}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	client, err := bee.New(srv.URL, bee.WithRetry(bee.Retry{Attempts: 3}))
	require.NoError(t, err)
	up := upload.NodeStamped(client, batch, upload.Config{Redundancy: redundancy.NONE, TrackTags: true})

	var g errgroup.Group
	var refs [2]upload.Receipt
	for i, data := range [][]byte{doomed, other} {
		g.Go(func() error {
			var err error
			refs[i], err = up.Upload(ctx, data)
			return err
		})
	}
	require.NoError(t, g.Wait(), "the broken-off upload is retried")
	for i, data := range [][]byte{doomed, other} {
		got, err := dev.Client.DownloadBytes(ctx, refs[i].Reference, int64(len(data)))
		require.NoError(t, err, "file %d", i)
		require.True(t, bytes.Equal(data, got), "file %d reads back different", i)
	}
	// The uploader's progress still counts every chunk it stored, over the
	// uploads' own tags, once: the doomed file, uploaded again after its
	// broken attempt (see inflight), finds its chunks seen the second time.
	tag, err := up.Tag(ctx)
	require.NoError(t, err)
	require.Equal(t, int64(refs[0].Chunks+refs[1].Chunks), tag.Split-tag.Seen)
}

// TestTagsNotTrackedByDefault: a worker's uploader keeps no list of tags
// that would grow with every file; Tag says so instead of a zero sum that
// would read as "synced".
func TestTagsNotTrackedByDefault(t *testing.T) {
	ctx := testContext(t)
	batch, err := dev.BuyBatch(ctx, 20)
	require.NoError(t, err)
	up := upload.NodeStamped(dev.Client, batch, upload.Config{Redundancy: redundancy.NONE})
	_, err = up.Upload(ctx, []byte("a file whose tag nobody will ask for"))
	require.NoError(t, err)
	_, err = up.Tag(ctx)
	require.ErrorIs(t, err, upload.ErrTagsNotTracked)
}
