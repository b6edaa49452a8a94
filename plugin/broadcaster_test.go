package plugin

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	lpnet "github.com/livepeer/go-livepeer/net"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/lpswarm/archiver/capability"
	"github.com/lpswarm/archiver/grpcsvc"
	"github.com/lpswarm/archiver/proto/archiverpb"
)

const testGateway = "http://bee.test:1633/"

func newBroadcaster(t *testing.T, env BroadcasterEnv, args ...string) *Broadcaster {
	t.Helper()
	f := mustParseFlags(t, append([]string{"-archiveGateway", testGateway}, args...)...)
	b, err := NewBroadcaster(f, env)
	require.NoError(t, err)
	return b
}

// stockCaps are a stock segment's capabilities.
func stockCaps() *lpnet.Capabilities {
	return &lpnet.Capabilities{Bitstring: []uint64{0b1011}, Mandatories: []uint64{0b1}}
}

// orchInfo is an orchestrator's info: offering archiving or not.
func orchInfo(uri string, offers bool) *lpnet.OrchestratorInfo {
	caps := &lpnet.Capabilities{Bitstring: []uint64{0b1111}}
	if offers {
		caps = capability.Advertise(caps, capability.DefaultArchiveID)
	}
	return &lpnet.OrchestratorInfo{Transcoder: uri, Capabilities: caps}
}

// closedURI is the service URI of a port nobody listens on.
func closedURI(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return "https://" + addr
}

// selfSigned is a certificate for 127.0.0.1, as go-livepeer's
// orchestrators present.
func selfSigned(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "orchestrator"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// serveTLS serves a gRPC server with TLS on 127.0.0.1 and returns its
// service URI.
func serveTLS(t *testing.T, register func(*grpc.Server)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	cert := selfSigned(t)
	s := grpc.NewServer(grpc.Creds(credentials.NewServerTLSFromCert(&cert)))
	register(s)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = s.Serve(l)
	}()
	t.Cleanup(func() {
		s.Stop()
		<-done
	})
	return "https://" + l.Addr().String()
}

// fakeQueries answers GetArchiveStatus with a fixed status or error.
type fakeQueries struct {
	archiverpb.UnimplementedArchiveQueriesServer
	st  *archiverpb.ArchiveStatus
	err error

	mu   sync.Mutex
	reqs []*archiverpb.ArchiveStatusRequest
}

func (f *fakeQueries) GetArchiveStatus(_ context.Context, req *archiverpb.ArchiveStatusRequest) (*archiverpb.ArchiveStatus, error) {
	f.mu.Lock()
	f.reqs = append(f.reqs, proto.Clone(req).(*archiverpb.ArchiveStatusRequest))
	f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	return proto.Clone(f.st).(*archiverpb.ArchiveStatus), nil
}

func (f *fakeQueries) requests() []*archiverpb.ArchiveStatusRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*archiverpb.ArchiveStatusRequest(nil), f.reqs...)
}

func serveFake(t *testing.T, f *fakeQueries) string {
	return serveTLS(t, func(s *grpc.Server) { archiverpb.RegisterArchiveQueriesServer(s, f) })
}

// signer signs as go-livepeer's eth client does: an Ethereum signed
// message, V of 27 or 28.
func signer(key *ecdsa.PrivateKey) func([]byte) ([]byte, error) {
	return func(msg []byte) ([]byte, error) {
		sig, err := crypto.Sign(accounts.TextHash(msg), key)
		if err != nil {
			return nil, err
		}
		sig[64] += 27
		return sig, nil
	}
}

func ref(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func TestNewBroadcaster(t *testing.T) {
	tests := []struct {
		name string
		args []string
		is   error
	}{
		{name: "defaults"},
		{name: "archive", args: []string{"-archive"}},
		{name: "capability 100", args: []string{"-archiverCapability", "100"}},
		{name: "capability reserved", args: []string{"-archiverCapability", "5"}, is: capability.ErrIDReserved},
		{name: "capability too large", args: []string{"-archiverCapability", "128"}, is: capability.ErrIDTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := mustParseFlags(t, tc.args...)
			b, err := NewBroadcaster(f, BroadcasterEnv{})
			if tc.is != nil {
				require.ErrorIs(t, err, tc.is)
				assert.Contains(t, err.Error(), "-archiverCapability")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, capability.ID(f.CapabilityID), b.id)
			assert.Equal(t, f.Archive, b.flags.Archive)
		})
	}
}

