package integration_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"flag"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	lpnet "github.com/livepeer/go-livepeer/net"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/lpswarm/archiver/bee"
	"github.com/lpswarm/archiver/chunker"
	"github.com/lpswarm/archiver/internal/catalog"
	"github.com/lpswarm/archiver/internal/host"
	"github.com/lpswarm/archiver/internal/rig"
	"github.com/lpswarm/archiver/internal/streams"
	"github.com/lpswarm/archiver/internal/testbed"
	"github.com/lpswarm/archiver/payments"
	"github.com/lpswarm/archiver/proto/archiverpb"
)

const (
	// refusalsMaxSegment is the archive offer's MaxSegmentBytes: a control
	// segment (source and two renditions) is well under it.
	refusalsMaxSegment = 3 << 20
	// refusalsHTTPLimit is the testbed's body limit, go-livepeer's
	// common.MaxSegSize.
	refusalsHTTPLimit = 48 << 20
)

// refusalsTicketEV is one ticket's expected value; the archive price
// (refusalsArchivePrice) makes a control segment's archive fee (source and
// renditions, over 100 KB) several tickets, so a session holding one
// ticket can pay a transcode but not an archive.
var refusalsTicketEV = big.NewInt(1_000_000_000_000)

// refusalsArchivePrice is in wei per byte.
const refusalsArchivePrice = 20_000_000

// refusalBed is the orchestrator under test, one real archiver-node worker
// on the dev Bee, the broadcasters, and what the controls archived.
type refusalBed struct {
	ctx     context.Context
	r       *rig.Rig
	o       *testbed.Orchestrator // r's
	root    string                // holds the orchestrator's data dir and nothing else
	main    *testbed.Broadcaster
	forger  *testbed.Broadcaster // pays with tickets it signs as someone else
	denied  *testbed.Broadcaster // on the orchestrator's deny list
	source  []testbed.Segment
	padding int                       // null TS packets appended to the next segment: unique bytes
	seq     int64                     // next segment number
	allowed map[catalog.StreamID]bool // streams the controls archived: the only ones the index may hold
	primed  *testbed.Request          // the current case's prime
}

// refusalOutcome is what a bad request got, and what it must have left
// nowhere.
type refusalOutcome struct {
	req    *testbed.Request
	reply  *testbed.Reply
	err    error    // the gRPC call's
	bodies [][]byte // segment bytes sent: must not be in Bee
}

// refusalCase is one bad input and the refusal go-livepeer or the archiver
// defines for it: an HTTP status, a gRPC code, or an archive receipt
// REFUSED with a reason (the transcode proceeds, only its fee is charged).
type refusalCase struct {
	name string
	by   func(*refusalBed) *testbed.Broadcaster // nil: the main broadcaster
	fund bool                                   // a control first, so the session holds credit
	// prime sends a well-formed request first, archived before the
	// snapshot; send finds it in refusalBed.primed.
	prime  func(t *testing.T, e *refusalBed, s *testbed.Session) *testbed.Request
	send   func(t *testing.T, e *refusalBed, s *testbed.Session) refusalOutcome
	status int
	code   codes.Code
	reason archiverpb.ArchiveReceipt_Reason
	msg    string // in the error text, the gRPC message or the receipt's detail
	// freshControl: the request spent the session (expired its ticket
	// params), so the control opens a new one.
	freshControl bool
}

// refusalsRounds repeats TestRefusalsOverTheWire's table, each round on
// fresh sessions and fresh segment bytes. Set once by flag.Parse.
var refusalsRounds = flag.Int("refusals.rounds", 1, "TestRefusalsOverTheWire: times the whole table runs")

// TestRefusalsOverTheWire sends every kind of bad input over the real wire
// (go-livepeer's HTTPS /segment, gRPC GetOrchestrator, the archiver's
// ArchiverService and ArchiveQueries on the same port) to the testbed
// orchestrator with the archiver plugged in and a real worker on a real
// Bee. Each case is refused with go-livepeer's or the archiver's error, and
// leaves nothing stored (spool empty, index without the stream, no job
// dispatched, no worker registered, the bytes not in Bee, no file outside
// the data dir) and nothing charged (the session balance exactly as before,
// or less exactly the transcode fee where go-livepeer transcodes and the
// archive alone is refused; no archive fee in the receipt). After each, a
// well-formed segment in the same session is transcoded, charged to the
// wei, archived by the worker and read back from Bee byte-identical.
func TestRefusalsOverTheWire(t *testing.T) {
	ctx := testContext(t, time.Duration(*refusalsRounds)*3*time.Minute)
	e := startRefusalBed(t, ctx)
	cases := refusalCases()
	for round := range *refusalsRounds {
		for _, tc := range cases {
			t.Run(fmt.Sprintf("%d/%s", round, tc.name), func(t *testing.T) { e.run(t, tc) })
		}
	}
}

