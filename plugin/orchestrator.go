package plugin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	lpnet "github.com/livepeer/go-livepeer/net"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"

	"github.com/lpswarm/archiver"
	"github.com/lpswarm/archiver/feed"
	"github.com/lpswarm/archiver/internal/catalog"
	"github.com/lpswarm/archiver/internal/host"
	"github.com/lpswarm/archiver/orchestrator"
	"github.com/lpswarm/archiver/proto/archiverpb"
)

// OrchestratorEnv is what the go-livepeer node tells the archiver about
// itself.
type OrchestratorEnv struct {
	// DataDir is go-livepeer's data directory; the archiver keeps its
	// spool and index in DataDir/archiver.
	DataDir string
	// Offchain nodes have no tickets: the archive price must be 0.
	Offchain bool
	// Balances is go-livepeer's node.Balances (nil offchain).
	Balances orchestrator.BalanceReader
	// Account is the node's Ethereum account (nil offchain): it signs
	// every stream's feed, so that one key receives the tickets, owns the
	// postage batch and owns the feeds.
	Account feed.Signer
	// Deposit reads a broadcaster's TicketBroker deposit from the chain
	// (nil offchain); -archiveMinDeposit needs it.
	Deposit func(ctx context.Context, addr common.Address) (*big.Int, error)
	Logger  *slog.Logger
}

// Orchestrator is the archiver inside a go-livepeer orchestrator: one value
// that owns the orchestrator side (host) and the decorator, their
// lifecycles and the end of sessions. A go-livepeer build converts its
// types and calls these methods; it holds no archiver state of its own.
//
//	o, err := OpenOrchestrator(flags, env) // opens -dataDir/archiver
//	o.Attach(ledger)                        // once go-livepeer's orchestrator exists
//	o.Start(ctx)
//	...
//	o.Close()
type Orchestrator struct {
	flags    Flags
	cfg      orchestrator.Config
	balances orchestrator.BalanceReader
	host     *host.Host
	dec      *orchestrator.Decorator // set by Attach
	log      *slog.Logger

	mu       sync.Mutex
	sessions map[string]*liveSession // by go-livepeer session id
	now      func() time.Time        // the sessions' clock; tests set their own before Start
	accounts feeBook
	deposits *deposits // nil without -archiveMinDeposit
	handover *handover

	cancel context.CancelFunc
	done   chan struct{}
}

// liveSession is what ending a go-livepeer session needs: which stream it
// archives, and whether segments are still on their way.
type liveSession struct {
	manifestID string
	sender     common.Address
	archiving  bool      // a segment asked for archiving
	inflight   int       // segments between Begin and Transcoded
	seen       time.Time // last payment or segment
	ending     time.Time // zero until EndSession
}

// OpenOrchestrator checks the flags and opens the archiver's data
// directory. Worker registration and status queries work from here on;
// segments need Attach.
func OpenOrchestrator(f *Flags, env OrchestratorEnv) (*Orchestrator, error) {
	if env.Logger == nil {
		env.Logger = slog.New(slog.DiscardHandler)
	}
	hc, oc, err := f.orchestratorConfig(env.DataDir, env.Offchain)
	if err != nil {
		return nil, err
	}
	o := &Orchestrator{flags: *f, cfg: oc, balances: env.Balances, log: env.Logger, sessions: map[string]*liveSession{},
		now: time.Now, handover: newHandover(handoverTick)}
	if oc.MinDeposit != nil {
		if env.Deposit == nil {
			return nil, errors.New("-archiveMinDeposit needs the node's view of the chain")
		}
		o.deposits = newDeposits(env.Deposit)
		oc.Deposits = o.deposits
	}
	oc.Logger = env.Logger.With("component", "decorator")
	o.cfg = oc
	hc.Logger = env.Logger
	hc.Offer = o.defaultOffer
	if env.Account != nil {
		hc.FeedSigner = env.Account
	}
	if o.host, err = host.Open(hc); err != nil {
		return nil, err
	}
	if env.Offchain {
		env.Logger.Info("archiving offchain: free, no tickets", "archivePricePerUnit", f.PricePerUnit)
	}
	return o, nil
}

// Attach builds the decorator over go-livepeer's ledger (its orchestrator's
// SufficientBalance and DebitFees). It must run before the first segment.
func (o *Orchestrator) Attach(ledger orchestrator.Ledger) error {
	if ledger == nil {
		return errors.New("plugin: no ledger")
	}
	dec, err := orchestrator.Attach(feeLedger{ledger, o}, o.balances, o.host.Archiver(), o.cfg)
	if err != nil {
		return err
	}
	o.dec = dec
	return nil
}

