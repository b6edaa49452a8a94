package plugin

import (
	"context"
	"maps"
	"math/big"
	"slices"

	lpnet "github.com/livepeer/go-livepeer/net"

	"github.com/lpswarm/archiver/broadcaster"
	"github.com/lpswarm/archiver/capability"
	"github.com/lpswarm/archiver/proto/archiverpb"
)

// SessionLedger is go-livepeer's balance of a broadcaster's session with
// one orchestrator. The archive fees the broadcaster mirrors are debited
// from it, so that go-livepeer's own ticket sending covers archiving as it
// covers transcoding, on the same tickets.
type SessionLedger interface {
	// Credit adds amount in wei; a negative amount debits.
	Credit(amount *big.Rat)
	// Balance is the session's balance in wei, nil when unknown.
	Balance() *big.Rat
}

// Session is a broadcaster's session with one orchestrator, as
// go-livepeer's broadcaster holds it.
type Session struct {
	ID     string // the orchestrator's session id (its auth token's)
	Info   *lpnet.OrchestratorInfo
	Ledger SessionLedger // nil offchain: no tickets
}

// bsession is the archive side of one session: the mirror of the
// orchestrator's archive debits, computed from the broadcaster's own byte
// counts at the price pinned from the offer.
type bsession struct {
	orchestrator string
	mirror       *broadcaster.Session
	ledger       SessionLedger
	source       map[int64]int                 // source bytes of segments sent, until their renditions are in
	early        []*archiverpb.ArchiveReceipts // receipts that came before the renditions they are due on
	// held is what each segment's archive fee is estimated at, debited
	// from go-livepeer's balance when the segment is sent and given back
	// once its outcome is known (when the mirror debits the exact fee).
	// The orchestrator debits the fee as soon as it accepts the segment,
	// before its reply: without the estimate the broadcaster would learn
	// of the fee a segment late, pay too few tickets for the next one, and
	// go-livepeer would refuse it for insufficient balance.
	held map[int64]*big.Rat
	// ratio is the largest renditions/source byte ratio seen (counted
	// once a segment was): the estimate counts the renditions at 5/4 of
	// it.
	ratio   *big.Rat
	counted bool
}

// initialRatio is the renditions/source ratio estimates assume before a
// segment of the session is counted: generous, since too high an estimate
// only sends a ticket early, and too low one gets a segment refused.
func initialRatio() *big.Rat { return big.NewRat(2, 1) }

// Segment is SegmentCaps for a segment about to be sent on sess: when it
// asks for archiving, its source bytes count towards the fee the
// broadcaster expects (Sending).
func (b *Broadcaster) Segment(manifestID string, sess Session, seq int64, sourceBytes int, caps *lpnet.Capabilities) *lpnet.Capabilities {
	out := b.SegmentCaps(manifestID, sess.Info, seq, caps)
	if capability.Requested(out, b.id) {
		b.Sending(manifestID, sess, seq, sourceBytes)
	}
	return out
}

// Sending records a segment sent with the Archive bit (SegmentCaps asked
// for it): its source bytes count towards the fee the broadcaster expects.
func (b *Broadcaster) Sending(manifestID string, sess Session, seq int64, sourceBytes int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.stream(manifestID)
	bs := s.sessions[sess.ID]
	if bs == nil {
		offer, _, err := archiverpb.GetOffer(sess.Info)
		if err != nil {
			b.log.Warn("unreadable archive offer", "manifestID", manifestID, "error", err)
		}
		m, err := broadcaster.NewSession(offer)
		if err != nil {
			b.log.Warn("unusable archive offer: archive fees are not mirrored", "manifestID", manifestID, "error", err)
			m, _ = broadcaster.NewSession(nil)
		}
		bs = &bsession{orchestrator: sess.Info.GetTranscoder(), mirror: m, ledger: sess.Ledger, source: map[int64]int{},
			held: map[int64]*big.Rat{}, ratio: initialRatio()}
		s.sessions[sess.ID] = bs
	}
	bs.source[seq] = sourceBytes
	bs.hold(seq, sourceBytes)
}

// hold debits a segment's estimated archive fee.
func (bs *bsession) hold(seq int64, sourceBytes int) {
	if bs.ledger == nil || !bs.mirror.Archiving() || bs.held[seq] != nil {
		return
	}
	// source × (1 + 5/4 ratio) bytes at the pinned price
	factor := new(big.Rat).Add(big.NewRat(1, 1), new(big.Rat).Mul(big.NewRat(5, 4), bs.ratio))
	est := new(big.Rat).Mul(bs.mirror.Price(), new(big.Rat).Mul(big.NewRat(int64(sourceBytes), 1), factor))
	if est.Sign() <= 0 {
		return
	}
	bs.held[seq] = est
	bs.ledger.Credit(new(big.Rat).Neg(est))
}

// release gives back the estimates of segments whose outcome is known.
func (bs *bsession) release(seqs ...int64) {
	for _, seq := range seqs {
		if est := bs.held[seq]; est != nil {
			delete(bs.held, seq)
			if bs.ledger != nil {
				bs.ledger.Credit(est)
			}
		}
	}
}

// Downloaded records the renditions the broadcaster downloaded for a
// segment (nil entries: not downloaded). With them the segment's bytes are
// known, and the receipts that arrived before are applied.
func (b *Broadcaster) Downloaded(manifestID, sessionID string, seq int64, renditions [][]byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	bs := b.session(manifestID, sessionID)
	if bs == nil {
		return
	}
	source, ok := bs.source[seq]
	if !ok {
		return
	}
	delete(bs.source, seq)
	sizes := make([]int, 0, len(renditions))
	for _, r := range renditions {
		if r == nil {
			// Not downloaded: the fee cannot be counted here, the
			// orchestrator's session total settles it (and is flagged).
			bs.mirror.Lost(seq)
			bs.flush()
			return
		}
		sizes = append(sizes, len(r))
	}
	bs.mirror.Counted(seq, source, sizes...)
	if source > 0 {
		total := 0
		for _, n := range sizes {
			total += n
		}
		if r := big.NewRat(int64(total), int64(source)); r.Cmp(bs.ratio) > 0 || !bs.counted {
			bs.ratio, bs.counted = r, true
		}
	}
	bs.flush()
}