func startRefusalBed(t *testing.T, ctx context.Context) *refusalBed {
	t.Helper()
	root := t.TempDir()
	source := refusalSource(t, ctx)
	batch, err := dev.BuyBatch(ctx, 22)
	require.NoError(t, err)

	denyKey, err := crypto.GenerateKey()
	require.NoError(t, err)
	policy, err := payments.ParsePolicy("", crypto.PubkeyToAddress(denyKey.PublicKey).Hex())
	require.NoError(t, err)
	r := startRig(t, ctx, rig.Config{
		Host: host.Config{Logger: slog.New(slog.DiscardHandler)}, // the testbed's quiet default, not stderr
		Testbed: &testbed.OrchestratorConfig{
			DataDir:        filepath.Join(root, "orch"),
			TranscodePrice: &lpnet.PriceInfo{PricePerUnit: 1, PixelsPerUnit: 100},
			ArchivePrice:   &lpnet.PriceInfo{PricePerUnit: refusalsArchivePrice, PixelsPerUnit: 1},
			TicketEV:       refusalsTicketEV,
			// Publishing is not under test: the controls' segments need
			// no manifest, and none is published while the table runs.
			Streams:         streams.Config{PublishEvery: 1 << 20, PublishInterval: time.Hour, IdleTimeout: time.Hour},
			MaxSegmentBytes: refusalsMaxSegment, Policy: policy,
			// Each control's receipt and balance are checked in its own
			// reply; the default reply, which does not wait, is
			// TestEndToEnd's.
			AcceptWait: 5 * time.Second,
		},
		Bee:   rig.Bee{Batch: batch},
		Nodes: 1, Node: rig.NodeConfig{Capacity: 2}, // Start waits until it registered
	})
	o := r.Testbed()

	e := &refusalBed{ctx: ctx, r: r, o: o, root: root, source: source, allowed: map[catalog.StreamID]bool{}}
	for _, b := range []**testbed.Broadcaster{&e.main, &e.forger} {
		*b, err = o.NewBroadcaster()
		require.NoError(t, err)
	}
	e.denied, err = o.BroadcasterFor(denyKey)
	require.NoError(t, err)
	return e
}

// run sends one bad request, checks the refusal and that nothing was
// stored or charged, then sends the control.
func (e *refusalBed) run(t *testing.T, tc refusalCase) {
	by := e.main
	if tc.by != nil {
		by = tc.by(e)
	}
	s, err := by.Open(e.ctx, e.o.RPCAddr, true)
	require.NoError(t, err)
	if tc.fund {
		e.control(t, s)
	}
	if tc.prime != nil {
		e.primed = tc.prime(t, e, s)
		require.Eventually(t, func() bool { return e.r.Host().SpoolStats().Jobs == 0 }, time.Minute, 20*time.Millisecond)
	}
	before := e.snapshot(s)
	out := tc.send(t, e, s)

	switch {
	case tc.code != codes.OK:
		require.Error(t, out.err)
		require.Equal(t, tc.code, status.Code(out.err), "%v", out.err)
		require.Contains(t, status.Convert(out.err).Message(), tc.msg)
		t.Logf("refused: %s %q", status.Code(out.err), status.Convert(out.err).Message())
	case tc.reason != archiverpb.ArchiveReceipt_REASON_UNSPECIFIED:
		require.NotNil(t, out.reply)
		require.Equal(t, http.StatusOK, out.reply.Status, "the transcode proceeds: %s", out.reply.Text)
		require.NotNil(t, out.reply.Result.GetData(), "the transcode proceeds: %v", out.reply.Result.GetError())
		require.NotNil(t, out.reply.Receipts, "the reply carries the archive receipt")
		require.Len(t, out.reply.Receipts.GetReceipts(), 1)
		r := out.reply.Receipts.GetReceipts()[0]
		require.Equal(t, out.req.Meta.Seq, r.GetSeq())
		require.Equal(t, archiverpb.ArchiveReceipt_REFUSED, r.GetStatus())
		require.Equal(t, tc.reason, r.GetReason(), r.GetDetail())
		require.Contains(t, r.GetDetail(), tc.msg)
		require.Zero(t, r.GetBytesCharged(), "nothing charged")
		require.Empty(t, r.GetFeeWei(), "nothing charged")
		require.Equal(t, "0/1", out.reply.Receipts.GetSessionFeeWei(), "no archive fee in the session")
		t.Logf("refused: %s %s %q; transcode fee %s wei", r.GetStatus(), r.GetReason(), r.GetDetail(), out.reply.TranscodeFee.RatString())
	default:
		require.NotNil(t, out.reply)
		require.Equal(t, tc.status, out.reply.Status, out.reply.Text)
		require.Contains(t, out.reply.Text, tc.msg)
		t.Logf("refused: %d %q", out.reply.Status, clipText(out.reply.Text))
	}
	e.requireNothingStored(t, s, before, out)
	// The control goes on the same session, unless the request spent it
	// or its broadcaster may not archive: then on a new one of the main
	// broadcaster's.
	if tc.freshControl || by == e.denied {
		s, err = e.main.Open(e.ctx, e.o.RPCAddr, true)
		require.NoError(t, err)
	}
	e.control(t, s)
}

