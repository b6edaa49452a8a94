package plugin

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	lpnet "github.com/livepeer/go-livepeer/net"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"

	"github.com/lpswarm/archiver"
	"github.com/lpswarm/archiver/capability"
	"github.com/lpswarm/archiver/internal/catalog"
	"github.com/lpswarm/archiver/orchestrator"
	"github.com/lpswarm/archiver/proto/archiverpb"
)

var (
	senderA = common.HexToAddress("0x00000000000000000000000000000000000000a1")
	senderB = common.HexToAddress("0x00000000000000000000000000000000000000b2")
	senderC = common.HexToAddress("0x00000000000000000000000000000000000000c3")
)

const (
	testEndGrace  = 200 * time.Millisecond
	testRendition = "P240p30fps16x9"
)

// fakeLedger is go-livepeer's orchestrator as far as the decorator's fees
// go: every balance suffices, and debits are recorded.
type fakeLedger struct {
	mu     sync.Mutex
	debits []debit
}

type debit struct {
	sender  common.Address
	session archiver.ManifestID
	price   *lpnet.PriceInfo
	units   int64
}

func (*fakeLedger) SufficientBalance(common.Address, archiver.ManifestID) bool { return true }

func (l *fakeLedger) DebitFees(a common.Address, id archiver.ManifestID, price *lpnet.PriceInfo, units int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.debits = append(l.debits, debit{a, id, price, units})
}

func (l *fakeLedger) list() []debit {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.debits)
}

// logSink captures log records as JSON lines.
type logSink struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

