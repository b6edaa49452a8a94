package integration_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	"github.com/ethersphere/bee/v2/pkg/swarm"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/lpswarm/archiver/chunker"
	"github.com/lpswarm/archiver/grpcsvc"
	"github.com/lpswarm/archiver/internal/hlstest"
	"github.com/lpswarm/archiver/orchestrator"
	archiverpb "github.com/lpswarm/archiver/proto"
	"github.com/lpswarm/archiver/spool"
)

// selfSigned makes a TLS certificate for 127.0.0.1, as go-livepeer
// orchestrators present, and returns it with its pin.
func selfSigned(t *testing.T) (tls.Certificate, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "orchestrator"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	pin := sha256.Sum256(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, hex.EncodeToString(pin[:])
}

// results records every reported job.
type results struct {
	mu    sync.Mutex
	files map[string][]grpcsvc.FileResult
	count map[string]int
}

func (r *results) Archived(_ context.Context, j orchestrator.Job, files []grpcsvc.FileResult) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := fmt.Sprintf("%s/%d", j.ManifestID, j.Seq)
	r.files[k] = files
	r.count[k]++
	return nil
}

func (r *results) Failed(_ context.Context, j orchestrator.Job, reason string) error {
	return fmt.Errorf("job %s/%d failed: %s", j.ManifestID, j.Seq, reason)
}

// beeProxy stands in front of Bee for one worker: "hold" keeps the first
// upload open until the worker dies, "slow" delays every upload.
type beeProxy struct {
	mode  string
	delay time.Duration
	held  chan struct{}
	once  sync.Once
	next  http.Handler
}

func newBeeProxy(t *testing.T, mode string, delay time.Duration) (*beeProxy, string) {
	t.Helper()
	target, err := url.Parse(dev.URL)
	require.NoError(t, err)
	p := &beeProxy{mode: mode, delay: delay, held: make(chan struct{}), next: httputil.NewSingleHostReverseProxy(target)}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return p, srv.URL
}

func (p *beeProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost && r.URL.Path == "/bytes" {
		switch p.mode {
		case "hold":
			// Read the upload, then hold the reply until the worker's
			// connection dies (the server notices once the body is read).
			_, _ = io.Copy(io.Discard, r.Body)
			p.once.Do(func() { close(p.held) })
			select {
			case <-r.Context().Done():
			case <-time.After(time.Minute):
			}
			return
		case "slow":
			time.Sleep(p.delay)
		}
	}
	p.next.ServeHTTP(w, r)
}

// streamJobs turns three ffmpeg streams into archive jobs: the hi
// rendition's segments as sources, lo and audio as renditions.
func streamJobs(t *testing.T) []orchestrator.Job {
	t.Helper()
	var jobs []orchestrator.Job
	for i, secs := range []int{6, 8, 10} {
		dir := generate(t, hlstest.Options{Seconds: secs})
		src := readSource(t, filepath.Join(dir, "hi", "index.m3u8"))
		lo := readSource(t, filepath.Join(dir, "lo", "index.m3u8"))
		audio := readSource(t, filepath.Join(dir, "audio", "index.m3u8"))
		for seq := range src.segments {
			jobs = append(jobs, orchestrator.Job{
				Sender: [20]byte{byte(i + 1)}, ManifestID: orchestrator.ManifestID(fmt.Sprintf("stream-%d", i)), Seq: int64(seq),
				Source:     src.segments[seq],
				Renditions: []orchestrator.Rendition{{Name: "lo", Data: lo.segments[seq]}, {Name: "audio", Data: audio.segments[seq]}},
			})
		}
	}
	return jobs
}

func startNode(t *testing.T, ctx context.Context, addr, pin, beeURL, batch string, capacity int) *exec.Cmd {
	t.Helper()
	cmd := exec.CommandContext(ctx, archiverNode(t), "node", "-orchAddr", addr, "-orchSecret", "s3cret", "-orchCertPin", pin,
		"-capacity", fmt.Sprint(capacity), "-bee", beeURL, "-postageBatch", batch, "-redundancy", "0", "-datadir", t.TempDir())
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd
}

// TestWorkersSurviveADeadAndASlowWorker: two worker processes and a slow
// one archive three streams of real segments from the durable spool. One
// worker is SIGKILLed while its upload is in flight, the slow one misses
// its deadlines and reports late. Every segment ends up archived exactly
// once, byte-identical in Bee, and the redispatch counter shows the rescue.
func TestWorkersSurviveADeadAndASlowWorker(t *testing.T) {
	ctx := testContext(t, 3*time.Minute)
	jobs := streamJobs(t)
	sp, err := spool.Open(t.TempDir(), spool.Config{MaxBytes: 256 << 20})
	require.NoError(t, err)
	require.NoError(t, sp.Start(ctx))
	t.Cleanup(func() { _ = sp.Close() })
	for _, j := range jobs {
		require.NoError(t, (<-sp.Submit(j)).Err)
	}

	rec := &results{files: map[string][]grpcsvc.FileResult{}, count: map[string]int{}}
	srv, err := grpcsvc.New(grpcsvc.SpoolQueue(sp), rec, grpcsvc.Config{Secret: "s3cret", BaseTimeout: 3 * time.Second, MinThroughput: 1 << 30})
	require.NoError(t, err)
	cert, pin := selfSigned(t)
	g := grpc.NewServer(grpc.Creds(credentials.NewServerTLSFromCert(&cert)))
	archiverpb.RegisterArchiverServiceServer(g, srv)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go func() { _ = g.Serve(lis) }()
	t.Cleanup(g.Stop)
	go func() { _ = srv.Run(ctx) }()

	batch, err := dev.BuyBatch(ctx, 22)
	require.NoError(t, err)
	hold, holdURL := newBeeProxy(t, "hold", 0)
	doomed := startNode(t, ctx, lis.Addr().String(), pin, holdURL, batch, 1)
	select {
	case <-hold.held:
	case <-ctx.Done():
		t.Fatal("the doomed worker never uploaded")
	}
	require.NoError(t, doomed.Process.Kill()) // SIGKILL mid-transfer

	_, slowURL := newBeeProxy(t, "slow", 5*time.Second)
	startNode(t, ctx, lis.Addr().String(), pin, slowURL, batch, 1)
	startNode(t, ctx, lis.Addr().String(), pin, dev.URL, batch, 2)

	require.Eventually(t, func() bool { return sp.Stats().Jobs == 0 }, 2*time.Minute, 100*time.Millisecond, "jobs left in the spool")
	rec.mu.Lock()
	defer rec.mu.Unlock()
	require.Len(t, rec.count, len(jobs))
	for _, j := range jobs {
		k := fmt.Sprintf("%s/%d", j.ManifestID, j.Seq)
		require.Equal(t, 1, rec.count[k], "%s recorded %d times", k, rec.count[k])
		want := [][]byte{j.Source, j.Renditions[0].Data, j.Renditions[1].Data}
		for i, f := range rec.files[k] {
			ref, err := chunker.Reference(ctx, want[i], redundancy.NONE)
			require.NoError(t, err)
			require.Equal(t, ref.Bytes(), f.Reference)
			got, err := dev.Client.DownloadBytes(ctx, swarm.NewAddress(f.Reference), 16<<20)
			require.NoError(t, err)
			require.Equal(t, want[i], got, "%s file %d", k, i)
		}
	}
	m := srv.Metrics()
	require.Positive(t, m.Redispatched)
	require.Positive(t, m.LateReports, "the slow worker's late report")
	t.Logf("metrics %+v", m)
}