// refusalSnapshot is what a refusal must leave as it was.
type refusalSnapshot struct {
	balance    *big.Rat
	dispatched int64
	workers    int
}

func (e *refusalBed) snapshot(s *testbed.Session) refusalSnapshot {
	return refusalSnapshot{balance: e.o.Balance(s.Sender(), s.ID()), dispatched: e.r.Host().DispatchMetrics().Dispatched,
		workers: e.r.Host().DispatchHeld().Workers}
}

// requireNothingStored: the refused request left no job in the spool, no
// stream in the index, no job with the worker, no registered worker, none
// of its bytes in Bee and no file outside the data dir, and charged
// nothing: the balance is as before, plus the tickets and less the
// transcode fee of a transcode that proceeded.
func (e *refusalBed) requireNothingStored(t *testing.T, s *testbed.Session, before refusalSnapshot, out refusalOutcome) {
	t.Helper()
	st := e.r.Host().SpoolStats()
	require.Zero(t, st.Jobs, "spooled")
	require.Zero(t, st.Pending, "spooled")
	require.Zero(t, st.Bytes, "spooled")
	ids, err := e.r.Host().IndexedStreams()
	require.NoError(t, err)
	for _, id := range ids {
		require.True(t, e.allowed[id], "the index holds a stream no control sent: %s", id)
	}
	require.Equal(t, before.dispatched, e.r.Host().DispatchMetrics().Dispatched, "a job went to the worker")
	require.Equal(t, before.workers, e.r.Host().DispatchHeld().Workers, "a worker registered")
	entries, err := os.ReadDir(e.root)
	require.NoError(t, err)
	require.Len(t, entries, 1, "files next to the data dir")
	for _, body := range out.bodies {
		ref, err := chunker.Reference(e.ctx, body, redundancy.NONE)
		require.NoError(t, err)
		// The root chunk: Bee answers for it at once, where /bytes
		// first spends a second looking for a missing file.
		_, err = dev.Client.Get(e.ctx, "/chunks/"+ref.String(), 1<<20)
		require.ErrorIs(t, err, bee.ErrNotFound, "the refused segment is in Bee")
	}

	want := new(big.Rat).Set(before.balance)
	if out.reply != nil && out.reply.Status == http.StatusOK {
		want.Add(want, out.req.Credit)
		want.Sub(want, out.reply.TranscodeFee)
	}
	got := e.o.Balance(s.Sender(), s.ID())
	require.Equal(t, want.RatString(), got.RatString(), "session balance: before %s", before.balance.RatString())
	require.Equal(t, s.Balance().RatString(), got.RatString(), "the broadcaster's mirror disagrees")
	require.Empty(t, s.Mirror().Status().Disagreements)
}