// TestNewBroadcasterCapabilityAboveUint32: an id above MaxUint32 must be
// refused, as orchestratorConfig refuses it, not truncated to a valid one.
func TestNewBroadcasterCapabilityAboveUint32(t *testing.T) {
	f := mustParseFlags(t, "-archiverCapability", strconv.FormatUint(math.MaxUint32+1+63, 10))
	_, err := NewBroadcaster(f, BroadcasterEnv{})
	require.ErrorIs(t, err, capability.ErrIDTooLarge)
}

func TestSegmentCaps(t *testing.T) {
	tests := []struct {
		name    string
		archive bool // -archive
		webhook string
		offers  bool
		bit     bool // the segment asks for archiving
		gap     bool // the broadcaster records a gap
	}{
		{name: "archive, offered", archive: true, offers: true, bit: true},
		{name: "archive, not offered", archive: true, gap: true},
		{name: "no archive, offered", offers: true},
		{name: "no archive, not offered"},
		{name: "webhook on, offered", webhook: `{"archive":true}`, offers: true, bit: true},
		{name: "webhook on, not offered", webhook: `{"archive":true}`, gap: true},
		{name: "webhook off with -archive", archive: true, webhook: `{"archive":false}`, offers: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var args []string
			if tc.archive {
				args = append(args, "-archive")
			}
			b := newBroadcaster(t, BroadcasterEnv{}, args...)
			if tc.webhook != "" {
				b.WebhookAnswer("s1", []byte(tc.webhook))
			}
			in := stockCaps()
			before := proto.Clone(in)
			out := b.SegmentCaps("s1", orchInfo(closedURI(t), tc.offers), 7, in)

			assert.True(t, proto.Equal(before, in), "input capabilities mutated")
			assert.Equal(t, tc.bit, capability.Requested(out, capability.DefaultArchiveID))
			assert.False(t, capability.Requested(in, capability.DefaultArchiveID))
			if tc.bit {
				assert.Equal(t, []uint64{0b1011 | 1<<63}, out.GetBitstring(), "the segment's own bits are kept")
				assert.Equal(t, []uint64{0b1}, out.GetMandatories(), "the Archive bit is never mandatory")
			} else {
				assert.Same(t, in, out, "caps returned unchanged")
			}

			st, err := b.Status(context.Background(), "s1")
			if !tc.bit && !tc.gap {
				require.ErrorIs(t, err, ErrUnknownStream, "a stream that does not archive has no status")
				return
			}
			require.NoError(t, err)
			if tc.gap {
				assert.Equal(t, []Gap{{Seq: 7, Reason: ReasonNotOffered}}, st.Gaps)
			} else {
				assert.Empty(t, st.Gaps)
			}
		})
	}
}

// TestSegmentCapsNilInfo: a segment without orchestrator info is a gap,
// not a panic.
func TestSegmentCapsNil(t *testing.T) {
	b := newBroadcaster(t, BroadcasterEnv{}, "-archive")
	assert.Nil(t, b.SegmentCaps("s1", nil, 0, nil))
	out := b.SegmentCaps("s1", orchInfo(closedURI(t), true), 1, nil)
	assert.True(t, capability.Requested(out, capability.DefaultArchiveID))
	st, err := b.Status(context.Background(), "s1")
	require.NoError(t, err)
	assert.Equal(t, []Gap{{Seq: 0, Reason: ReasonNotOffered}}, st.Gaps)
}

// TestSegmentCapsRetry: a segment retried on an orchestrator that offers
// archiving is no longer a gap.
func TestSegmentCapsRetry(t *testing.T) {
	b := newBroadcaster(t, BroadcasterEnv{}, "-archive")
	uri := closedURI(t)
	b.SegmentCaps("s1", orchInfo(uri, false), 3, stockCaps())
	b.SegmentCaps("s1", orchInfo(uri, false), 4, stockCaps())
	b.SegmentCaps("s1", orchInfo(uri, true), 3, stockCaps())
	st, err := b.Status(context.Background(), "s1")
	require.NoError(t, err)
	assert.Equal(t, []Gap{{Seq: 4, Reason: ReasonNotOffered}}, st.Gaps)
}