// defaultOffer is the offer of a session that pinned no price yet.
func (o *Orchestrator) defaultOffer() *archiverpb.ArchiveOffer {
	p := o.cfg.Price()
	return &archiverpb.ArchiveOffer{
		CapabilityId:     uint32(o.cfg.CapabilityID),
		Price:            &archiverpb.Price{PricePerUnit: p.PricePerUnit, BytesPerUnit: p.PixelsPerUnit},
		RetentionSeconds: o.cfg.RetentionSeconds,
		RedundancyLevel:  o.cfg.RedundancyLevel,
		MaxSegmentBytes:  uint64(o.cfg.MaxSegmentBytes),
	}
}

// Start runs dispatching, publishing, and the expiry of sessions, until
// Close.
func (o *Orchestrator) Start(ctx context.Context) error {
	if o.dec == nil {
		return errors.New("plugin: Start before Attach")
	}
	if err := o.host.Start(ctx); err != nil {
		return err
	}
	ctx, o.cancel = context.WithCancel(ctx)
	o.done = make(chan struct{})
	o.handover.start()
	go func() {
		defer close(o.done)
		var wg sync.WaitGroup
		wg.Go(func() { _ = o.dec.Run(ctx) })
		wg.Go(func() { o.endSessions(ctx) })
		wg.Go(func() { o.handover.run(ctx, func(t transcoded) { o.transcoded(t.md, t.seg, t.td) }) })
		wg.Wait()
	}()
	return nil
}

// Close stops everything; accepted segments stay in the spool for the
// next start.
func (o *Orchestrator) Close() error {
	if o.cancel != nil {
		o.cancel()
		<-o.done
	}
	return o.host.Close()
}

// Register adds the workers' service and the broadcasters' queries to
// go-livepeer's gRPC server (its TLS service port).
func (o *Orchestrator) Register(s *grpc.Server) { o.host.Register(s) }

// Collectors are the archiver's metrics, for go-livepeer's Prometheus
// registry.
func (o *Orchestrator) Collectors() []prometheus.Collector {
	cs := []prometheus.Collector{o.host.Collector()}
	if o.dec != nil {
		cs = append(cs, o.dec.Collector())
	}
	return cs
}

// Capabilities adds the Archive bit to go-livepeer's capabilities.
func (o *Orchestrator) Capabilities(caps *lpnet.Capabilities) *lpnet.Capabilities {
	return o.dec.Advertise(caps)
}

// Strip removes the Archive bit before go-livepeer's transcoders see it.
func (o *Orchestrator) Strip(caps *lpnet.Capabilities) *lpnet.Capabilities { return o.dec.Strip(caps) }

