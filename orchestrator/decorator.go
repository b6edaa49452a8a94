package orchestrator

import (
	"context"
	"fmt"
	"log/slog"
	"math/big"
	"slices"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	lpnet "github.com/livepeer/go-livepeer/net"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/lpswarm/archiver"
	"github.com/lpswarm/archiver/capability"
	"github.com/lpswarm/archiver/payments"
	"github.com/lpswarm/archiver/proto/archiverpb"
)

// DefaultSessionTTL is how long a session's bookkeeping outlives its last
// use when nobody calls EndSession: go-livepeer's own balance TTL
// (cmd/livepeer/starter cleanupInterval, core.Balances.StartCleanup).
const DefaultSessionTTL = 10 * time.Minute

// Config is the operator's archive offer and limits.
type Config struct {
	// CapabilityID is the Archive bit; it is advertised from this
	// configuration, never from the number of connected workers.
	CapabilityID capability.ID
	// Price returns the current archive price per byte; each session pins
	// the price in force when it started.
	Price            func() *lpnet.PriceInfo
	RetentionSeconds uint64
	RedundancyLevel  uint32
	// MaxSegmentBytes refuses segments (source plus renditions) larger
	// than this.
	MaxSegmentBytes int64
	// Policy restricts which broadcasters may archive.
	Policy *payments.Policy
	// MinDeposit, when positive, refuses archiving (INSUFFICIENT_DEPOSIT)
	// to broadcasters whose TicketBroker deposit, as Deposits reports it,
	// is below it, or not known. Transcoding is not affected.
	MinDeposit *big.Int
	Deposits   DepositReader
	// AcceptWait is how long a reply may wait for the archiver's durable
	// write (index commit, spool file and directory fsyncs). Zero, the
	// default, never waits: acceptance is off the live path, the reply
	// carries the outcome only if it is already decided, PENDING
	// otherwise, and a later reply (or GetArchiveStatus) carries it. A
	// positive wait buys a final receipt in the segment's own reply for
	// milliseconds of every reply (BENCHMARKS.md, live-path latency).
	// Swarm is never waited for.
	AcceptWait time.Duration
	// SessionTTL forgets a session (its sender, pinned price, untaken
	// receipts and fee total) that saw no payment, segment, outcome or
	// reply for this long, as go-livepeer forgets its balance: go-livepeer
	// ends most sessions by its own idle timeout, without telling anyone,
	// so EndSession alone would let every such session leak. A session
	// with an archive outcome still in flight is kept until it arrives.
	// Run checks every SessionTTL/4. Zero means DefaultSessionTTL.
	SessionTTL time.Duration
	Logger     *slog.Logger
}

// Decorator wraps go-livepeer's orchestrator. It implements Orchestrator.
type Decorator struct {
	inner    Orchestrator // nil when built by Attach
	ledger   Ledger
	balances BalanceReader
	sink     archiver.Archiver
	cfg      Config
	prices   *payments.SessionPrices

	// hold is how long each archived segment's reply spent in archive:
	// what archiving adds to the live path.
	hold prometheus.Histogram

	mu       sync.Mutex
	sessions map[archiver.ManifestID]*session
	// outboxes holds each session's outbox (archiver.ManifestID →
	// *outbox) apart from d.mu, which the decisions hold: a reply takes
	// its receipts without waiting for them.
	outboxes sync.Map
}

// session is the decorator's bookkeeping of one go-livepeer session.
type session struct {
	sender   common.Address // payer, from ProcessPayment
	reserved *big.Rat       // fees of jobs not yet decided
	inflight int            // jobs submitted and not yet decided
	out      *outbox        // receipts for the next reply
	charged  *big.Rat       // archive fees debited
	seen     time.Time      // last payment, segment or outcome
	ended    bool           // EndSession came while outcomes were in flight
}

var _ Orchestrator = (*Decorator)(nil)

// New wraps inner. balances reads the session balances the tickets credit
// (go-livepeer's node.Balances).
func New(inner Orchestrator, balances BalanceReader, sink archiver.Archiver, cfg Config) (*Decorator, error) {
	d, err := Attach(inner, balances, sink, cfg)
	if err != nil {
		return nil, err
	}
	d.inner = inner
	return d, nil
}