func TestWebhookAnswer(t *testing.T) {
	tests := []struct {
		name    string
		archive bool
		bodies  []string
		want    bool
	}{
		{name: "off overrides -archive", archive: true, bodies: []string{`{"archive":false}`}},
		{name: "on without -archive", bodies: []string{`{"archive":true}`}, want: true},
		{name: "no field keeps -archive", archive: true, bodies: []string{`{"manifestID":"s1"}`}, want: true},
		{name: "no field keeps no -archive", bodies: []string{`{"manifestID":"s1"}`}},
		{name: "null keeps -archive", archive: true, bodies: []string{`{"archive":null}`}, want: true},
		{name: "malformed keeps -archive", archive: true, bodies: []string{`{"archive":`}, want: true},
		{name: "malformed keeps no -archive", bodies: []string{`not json`}},
		{name: "wrong type keeps -archive", archive: true, bodies: []string{`{"archive":"no"}`}, want: true},
		{name: "empty body keeps -archive", archive: true, bodies: []string{``}, want: true},
		{name: "with other fields", bodies: []string{`{"manifestID":"x","profiles":[],"archive":true}`}, want: true},
		{name: "later answer wins", bodies: []string{`{"archive":true}`, `{"archive":false}`}},
		{name: "later answer without the field keeps the earlier", bodies: []string{`{"archive":true}`, `{}`}, want: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var args []string
			if tc.archive {
				args = append(args, "-archive")
			}
			b := newBroadcaster(t, BroadcasterEnv{}, args...)
			for _, body := range tc.bodies {
				b.WebhookAnswer("s1", []byte(body))
			}
			out := b.SegmentCaps("s1", orchInfo(closedURI(t), true), 0, stockCaps())
			assert.Equal(t, tc.want, capability.Requested(out, capability.DefaultArchiveID))
			// Other streams keep the default.
			other := b.SegmentCaps("s2", orchInfo(closedURI(t), true), 0, stockCaps())
			assert.Equal(t, tc.archive, capability.Requested(other, capability.DefaultArchiveID))
		})
	}
}

// withReceipts is a segment's reply carrying receipts.
func withReceipts(t *testing.T, rs ...*archiverpb.ArchiveReceipt) *lpnet.TranscodeResult {
	t.Helper()
	tr := &lpnet.TranscodeResult{Seq: 1}
	require.NoError(t, archiverpb.SetReceipts(tr, &archiverpb.ArchiveReceipts{Receipts: rs, SessionFeeWei: "0/1"}))
	return tr
}

func TestReply(t *testing.T) {
	b := newBroadcaster(t, BroadcasterEnv{}, "-archive")
	uri := closedURI(t)
	for seq := range int64(6) {
		b.SegmentCaps("s1", orchInfo(uri, true), seq, stockCaps())
	}
	b.Reply("s1", "", withReceipts(t,
		&archiverpb.ArchiveReceipt{Seq: 0, Status: archiverpb.ArchiveReceipt_ACCEPTED},
		&archiverpb.ArchiveReceipt{Seq: 1, Status: archiverpb.ArchiveReceipt_PENDING},
		&archiverpb.ArchiveReceipt{Seq: 2, Status: archiverpb.ArchiveReceipt_REFUSED, Reason: archiverpb.ArchiveReceipt_SPOOL_FULL, Detail: "spool full"},
		&archiverpb.ArchiveReceipt{Seq: 3, Status: archiverpb.ArchiveReceipt_FAILED, Detail: "index broke"},
	))
	b.Reply("s1", "", withReceipts(t,
		&archiverpb.ArchiveReceipt{Seq: 1, Status: archiverpb.ArchiveReceipt_ACCEPTED}, // the late outcome
		&archiverpb.ArchiveReceipt{Seq: 4, Status: archiverpb.ArchiveReceipt_REFUSED, Reason: archiverpb.ArchiveReceipt_NOT_ALLOWED, Detail: "deny list"},
	))
	b.Reply("s1", "", &lpnet.TranscodeResult{}) // a stock reply

	// A malformed extension is ignored.
	bad := &lpnet.TranscodeResult{}
	bad.ProtoReflect().SetUnknown(protowire.AppendVarint(protowire.AppendTag(nil, archiverpb.ReceiptsField, protowire.VarintType), 1))
	b.Reply("s1", "", bad)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := b.Status(ctx, "s1")
	require.NoError(t, err)
	require.Len(t, st.Gaps, 3, "%+v", st.Gaps)
	want := []struct {
		seq   int64
		parts []string
	}{
		{2, []string{"REFUSED", "SPOOL_FULL", "spool full"}},
		{3, []string{"FAILED", "index broke"}},
		{4, []string{"REFUSED", "NOT_ALLOWED", "deny list"}},
	}
	for i, w := range want {
		assert.Equal(t, w.seq, st.Gaps[i].Seq)
		for _, p := range w.parts {
			assert.Contains(t, st.Gaps[i].Reason, p)
		}
	}

	// Receipts of a stream the broadcaster does not archive are ignored.
	b.Reply("other", "", withReceipts(t, &archiverpb.ArchiveReceipt{Seq: 0, Status: archiverpb.ArchiveReceipt_FAILED}))
	_, err = b.Status(ctx, "other")
	require.ErrorIs(t, err, ErrUnknownStream)
}