// records returns the records whose message is msg.
func (s *logSink) records(msg string) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for line := range strings.SplitSeq(s.buf.String(), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

type orchFixture struct {
	o      *Orchestrator
	ledger *fakeLedger
	logs   *logSink
	dir    string
}

func streamID(manifestID string, sender common.Address) catalog.StreamID {
	return catalog.StreamID{ManifestID: manifestID, Sender: sender}
}

// baseArgs are what every test orchestrator runs with: the spool keeps no
// free-space reserve (test disks may be nearly full) and sessions end fast.
func baseArgs() []string {
	return []string{"-archiver", "-archiverSecret", testSecret, "-archiveSpoolMinFreeBytes", "-1",
		"-archiveEndGrace", testEndGrace.String(), "-archiveGateway", "http://bee.test:1633/"}
}

// startOrchestrator opens, attaches and starts an orchestrator over a temp
// data directory; it is closed when the test ends.
func startOrchestrator(t *testing.T, offchain bool, args ...string) orchFixture {
	t.Helper()
	return startOrchestratorAt(t, offchain, nil, args...)
}

// startOrchestratorAt is startOrchestrator with the sessions' clock set to
// clock (nil: the real one).
func startOrchestratorAt(t *testing.T, offchain bool, clock *manualClock, args ...string) orchFixture {
	t.Helper()
	fx := orchFixture{ledger: &fakeLedger{}, logs: &logSink{}, dir: t.TempDir()}
	f := mustParseFlags(t, append(baseArgs(), args...)...)
	o, err := OpenOrchestrator(f, OrchestratorEnv{DataDir: fx.dir, Offchain: offchain,
		Logger: slog.New(slog.NewJSONHandler(fx.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	require.NoError(t, err)
	if clock != nil {
		o.now = clock.Now
	}
	require.NoError(t, o.Attach(fx.ledger))
	ctx, cancel := context.WithCancel(context.Background())
	require.NoError(t, o.Start(ctx))
	t.Cleanup(func() {
		assert.NoError(t, o.Close())
		cancel()
	})
	fx.o = o
	return fx
}

// manualClock stands still until the test advances it.
type manualClock struct {
	mu sync.Mutex
	t  time.Time
}

func newManualClock() *manualClock { return &manualClock{t: time.Now()} }

func (c *manualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *manualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// segment is a transcoded segment of manifestID in session, with one
// rendition; archive sets the Archive bit (id) in its capabilities.
func segment(manifestID, session string, seq int64, archive bool) (*orchestrator.SegTranscodingMetadata, *orchestrator.HLSSegment, *orchestrator.TranscodeData) {
	caps := &lpnet.Capabilities{Bitstring: []uint64{0b111}}
	if archive {
		caps = capability.Request(caps, capability.DefaultArchiveID)
	}
	md := &orchestrator.SegTranscodingMetadata{
		ManifestID: archiver.ManifestID(manifestID), Seq: seq, Duration: 2 * time.Second,
		Caps: caps, Profiles: []string{testRendition}, AuthToken: &lpnet.AuthToken{SessionId: session},
	}
	seg := &orchestrator.HLSSegment{SeqNo: uint64(seq), Name: "seg.ts", Data: bytes.Repeat([]byte{0x47}, 1880), Duration: 2}
	td := &orchestrator.TranscodeData{Segments: []*orchestrator.TranscodedSegmentData{{Data: bytes.Repeat([]byte{0x47}, 940), Pixels: 100}}}
	return md, seg, td
}

// archiveSegment runs one segment through Begin and Transcoded.
func (fx orchFixture) archiveSegment(t *testing.T, manifestID, session string, seq int64) {
	t.Helper()
	md, seg, td := segment(manifestID, session, seq, true)
	require.True(t, fx.o.Begin(md))
	fx.o.Transcoded(md, seg, td)
}

// receipts collects the receipts of the session's replies until one for
// seq has status want.
func (fx orchFixture) waitReceipt(t *testing.T, session string, seq int64, want archiverpb.ArchiveReceipt_Status) *archiverpb.ArchiveReceipt {
	t.Helper()
	var got *archiverpb.ArchiveReceipt
	require.Eventually(t, func() bool {
		tr := &lpnet.TranscodeResult{}
		fx.o.AmendReply(tr, session)
		rs, ok, err := archiverpb.GetReceipts(tr)
		require.NoError(t, err)
		if !ok {
			return false
		}
		for _, r := range rs.GetReceipts() {
			if r.GetSeq() == seq && r.GetStatus() == want {
				got = r
				return true
			}
		}
		return false
	}, 5*time.Second, 10*time.Millisecond, "no %s receipt for seq %d", want, seq)
	return got
}

// replyReceipts are the receipts a reply of session carries now, and
// whether it carries the extension at all.
func replyReceipts(t *testing.T, o *Orchestrator, session string) (*archiverpb.ArchiveReceipts, bool) {
	t.Helper()
	tr := &lpnet.TranscodeResult{}
	o.AmendReply(tr, session)
	rs, ok, err := archiverpb.GetReceipts(tr)
	require.NoError(t, err)
	return rs, ok
}

// waitDecided waits until the session has no segment between Begin and
// its decision (Transcoded hands segments over; the handover decides them).
func (fx orchFixture) waitDecided(t *testing.T, session string) {
	t.Helper()
	require.Eventually(t, func() bool {
		fx.o.mu.Lock()
		defer fx.o.mu.Unlock()
		s := fx.o.sessions[session]
		return s != nil && s.inflight == 0
	}, 5*time.Second, time.Millisecond, "the handover did not decide the session's segments")
}

// hasSession reports whether the plugin and the decorator still hold a
// session.
func (fx orchFixture) hasSession(id string) (plugin, decorator bool) {
	fx.o.mu.Lock()
	_, plugin = fx.o.sessions[id]
	fx.o.mu.Unlock()
	return plugin, slices.Contains(fx.o.dec.Sessions(), archiver.ManifestID(id))
}

func TestOpenOrchestratorDataDir(t *testing.T) {
	dir := t.TempDir()
	f := mustParseFlags(t, baseArgs()...)
	o, err := OpenOrchestrator(f, OrchestratorEnv{DataDir: dir, Offchain: true})
	require.NoError(t, err)
	assert.DirExists(t, filepath.Join(dir, "archiver", "spool"))
	assert.FileExists(t, filepath.Join(dir, "archiver", "index.db"))

	assert.Len(t, o.Collectors(), 1, "before Attach only the workers' metrics")
	require.ErrorContains(t, o.Start(context.Background()), "Attach")
	require.NoError(t, o.Attach(&fakeLedger{}))
	assert.Len(t, o.Collectors(), 2)
	require.NoError(t, o.Close(), "closing an orchestrator that never started")

	// The data directory opens again after Close.
	o, err = OpenOrchestrator(f, OrchestratorEnv{DataDir: dir, Offchain: true})
	require.NoError(t, err)
	require.NoError(t, o.Close())
}

func TestOrchestratorAttachNilLedger(t *testing.T) {
	f := mustParseFlags(t, baseArgs()...)
	o, err := OpenOrchestrator(f, OrchestratorEnv{DataDir: t.TempDir(), Offchain: true})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, o.Close()) })
	require.Error(t, o.Attach(nil))
}

// TestOrchestratorCloseStopsEverything: Start's goroutines (decorator,
// session ends, host) all stop in Close.
func TestOrchestratorCloseStopsEverything(t *testing.T) {
	base := goleak.IgnoreCurrent()
	f := mustParseFlags(t, baseArgs()...)
	o, err := OpenOrchestrator(f, OrchestratorEnv{DataDir: t.TempDir(), Offchain: true})
	require.NoError(t, err)
	require.NoError(t, o.Attach(&fakeLedger{}))
	require.NoError(t, o.Start(context.Background()))
	md, seg, td := segment("s1", "sess1", 0, true)
	require.True(t, o.Begin(md))
	o.Transcoded(md, seg, td)
	require.NoError(t, o.Close())
	require.NoError(t, goleak.Find(base))
}

func TestOrchestratorCapabilities(t *testing.T) {
	fx := startOrchestrator(t, true)
	in := &lpnet.Capabilities{Bitstring: []uint64{0b1011}, Mandatories: []uint64{0b1}}
	before := proto.Clone(in)

	adv := fx.o.Capabilities(in)
	assert.True(t, capability.Offers(adv, capability.DefaultArchiveID))
	assert.Equal(t, []uint64{0b1011 | 1<<63}, adv.Bitstring, "go-livepeer's own bits are kept")
	assert.Equal(t, []uint64{0b1}, adv.Mandatories, "the Archive bit is never mandatory")
	assert.True(t, proto.Equal(before, in), "input capabilities mutated")

	assert.True(t, capability.Offers(fx.o.Capabilities(nil), capability.DefaultArchiveID))

	stripped := fx.o.Strip(adv)
	assert.False(t, capability.Requested(stripped, capability.DefaultArchiveID))
	assert.Equal(t, []uint64{0b1011}, stripped.Bitstring)
	assert.True(t, capability.Offers(adv, capability.DefaultArchiveID), "Strip mutated its input")
	assert.Nil(t, fx.o.Strip(nil))
}

func TestOrchestratorCustomCapability(t *testing.T) {
	fx := startOrchestrator(t, true, "-archiverCapability", "100")
	adv := fx.o.Capabilities(&lpnet.Capabilities{Bitstring: []uint64{0b1}})
	assert.True(t, capability.Offers(adv, 100))
	assert.False(t, capability.Offers(adv, capability.DefaultArchiveID))

	md, _, _ := segment("s1", "sess1", 0, true) // bit 63: not this orchestrator's
	assert.False(t, fx.o.Begin(md))
	md.Caps = capability.Request(md.Caps, 100)
	assert.True(t, fx.o.Begin(md))
}

func TestOrchestratorBegin(t *testing.T) {
	tests := []struct {
		name string
		caps *lpnet.Capabilities
		want bool
	}{
		{name: "nil caps", caps: nil},
		{name: "stock segment", caps: &lpnet.Capabilities{Bitstring: []uint64{0b111}}},
		{name: "bit 62", caps: &lpnet.Capabilities{Bitstring: []uint64{1 << 62}}},
		{name: "bit 63 in mandatories only", caps: &lpnet.Capabilities{Bitstring: []uint64{0b1}, Mandatories: []uint64{1 << 63}}},
		{name: "bit 63", caps: &lpnet.Capabilities{Bitstring: []uint64{0b111 | 1<<63}}, want: true},
		{name: "bit 63 alone", caps: &lpnet.Capabilities{Bitstring: []uint64{1 << 63}}, want: true},
	}
	fx := startOrchestrator(t, true)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			session := "sess-" + strings.ReplaceAll(tc.name, " ", "-")
			md := &orchestrator.SegTranscodingMetadata{ManifestID: "s1", Caps: tc.caps, AuthToken: &lpnet.AuthToken{SessionId: session}}
			assert.Equal(t, tc.want, fx.o.Begin(md))
			fx.o.mu.Lock()
			s := fx.o.sessions[session]
			fx.o.mu.Unlock()
			if !tc.want {
				assert.Nil(t, s, "a segment that does not archive leaves no session")
				return
			}
			require.NotNil(t, s)
			assert.Equal(t, "s1", s.manifestID)
			assert.True(t, s.archiving)
			assert.Equal(t, 1, s.inflight)
			fx.o.Transcoded(md, nil, nil) // transcoding failed
			fx.o.mu.Lock()
			assert.Equal(t, 0, s.inflight)
			fx.o.mu.Unlock()
		})
	}
}

