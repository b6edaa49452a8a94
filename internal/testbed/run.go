package testbed

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethersphere/bee/v2/pkg/swarm"
	lpnet "github.com/livepeer/go-livepeer/net"
	"golang.org/x/sync/errgroup"

	"github.com/lpswarm/archiver/bee"
	"github.com/lpswarm/archiver/internal/catalog"
	"github.com/lpswarm/archiver/internal/lpwire"
	"github.com/lpswarm/archiver/internal/streams"
	"github.com/lpswarm/archiver/internal/tickets"
)

// RunConfig is one end-to-end run.
type RunConfig struct {
	Bee          *bee.Client
	Batch        string // postage batch the workers' Bee node stamps with
	ArchiverNode string // archiver-node binary
	Workers      int
	Seconds      int // length of the test stream
	WorkDir      string
	Logger       *slog.Logger
}

// Summary is what a run shows.
type Summary struct {
	Manifest      swarm.Address
	URL           string // /bzz/<manifest>/index.m3u8
	Archive       StreamResult
	Stock         StreamResult
	ArchivedBytes int64
	PlayedSeconds float64
	Elapsed       time.Duration
}

// transcodePrice is the run's transcode price: 1 wei per 100 pixels.
func transcodePrice() *lpnet.PriceInfo { return &lpnet.PriceInfo{PricePerUnit: 1, PixelsPerUnit: 100} }

// archivePrice is the run's archive price: 3 wei per 1000 bytes.
func archivePrice() *lpnet.PriceInfo { return &lpnet.PriceInfo{PricePerUnit: 3, PixelsPerUnit: 1000} }

// Profiles are the renditions the broadcaster asks for.
func Profiles() []lpwire.Profile {
	p360, _ := lpwire.StandardProfile("P360p30fps16x9")
	p240, _ := lpwire.StandardProfile("P240p30fps16x9")
	return []lpwire.Profile{p360, p240}
}

// Run streams a recorded test stream through a broadcaster, the testbed
// orchestrator and real archiver workers into Bee, next to a stock
// broadcaster's stream, and checks the result end to end.
func Run(ctx context.Context, cfg RunConfig) (*Summary, error) {
	start := time.Now()
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	segs, err := MakeSource(ctx, filepath.Join(cfg.WorkDir, "source"), cfg.Seconds)
	if err != nil {
		return nil, err
	}
	o, err := StartOrchestrator(ctx, OrchestratorConfig{DataDir: filepath.Join(cfg.WorkDir, "orchestrator"), WorkerSecret: "testbed-secret",
		TranscodePrice: transcodePrice(), ArchivePrice: archivePrice(), TicketEV: big.NewInt(1_000_000_000_000),
		Streams: streams.Config{PublishEvery: 5, PublishInterval: 2 * time.Second, IdleTimeout: time.Hour}, Logger: log})
	if err != nil {
		return nil, err
	}
	defer o.Close()
	stop, err := startWorkers(ctx, cfg, o)
	if err != nil {
		return nil, err
	}
	defer stop()

	archiving, stock, err := newBroadcasters(o)
	if err != nil {
		return nil, err
	}
	sum := &Summary{}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		sum.Archive, err = archiving.Stream(gctx, o.RPCAddr, "archived-stream", segs, true, Profiles())
		return err
	})
	g.Go(func() (err error) {
		sum.Stock, err = stock.Stream(gctx, o.RPCAddr, "stock-stream", segs, false, Profiles())
		return err
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	id := catalog.StreamID{ManifestID: "archived-stream", Sender: archiving.Address()}
	o.Host.EndStream(id)
	if sum.Manifest, err = waitFinal(ctx, o, id); err != nil {
		return nil, err
	}
	sum.URL = cfg.Bee.URL("/bzz/" + sum.Manifest.String() + "/index.m3u8")
	if err := verify(ctx, cfg, o, archiving, stock, sum); err != nil {
		return sum, err
	}
	sum.Elapsed = time.Since(start)
	return sum, nil
}

// newBroadcasters funds two broadcasters on the shared clock: one that
// archives and a stock one.
func newBroadcasters(o *Orchestrator) (*Broadcaster, *Broadcaster, error) {
	var out [2]*Broadcaster
	ether := new(big.Int).Exp(big.NewInt(10), big.NewInt(18), nil)
	for i := range out {
		key, err := crypto.GenerateKey()
		if err != nil {
			return nil, nil, err
		}
		acct := tickets.Account{Deposit: new(big.Int).Mul(ether, big.NewInt(10)), Reserve: new(big.Int).Mul(ether, big.NewInt(10))}
		addr := crypto.PubkeyToAddress(key.PublicKey)
		o.Funds.SetAccount(addr, acct) // the orchestrator's view of the chain
		own := tickets.NewFunds(o.Address(), o.clock)
		own.SetAccount(addr, acct) // the broadcaster's own view
		if out[i], err = NewBroadcaster(key, o.clock, own); err != nil {
			return nil, nil, err
		}
	}
	return out[0], out[1], nil
}

// startWorkers runs archiver-node worker processes registered with o.
func startWorkers(ctx context.Context, cfg RunConfig, o *Orchestrator) (func(), error) {
	var cmds []*exec.Cmd
	stop := func() {
		for _, c := range cmds {
			_ = c.Process.Kill()
			_ = c.Wait()
		}
	}
	for i := range max(cfg.Workers, 1) {
		cmd := exec.CommandContext(ctx, cfg.ArchiverNode, "node", "-orchAddr", o.RPCAddr, "-archiverSecret", "testbed-secret",
			"-orchCertPin", o.CertPin, "-capacity", "2", "-bee", cfg.Bee.URL(""), "-postageBatch", cfg.Batch, "-redundancy", "0",
			"-dataDir", filepath.Join(cfg.WorkDir, "worker-"+strconv.Itoa(i)))
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			stop()
			return nil, fmt.Errorf("testbed: start worker: %w", err)
		}
		cmds = append(cmds, cmd)
	}
	return stop, nil
}