func TestBroadcasterStatusHandler(t *testing.T) {
	b := newBroadcaster(t, BroadcasterEnv{}, "-archive")
	b.SegmentCaps("s1", orchInfo("", false), 2, stockCaps())
	h := b.StatusHandler()

	code, body := getStatus(t, h, url.Values{})
	assert.Equal(t, http.StatusBadRequest, code)
	assert.Contains(t, string(body), "manifestID is required")

	code, body = getStatus(t, h, url.Values{"manifestID": {"nope"}})
	assert.Equal(t, http.StatusNotFound, code)
	var e map[string]string
	require.NoError(t, json.Unmarshal(body, &e))
	assert.Contains(t, e["error"], `"nope"`)

	code, body = getStatus(t, h, url.Values{"manifestID": {"s1"}})
	require.Equal(t, http.StatusOK, code, "%s", body)
	var st Status
	require.NoError(t, json.Unmarshal(body, &st))
	assert.Equal(t, Status{ManifestID: "s1", Sender: common.Address{}.Hex(), State: "live",
		Segments: []SegmentStatus{}, Gaps: []Gap{{Seq: 2, Reason: ReasonNotOffered}}}, st)
	assert.Contains(t, string(body), `"segments":[]`, "an empty list, not null")
}

// TestStatusUnreachable: an orchestrator that does not answer costs the
// status a failed query, not the broadcaster's own gaps.
func TestStatusUnreachable(t *testing.T) {
	b := newBroadcaster(t, BroadcasterEnv{Address: senderA}, "-archive")
	b.SegmentCaps("s1", orchInfo(closedURI(t), true), 0, stockCaps())
	b.SegmentCaps("s1", orchInfo("https://127.0.0.1:1", true), 1, stockCaps())
	b.SegmentCaps("s1", orchInfo(closedURI(t), false), 2, stockCaps())

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	st, err := b.Status(ctx, "s1")
	require.NoError(t, err)
	assert.Less(t, time.Since(start), 4*time.Second)
	assert.Empty(t, st.Orchestrator)
	assert.Equal(t, "live", st.State)
	assert.Equal(t, senderA.Hex(), st.Sender)
	assert.Empty(t, st.URL)
	assert.NotNil(t, st.Segments)
	assert.Equal(t, []Gap{{Seq: 2, Reason: ReasonNotOffered}}, st.Gaps)
}

