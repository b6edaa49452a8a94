package broadcaster

import (
	"errors"
	"fmt"
	"maps"
	"math/big"
	"regexp"
	"slices"
	"sync"

	"github.com/lpswarm/archiver/proto/archiverpb"
)

// ErrBadOffer: an offer whose price cannot be used.
var ErrBadOffer = errors.New("unusable archive offer")

// weiPattern is a fee as the orchestrator writes it (big.Rat's String,
// "a/b"), each part at most 78 digits (2^256). big.Rat.SetString alone also
// takes exponents: a total of "1e-999999" is a million-digit denominator,
// and every later fee of the session would cost seconds of arithmetic.
var weiPattern = regexp.MustCompile(`^-?[0-9]{1,78}(/[0-9]{1,78})?$`)

// parseWei reads a fee in wei from a receipt.
func parseWei(s string) (*big.Rat, bool) {
	if !weiPattern.MatchString(s) {
		return nil, false
	}
	return new(big.Rat).SetString(s)
}

// Disagreement is a difference between the orchestrator's archive charge
// and the broadcaster's own count.
type Disagreement struct {
	// Seqs are the segments it is attributed to: the one whose receipt
	// disagrees, or the segments whose replies were lost.
	Seqs []int64
	// Ours and Theirs are the fees in wei for those segments.
	Ours, Theirs *big.Rat
	Detail       string
}

// Gap is a segment of the stream that is not archived, and why.
type Gap struct {
	Seq    int64
	Reason string
}

// counted is what the broadcaster handled of one segment: the bytes the
// fee is due on and the number of files (source and renditions).
type counted struct {
	bytes int64
	files int
}

// Session mirrors the archive side of one broadcast session with one
// orchestrator. It is safe for concurrent use.
type Session struct {
	mu         sync.Mutex
	weiPerByte *big.Rat          // pinned from the offer at session start
	balance    *big.Rat          // tickets' EV minus archive fees, as the orchestrator should see it
	charged    *big.Rat          // archive fees mirrored so far
	sent       map[int64]counted // segments awaiting their receipt
	lost       []int64           // segments whose reply never came, since the last agreement
	archived   []int64
	gaps       []Gap
	flags      []Disagreement
}

// NewSession starts a session at the offer's price. A nil offer (the
// orchestrator offers no archiving) gives a session that records every
// segment as a gap.
func NewSession(offer *archiverpb.ArchiveOffer) (*Session, error) {
	s := &Session{balance: new(big.Rat), charged: new(big.Rat), sent: map[int64]counted{}}
	if offer == nil {
		return s, nil
	}
	p := offer.GetPrice()
	if p.GetBytesPerUnit() <= 0 || p.GetPricePerUnit() < 0 {
		return nil, fmt.Errorf("broadcaster: %w: price %d per %d bytes", ErrBadOffer, p.GetPricePerUnit(), p.GetBytesPerUnit())
	}
	s.weiPerByte = big.NewRat(p.GetPricePerUnit(), p.GetBytesPerUnit())
	return s, nil
}

// Archiving reports whether segments of this session ask for archiving.
func (s *Session) Archiving() bool { return s.weiPerByte != nil }

// Credit adds the expected value of tickets sent to the orchestrator.
func (s *Session) Credit(ev *big.Rat) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.balance.Add(s.balance, ev)
}

// Counted records the bytes of a segment the broadcaster handled: the
// source it sent and every rendition it downloaded.
func (s *Session) Counted(seq int64, source int, renditions ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.Archiving() {
		s.gaps = append(s.gaps, Gap{Seq: seq, Reason: "no orchestrator offers archiving"})
		return
	}
	n := int64(source)
	for _, r := range renditions {
		n += int64(r)
	}
	s.sent[seq] = counted{bytes: n, files: 1 + len(renditions)}
}

// Lost records that the reply to seq never arrived: its receipt, and the
// renditions the fee would be counted on, are unknown.
func (s *Session) Lost(seq int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.sent, seq)
	s.lost = append(s.lost, seq)
}

// Reply applies the receipts of one reply: accepted segments are debited
// at the pinned price on the broadcaster's own byte count; a receipt whose
// count or fee differs is flagged; and when the orchestrator's session
// total differs from the mirror (a lost reply), the difference is flagged
// against the lost segments and adopted, so the balances agree again.
func (s *Session) Reply(r *archiverpb.ArchiveReceipts) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rc := range r.GetReceipts() {
		s.apply(rc)
	}
	theirs, ok := parseWei(r.GetSessionFeeWei())
	if !ok || theirs.Cmp(s.charged) == 0 {
		if ok {
			s.lost = nil
		}
		return
	}
	diff := new(big.Rat).Sub(theirs, s.charged)
	s.flags = append(s.flags, Disagreement{Seqs: s.lost, Ours: new(big.Rat), Theirs: diff,
		Detail: "orchestrator's session total differs; adopted"})
	s.lost = nil
	s.debit(diff)
}