// control sends a well-formed segment on s: transcoded, charged exactly
// what the broadcaster mirrors, archived by the worker and read back from
// Bee byte-identical.
func (e *refusalBed) control(t *testing.T, s *testbed.Session) {
	t.Helper()
	name := fmt.Sprintf("control-%d", e.seq)
	seq, seg := e.next(0)
	archived := e.r.Host().DispatchMetrics().Archived
	files, err := s.Send(e.ctx, name, seq, seg)
	require.NoError(t, err, "the well-formed control after a refusal")
	require.Len(t, files, 3)
	e.allowed[catalog.StreamID{ManifestID: name, Sender: s.Sender()}] = true
	require.Eventually(t, func() bool {
		return e.r.Host().SpoolStats().Jobs == 0 && e.r.Host().DispatchMetrics().Archived > archived
	}, time.Minute, 20*time.Millisecond, "the control was not archived")
	ref, err := chunker.Reference(e.ctx, seg.Data, redundancy.NONE)
	require.NoError(t, err)
	got, err := dev.Client.DownloadBytes(e.ctx, ref, int64(len(seg.Data))+1)
	require.NoError(t, err)
	require.True(t, bytes.Equal(seg.Data, got), "the control's source does not read back from Bee")
	_, err = dev.Client.Get(e.ctx, "/chunks/"+ref.String(), 1<<20)
	require.NoError(t, err, "the root chunk lookup the refusals rely on")
	require.Contains(t, s.Mirror().Status().Archived, seq, "the control's receipt")
	require.Equal(t, s.Balance().RatString(), e.o.Balance(s.Sender(), s.ID()).RatString(), "control balance")
	require.Empty(t, s.Mirror().Status().Disagreements)
}

// next returns a fresh segment number and a source segment made unique by
// extra null TS packets (PID 0x1FFF, which every demuxer skips), so its
// Swarm reference is its own; extra adds that many bytes more, rounded up
// to whole packets.
func (e *refusalBed) next(extra int) (int64, testbed.Segment) {
	e.seq++
	e.padding++
	src := e.source[int(e.seq)%len(e.source)]
	packets := e.padding + (extra+187)/188
	data := make([]byte, 0, len(src.Data)+packets*188)
	data = append(data, src.Data...)
	null := append([]byte{0x47, 0x1f, 0xff, 0x10}, bytes.Repeat([]byte{0xff}, 184)...)
	for range packets {
		data = append(data, null...)
	}
	return e.seq, testbed.Segment{Data: data, Duration: src.Duration}
}

// build is a well-formed request for a new segment of stream, paid with
// the given number of tickets (< 0: as a broadcaster pays).
func (e *refusalBed) build(t *testing.T, s *testbed.Session, stream string, tickets, extra int) *testbed.Request {
	t.Helper()
	seq, seg := e.next(extra)
	r, err := s.Build(stream, seq, seg, tickets)
	require.NoError(t, err)
	return r
}

// post sends r and records its body for the Bee check.
func (e *refusalBed) post(t *testing.T, s *testbed.Session, r *testbed.Request) refusalOutcome {
	t.Helper()
	rep, err := s.Post(e.ctx, r)
	require.NoError(t, err)
	return refusalOutcome{req: r, reply: rep, bodies: [][]byte{r.Body}}
}

// badHeader sends a well-formed request whose headers edit breaks.
func badHeader(edit func(t *testing.T, r *testbed.Request)) func(*testing.T, *refusalBed, *testbed.Session) refusalOutcome {
	return func(t *testing.T, e *refusalBed, s *testbed.Session) refusalOutcome {
		r := e.build(t, s, "bad-header", 2, 0)
		edit(t, r)
		return e.post(t, s, r)
	}
}

// badPayment sends a well-formed segment with the payment edit returns.
func badPayment(tickets int, edit func(t *testing.T, e *refusalBed, s *testbed.Session, p *lpnet.Payment) *lpnet.Payment) func(*testing.T, *refusalBed, *testbed.Session) refusalOutcome {
	return func(t *testing.T, e *refusalBed, s *testbed.Session) refusalOutcome {
		r := e.build(t, s, "bad-payment", tickets, 0)
		r.Payment = edit(t, e, s, r.Payment)
		require.NoError(t, r.Encode())
		return e.post(t, s, r)
	}
}

// badName sends a well-formed, paid segment whose manifest id, or the
// name of its second profile, is name.
func badName(manifest bool, name string) func(*testing.T, *refusalBed, *testbed.Session) refusalOutcome {
	return func(t *testing.T, e *refusalBed, s *testbed.Session) refusalOutcome {
		r := e.build(t, s, "good-name", -1, 0)
		if manifest {
			r.Meta.ManifestID = name
		} else {
			r.Meta.Profiles[1].Name = name
		}
		require.NoError(t, s.Sign(r))
		return e.post(t, s, r)
	}
}