// TestOrchestratorSegmentPath: a segment asking for archiving is spooled
// (no worker takes it), its receipt rides on a later reply of the session
// (its own reply does not wait for the decision), and the fee is debited on
// acceptance from the payer's session.
func TestOrchestratorSegmentPath(t *testing.T) {
	fx := startOrchestrator(t, false, "-archivePricePerUnit", "3", "-archiveBytesPerUnit", "1000")
	fx.o.Paid(&lpnet.Payment{Sender: senderA.Bytes()}, "sess1")

	md, seg, td := segment("s1", "sess1", 0, true)
	require.True(t, fx.o.Begin(md))
	fx.o.Transcoded(md, seg, td)

	// The handover decides the segment after its reply: the next reply
	// carries its receipt, accepted or not yet.
	fx.waitDecided(t, "sess1")
	rs, ok := replyReceipts(t, fx.o, "sess1")
	require.True(t, ok, "no receipts on the next reply")
	require.NotEmpty(t, rs.GetReceipts())
	require.LessOrEqual(t, len(rs.GetReceipts()), 2, "its receipt, and its outcome if that came already")
	r := rs.GetReceipts()[0]
	assert.Contains(t, []archiverpb.ArchiveReceipt_Status{archiverpb.ArchiveReceipt_PENDING, archiverpb.ArchiveReceipt_ACCEPTED}, r.GetStatus())
	assert.Equal(t, []byte("s1"), r.GetManifestId())
	assert.Equal(t, int64(0), r.GetSeq())
	assert.Equal(t, uint64(len(seg.Data)), r.GetSourceBytes())
	require.Len(t, r.GetRenditions(), 1)
	assert.Equal(t, testRendition, r.GetRenditions()[0].GetName())
	assert.Equal(t, uint64(len(td.Segments[0].Data)), r.GetRenditions()[0].GetBytes())
	assert.Equal(t, int64(3), r.GetPrice().GetPricePerUnit())
	assert.Equal(t, int64(1000), r.GetPrice().GetBytesPerUnit())

	if r.GetStatus() == archiverpb.ArchiveReceipt_PENDING {
		if last := rs.GetReceipts()[len(rs.GetReceipts())-1]; last.GetStatus() == archiverpb.ArchiveReceipt_ACCEPTED {
			r = last
		} else {
			r = fx.waitReceipt(t, "sess1", 0, archiverpb.ArchiveReceipt_ACCEPTED)
		}
	}
	total := uint64(len(seg.Data) + len(td.Segments[0].Data))
	assert.Equal(t, total, r.GetBytesCharged())
	assert.Equal(t, "423/50", r.GetFeeWei(), "3 wei per 1000 bytes of 2820 bytes")

	debits := fx.ledger.list()
	require.Len(t, debits, 1)
	assert.Equal(t, senderA, debits[0].sender)
	assert.Equal(t, archiver.ManifestID("sess1"), debits[0].session, "debited from the session's balance")
	assert.Equal(t, int64(total), debits[0].units)
	assert.Equal(t, int64(3), debits[0].price.PricePerUnit)

	// No worker is connected: the job waits in the spool.
	// (The dispatcher may hold it leased, waiting for one.)
	assert.Equal(t, 1, fx.o.host.SpoolStats().Jobs)

	// Once taken, receipts are not sent again; the session's fee total is.
	if rs, ok = replyReceipts(t, fx.o, "sess1"); ok {
		assert.Empty(t, rs.GetReceipts())
		assert.Equal(t, "423/50", rs.GetSessionFeeWei())
	}
}