// Attach builds the decorator's archive side for a host that calls
// go-livepeer's own orchestrator itself, on go-livepeer's types, and asks
// the decorator only what archiving adds: Advertise, Requested and Strip
// around the transcode, Transcoded after it, Paid after ProcessPayment.
// Only the Orchestrator methods of a decorator built by New pass through.
func Attach(ledger Ledger, balances BalanceReader, sink archiver.Archiver, cfg Config) (*Decorator, error) {
	if ledger == nil {
		return nil, fmt.Errorf("orchestrator: no ledger")
	}
	if err := cfg.CapabilityID.Validate(); err != nil {
		return nil, fmt.Errorf("orchestrator: %w", err)
	}
	if cfg.Price == nil {
		return nil, fmt.Errorf("orchestrator: no archive price")
	}
	if _, err := payments.PerByte(cfg.Price()); err != nil {
		return nil, fmt.Errorf("orchestrator: archive price: %w", err)
	}
	if cfg.AcceptWait < 0 {
		cfg.AcceptWait = 0
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = DefaultSessionTTL
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Decorator{
		ledger: ledger, balances: balances, sink: sink, cfg: cfg,
		prices:   &payments.SessionPrices{},
		sessions: make(map[archiver.ManifestID]*session),
		hold: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "archiver_orchestrator_reply_hold_seconds",
			Help: "Time the archive decorator spent deciding a transcoded segment (checks, reservation, submit, AcceptWait). A go-livepeer node decides after the reply unless -archiveAcceptWait is set; Decorator.TranscodeSeg decides before it.",
			// Fine below a millisecond, where the default (no wait) lives.
			Buckets: []float64{10e-6, 25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 250e-3, 1},
		}),
	}, nil
}

// Collector exposes the reply hold histogram, for go-livepeer's
// Prometheus registry.
func (d *Decorator) Collector() prometheus.Collector { return d.hold }

// Run forgets sessions idle for longer than SessionTTL, checking every
// SessionTTL/4, until ctx ends: a session is gone between SessionTTL and
// 1.25 × SessionTTL after its last use. go-livepeer runs the same sweep
// over its balances (core.Balances.StartCleanup).
func (d *Decorator) Run(ctx context.Context) error {
	tick := time.NewTicker(max(d.cfg.SessionTTL/4, time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-tick.C:
			d.Expire(now)
		}
	}
}

// Expire forgets the sessions last used before now - SessionTTL that have
// no outcome in flight. Run calls it every SessionTTL/4; a caller may run
// it at any time, for a time of its choosing.
func (d *Decorator) Expire(now time.Time) {
	type gone struct {
		id     archiver.ManifestID
		sender common.Address
	}
	var forget []gone
	d.mu.Lock()
	for id, s := range d.sessions {
		if s.inflight == 0 && now.Sub(s.seen) > d.cfg.SessionTTL {
			d.drop(id)
			forget = append(forget, gone{id, s.sender})
		}
	}
	d.mu.Unlock()
	for _, g := range forget {
		d.prices.Forget(g.sender, string(g.id))
		d.cfg.Logger.Debug("archive session expired", "session", string(g.id), "sender", g.sender.Hex())
	}
}

// Sessions lists the sessions whose bookkeeping the decorator holds
// (sender, pinned price, untaken receipts, fee total), sorted. It exists
// for metrics and leak checks: once every session has ended or expired it
// is empty, which the churn test (integration/churn_test.go) asserts.
func (d *Decorator) Sessions() []archiver.ManifestID {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]archiver.ManifestID, 0, len(d.sessions))
	for id := range d.sessions {
		out = append(out, id)
	}
	slices.Sort(out)
	return out
}

// session returns a session's bookkeeping, creating it, and marks it used;
// d.mu must be held.
func (d *Decorator) session(id archiver.ManifestID) *session {
	s := d.sessions[id]
	if s == nil {
		s = &session{reserved: new(big.Rat), charged: new(big.Rat), out: &outbox{fee: "0/1"}}
		d.sessions[id] = s
		d.outboxes.Store(id, s.out)
	}
	s.seen, s.ended = time.Now(), false
	return s
}

// drop forgets a session; d.mu must be held.
func (d *Decorator) drop(id archiver.ManifestID) {
	delete(d.sessions, id)
	d.outboxes.Delete(id)
}

// Capabilities advertises the Archive bit on top of go-livepeer's own.
func (d *Decorator) Capabilities() *lpnet.Capabilities {
	return d.Advertise(d.inner.Capabilities())
}