func TestStatusFromOrchestrator(t *testing.T) {
	key, err := crypto.GenerateKey()
	require.NoError(t, err)
	addr := crypto.PubkeyToAddress(key.PublicKey)

	full := &fakeQueries{st: &archiverpb.ArchiveStatus{
		ManifestId: []byte("s1"), State: "ended", Final: true,
		ManifestReference: ref(0xab), FeedManifestReference: ref(0xfe), ArchivedBytes: 3000, Gaps: 1,
		Segments: []*archiverpb.SegmentStatus{
			{Rendition: "source", Seq: 0, State: "archived", Reference: ref(0x01), Bytes: 2000},
			{Rendition: testRendition, Seq: 0, State: "archived", Reference: ref(0x02), Bytes: 1000},
			{Rendition: "source", Seq: 1, State: "gap", Error: "upload failed"},
			{Rendition: "source", Seq: 5, State: "pending", Bytes: 10},
		},
	}}
	partial := &fakeQueries{st: &archiverpb.ArchiveStatus{ManifestId: []byte("s1"), State: "live",
		Segments: []*archiverpb.SegmentStatus{{Rendition: "source", Seq: 2, State: "pending"}}}}
	missing := &fakeQueries{err: status.Error(codes.NotFound, "no archive")}
	fullURI, partialURI, missingURI := serveFake(t, full), serveFake(t, partial), serveFake(t, missing)

	b := newBroadcaster(t, BroadcasterEnv{Address: addr, Sign: signer(key)}, "-archive")
	b.SegmentCaps("s1", orchInfo(partialURI, true), 2, stockCaps())
	b.SegmentCaps("s1", orchInfo(fullURI, true), 0, stockCaps())
	b.SegmentCaps("s1", orchInfo(missingURI, true), 4, stockCaps())
	b.SegmentCaps("s1", orchInfo(closedURI(t), true), 6, stockCaps())
	b.SegmentCaps("s1", orchInfo(fullURI, false), 3, stockCaps())
	b.Reply("s1", "", withReceipts(t, &archiverpb.ArchiveReceipt{Seq: 7, Status: archiverpb.ArchiveReceipt_REFUSED,
		Reason: archiverpb.ArchiveReceipt_TOO_LARGE, Detail: "big"}))

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := b.Status(ctx, "s1")
	require.NoError(t, err)

	assert.Equal(t, fullURI, st.Orchestrator, "the orchestrator holding most of the stream")
	assert.Equal(t, "s1", st.ManifestID)
	assert.Equal(t, addr.Hex(), st.Sender)
	assert.Equal(t, "ended", st.State)
	assert.True(t, st.Final)
	assert.Equal(t, hex.EncodeToString(ref(0xab)), st.Reference)
	assert.Equal(t, "http://bee.test:1633/bzz/"+hex.EncodeToString(ref(0xab))+"/index.m3u8", st.URL)
	assert.Equal(t, PlayURL(testGateway, hex.EncodeToString(ref(0xfe))), st.FeedURL)
	assert.Equal(t, uint64(3000), st.ArchivedBytes)
	assert.Equal(t, []SegmentStatus{
		{Rendition: "source", Seq: 0, State: "archived", Reference: hex.EncodeToString(ref(0x01)), Bytes: 2000},
		{Rendition: testRendition, Seq: 0, State: "archived", Reference: hex.EncodeToString(ref(0x02)), Bytes: 1000},
		{Rendition: "source", Seq: 5, State: "pending", Bytes: 10},
	}, st.Segments)
	require.Len(t, st.Gaps, 3, "%+v", st.Gaps)
	assert.Equal(t, Gap{Rendition: "source", Seq: 1, Reason: "upload failed"}, st.Gaps[0], "the orchestrator's gap")
	assert.Equal(t, Gap{Seq: 3, Reason: ReasonNotOffered}, st.Gaps[1], "the broadcaster's own gaps, sorted")
	assert.Equal(t, int64(7), st.Gaps[2].Seq)
	assert.Contains(t, st.Gaps[2].Reason, "TOO_LARGE")

	// Every orchestrator that took segments was asked, with a request the
	// orchestrator can check: signed by the broadcaster's key.
	for _, f := range []*fakeQueries{full, partial, missing} {
		reqs := f.requests()
		require.Len(t, reqs, 1)
		r := reqs[0]
		assert.Equal(t, []byte("s1"), r.GetManifestId())
		assert.Equal(t, addr.Bytes(), r.GetSender())
		assert.InDelta(t, time.Now().Unix(), r.GetTimestampUnix(), 60)
		sig := bytes.Clone(r.GetSig())
		require.Len(t, sig, crypto.SignatureLength)
		sig[64] -= 27
		pub, err := crypto.SigToPub(accounts.TextHash(grpcsvc.StatusMessage(r.GetManifestId(), r.GetTimestampUnix())), sig)
		require.NoError(t, err)
		assert.Equal(t, addr, crypto.PubkeyToAddress(*pub))
	}

	// Offchain requests are unsigned, from the zero address.
	b = newBroadcaster(t, BroadcasterEnv{}, "-archive")
	b.SegmentCaps("s9", orchInfo(partialURI, true), 0, stockCaps())
	st, err = b.Status(ctx, "s9")
	require.NoError(t, err)
	assert.Equal(t, partialURI, st.Orchestrator)
	reqs := partial.requests()
	require.Len(t, reqs, 2)
	assert.Empty(t, reqs[1].GetSig())
	assert.Equal(t, common.Address{}.Bytes(), reqs[1].GetSender())
}

