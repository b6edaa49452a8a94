package plugin

import (
	"cmp"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	lpnet "github.com/livepeer/go-livepeer/net"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/lpswarm/archiver/capability"
	"github.com/lpswarm/archiver/grpcsvc"
	"github.com/lpswarm/archiver/proto/archiverpb"
)

// ReasonNotOffered is the gap of a segment sent to an orchestrator that
// does not offer archiving.
const ReasonNotOffered = "no orchestrator offers archiving"

// Broadcaster limits.
const (
	// statusTimeout bounds one archive status query to an orchestrator.
	statusTimeout = 5 * time.Second
	// keepEnded is how many ended streams stay answerable on
	// /archive/status.
	keepEnded = 1024
)

// BroadcasterEnv is what the go-livepeer node tells the archiver about
// itself.
type BroadcasterEnv struct {
	// Address is the broadcaster's Ethereum address; Sign signs status
	// requests with its key. Offchain both are zero: the address is the
	// zero address and requests go unsigned.
	Address common.Address
	Sign    func(msg []byte) ([]byte, error)
	Logger  *slog.Logger
}

// Broadcaster asks for archiving per stream, records what each segment's
// orchestrator did with it, and reports where each stream's archive plays.
type Broadcaster struct {
	flags Flags
	env   BroadcasterEnv
	id    capability.ID
	log   *slog.Logger

	mu      sync.Mutex
	streams map[string]*bstream // by manifest id
	wants   map[string]bool     // the auth webhook's "archive", by manifest id
	ended   []string            // ended streams, oldest first
}

// bstream is one stream's archive on the broadcaster.
type bstream struct {
	orchs    map[string]bool  // service URIs of orchestrators that took segments with the bit
	gaps     map[int64]string // segments not archived, and why
	sessions map[string]*bsession
	ended    bool
}

// NewBroadcaster checks the flags for a broadcaster.
func NewBroadcaster(f *Flags, env BroadcasterEnv) (*Broadcaster, error) {
	id, err := f.capabilityID()
	if err != nil {
		return nil, err
	}
	if env.Logger == nil {
		env.Logger = slog.New(slog.DiscardHandler)
	}
	return &Broadcaster{flags: *f, env: env, id: id, log: env.Logger,
		streams: map[string]*bstream{}, wants: map[string]bool{}}, nil
}

// WebhookAnswer reads the auth webhook's answer for a stream: "archive":
// true or false decides for that stream; without the field -archive does.
func (b *Broadcaster) WebhookAnswer(manifestID string, body []byte) {
	var answer struct {
		Archive *bool `json:"archive"`
	}
	if err := json.Unmarshal(body, &answer); err != nil || answer.Archive == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.wants[manifestID] = *answer.Archive
}

// wanted reports whether a stream asks for archiving; b.mu must be held.
func (b *Broadcaster) wanted(manifestID string) bool {
	if w, ok := b.wants[manifestID]; ok {
		return w
	}
	return b.flags.Archive
}

// stream returns a stream's record, creating it; b.mu must be held.
func (b *Broadcaster) stream(manifestID string) *bstream {
	s := b.streams[manifestID]
	if s == nil {
		s = &bstream{orchs: map[string]bool{}, gaps: map[int64]string{}, sessions: map[string]*bsession{}}
		b.streams[manifestID] = s
	}
	return s
}

// SegmentCaps returns the capabilities a segment carries to the
// orchestrator info describes: with the Archive bit when the stream asks
// for archiving and the orchestrator offers it. Otherwise the segment is
// recorded as a gap and caps are returned unchanged: archiving never keeps
// a stream from going live.
func (b *Broadcaster) SegmentCaps(manifestID string, info *lpnet.OrchestratorInfo, seq int64, caps *lpnet.Capabilities) *lpnet.Capabilities {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.wanted(manifestID) {
		return caps
	}
	s := b.stream(manifestID)
	if !capability.Offers(info.GetCapabilities(), b.id) {
		s.gaps[seq] = ReasonNotOffered
		return caps
	}
	delete(s.gaps, seq)
	s.orchs[info.GetTranscoder()] = true
	return capability.Request(caps, b.id)
}