// startHeldOrchestrator starts an orchestrator whose handover never takes
// a segment while the test looks: only Close decides them. The test closes
// it.
func startHeldOrchestrator(t *testing.T) *Orchestrator {
	t.Helper()
	f := mustParseFlags(t, baseArgs()...)
	o, err := OpenOrchestrator(f, OrchestratorEnv{DataDir: t.TempDir(), Offchain: true})
	require.NoError(t, err)
	o.handover = newHandover(time.Hour)
	require.NoError(t, o.Attach(&fakeLedger{}))
	require.NoError(t, o.Start(context.Background()))
	return o
}

// TestOrchestratorReplyDoesNotDecide: Transcoded only hands the segment
// over: its own reply carries no receipt, however long it is delayed, until
// the handover decides it; Close decides what is still handed over.
func TestOrchestratorReplyDoesNotDecide(t *testing.T) {
	o := startHeldOrchestrator(t)
	md, seg, td := segment("s1", "sess1", 0, true)
	require.True(t, o.Begin(md))
	o.Transcoded(md, seg, td)

	rs, _ := replyReceipts(t, o, "sess1")
	assert.Empty(t, rs.GetReceipts(), "the reply ran the archiver's decision")
	o.mu.Lock()
	assert.Equal(t, 1, o.sessions["sess1"].inflight, "the session's end must wait for the handed-over segment")
	o.mu.Unlock()

	require.NoError(t, o.Close())
	// Its receipt, and its outcome too if that came already.
	rs, _ = replyReceipts(t, o, "sess1")
	require.NotEmpty(t, rs.GetReceipts(), "Close decides the segments handed over")
	for _, r := range rs.GetReceipts() {
		assert.Equal(t, int64(0), r.GetSeq())
	}
	o.mu.Lock()
	assert.Zero(t, o.sessions["sess1"].inflight)
	o.mu.Unlock()
}

