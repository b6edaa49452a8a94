package integration_test

import (
	"bytes"
	"cmp"
	"context"
	"flag"
	"fmt"
	"math/big"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver"
	"github.com/lpswarm/archiver/capability"
	"github.com/lpswarm/archiver/internal/catalog"
	"github.com/lpswarm/archiver/internal/host"
	"github.com/lpswarm/archiver/internal/rig"
	"github.com/lpswarm/archiver/internal/spool"
	"github.com/lpswarm/archiver/orchestrator"
	"github.com/lpswarm/archiver/proto/archiverpb"

	lpnet "github.com/livepeer/go-livepeer/net"
)

// Size of the orchestrator's disk in TestSpoolDiskFull (and
// TestSpoolDiskFullStallsWithoutReserve): CI runs the default; a larger
// disk takes proportionally more segments to fill.
var dfDiskKB = flag.Int("reliability.disk-kb", 768,
	"TestSpoolDiskFull, TestSpoolDiskFullStallsWithoutReserve: size of the tmpfs holding the orchestrator's data dir, KiB")

// TestSpoolDiskFull: "disk full on the orchestrator's spool: new work
// refused with a clear status; nothing accepted is lost." The
// orchestrator's data directory (spool and bbolt index) is a small tmpfs,
// the spool's MaxBytes far larger, so the disk runs out for real (ENOSPC).
// Segments go through the decorator as go-livepeer's ServeSegment drives
// it. Asserted: once the disk is full a segment gets REFUSED SPOOL_FULL
// naming the disk, is not charged (the balance is exact), and no FAILED
// receipt is ever issued; no temp file is left; the orchestrator restarts
// on the full disk and reloads exactly the accepted jobs; a worker drains
// them, space frees and new segments are accepted again; every accepted
// segment is in its stream's final manifest, byte-identical from Bee.
func TestSpoolDiskFull(t *testing.T) {
	ctx := testContext(t, 3*time.Minute)
	started := time.Now()
	dir := dfMountTmpfs(t, *dfDiskKB)
	o := startDFOrch(t, ctx, func(c *host.Config) {
		c.DataDir = dir
		c.Spool.MaxBytes = 1 << 30             // the disk, not the quota, runs out
		c.Spool.MinFreeBytes = spool.NoReserve // for real: ENOSPC (TestSpoolDiskReserve has the reserve)
	})
	feed := newDFFeeder(t, o, common.Address{0xdf}, "df-session", "df-stream")

	// Fill the disk: no worker is connected, so nothing drains.
	for seq := int64(0); feed.refused < 3; seq++ {
		require.Less(t, seq, int64(10_000), "the disk never filled")
		feed.send(ctx, seq)
	}
	filledIn := time.Since(started)
	accepted := feed.accepted()
	require.NotEmpty(t, accepted, "nothing was accepted before the disk filled")
	require.Equal(t, len(accepted), o.Host().SpoolStats().Jobs, "accepted segments and spooled jobs differ")
	dfRequireNoTemps(t, dir)
	feed.requireBalance()

	// Restart on the full disk: exactly the accepted jobs come back, and
	// new work is still refused the same way.
	require.NoError(t, o.Restart(ctx))
	require.Equal(t, len(accepted), o.Host().SpoolStats().Jobs, "a restart on a full disk lost or invented jobs")
	dfRequireNoTemps(t, dir)
	before := feed.refused
	next := feed.next
	for feed.refused == before {
		require.Less(t, feed.next, next+20, "a full disk accepted new work after the restart")
		feed.send(ctx, feed.next)
	}
	feed.requireBalance()

	// A worker drains the spool; space frees and new work is accepted.
	batch, err := dev.BuyBatch(ctx, 22)
	require.NoError(t, err)
	startNode(t, ctx, o, rig.NodeConfig{Batch: batch, Capacity: 4})
	require.Eventually(t, func() bool { return o.Host().SpoolStats().Jobs == 0 }, time.Minute, 100*time.Millisecond, "the worker did not drain the spool")
	drainedIn := time.Since(started)
	later := len(feed.accepted())
	for range 5 {
		feed.send(ctx, feed.next)
	}
	require.Equal(t, later+5, len(feed.accepted()), "new work refused after the spool drained")
	feed.requireBalance()

	// Every accepted segment is in the final manifest, byte-identical;
	// every refused one is a gap in it, never a segment with other bytes.
	feed.finish(ctx)
	t.Logf("tmpfs %d KiB: %d segments accepted, then refused SPOOL_FULL (disk) after %s; %d refused in all, 0 FAILED, 0 charged for refusals; "+
		"restart on the full disk reloaded %d jobs; drained by one worker after %s; %d accepted in the end, all in the final manifest, byte-identical; %s in all",
		*dfDiskKB, len(accepted), filledIn.Round(time.Millisecond), feed.refused, len(accepted), drainedIn.Round(time.Millisecond),
		len(feed.accepted()), time.Since(started).Round(time.Millisecond))
}