// Reply reads the archive receipts an orchestrator's reply carries: the
// ones that refuse or fail a segment become its gap, and the session's
// mirror debits the accepted ones.
func (b *Broadcaster) Reply(manifestID, sessionID string, tr *lpnet.TranscodeResult) {
	r, ok, err := archiverpb.GetReceipts(tr)
	if err != nil {
		b.log.Warn("unreadable archive receipts", "manifestID", manifestID, "error", err)
		return
	}
	if !ok {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.streams[manifestID]
	if s == nil {
		return
	}
	for _, rc := range r.GetReceipts() {
		switch rc.GetStatus() {
		case archiverpb.ArchiveReceipt_REFUSED, archiverpb.ArchiveReceipt_FAILED:
			why := rc.GetStatus().String()
			if rc.GetReason() != archiverpb.ArchiveReceipt_REASON_UNSPECIFIED {
				why += " " + rc.GetReason().String()
			}
			s.gaps[rc.GetSeq()] = why + ": " + rc.GetDetail()
		}
	}
	if bs := s.sessions[sessionID]; bs != nil {
		bs.receipts(r)
	}
}

// StreamEnded is the end of a broadcaster's stream: once the orchestrator
// has published the final manifest (or the wait is over) the archive's URL
// is logged. It returns at once.
func (b *Broadcaster) StreamEnded(ctx context.Context, manifestID string) {
	b.mu.Lock()
	s := b.streams[manifestID]
	if s == nil || s.ended {
		if s == nil {
			delete(b.wants, manifestID) // a stream that never archived
		}
		b.mu.Unlock()
		return
	}
	s.ended = true
	b.ended = append(b.ended, manifestID)
	for len(b.ended) > keepEnded {
		delete(b.streams, b.ended[0])
		delete(b.wants, b.ended[0])
		b.ended = b.ended[1:]
	}
	b.mu.Unlock()
	// The orchestrator publishes after its end grace; then its idle
	// timeout is the fallback.
	wait := b.flags.EndGrace + b.flags.IdleTimeout + time.Minute
	go b.logFinal(ctx, manifestID, wait)
}

// logFinal waits for the stream's final manifest and logs where it plays.
func (b *Broadcaster) logFinal(ctx context.Context, manifestID string, wait time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var last *Status
	for {
		st, err := b.Status(ctx, manifestID)
		if err == nil {
			last = st
			// Without orchestrators that took segments there is
			// nothing to wait for; one that does not answer yet may
			// be restarting.
			if st.Final || !b.archivedAnywhere(manifestID) {
				break
			}
		}
		select {
		case <-ctx.Done():
			b.log.Warn("stream archive not final yet", "manifestID", manifestID, "error", ctx.Err())
			if last == nil {
				return
			}
			b.logStatus(last)
			return
		case <-tick.C:
		}
	}
	b.settle(ctx, manifestID)
	if st, err := b.Status(ctx, manifestID); err == nil {
		last = st
	}
	b.logStatus(last)
}

func (b *Broadcaster) logStatus(st *Status) {
	if st.URL == "" {
		b.log.Warn("stream not archived", "manifestID", st.ManifestID, "gaps", len(st.Gaps))
		return
	}
	b.log.Info("stream archived", "manifestID", st.ManifestID, "url", st.URL, "final", st.Final,
		"segments", len(st.Segments), "gaps", len(st.Gaps), "feedUrl", st.FeedURL)
}

// archivedAnywhere reports whether any orchestrator took segments of the
// stream with the Archive bit.
func (b *Broadcaster) archivedAnywhere(manifestID string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.streams[manifestID]
	return s != nil && len(s.orchs) > 0
}

// ErrUnknownStream: the broadcaster never archived a stream by that id.
var ErrUnknownStream = fmt.Errorf("no archive of this stream")

// Status is a stream's archive: the orchestrator's latest manifest and
// segments, with the gaps the broadcaster saw itself.
func (b *Broadcaster) Status(ctx context.Context, manifestID string) (*Status, error) {
	b.mu.Lock()
	s := b.streams[manifestID]
	if s == nil {
		b.mu.Unlock()
		return nil, fmt.Errorf("%w: %q", ErrUnknownStream, manifestID)
	}
	orchs := make([]string, 0, len(s.orchs))
	for o := range s.orchs {
		orchs = append(orchs, o)
	}
	gaps := make([]Gap, 0, len(s.gaps))
	for seq, why := range s.gaps {
		gaps = append(gaps, Gap{Seq: seq, Reason: why})
	}
	accounts := s.accounts()
	b.mu.Unlock()
	slices.Sort(orchs)

	out := &Status{ManifestID: manifestID, Sender: b.env.Address.Hex(), State: "live", Segments: []SegmentStatus{}}
	// A stream moved between orchestrators has an archive at each; the
	// one holding most of it is reported.
	for _, o := range orchs {
		st, err := b.query(ctx, o, manifestID)
		if err != nil {
			b.log.Debug("archive status", "orchestrator", o, "error", err)
			continue
		}
		if js := statusFrom(st, b.flags.Gateway); out.Orchestrator == "" || len(js.Segments) > len(out.Segments) {
			js.Sender, js.Orchestrator = out.Sender, o
			js.Gaps = append(js.Gaps, gaps...)
			out = js
		}
	}
	if out.Orchestrator == "" {
		out.Gaps = gaps
	}
	for i := range accounts {
		accounts[i].Sender = out.Sender
	}
	slices.SortFunc(accounts, func(a, b SessionAccount) int { return cmp.Compare(a.Session, b.Session) })
	out.Sessions = accounts
	slices.SortFunc(out.Gaps, func(a, b Gap) int { return cmp.Compare(a.Seq, b.Seq) })
	return out, nil
}

// query asks an orchestrator for a stream's archive status over its TLS
// gRPC port, which presents a self-signed certificate as go-livepeer's
// does (go-livepeer's broadcaster does not verify it either).
func (b *Broadcaster) query(ctx context.Context, serviceURI, manifestID string) (*archiverpb.ArchiveStatus, error) {
	u, err := url.Parse(serviceURI)
	if err != nil {
		return nil, err
	}
	conn, err := grpc.NewClient(u.Host, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{InsecureSkipVerify: true})))
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	now := time.Now().Unix()
	req := &archiverpb.ArchiveStatusRequest{ManifestId: []byte(manifestID), Sender: b.env.Address.Bytes(), TimestampUnix: now}
	if b.env.Sign != nil {
		if req.Sig, err = b.env.Sign(grpcsvc.StatusMessage(req.ManifestId, now)); err != nil {
			return nil, err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, statusTimeout)
	defer cancel()
	return archiverpb.NewArchiveQueriesClient(conn).GetArchiveStatus(ctx, req)
}

// StatusHandler answers GET /archive/status?manifestID=<id>.
func (b *Broadcaster) StatusHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.URL.Query().Get("manifestID")
		if id == "" {
			writeError(w, http.StatusBadRequest, "manifestID is required")
			return
		}
		st, err := b.Status(r.Context(), id)
		if err != nil {
			writeError(w, http.StatusNotFound, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, st)
	})
}