// rawCall sends payload to a gRPC method of the orchestrator's port.
func rawCall(method string, serverStream bool, payload func() []byte) func(*testing.T, *refusalBed, *testbed.Session) refusalOutcome {
	return func(t *testing.T, e *refusalBed, _ *testbed.Session) refusalOutcome {
		return refusalOutcome{err: e.o.InvokeRaw(e.ctx, method, payload(), serverStream)}
	}
}

// register registers a worker with secret, as archiver-node does, and
// returns the first answer on the stream.
func register(secret string) func(*testing.T, *refusalBed, *testbed.Session) refusalOutcome {
	return func(t *testing.T, e *refusalBed, _ *testbed.Session) refusalOutcome {
		conn, err := grpc.NewClient(e.o.RPCAddr, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{InsecureSkipVerify: true})))
		require.NoError(t, err)
		defer conn.Close()
		ctx, cancel := context.WithTimeout(e.ctx, 10*time.Second)
		defer cancel()
		st, err := archiverpb.NewArchiverServiceClient(conn).RegisterArchiver(ctx,
			&archiverpb.RegisterRequest{Secret: secret, Capacity: 4, WorkerId: "intruder", Version: "refusals"})
		require.NoError(t, err)
		_, err = st.Recv()
		return refusalOutcome{err: err}
	}
}

// garbage is bytes no protobuf decoder accepts: a field tag of wire type 7.
func garbage() []byte { return []byte{0xff, 0xff, 0xff, 0xff, 0x0f} }

// truncated is m marshalled and cut inside its first field, a string or
// message longer than four bytes.
func truncated(m proto.Message) func() []byte {
	return func() []byte {
		b, err := proto.Marshal(m)
		if err != nil {
			panic(err)
		}
		return b[:len(b)/2]
	}
}