// Paid follows go-livepeer's accepted ProcessPayment: the session's payer
// is who the archive fee is debited from.
func (o *Orchestrator) Paid(payment *lpnet.Payment, session string) {
	o.dec.Paid(payment, archiver.ManifestID(session))
	if len(payment.GetSender()) == 0 {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	s := o.session(session)
	s.sender = common.BytesToAddress(payment.GetSender())
}

// session returns a session's record, creating it, and marks it used;
// o.mu must be held.
func (o *Orchestrator) session(id string) *liveSession {
	s := o.sessions[id]
	if s == nil {
		s = &liveSession{}
		o.sessions[id] = s
	}
	s.seen = o.now()
	return s
}

// Begin is called before go-livepeer transcodes a segment. It reports
// whether the segment asks for archiving; if so the segment counts as on
// its way until Transcoded, so that the session's end waits for it.
func (o *Orchestrator) Begin(md *orchestrator.SegTranscodingMetadata) bool {
	if !o.dec.Requested(md.Caps) {
		return false
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	s := o.session(string(md.Session()))
	s.manifestID, s.archiving = string(md.ManifestID), true
	s.inflight++
	o.accounts.open(string(md.Session()), s.manifestID)
	o.handover.begin()
	return true
}

// Transcoded hands a segment Begin accepted to the archiver, after
// go-livepeer transcoded it (td nil when transcoding failed). It returns at
// once: the reply never waits for Swarm, nor for the archiver's checks,
// which run on the handover's goroutine; the segment's receipt rides on
// the session's next reply. With -archiveAcceptWait the operator chose to
// have the reply wait for the outcome, and the checks run here.
func (o *Orchestrator) Transcoded(md *orchestrator.SegTranscodingMetadata, seg *orchestrator.HLSSegment, td *orchestrator.TranscodeData) {
	if !o.dec.Requested(md.Caps) {
		return // Begin turned it away: nothing to archive, nothing counted
	}
	if td != nil && o.cfg.AcceptWait == 0 && o.handover.put(transcoded{md, seg, td}) {
		return
	}
	o.handover.done()
	o.transcoded(md, seg, td)
}

// transcoded decides a transcoded segment and counts it off its session.
func (o *Orchestrator) transcoded(md *orchestrator.SegTranscodingMetadata, seg *orchestrator.HLSSegment, td *orchestrator.TranscodeData) {
	if td != nil {
		o.dec.Transcoded(md, seg, td)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if s := o.sessions[string(md.Session())]; s != nil && s.inflight > 0 {
		s.inflight--
		s.seen = o.now()
	}
}

// AmendInfo attaches the archive offer to an OrchestratorInfo.
func (o *Orchestrator) AmendInfo(info *lpnet.OrchestratorInfo, sender common.Address, session string) {
	if o.deposits != nil && sender != (common.Address{}) {
		// A session's first info comes before its first segment: the
		// deposit is known when the segment is decided.
		o.deposits.refresh(context.Background(), sender)
	}
	if err := archiverpb.SetOffer(info, o.dec.Offer(sender, archiver.ManifestID(session))); err != nil {
		o.log.Error("attaching the archive offer", "error", err)
	}
}

// AmendReply attaches the session's archive receipts to a segment's reply.
func (o *Orchestrator) AmendReply(tr *lpnet.TranscodeResult, session string) {
	wire, fresh := o.dec.TakeReceiptsWire(archiver.ManifestID(session))
	if !fresh {
		return // nothing new: stock broadcasters' replies stay as go-livepeer made them
	}
	if err := archiverpb.SetReceiptsWire(tr, wire); err != nil {
		o.log.Error("attaching archive receipts", "error", err)
	}
}

// EndSession is go-livepeer's end of a transcoding session: the stream's
// final manifest is published once its last segments, which may still be
// on their way, are in (-archiveEndGrace). A session that never archived
// costs nothing.
func (o *Orchestrator) EndSession(session string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if s := o.sessions[session]; s != nil && s.ending.IsZero() {
		s.ending = o.now()
	}
}

// endSessions finishes ended sessions once their grace is over, and
// forgets sessions go-livepeer dropped without telling (the stream's idle
// timeout ends those streams).
func (o *Orchestrator) endSessions(ctx context.Context) {
	tick := time.NewTicker(min(max(o.flags.EndGrace/4, 50*time.Millisecond), time.Second))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			o.endDue(o.now())
		}
	}
}

// endDue ends the sessions whose end is due at now.
func (o *Orchestrator) endDue(now time.Time) {
	for _, e := range o.due(now) {
		o.dec.EndSession(e.sender, archiver.ManifestID(e.session))
		if e.archiving {
			o.host.EndStream(catalog.StreamID{ManifestID: e.manifestID, Sender: e.sender})
			o.log.Info("archive stream ended", "manifestID", e.manifestID, "sender", e.sender.Hex())
		}
	}
}

type ended struct {
	session string
	liveSession
}

// due removes and returns the sessions whose end is due.
func (o *Orchestrator) due(now time.Time) []ended {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []ended
	for id, s := range o.sessions {
		quiet := now.Sub(s.seen)
		switch {
		case !s.ending.IsZero() && s.inflight == 0 && quiet >= o.flags.EndGrace && now.Sub(s.ending) >= o.flags.EndGrace:
			out = append(out, ended{id, *s})
			delete(o.sessions, id)
		case s.ending.IsZero() && s.inflight == 0 && quiet > orchestrator.DefaultSessionTTL:
			delete(o.sessions, id) // the decorator and the stream expire by themselves
		}
	}
	return out
}

// StatusHandler answers GET /archive/status?manifestID=<id>[&sender=<0x…>]
// from the index: the stream's latest manifest, its URL on -archiveGateway,
// the segments archived and the gaps.
func (o *Orchestrator) StatusHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.URL.Query().Get("manifestID")
		if id == "" {
			writeError(w, http.StatusBadRequest, "manifestID is required")
			return
		}
		senders, err := o.host.Queries().Senders(id)
		if err != nil {
			writeError(w, http.StatusInternalServerError, err.Error())
			return
		}
		if s := r.URL.Query().Get("sender"); s != "" {
			if !common.IsHexAddress(s) {
				writeError(w, http.StatusBadRequest, fmt.Sprintf("sender %q is not an address", s))
				return
			}
			want := common.HexToAddress(s)
			senders = filterAddr(senders, want)
		}
		switch len(senders) {
		case 0:
			writeError(w, http.StatusNotFound, fmt.Sprintf("no archive of stream %q", id))
			return
		case 1:
		default:
			writeJSON(w, http.StatusConflict, map[string]any{"error": "several broadcasters archive this manifest id: add sender", "senders": senders})
			return
		}
		st, err := o.host.Queries().Status(catalog.StreamID{ManifestID: id, Sender: senders[0]})
		if errors.Is(err, catalog.ErrUnknownStream) {
			writeError(w, http.StatusNotFound, fmt.Sprintf("no archive of stream %q", id))
			return
		}
		if err != nil {
			writeError(w, http.StatusInternalServerError, err.Error())
			return
		}
		out := statusFrom(st, o.flags.Gateway)
		out.Sender = senders[0].Hex()
		out.Sessions = o.sessionAccounts(id, senders[0])
		writeJSON(w, http.StatusOK, out)
	})
}

func filterAddr(in []common.Address, want common.Address) []common.Address {
	for _, a := range in {
		if a == want {
			return []common.Address{a}
		}
	}
	return nil
}