// TestOrchestratorCloseKeepsHandedOverSegments: segments Close decides are
// spooled before the spool closes: each ends ACCEPTED, none FAILED because
// the spool was gone by the time its index record was written.
func TestOrchestratorCloseKeepsHandedOverSegments(t *testing.T) {
	const n = 24
	o := startHeldOrchestrator(t) // Close decides them all
	for seq := range int64(n) {
		md, seg, td := segment("s1", "sess1", seq, true)
		require.True(t, o.Begin(md))
		o.Transcoded(md, seg, td)
	}
	require.NoError(t, o.Close())

	final := map[int64]*archiverpb.ArchiveReceipt{}
	require.Eventually(t, func() bool {
		rs, _ := replyReceipts(t, o, "sess1")
		for _, r := range rs.GetReceipts() {
			if r.GetStatus() != archiverpb.ArchiveReceipt_PENDING {
				final[r.GetSeq()] = r
			}
		}
		return len(final) == n
	}, 5*time.Second, 10*time.Millisecond, "every segment decided at Close gets its outcome")
	for seq, r := range final {
		assert.Equal(t, archiverpb.ArchiveReceipt_ACCEPTED, r.GetStatus(), "seq %d: %s", seq, r.GetDetail())
	}
}

// TestOrchestratorAcceptWaitDecidesInReply: with -archiveAcceptWait the
// operator has the reply wait for the durable write, so its own reply
// carries the segment's final receipt.
func TestOrchestratorAcceptWaitDecidesInReply(t *testing.T) {
	fx := startOrchestrator(t, true, "-archiveAcceptWait", "10s")
	md, seg, td := segment("s1", "sess1", 0, true)
	require.True(t, fx.o.Begin(md))
	fx.o.Transcoded(md, seg, td)
	rs, _ := replyReceipts(t, fx.o, "sess1")
	require.Len(t, rs.GetReceipts(), 1)
	assert.Equal(t, archiverpb.ArchiveReceipt_ACCEPTED, rs.GetReceipts()[0].GetStatus(), rs.GetReceipts()[0].GetDetail())
}

// TestOrchestratorStockSegment: a segment without the bit is neither
// archived nor charged, and the reply carries no receipt.
func TestOrchestratorStockSegment(t *testing.T) {
	fx := startOrchestrator(t, true)
	md, seg, td := segment("s1", "sess1", 0, false)
	assert.False(t, fx.o.Begin(md))
	// A build that calls Transcoded regardless must not archive it:
	// Transcoded drops it at once, nothing is handed over.
	fx.o.Transcoded(md, seg, td)
	fx.o.handover.mu.Lock()
	assert.Empty(t, fx.o.handover.queue, "a stock segment was handed over")
	fx.o.handover.mu.Unlock()
	rs, _ := replyReceipts(t, fx.o, "sess1")
	assert.Empty(t, rs.GetReceipts())
	assert.Empty(t, fx.ledger.list())
	assert.Equal(t, 0, fx.o.host.SpoolStats().Jobs)
}

// TestOrchestratorAmendReplyUnknownSession documents that a reply of a
// session that never archived carries no receipts extension: stock
// broadcasters should get go-livepeer's reply byte for byte.
func TestOrchestratorAmendReplyUnknownSession(t *testing.T) {
	fx := startOrchestrator(t, true)
	tr := &lpnet.TranscodeResult{Seq: 4}
	fx.o.AmendReply(tr, "never-archived")
	_, ok, _ := archiverpb.GetReceipts(tr)
	assert.False(t, ok, "no receipts extension on a reply of a session that never archived")
	assert.Empty(t, tr.ProtoReflect().GetUnknown())
}