func (s *Session) apply(rc *archiverpb.ArchiveReceipt) {
	switch rc.GetStatus() {
	case archiverpb.ArchiveReceipt_PENDING:
		return // the outcome comes with a later reply
	case archiverpb.ArchiveReceipt_ACCEPTED:
	default:
		delete(s.sent, rc.GetSeq())
		s.gaps = append(s.gaps, Gap{Seq: rc.GetSeq(), Reason: rc.GetStatus().String() + " " + rc.GetReason().String()})
		return
	}
	c, known := s.sent[rc.GetSeq()]
	delete(s.sent, rc.GetSeq())
	if !known {
		return // the reply that carried its bytes was lost; the session total settles it
	}
	n := c.bytes
	ours := new(big.Rat).Mul(s.weiPerByte, new(big.Rat).SetInt64(n))
	theirs, ok := parseWei(rc.GetFeeWei())
	if !ok || theirs.Cmp(ours) != 0 || rc.GetBytesCharged() != uint64(n) {
		s.flags = append(s.flags, Disagreement{Seqs: []int64{rc.GetSeq()}, Ours: ours, Theirs: theirs,
			Detail: fmt.Sprintf("charged on %d bytes, we count %d", rc.GetBytesCharged(), n)})
	}
	s.archived = append(s.archived, rc.GetSeq())
	s.debit(ours)
}

// Settle applies the orchestrator's archive status (GetArchiveStatus) to
// the segments whose outcome no reply carried: by default the reply to a
// segment does not wait for its acceptance, so the last segments of a
// stream say PENDING and no later reply brings their outcome. A segment
// whose every file the status lists as archived was accepted, and is
// debited as an ACCEPTED receipt would be, at the pinned price on the
// broadcaster's own byte count; a byte count that differs from the
// status's is flagged. Segments not yet archived stay pending; call Settle
// again later.
func (s *Session) Settle(st *archiverpb.ArchiveStatus) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.Archiving() {
		return
	}
	type files struct {
		archived int
		bytes    uint64
	}
	bySeq := map[int64]*files{}
	for _, f := range st.GetSegments() {
		if _, waiting := s.sent[f.GetSeq()]; !waiting || f.GetState() != "archived" {
			continue
		}
		if bySeq[f.GetSeq()] == nil {
			bySeq[f.GetSeq()] = &files{}
		}
		bySeq[f.GetSeq()].archived++
		bySeq[f.GetSeq()].bytes += f.GetBytes()
	}
	for _, seq := range slices.Sorted(maps.Keys(bySeq)) {
		c, got := s.sent[seq], bySeq[seq]
		if got.archived < c.files {
			continue
		}
		delete(s.sent, seq)
		ours := new(big.Rat).Mul(s.weiPerByte, new(big.Rat).SetInt64(c.bytes))
		if got.bytes != uint64(c.bytes) {
			s.flags = append(s.flags, Disagreement{Seqs: []int64{seq}, Ours: ours,
				Theirs: new(big.Rat).Mul(s.weiPerByte, new(big.Rat).SetUint64(got.bytes)),
				Detail: fmt.Sprintf("archive status has %d bytes, we count %d", got.bytes, c.bytes)})
		}
		s.archived = append(s.archived, seq)
		s.debit(ours)
	}
}

func (s *Session) debit(fee *big.Rat) {
	s.charged.Add(s.charged, fee)
	s.balance.Sub(s.balance, fee)
}

// Balance is the mirrored balance: what the orchestrator should hold for
// this session (tickets' EV minus archive fees).
func (s *Session) Balance() *big.Rat {
	s.mu.Lock()
	defer s.mu.Unlock()
	return new(big.Rat).Set(s.balance)
}

// Price is the pinned archive price in wei per byte (0 without an offer).
func (s *Session) Price() *big.Rat {
	if s.weiPerByte == nil {
		return new(big.Rat)
	}
	return new(big.Rat).Set(s.weiPerByte)
}

// Charged is the archive fees mirrored so far, in wei.
func (s *Session) Charged() *big.Rat {
	s.mu.Lock()
	defer s.mu.Unlock()
	return new(big.Rat).Set(s.charged)
}

// Status is the session's archive status.
type Status struct {
	Archived []int64
	Gaps     []Gap
	// Pending are segments counted whose outcome no reply has carried
	// yet (see Settle).
	Pending       []int64
	Disagreements []Disagreement
}

// Status returns what was archived, what was not, and every disagreement.
func (s *Session) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Status{
		Archived:      append([]int64(nil), s.archived...),
		Gaps:          append([]Gap(nil), s.gaps...),
		Pending:       slices.Sorted(maps.Keys(s.sent)),
		Disagreements: append([]Disagreement(nil), s.flags...),
	}
}