// flush applies the waiting receipts, in order, up to the first that still
// charges an uncounted segment.
func (bs *bsession) flush() {
	n := 0
	for n < len(bs.early) && !bs.uncounted(bs.early[n]) {
		n++
	}
	bs.apply(bs.early[:n]...)
	bs.early = bs.early[n:]
}

// receipts applies a reply's receipts once every segment they charge has
// its renditions counted; until then they wait, and later replies wait
// behind them, so that the mirror sees the orchestrator's totals in order.
func (bs *bsession) receipts(r *archiverpb.ArchiveReceipts) {
	if len(bs.early) == 0 && !bs.uncounted(r) {
		bs.apply(r)
		return
	}
	bs.early = append(bs.early, r)
}

// uncounted reports whether r accepts a segment sent whose renditions are
// not counted yet.
func (bs *bsession) uncounted(r *archiverpb.ArchiveReceipts) bool {
	for _, rc := range r.GetReceipts() {
		if _, waiting := bs.source[rc.GetSeq()]; waiting && rc.GetStatus() == archiverpb.ArchiveReceipt_ACCEPTED {
			return true
		}
	}
	return false
}

// apply runs receipts through the mirror and debits what it charged from
// go-livepeer's balance of the session.
func (bs *bsession) apply(rs ...*archiverpb.ArchiveReceipts) {
	before := bs.mirror.Charged()
	for _, r := range rs {
		bs.mirror.Reply(r)
	}
	bs.debit(before)
	for _, r := range rs {
		for _, rc := range r.GetReceipts() {
			if rc.GetStatus() != archiverpb.ArchiveReceipt_PENDING {
				bs.release(rc.GetSeq())
			}
		}
	}
}

// debit debits go-livepeer's balance by what the mirror charged since
// before.
func (bs *bsession) debit(before *big.Rat) {
	fee := new(big.Rat).Sub(bs.mirror.Charged(), before)
	if fee.Sign() != 0 && bs.ledger != nil {
		bs.ledger.Credit(fee.Neg(fee))
	}
}

// session returns a stream's session record, nil if unknown; b.mu must be
// held.
func (b *Broadcaster) session(manifestID, sessionID string) *bsession {
	s := b.streams[manifestID]
	if s == nil {
		return nil
	}
	return s.sessions[sessionID]
}

// settle applies the orchestrators' archive status to the segments whose
// outcome no reply carried (the last ones of a stream: their replies said
// PENDING), debiting their fees.
func (b *Broadcaster) settle(ctx context.Context, manifestID string) {
	b.mu.Lock()
	s := b.streams[manifestID]
	if s == nil {
		b.mu.Unlock()
		return
	}
	type pending struct {
		bs  *bsession
		uri string
	}
	var todo []pending
	for _, bs := range s.sessions {
		bs.apply(bs.early...)
		bs.early = nil
		if len(bs.mirror.Status().Pending) > 0 {
			todo = append(todo, pending{bs, bs.orchestrator})
		}
	}
	b.mu.Unlock()
	for _, p := range todo {
		st, err := b.query(ctx, p.uri, manifestID)
		if err != nil {
			b.log.Warn("archive fees of the last segments not settled", "manifestID", manifestID, "orchestrator", p.uri, "error", err)
			continue
		}
		b.mu.Lock()
		before := p.bs.mirror.Charged()
		p.bs.mirror.Settle(st)
		p.bs.debit(before)
		b.mu.Unlock()
	}
	// Whatever has no outcome now never reached the orchestrator's
	// archive (its segment was refused before transcoding, or failed):
	// its estimate is given back.
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, bs := range s.sessions {
		bs.release(slices.Collect(maps.Keys(bs.held))...)
	}
}

// SessionAccount is one session's payment for archiving, as
// /archive/status reports it.
type SessionAccount struct {
	Session      string `json:"session"`
	Orchestrator string `json:"orchestrator,omitempty"`
	Sender       string `json:"sender,omitempty"`
	// BalanceWei is go-livepeer's balance of the session: the tickets'
	// expected value less transcoding and archive fees.
	BalanceWei string `json:"balanceWei,omitempty"`
	// ArchiveFeesWei is what archiving cost so far; ArchiveBytes the bytes
	// charged (on an orchestrator).
	ArchiveFeesWei string `json:"archiveFeesWei"`
	ArchiveBytes   uint64 `json:"archiveBytes,omitempty"`
	// Disagreements counts the broadcaster's differences with the
	// orchestrator's charges (each adopted and logged).
	Disagreements int `json:"disagreements,omitempty"`
}

// accounts are the stream's sessions' accounts; b.mu must be held.
func (s *bstream) accounts() []SessionAccount {
	out := make([]SessionAccount, 0, len(s.sessions))
	for id, bs := range s.sessions {
		a := SessionAccount{Session: id, Orchestrator: bs.orchestrator, ArchiveFeesWei: bs.mirror.Charged().RatString(),
			Disagreements: len(bs.mirror.Status().Disagreements)}
		if bs.ledger != nil {
			if bal := bs.ledger.Balance(); bal != nil {
				a.BalanceWei = bal.RatString()
			}
		}
		out = append(out, a)
	}
	return out
}