func TestOrchestratorAmendInfo(t *testing.T) {
	fx := startOrchestrator(t, false, "-archiverCapability", "100", "-archivePricePerUnit", "5",
		"-archiveBytesPerUnit", "1000", "-archiveRetention", "72h", "-archiveRedundancy", "2",
		"-archiveMaxSegmentBytes", "4096")
	info := &lpnet.OrchestratorInfo{Transcoder: "https://orch.test:8935", PriceInfo: &lpnet.PriceInfo{PricePerUnit: 1, PixelsPerUnit: 1}}
	fx.o.AmendInfo(info, senderA, "sess1")

	offer, ok, err := archiverpb.GetOffer(info)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Equal(t, uint32(100), offer.GetCapabilityId())
	assert.Equal(t, int64(5), offer.GetPrice().GetPricePerUnit())
	assert.Equal(t, int64(1000), offer.GetPrice().GetBytesPerUnit())
	assert.Equal(t, uint64(72*3600), offer.GetRetentionSeconds())
	assert.Equal(t, uint32(2), offer.GetRedundancyLevel())
	assert.Equal(t, uint64(4096), offer.GetMaxSegmentBytes())
	assert.Equal(t, "https://orch.test:8935", info.GetTranscoder(), "go-livepeer's fields untouched")
	assert.Equal(t, int64(1), info.GetPriceInfo().GetPricePerUnit())

	// The offer broadcasters query over gRPC is the same one.
	q, err := fx.o.host.Queries().GetArchiveInfo(context.Background(), &archiverpb.ArchiveInfoRequest{})
	require.NoError(t, err)
	assert.True(t, proto.Equal(offer, q), "queried %v, attached %v", q, offer)

	// Amending twice replaces the offer, it does not stack.
	fx.o.AmendInfo(info, senderA, "sess1")
	again, ok, err := archiverpb.GetOffer(info)
	require.NoError(t, err)
	require.True(t, ok)
	assert.True(t, proto.Equal(offer, again))
	b, err := proto.Marshal(info)
	require.NoError(t, err)
	assert.Equal(t, 1, bytes.Count(b, []byte("https://orch.test:8935")))
}

// TestOrchestratorEndSessionGrace: the stream ends EndGrace after the
// session's end, not at once. The sessions' clock is the test's: each
// sweep below runs at a time the test chose.
func TestOrchestratorEndSessionGrace(t *testing.T) {
	clock := newManualClock()
	fx := startOrchestratorAt(t, true, clock)
	fx.o.Paid(&lpnet.Payment{Sender: senderA.Bytes()}, "sess1")
	fx.archiveSegment(t, "s1", "sess1", 0)
	fx.waitReceipt(t, "sess1", 0, archiverpb.ArchiveReceipt_ACCEPTED)
	ended := func() bool {
		p, d := fx.hasSession("sess1")
		return !p && !d
	}

	// The next segment's quiet period must not be what holds the end back.
	clock.Advance(testEndGrace)
	fx.o.EndSession("sess1")
	clock.Advance(testEndGrace / 2)
	fx.o.EndSession("sess1") // a second end does not restart the grace
	fx.o.endDue(clock.Now())
	assert.False(t, ended(), "ended before the grace")
	assert.Empty(t, fx.logs.records("archive stream ended"))
	clock.Advance(testEndGrace / 2)
	fx.o.endDue(clock.Now())
	require.True(t, ended(), "not ended once the grace is over")

	recs := fx.logs.records("archive stream ended")
	require.Len(t, recs, 1, "the stream is ended once")
	assert.Equal(t, "s1", recs[0]["manifestID"])
	assert.Equal(t, senderA.Hex(), recs[0]["sender"])
}