// dfMountTmpfs mounts a tmpfs of kb KiB on a fresh directory, unmounted
// when the test ends (after everything using it has closed). Without
// permission to mount the test is skipped, except in CI.
func dfMountTmpfs(t *testing.T, kb int) string {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%dk", kb), "tmpfs", dir).CombinedOutput()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("mount tmpfs: %v: %s", err, out)
		}
		t.Skipf("cannot mount a tmpfs (needs root): %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// dfRequireNoTemps: no half-written job file is left in the spool.
func dfRequireNoTemps(t *testing.T, dir string) {
	t.Helper()
	temps, err := filepath.Glob(filepath.Join(dir, "spool", "*.tmp"))
	require.NoError(t, err)
	require.Empty(t, temps, "half-written job files left behind")
}

// startDFOrch is the orchestrator side of the disk tests: startOrch's,
// edited, with the decorator in front, every receipt final in its own
// reply.
func startDFOrch(t *testing.T, ctx context.Context, edit func(*host.Config)) *rig.Rig {
	t.Helper()
	cfg := orchConfig(edit)
	cfg.Decorator = &orchestrator.Config{AcceptWait: 5 * time.Second}
	cfg.Transcoder = churnTranscoder
	return startRig(t, ctx, cfg)
}

// dfFeeder plays one stream through the rig's decorator segment by
// segment, as go-livepeer's ServeSegment does, and keeps every receipt and
// the fees the core debited for transcoding.
type dfFeeder struct {
	t                     *testing.T
	r                     *rig.Rig
	sender                common.Address
	session               archiver.ManifestID
	stream                string
	next                  int64
	credited, transcodeFe *big.Rat
	receipts              map[int64]*archiverpb.ArchiveReceipt
	refused               int
	// refusal is what a SPOOL_FULL refusal's detail must say; empty
	// means ENOSPC's text.
	refusal string
}

func newDFFeeder(t *testing.T, r *rig.Rig, sender common.Address, session archiver.ManifestID, stream string) *dfFeeder {
	return &dfFeeder{t: t, r: r, sender: sender, session: session, stream: stream,
		receipts: map[int64]*archiverpb.ArchiveReceipt{}, credited: new(big.Rat), transcodeFe: new(big.Rat)}
}

// dfSource is segment seq's source: 20-24 KB, distinct per seq.
func dfSource(seq int64) []byte {
	r := rand.New(rand.NewPCG(0xdf, uint64(seq)))
	b := make([]byte, 20_000+r.IntN(4096))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	b[0] = 0x47
	return b
}

// send plays one segment and records its receipt, which must be ACCEPTED
// or REFUSED SPOOL_FULL for want of disk: never FAILED.
func (f *dfFeeder) send(ctx context.Context, seq int64) {
	t := f.t
	t.Helper()
	dec := f.r.Decorator()
	require.NoError(t, dec.ProcessPayment(ctx, &lpnet.Payment{Sender: f.sender.Bytes()}, f.session))
	f.credited.Add(f.credited, big.NewRat(rig.TicketEV, 1))
	md := &orchestrator.SegTranscodingMetadata{ManifestID: archiver.ManifestID(f.stream), Seq: seq, Duration: 2 * time.Second,
		Caps: capability.Request(f.r.Core().Capabilities(), capability.DefaultArchiveID), Profiles: churnProfiles,
		AuthToken: &lpnet.AuthToken{SessionId: string(f.session)}}
	res, err := dec.TranscodeSeg(ctx, md, &orchestrator.HLSSegment{SeqNo: uint64(seq), Data: dfSource(seq), Duration: 2})
	require.NoError(t, err)
	require.NoError(t, res.Err)
	dec.DebitFees(f.sender, f.session, &lpnet.PriceInfo{PricePerUnit: 1, PixelsPerUnit: 1}, res.TranscodeData.Pixels)
	f.transcodeFe.Add(f.transcodeFe, big.NewRat(res.TranscodeData.Pixels, 1))
	rs := dec.TakeReceipts(f.session).GetReceipts()
	require.Len(t, rs, 1, "seq %d", seq)
	r := rs[0]
	require.Equal(t, seq, r.GetSeq())
	switch r.GetStatus() {
	case archiverpb.ArchiveReceipt_ACCEPTED:
	case archiverpb.ArchiveReceipt_REFUSED:
		require.Equal(t, archiverpb.ArchiveReceipt_SPOOL_FULL, r.GetReason(), "seq %d: %s", seq, r.GetDetail())
		require.Zero(t, r.GetBytesCharged(), "seq %d refused but charged", seq)
		require.Contains(t, r.GetDetail(), cmp.Or(f.refusal, syscall.ENOSPC.Error()), "seq %d: the refusal does not say the disk is full", seq)
		if f.refused == 0 {
			t.Logf("first refusal, seq %d: %s", seq, r.GetDetail())
		}
		f.refused++
	default:
		t.Fatalf("seq %d: receipt %s %s: %s", seq, r.GetStatus(), r.GetReason(), r.GetDetail())
	}
	f.receipts[seq] = r
	f.next = seq + 1
}

func (f *dfFeeder) accepted() []int64 {
	var out []int64
	for seq, r := range f.receipts {
		if r.GetStatus() == archiverpb.ArchiveReceipt_ACCEPTED {
			out = append(out, seq)
		}
	}
	return out
}

// requireBalance: the core's balance is what the tickets credited minus
// transcoding minus the fees of ACCEPTED receipts, exactly.
func (f *dfFeeder) requireBalance() {
	t := f.t
	t.Helper()
	want := new(big.Rat).Sub(f.credited, f.transcodeFe)
	for _, r := range f.receipts {
		if r.GetStatus() != archiverpb.ArchiveReceipt_ACCEPTED {
			continue
		}
		fee, ok := new(big.Rat).SetString(r.GetFeeWei())
		require.True(t, ok, "fee %q", r.GetFeeWei())
		require.Equal(t, 0, fee.Cmp(big.NewRat(int64(r.GetBytesCharged()), 1000)), "fee %s for %d bytes", fee, r.GetBytesCharged())
		want.Sub(want, fee)
	}
	got := f.r.Core().Balance(f.sender, f.session)
	require.NotNil(t, got)
	require.Equal(t, want.RatString(), got.RatString(), "balance is not credits - transcoding - accepted archive fees")
}

// finish ends the stream as go-livepeer's session end does, waits for its
// final manifest and checks it (requireManifest).
func (f *dfFeeder) finish(ctx context.Context) {
	t := f.t
	t.Helper()
	h := f.r.Host()
	f.r.Decorator().EndSession(f.sender, f.session)
	id := catalog.StreamID{ManifestID: f.stream, Sender: f.sender}
	h.EndStream(id)
	require.Eventually(t, func() bool {
		info, err := h.StreamInfo(id)
		return err == nil && info.State == catalog.Ended && info.Published.Final && h.SpoolStats().Jobs == 0
	}, time.Minute, 100*time.Millisecond, "final manifest not published")
	info, err := h.StreamInfo(id)
	require.NoError(t, err)
	f.requireManifest(ctx, info.Published.Reference)
}

// requireManifest: each accepted segment's files read back byte-identical
// from the final manifest; a refused one is not there as a segment.
func (f *dfFeeder) requireManifest(ctx context.Context, ref interface{ String() string }) {
	t := f.t
	t.Helper()
	for seq, r := range f.receipts {
		files := map[string][]byte{"source": dfSource(seq)}
		for i, p := range churnProfiles {
			files[p] = churnData(f.stream, seq, i+1)
		}
		for name, want := range files {
			got, err := dev.Client.Get(ctx, "/bzz/"+ref.String()+"/"+name+"/"+itoa(int(seq))+".ts", 1<<20)
			if r.GetStatus() == archiverpb.ArchiveReceipt_ACCEPTED {
				require.NoError(t, err, "accepted seq %d %s", seq, name)
				require.Equal(t, want, got.Data, "accepted seq %d %s", seq, name)
			} else if err == nil {
				require.False(t, bytes.Equal(want, got.Data), "refused seq %d %s archived", seq, name)
			}
		}
	}
}