// Advertise adds the Archive bit to go-livepeer's capabilities.
func (d *Decorator) Advertise(caps *lpnet.Capabilities) *lpnet.Capabilities {
	return capability.Advertise(caps, d.cfg.CapabilityID)
}

// Requested reports whether a segment's capabilities ask for archiving.
func (d *Decorator) Requested(caps *lpnet.Capabilities) bool {
	return capability.Requested(caps, d.cfg.CapabilityID)
}

// Strip removes the Archive bit: go-livepeer's remote transcoders refuse
// bits they do not know.
func (d *Decorator) Strip(caps *lpnet.Capabilities) *lpnet.Capabilities {
	return capability.Strip(caps, d.cfg.CapabilityID)
}

// Offer is the archive offer for OrchestratorInfo (see archiverpb.SetOffer):
// the price this sender's session would pin, and what it buys.
func (d *Decorator) Offer(sender common.Address, manifestID archiver.ManifestID) *archiverpb.ArchiveOffer {
	p, ok := d.prices.Pinned(sender, string(manifestID))
	if !ok {
		p = d.cfg.Price()
	}
	return &archiverpb.ArchiveOffer{
		CapabilityId:     uint32(d.cfg.CapabilityID),
		Price:            &archiverpb.Price{PricePerUnit: p.PricePerUnit, BytesPerUnit: p.PixelsPerUnit},
		RetentionSeconds: d.cfg.RetentionSeconds,
		RedundancyLevel:  d.cfg.RedundancyLevel,
		MaxSegmentBytes:  uint64(d.cfg.MaxSegmentBytes),
	}
}

// PriceInfo is go-livepeer's transcode price, unchanged.
func (d *Decorator) PriceInfo(sender common.Address, manifestID archiver.ManifestID) (*lpnet.PriceInfo, error) {
	return d.inner.PriceInfo(sender, manifestID)
}

// ProcessPayment credits the tickets as go-livepeer does and remembers who
// pays for the session: the archive fee is debited from that balance.
func (d *Decorator) ProcessPayment(ctx context.Context, payment *lpnet.Payment, manifestID archiver.ManifestID) error {
	if err := d.inner.ProcessPayment(ctx, payment, manifestID); err != nil {
		return err
	}
	d.Paid(payment, manifestID)
	return nil
}

// Paid remembers who pays for a session, once go-livepeer accepted the
// payment: the archive fee is debited from that balance.
func (d *Decorator) Paid(payment *lpnet.Payment, manifestID archiver.ManifestID) {
	if len(payment.GetSender()) == 0 {
		return
	}
	d.mu.Lock()
	d.session(manifestID).sender = common.BytesToAddress(payment.GetSender())
	d.mu.Unlock()
}

// SufficientBalance is go-livepeer's check, unchanged.
func (d *Decorator) SufficientBalance(addr common.Address, manifestID archiver.ManifestID) bool {
	return d.ledger.SufficientBalance(addr, manifestID)
}

// DebitFees debits the transcode fee, unchanged. Archive fees are debited
// when the archiver accepts a segment, not here.
func (d *Decorator) DebitFees(addr common.Address, manifestID archiver.ManifestID, price *lpnet.PriceInfo, pixels int64) {
	d.ledger.DebitFees(addr, manifestID, price, pixels)
}

// TranscodeSeg transcodes through go-livepeer with the Archive bit
// stripped, then, if the segment asked for archiving, hands the source and
// renditions to the archiver. The result is returned unchanged (its hashes
// are signed); the archive outcome is collected with TakeReceipts.
func (d *Decorator) TranscodeSeg(ctx context.Context, md *SegTranscodingMetadata, seg *HLSSegment) (*TranscodeResult, error) {
	stripped := *md
	stripped.Caps = d.Strip(md.Caps)
	res, err := d.inner.TranscodeSeg(ctx, &stripped, seg)
	if err == nil && res != nil && res.Err == nil {
		d.Transcoded(md, seg, res.TranscodeData)
	}
	return res, err
}

// Transcoded hands a successfully transcoded segment to the archiver if its
// capabilities (md.Caps, before Strip) asked for archiving; the outcome
// rides on a later reply (TakeReceipts). It never waits for Swarm.
func (d *Decorator) Transcoded(md *SegTranscodingMetadata, seg *HLSSegment, td *TranscodeData) {
	if td == nil || !d.Requested(md.Caps) {
		return
	}
	start := time.Now()
	d.archive(md, seg, td)
	d.hold.Observe(time.Since(start).Seconds())
}