func refusalCases() []refusalCase {
	const (
		archiverSvc = "/lpswarm.archiver.v1.ArchiverService/"
		queriesSvc  = "/lpswarm.archiver.v1.ArchiveQueries/"
		orchSvc     = "/net.Orchestrator/GetOrchestrator"
	)
	unmarshal := "grpc: failed to unmarshal the received message"
	cases := []refusalCase{
		// Workers.
		{name: "register with a wrong secret", send: register("wrong"), code: codes.Unauthenticated, msg: "invalid secret"},
		{name: "register with an empty secret", send: register(""), code: codes.Unauthenticated, msg: "invalid secret"},

		// Headers of /segment: go-livepeer's statuses (402 payment, 403
		// credentials), before anything is credited or transcoded.
		{name: "segment header not base64", send: badHeader(func(_ *testing.T, r *testbed.Request) {
			r.SegHeader = "not*base64!"
		}), status: http.StatusForbidden, msg: "malformed segment credentials: base64"},
		{name: "segment header base64 of garbage", send: badHeader(func(_ *testing.T, r *testbed.Request) {
			r.SegHeader = base64.StdEncoding.EncodeToString(garbage())
		}), status: http.StatusForbidden, msg: "malformed segment credentials: protobuf"},
		{name: "segment header truncated SegData", send: badHeader(func(t *testing.T, r *testbed.Request) {
			raw, err := base64.StdEncoding.DecodeString(r.SegHeader)
			require.NoError(t, err)
			r.SegHeader = base64.StdEncoding.EncodeToString(raw[:2+len(r.Meta.ManifestID)/2]) // inside manifest_id
		}), status: http.StatusForbidden, msg: "malformed segment credentials: protobuf"},
		{name: "segment header oversized", send: badHeader(func(_ *testing.T, r *testbed.Request) {
			r.SegHeader = strings.Repeat("A", 2<<20) // past net/http's 1 MiB header limit
		}), status: http.StatusRequestHeaderFieldsTooLarge, msg: "Request Header Fields Too Large"},
		{name: "payment header not base64", send: badHeader(func(_ *testing.T, r *testbed.Request) {
			r.PayHeader = "not*base64!"
		}), status: http.StatusPaymentRequired, msg: "malformed payment header: base64"},
		{name: "payment header base64 of garbage", send: badHeader(func(_ *testing.T, r *testbed.Request) {
			r.PayHeader = base64.StdEncoding.EncodeToString(garbage())
		}), status: http.StatusPaymentRequired, msg: "malformed payment header: protobuf"},
		{name: "payment header truncated", send: badHeader(func(t *testing.T, r *testbed.Request) {
			raw, err := base64.StdEncoding.DecodeString(r.PayHeader)
			require.NoError(t, err)
			r.PayHeader = base64.StdEncoding.EncodeToString(raw[:len(raw)/2])
		}), status: http.StatusPaymentRequired, msg: "malformed payment header: protobuf"},
		{name: "payment header empty", send: badHeader(func(_ *testing.T, r *testbed.Request) {
			r.PayHeader = "" // an off-chain payment: the segment's signer must be the zero address
		}), status: http.StatusForbidden, msg: "not signed by 0x0000000000000000000000000000000000000000"},

		// Payment.
		{name: "archive bit without tickets", send: badPayment(0, func(_ *testing.T, _ *refusalBed, _ *testbed.Session, p *lpnet.Payment) *lpnet.Payment {
			return p // a fresh session: go-livepeer's balance check refuses the transcode
		}), status: http.StatusBadRequest, msg: "Insufficient balance"},
		{name: "archive bit without tickets at a zero price", send: badPayment(0, func(_ *testing.T, _ *refusalBed, _ *testbed.Session, p *lpnet.Payment) *lpnet.Payment {
			// go-livepeer skips its balance check and transcodes for
			// free; the archive needs credit.
			p.ExpectedPrice = &lpnet.PriceInfo{PricePerUnit: 0, PixelsPerUnit: 1}
			return p
		}), reason: archiverpb.ArchiveReceipt_INSUFFICIENT_BALANCE, msg: "balance does not cover the archive fee"},
		{name: "archive bit with one ticket, short of the archive fee", send: badPayment(1, func(_ *testing.T, _ *refusalBed, _ *testbed.Session, p *lpnet.Payment) *lpnet.Payment {
			return p
		}), reason: archiverpb.ArchiveReceipt_INSUFFICIENT_BALANCE, msg: "balance does not cover the archive fee"},
		{name: "ticket signed by another key", send: badPayment(0, func(t *testing.T, e *refusalBed, s *testbed.Session, _ *lpnet.Payment) *lpnet.Payment {
			p, err := s.ForgePayment(e.forger, 3)
			require.NoError(t, err)
			return p
		}), status: http.StatusBadRequest, msg: "tickets: invalid ticket signature"},
		{name: "ticket nonce altered after signing", send: badPayment(3, func(_ *testing.T, _ *refusalBed, _ *testbed.Session, p *lpnet.Payment) *lpnet.Payment {
			p.TicketSenderParams[0].SenderNonce += 1000
			return p
		}), status: http.StatusBadRequest, msg: "tickets: invalid ticket signature"},
		{name: "ticket face value altered after signing", send: badPayment(3, func(_ *testing.T, _ *refusalBed, _ *testbed.Session, p *lpnet.Payment) *lpnet.Payment {
			p.TicketParams.FaceValue = new(big.Int).Add(new(big.Int).SetBytes(p.TicketParams.FaceValue), big.NewInt(1)).Bytes()
			return p
		}), status: http.StatusBadRequest, msg: "tickets: invalid ticket"},
		{name: "ticket replayed", prime: func(t *testing.T, e *refusalBed, s *testbed.Session) *testbed.Request {
			// The first use is a well-formed segment, archived and
			// credited; the same tickets with the next segment are not.
			first := e.build(t, s, "replay-first", -1, 0)
			rep, err := s.Post(e.ctx, first)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, rep.Status, rep.Text)
			e.allowed[catalog.StreamID{ManifestID: "replay-first", Sender: s.Sender()}] = true
			return first
		}, send: func(t *testing.T, e *refusalBed, s *testbed.Session) refusalOutcome {
			r := e.build(t, s, "replay-second", 0, 0)
			r.Payment, r.Credit = e.primed.Payment, new(big.Rat)
			require.NoError(t, r.Encode())
			return e.post(t, s, r)
		}, status: http.StatusBadRequest, msg: "tickets: sender nonce replayed"},
		{name: "ticket params expired", freshControl: true, send: func(t *testing.T, e *refusalBed, s *testbed.Session) refusalOutcome {
			r := e.build(t, s, "expired-params", 3, 0)
			e.o.ExpireTicketParams()
			return e.post(t, s, r)
		}, status: http.StatusBadRequest, msg: "tickets: ticket params expired"},
		{name: "auth token expired", send: func(t *testing.T, e *refusalBed, s *testbed.Session) refusalOutcome {
			r := e.build(t, s, "expired-token", 3, 0)
			r.Meta.AuthToken = e.o.AuthToken(s.ID(), time.Now().Add(-time.Minute))
			require.NoError(t, s.Sign(r))
			return e.post(t, s, r)
		}, status: http.StatusForbidden, msg: "expired auth token"},
		{name: "auth token forged", send: func(t *testing.T, e *refusalBed, s *testbed.Session) refusalOutcome {
			r := e.build(t, s, "forged-token", 3, 0)
			tok := proto.Clone(r.Meta.AuthToken).(*lpnet.AuthToken)
			tok.Expiration += 3600 // a longer session than the orchestrator granted
			r.Meta.AuthToken = tok
			require.NoError(t, s.Sign(r))
			return e.post(t, s, r)
		}, status: http.StatusForbidden, msg: "invalid auth token"},

		// Size.
		{name: "segment above the archive's limit", send: func(t *testing.T, e *refusalBed, s *testbed.Session) refusalOutcome {
			return e.post(t, s, e.build(t, s, "too-large", 3, refusalsMaxSegment))
		}, reason: archiverpb.ArchiveReceipt_TOO_LARGE, msg: "larger than the offer's limit"},
		{name: "segment above the HTTP body limit", fund: true, send: func(t *testing.T, e *refusalBed, s *testbed.Session) refusalOutcome {
			out := e.post(t, s, e.build(t, s, "too-large-body", 0, refusalsHTTPLimit))
			out.bodies = nil // never whole on the orchestrator (it stops reading at the limit); hashing 48 MiB costs 2 s
			return out
		}, status: http.StatusForbidden, msg: fmt.Sprintf("segment larger than %d bytes", refusalsHTTPLimit)},

		// Policy.
		{name: "broadcaster on the deny list", by: func(e *refusalBed) *testbed.Broadcaster { return e.denied },
			send: func(t *testing.T, e *refusalBed, s *testbed.Session) refusalOutcome {
				return e.post(t, s, e.build(t, s, "denied", -1, 0))
			}, reason: archiverpb.ArchiveReceipt_NOT_ALLOWED, msg: "is on the deny list"},

		// Raw bytes to the gRPC methods: grpc-go's codes.
		{name: "GetOrchestrator garbage", send: rawCall(orchSvc, false, garbage), code: codes.Internal, msg: unmarshal},
		{name: "GetOrchestrator signed by another key", send: func(t *testing.T, e *refusalBed, _ *testbed.Session) refusalOutcome {
			// The request names the forger; the main broadcaster signs it.
			sig, err := e.main.SignMessage([]byte(e.forger.Address().Hex()))
			require.NoError(t, err)
			conn, err := grpc.NewClient(e.o.RPCAddr, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{InsecureSkipVerify: true})))
			require.NoError(t, err)
			defer conn.Close()
			_, err = lpnet.NewOrchestratorClient(conn).GetOrchestrator(e.ctx, &lpnet.OrchestratorRequest{Address: e.forger.Address().Bytes(), Sig: sig})
			return refusalOutcome{err: err}
		}, code: codes.Unknown, msg: "orchestrator req sig check failed"},
		{name: "RegisterArchiver garbage", send: rawCall(archiverSvc+"RegisterArchiver", true, garbage), code: codes.Internal, msg: unmarshal},
		{name: "RegisterArchiver truncated", send: rawCall(archiverSvc+"RegisterArchiver", true,
			truncated(&archiverpb.RegisterRequest{Secret: "s3cret", Capacity: 4})), code: codes.Internal, msg: unmarshal},
		{name: "FetchJob garbage", send: rawCall(archiverSvc+"FetchJob", true, garbage), code: codes.Internal, msg: unmarshal},
		{name: "FetchJob truncated", send: rawCall(archiverSvc+"FetchJob", true,
			truncated(&archiverpb.FetchJobRequest{JobId: "job-0123456789", Token: []byte("0123456789abcdef")})), code: codes.Internal, msg: unmarshal},
		{name: "ReportResult garbage", send: rawCall(archiverSvc+"ReportResult", false, garbage), code: codes.Internal, msg: unmarshal},
		{name: "ReportResult truncated", send: rawCall(archiverSvc+"ReportResult", false,
			truncated(&archiverpb.JobResult{JobId: "job-0123456789", Token: []byte("0123456789abcdef")})), code: codes.Internal, msg: unmarshal},
		{name: "ReportResult above the max receive size", send: rawCall(archiverSvc+"ReportResult", false, func() []byte {
			b, err := proto.Marshal(&archiverpb.JobResult{JobId: strings.Repeat("j", 5<<20)})
			if err != nil {
				panic(err)
			}
			return b
		}), code: codes.ResourceExhausted, msg: "received message larger than max"},
		{name: "GetArchiveStatus garbage", send: rawCall(queriesSvc+"GetArchiveStatus", false, garbage), code: codes.Internal, msg: unmarshal},
		{name: "GetArchiveStatus truncated", send: rawCall(queriesSvc+"GetArchiveStatus", false,
			truncated(&archiverpb.ArchiveStatusRequest{ManifestId: []byte("control-1"), Sig: bytes.Repeat([]byte{1}, 65)})),
			code: codes.Internal, msg: unmarshal},
	}

	// Names: go-livepeer transcodes whatever the broadcaster signed; the
	// archive refuses a name it cannot store before anything is recorded.
	long := strings.Repeat("m", catalog.MaxManifestIDLen+1)
	for _, n := range []struct{ label, name, msg string }{
		{"../", "../escape", "path separator '/'"},
		{"/", "a/b", "path separator '/'"},
		{"NUL", "a\x00b", "control character U+0000"},
		{`\x01`, "a\x01b", "control character U+0001"},
		{`\n`, "a\nb", "control character U+000A"},
		{`\x7f`, "a\x7fb", "control character U+007F"},
		{"empty", "", "empty"},
		{"over-long", long, "longer than 1024"},
	} {
		cases = append(cases, refusalCase{name: "manifest id " + n.label, send: badName(true, n.name),
			reason: archiverpb.ArchiveReceipt_INVALID_NAME, msg: n.msg})
	}
	for _, n := range []struct{ label, name, msg string }{
		{"../", "../escape", "starts with '.'"},
		{"/", "a/b", "byte 1 (0x2f)"},
		{"NUL", "a\x00b", "byte 1 (0x00)"},
		{`\x01`, "a\x01b", "byte 1 (0x01)"},
		{`\n`, "a\nb", "byte 1 (0x0a)"},
		{`\x7f`, "a\x7fb", "byte 1 (0x7f)"},
		{"over-long", strings.Repeat("r", 65), "longer than 64 bytes"},
		{"source", "source", `two files named "source"`},
	} {
		cases = append(cases, refusalCase{name: "rendition name " + n.label, send: badName(false, n.name),
			reason: archiverpb.ArchiveReceipt_INVALID_NAME, msg: n.msg})
	}
	// An unnamed profile goes on the wire as "ffmpeg_WxH_bitrate" while
	// the broadcaster signed "": go-livepeer never verifies it.
	cases = append(cases, refusalCase{name: "rendition name empty", send: func(t *testing.T, e *refusalBed, s *testbed.Session) refusalOutcome {
		r := e.build(t, s, "empty-rendition", 3, 0)
		r.Meta.Profiles[1].Name = ""
		require.NoError(t, s.Sign(r))
		return e.post(t, s, r)
	}, status: http.StatusForbidden, msg: "lpwire: bad signature"})
	return cases
}

// clipText shortens an error text for the log.
func clipText(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}

// refusalSource records four 1 s segments at 10 fps: real video that
// transcodes in a fraction of the testbed's 2 s, 30 fps segments, so the
// table's some fifty transcodes fit the CI budget.
func refusalSource(t *testing.T, ctx context.Context) []testbed.Segment {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.CommandContext(ctx, "ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
		"-f", "lavfi", "-i", "testsrc2=size=640x360:rate=10", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
		"-t", "4", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
		"-force_key_frames", "expr:gte(t,n_forced*1)", "-c:a", "aac", "-b:a", "64k",
		"-f", "segment", "-segment_time", "1", "-segment_format", "mpegts", filepath.Join(dir, "seg_%03d.ts")).CombinedOutput()
	require.NoError(t, err, "ffmpeg: %s", out)
	var segs []testbed.Segment
	for i := range 4 {
		data, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("seg_%03d.ts", i)))
		require.NoError(t, err)
		segs = append(segs, testbed.Segment{Data: data, Duration: time.Second})
	}
	return segs
}