// TestStatusSignError: a broadcaster that cannot sign does not ask.
func TestStatusSignError(t *testing.T) {
	f := &fakeQueries{st: &archiverpb.ArchiveStatus{ManifestId: []byte("s1"), State: "live"}}
	uri := serveFake(t, f)
	b := newBroadcaster(t, BroadcasterEnv{Address: senderA, Sign: func([]byte) ([]byte, error) {
		return nil, fmt.Errorf("locked account")
	}}, "-archive")
	b.SegmentCaps("s1", orchInfo(uri, true), 0, stockCaps())
	st, err := b.Status(context.Background(), "s1")
	require.NoError(t, err)
	assert.Empty(t, st.Orchestrator)
	assert.Empty(t, f.requests())
}

// TestStatusAgainstOrchestrator runs the broadcaster against the plugin's
// own orchestrator over TLS gRPC: offer, segment, receipts, status, with
// signed status requests.
func TestStatusAgainstOrchestrator(t *testing.T) {
	fx := startOrchestrator(t, false)
	uri := serveTLS(t, fx.o.Register)

	key, err := crypto.GenerateKey()
	require.NoError(t, err)
	addr := crypto.PubkeyToAddress(key.PublicKey)
	b := newBroadcaster(t, BroadcasterEnv{Address: addr, Sign: signer(key)}, "-archive")

	// Discovery: the orchestrator's info, as go-livepeer builds it.
	info := &lpnet.OrchestratorInfo{Transcoder: uri, Capabilities: fx.o.Capabilities(stockCaps())}
	fx.o.AmendInfo(info, addr, "sess1")
	wire, err := proto.Marshal(info)
	require.NoError(t, err)
	info = &lpnet.OrchestratorInfo{}
	require.NoError(t, proto.Unmarshal(wire, info))

	// A segment: the broadcaster asks, the orchestrator archives.
	fx.o.Paid(&lpnet.Payment{Sender: addr.Bytes()}, "sess1")
	md, seg, td := segment("s1", "sess1", 0, false)
	md.Caps = b.SegmentCaps("s1", info, 0, stockCaps())
	require.True(t, fx.o.Begin(md), "the broadcaster's caps ask the orchestrator for archiving")
	fx.o.Transcoded(md, seg, td)
	tr := &lpnet.TranscodeResult{}
	fx.o.AmendReply(tr, "sess1")
	wire, err = proto.Marshal(tr)
	require.NoError(t, err)
	tr = &lpnet.TranscodeResult{}
	require.NoError(t, proto.Unmarshal(wire, tr))
	b.Reply("s1", "", tr)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var st *Status
	require.Eventually(t, func() bool {
		st, err = b.Status(ctx, "s1")
		require.NoError(t, err)
		return len(st.Segments) == 2
	}, 5*time.Second, 20*time.Millisecond)
	assert.Equal(t, uri, st.Orchestrator)
	assert.Equal(t, addr.Hex(), st.Sender)
	assert.Equal(t, "live", st.State)
	assert.Empty(t, st.Gaps)
	for _, s := range st.Segments {
		assert.Equal(t, "pending", s.State, "no worker is connected")
	}

	// Someone else's key gets no answer: the orchestrator checks who asks.
	other, err := crypto.GenerateKey()
	require.NoError(t, err)
	impostor := newBroadcaster(t, BroadcasterEnv{Address: addr, Sign: signer(other)}, "-archive")
	impostor.SegmentCaps("s1", info, 0, stockCaps())
	st, err = impostor.Status(ctx, "s1")
	require.NoError(t, err)
	assert.Empty(t, st.Orchestrator)
	assert.Empty(t, st.Segments)
}