// TestOrchestratorEndSessionWaitsForSegments: a segment between Begin and
// Transcoded holds the end back, however long it takes, and the grace
// starts again once it is in.
func TestOrchestratorEndSessionWaitsForSegments(t *testing.T) {
	clock := newManualClock()
	fx := startOrchestratorAt(t, true, clock)
	fx.o.Paid(&lpnet.Payment{Sender: senderA.Bytes()}, "sess1")
	md, seg, td := segment("s1", "sess1", 0, true)
	require.True(t, fx.o.Begin(md))
	fx.o.EndSession("sess1")

	clock.Advance(10 * testEndGrace)
	fx.o.endDue(clock.Now())
	p, _ := fx.hasSession("sess1")
	require.True(t, p, "ended with a segment still transcoding")

	fx.o.Transcoded(md, seg, td)
	fx.waitDecided(t, "sess1")
	ended := func() bool {
		p, d := fx.hasSession("sess1")
		return !p && !d
	}
	clock.Advance(testEndGrace - time.Millisecond)
	fx.o.endDue(clock.Now())
	assert.False(t, ended(), "ended before the last segment's grace")
	clock.Advance(time.Millisecond)
	fx.o.endDue(clock.Now())
	p, _ = fx.hasSession("sess1")
	require.False(t, p, "not ended once the last segment's grace is over")
	// The decorator lets the session go once the segment's outcome is in.
	require.Eventually(t, ended, 5*time.Second, 10*time.Millisecond)
	recs := fx.logs.records("archive stream ended")
	require.Len(t, recs, 1)
	assert.Equal(t, "s1", recs[0]["manifestID"])

	// The segment made it into the archive before the end.
	require.Eventually(t, func() bool {
		st, err := fx.o.host.Queries().Status(streamID("s1", senderA))
		return err == nil && len(st.GetSegments()) == 2
	}, 5*time.Second, 10*time.Millisecond)
}

// TestOrchestratorEndSessionNotArchiving: ending a session that never
// archived ends no stream.
func TestOrchestratorEndSessionNotArchiving(t *testing.T) {
	fx := startOrchestrator(t, true)
	fx.o.Paid(&lpnet.Payment{Sender: senderA.Bytes()}, "sess1")
	p, _ := fx.hasSession("sess1")
	require.True(t, p)
	fx.o.EndSession("sess1")
	require.Eventually(t, func() bool { p, _ := fx.hasSession("sess1"); return !p }, 5*time.Second, 10*time.Millisecond)
	assert.Empty(t, fx.logs.records("archive stream ended"))

	fx.o.EndSession("unknown") // go-livepeer ends sessions the archiver never saw
}

func TestOrchestratorDue(t *testing.T) {
	const grace = time.Second
	now := time.Now()
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	tests := []struct {
		name      string
		s         liveSession
		due, kept bool
	}{
		{name: "ended, grace over", s: liveSession{archiving: true, seen: ago(2 * grace), ending: ago(2 * grace)}, due: true},
		{name: "ended exactly at the grace", s: liveSession{seen: ago(grace), ending: ago(grace)}, due: true},
		{name: "ended, within the grace", s: liveSession{seen: ago(2 * grace), ending: ago(grace / 2)}, kept: true},
		{name: "ended, segment in flight", s: liveSession{inflight: 1, seen: ago(time.Hour), ending: ago(time.Hour)}, kept: true},
		{name: "ended, last segment just in", s: liveSession{seen: ago(grace / 2), ending: ago(time.Hour)}, kept: true},
		{name: "live, recent", s: liveSession{seen: ago(grace)}, kept: true},
		{name: "live, idle past the session TTL", s: liveSession{seen: ago(orchestrator.DefaultSessionTTL + time.Second)}},
		{name: "live, idle, segment in flight", s: liveSession{inflight: 1, seen: ago(2 * orchestrator.DefaultSessionTTL)}, kept: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.s.manifestID, tc.s.sender = "s1", senderA
			s := tc.s
			o := &Orchestrator{flags: Flags{EndGrace: grace}, sessions: map[string]*liveSession{"sess1": &s}}
			got := o.due(now)
			if tc.due {
				require.Len(t, got, 1)
				assert.Equal(t, "sess1", got[0].session)
				assert.Equal(t, "s1", got[0].manifestID)
				assert.Equal(t, senderA, got[0].sender)
				assert.Equal(t, tc.s.archiving, got[0].archiving)
			} else {
				assert.Empty(t, got)
			}
			_, kept := o.sessions["sess1"]
			assert.Equal(t, tc.kept, kept)
		})
	}
}

func TestOrchestratorDueMany(t *testing.T) {
	now := time.Now()
	o := &Orchestrator{flags: Flags{EndGrace: 0}, sessions: map[string]*liveSession{
		"a": {seen: now, ending: now},
		"b": {seen: now, ending: now},
		"c": {seen: now},
	}}
	got := o.due(now)
	var ids []string
	for _, e := range got {
		ids = append(ids, e.session)
	}
	assert.ElementsMatch(t, []string{"a", "b"}, ids, "EndGrace 0 ends at once")
	assert.Len(t, o.sessions, 1)
	assert.Empty(t, o.due(now), "a session is due once")
}