// waitFinal waits for the stream's final VOD manifest.
func waitFinal(ctx context.Context, o *Orchestrator, id catalog.StreamID) (swarm.Address, error) {
	for {
		if info, err := o.Host.StreamInfo(id); err == nil && info.State == catalog.Ended && info.Published.Final {
			return info.Published.Reference, nil
		}
		select {
		case <-ctx.Done():
			return swarm.ZeroAddress, fmt.Errorf("testbed: final manifest not published: %w", ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// errMismatch marks a failed end-to-end check.
var errMismatch = errors.New("end-to-end check failed")

func mismatch(format string, args ...any) error {
	return fmt.Errorf("testbed: %w: %s", errMismatch, fmt.Sprintf(format, args...))
}

// verify checks the run: balances agree to the wei for both streams, the
// stock stream is neither archived nor charged for archiving, every file
// reads back byte-identical from Bee under the broadcaster's own offline
// reference, and the VOD plays for the stream's length.
func verify(ctx context.Context, cfg RunConfig, o *Orchestrator, archiving, stock *Broadcaster, sum *Summary) error {
	status, err := archiveStatus(ctx, o, archiving)
	if err != nil {
		return err
	}
	// The replies do not wait for acceptance: the last segments' outcomes
	// come from the archive status, as a broadcaster's would at the end.
	sum.Archive.Mirror.Settle(status)
	if p := sum.Archive.Mirror.Status().Pending; len(p) > 0 {
		return mismatch("segments %v have no outcome after the final manifest", p)
	}
	for _, r := range []struct {
		b   *Broadcaster
		res StreamResult
	}{{archiving, sum.Archive}, {stock, sum.Stock}} {
		if got, want := o.Balance(r.b.Address(), r.res.Session), r.res.Balance(); got.Cmp(want) != 0 {
			return mismatch("%s: orchestrator balance %s, broadcaster's mirror %s", r.res.ManifestID, got.RatString(), want.RatString())
		}
		if d := r.res.Mirror.Status().Disagreements; len(d) > 0 {
			return mismatch("%s: broadcaster flagged %+v", r.res.ManifestID, d)
		}
	}
	if _, err := o.Host.StreamInfo(catalog.StreamID{ManifestID: "stock-stream", Sender: stock.Address()}); !errors.Is(err, catalog.ErrUnknownStream) {
		return mismatch("the stock stream was archived (%v)", err)
	}
	if sum.Stock.Mirror.Balance().Cmp(sum.Stock.Credit) != 0 {
		return mismatch("the stock stream was charged for archiving")
	}
	for _, s := range status.GetSegments() {
		key := s.GetRendition() + "/" + strconv.FormatInt(s.GetSeq(), 10)
		want, ok := sum.Archive.Files[key]
		if !ok || s.GetState() != "archived" {
			return mismatch("%s: state %s, sent %v", key, s.GetState(), ok)
		}
		if ref := swarm.NewAddress(s.GetReference()); !ref.Equal(sum.Archive.Offline[key]) {
			return mismatch("%s: orchestrator reference %s, broadcaster's offline %s", key, ref, sum.Archive.Offline[key])
		}
		got, err := cfg.Bee.Get(ctx, "/bzz/"+sum.Manifest.String()+"/"+s.GetRendition()+"/"+strconv.FormatInt(s.GetSeq(), 10)+".ts", 64<<20)
		if err != nil || !bytes.Equal(got.Data, want) {
			return mismatch("%s does not read back byte-identical from Bee (%v)", key, err)
		}
		sum.ArchivedBytes += int64(len(want))
	}
	if len(status.GetSegments()) != len(sum.Archive.Files) {
		return mismatch("archive status lists %d files, the broadcaster sent and received %d", len(status.GetSegments()), len(sum.Archive.Files))
	}
	if sum.PlayedSeconds, err = playedSeconds(ctx, sum.URL, cfg.WorkDir); err != nil {
		return err
	}
	if d := sum.PlayedSeconds - float64(cfg.Seconds); d > 2 || d < -2 {
		return mismatch("the archived VOD plays %.2f s, the stream was %d s", sum.PlayedSeconds, cfg.Seconds)
	}
	return nil
}

// playedSeconds remuxes the VOD from Bee with ffmpeg and measures it.
func playedSeconds(ctx context.Context, url, dir string) (float64, error) {
	out := filepath.Join(dir, "played-back.ts")
	if msg, err := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
		"-i", url, "-map", "0", "-c", "copy", out).CombinedOutput(); err != nil {
		return 0, fmt.Errorf("testbed: ffmpeg could not play %s: %w: %s", url, err, msg)
	}
	probe, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-show_entries", "format=duration",
		"-of", "default=noprint_wrappers=1:nokey=1", out).Output()
	if err != nil {
		return 0, fmt.Errorf("testbed: ffprobe: %w", err)
	}
	return strconv.ParseFloat(strings.TrimSpace(string(probe)), 64)
}