func TestStreamEndedEvicts(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	b := newBroadcaster(t, BroadcasterEnv{}, "-archive")
	id := func(i int) string { return "stream-" + strconv.Itoa(i) }
	for i := range keepEnded + 1 {
		b.WebhookAnswer(id(i), []byte(`{"archive":true}`))
		b.SegmentCaps(id(i), orchInfo("", false), 0, stockCaps())
		b.StreamEnded(ctx, id(i))
	}
	_, err := b.Status(ctx, id(0))
	require.ErrorIs(t, err, ErrUnknownStream, "the oldest ended stream is forgotten")
	for _, i := range []int{1, keepEnded} {
		_, err = b.Status(ctx, id(i))
		require.NoError(t, err, "stream %d", i)
	}
	b.mu.Lock()
	assert.Len(t, b.ended, keepEnded)
	assert.Len(t, b.streams, keepEnded)
	assert.NotContains(t, b.wants, id(0))
	b.mu.Unlock()

	// Ending again, or ending a stream never seen, changes nothing.
	b.StreamEnded(ctx, id(keepEnded))
	b.StreamEnded(ctx, "never-seen")
	b.mu.Lock()
	assert.Len(t, b.ended, keepEnded)
	b.mu.Unlock()

	// A live stream is never evicted by ended ones.
	b.SegmentCaps("live", orchInfo("", false), 0, stockCaps())
	for i := range keepEnded + 1 {
		b.SegmentCaps("more-"+id(i), orchInfo("", false), 0, stockCaps())
		b.StreamEnded(ctx, "more-"+id(i))
	}
	_, err = b.Status(ctx, "live")
	require.NoError(t, err)
}

// TestStreamEndedForgetsWebhookAnswer: the webhook's answer of a stream
// that never archived (archive false) is forgotten when it ends, or every
// such stream leaks an entry.
func TestStreamEndedForgetsWebhookAnswer(t *testing.T) {
	b := newBroadcaster(t, BroadcasterEnv{}, "-archive")
	b.WebhookAnswer("s1", []byte(`{"archive":false}`))
	b.SegmentCaps("s1", orchInfo("", true), 0, stockCaps())
	b.StreamEnded(context.Background(), "s1")
	b.mu.Lock()
	_, leaked := b.wants["s1"]
	b.mu.Unlock()
	assert.False(t, leaked, "an ended stream's webhook answer is forgotten")
}

// TestStreamEndedLogsArchive: once the stream ends, the archive's URL is
// logged when its orchestrator reports the final manifest.
func TestStreamEndedLogsArchive(t *testing.T) {
	f := &fakeQueries{st: &archiverpb.ArchiveStatus{ManifestId: []byte("s1"), State: "ended", Final: true,
		ManifestReference: ref(0xab), Segments: []*archiverpb.SegmentStatus{{Rendition: "source", Seq: 0, State: "archived", Reference: ref(1)}}}}
	uri := serveFake(t, f)
	logs := &logSink{}
	b := newBroadcaster(t, BroadcasterEnv{Logger: slog.New(slog.NewJSONHandler(logs, nil))}, "-archive")
	b.SegmentCaps("s1", orchInfo(uri, true), 0, stockCaps())
	b.SegmentCaps("s2", orchInfo(uri, false), 0, stockCaps())

	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	b.StreamEnded(ctx, "s1")
	b.StreamEnded(ctx, "s2")
	require.Eventually(t, func() bool {
		return len(logs.records("stream archived")) == 1 && len(logs.records("stream not archived")) == 1
	}, 5*time.Second, 10*time.Millisecond)
	rec := logs.records("stream archived")[0]
	assert.Equal(t, "s1", rec["manifestID"])
	assert.Equal(t, PlayURL(testGateway, hex.EncodeToString(ref(0xab))), rec["url"])
	assert.Equal(t, true, rec["final"])
	assert.Equal(t, "s2", logs.records("stream not archived")[0]["manifestID"])
}

// TestStreamEndedWaitsForFinal: a stream whose final manifest is not
// published yet is asked again until the wait is over, then its latest
// archive is logged.
func TestStreamEndedWaitsForFinal(t *testing.T) {
	f := &fakeQueries{st: &archiverpb.ArchiveStatus{ManifestId: []byte("s1"), State: "live", ManifestReference: ref(0xab)}}
	uri := serveFake(t, f)
	logs := &logSink{}
	b := newBroadcaster(t, BroadcasterEnv{Logger: slog.New(slog.NewJSONHandler(logs, nil))}, "-archive")
	b.SegmentCaps("s1", orchInfo(uri, true), 0, stockCaps())

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.logFinal(ctx, "s1", 1500*time.Millisecond)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("logFinal did not give up after its wait")
	}
	assert.GreaterOrEqual(t, len(f.requests()), 2, "asked again while not final")
	require.Len(t, logs.records("stream archive not final yet"), 1)
	recs := logs.records("stream archived")
	require.Len(t, recs, 1)
	assert.Equal(t, false, recs[0]["final"])
}