func getStatus(t *testing.T, h http.Handler, query url.Values) (int, []byte) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/archive/status?"+query.Encode(), nil))
	assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	return rec.Code, rec.Body.Bytes()
}

func TestOrchestratorStatusHandler(t *testing.T) {
	fx := startOrchestrator(t, false)
	// s1 from two broadcasters, s2 from one.
	fx.o.Paid(&lpnet.Payment{Sender: senderA.Bytes()}, "sess1")
	fx.o.Paid(&lpnet.Payment{Sender: senderB.Bytes()}, "sess2")
	fx.o.Paid(&lpnet.Payment{Sender: senderB.Bytes()}, "sess3")
	fx.archiveSegment(t, "s1", "sess1", 0)
	fx.archiveSegment(t, "s1", "sess1", 1)
	fx.archiveSegment(t, "s2", "sess2", 0)
	fx.archiveSegment(t, "s1", "sess3", 5)
	require.Eventually(t, func() bool {
		a, err1 := fx.o.host.Queries().Status(streamID("s1", senderA))
		b, err2 := fx.o.host.Queries().Senders("s1")
		c, err3 := fx.o.host.Queries().Status(streamID("s2", senderB))
		return err1 == nil && err2 == nil && err3 == nil && len(a.GetSegments()) == 4 && len(b) == 2 && len(c.GetSegments()) == 2
	}, 5*time.Second, 10*time.Millisecond)

	h := fx.o.StatusHandler()
	tests := []struct {
		name   string
		query  url.Values
		code   int
		sender common.Address
		segs   int
		errHas string
	}{
		{name: "no manifest id", query: url.Values{}, code: http.StatusBadRequest, errHas: "manifestID"},
		{name: "unknown stream", query: url.Values{"manifestID": {"nope"}}, code: http.StatusNotFound, errHas: "nope"},
		{name: "one broadcaster", query: url.Values{"manifestID": {"s2"}}, code: http.StatusOK, sender: senderB, segs: 2},
		{name: "two broadcasters", query: url.Values{"manifestID": {"s1"}}, code: http.StatusConflict, errHas: "sender"},
		{name: "sender chosen", query: url.Values{"manifestID": {"s1"}, "sender": {senderA.Hex()}}, code: http.StatusOK, sender: senderA, segs: 4},
		{name: "sender lower case", query: url.Values{"manifestID": {"s1"}, "sender": {strings.ToLower(senderB.Hex())}}, code: http.StatusOK, sender: senderB, segs: 2},
		{name: "sender without stream", query: url.Values{"manifestID": {"s1"}, "sender": {senderC.Hex()}}, code: http.StatusNotFound},
		{name: "sender of another stream", query: url.Values{"manifestID": {"s2"}, "sender": {senderA.Hex()}}, code: http.StatusNotFound},
		{name: "malformed sender", query: url.Values{"manifestID": {"s1"}, "sender": {"0x1234"}}, code: http.StatusBadRequest, errHas: "0x1234"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, body := getStatus(t, h, tc.query)
			require.Equal(t, tc.code, code, "%s", body)
			if tc.code != http.StatusOK {
				var e map[string]any
				require.NoError(t, json.Unmarshal(body, &e), "%s", body)
				require.IsType(t, "", e["error"], "%s", body)
				assert.Contains(t, e["error"], tc.errHas)
				if tc.code == http.StatusConflict {
					assert.Len(t, e["senders"], 2)
				}
				return
			}
			var st Status
			require.NoError(t, json.Unmarshal(body, &st))
			assert.Equal(t, tc.query.Get("manifestID"), st.ManifestID)
			assert.Equal(t, tc.sender.Hex(), st.Sender)
			assert.Equal(t, "live", st.State)
			assert.False(t, st.Final)
			assert.Empty(t, st.URL, "nothing published yet")
			assert.Empty(t, st.Gaps)
			require.Len(t, st.Segments, tc.segs)
			for _, s := range st.Segments {
				assert.Contains(t, []string{"source", testRendition}, s.Rendition)
				assert.Equal(t, "pending", s.State)
				assert.NotZero(t, s.Bytes)
			}
			// The raw JSON has the documented field names.
			var raw map[string]any
			require.NoError(t, json.Unmarshal(body, &raw))
			for _, k := range []string{"manifestID", "sender", "state", "final", "segments", "gaps", "archivedBytes"} {
				assert.Contains(t, raw, k)
			}
		})
	}
}
