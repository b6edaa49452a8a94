package orchestrator

import (
	"errors"
	"fmt"
	"math/big"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	lpnet "github.com/livepeer/go-livepeer/net"
	"google.golang.org/protobuf/proto"

	"github.com/lpswarm/archiver"
	"github.com/lpswarm/archiver/payments"
	"github.com/lpswarm/archiver/proto/archiverpb"
)

// archive decides one segment. Refusals are decided here, synchronously
// and without I/O; acceptance is the archiver's durable write, awaited at
// most AcceptWait (by default not at all). The fee is debited on acceptance, for the bytes
// accepted, from the session's balance.
func (d *Decorator) archive(md *SegTranscodingMetadata, seg *HLSSegment, td *TranscodeData) {
	session := md.Session()
	job := d.job(md, seg, td)
	price := d.prices.Pin(job.Sender, string(session), d.cfg.Price())
	r := &archiverpb.ArchiveReceipt{
		ManifestId:  []byte(md.ManifestID),
		Seq:         md.Seq,
		SourceBytes: uint64(len(job.Source)),
		Price:       &archiverpb.Price{PricePerUnit: price.PricePerUnit, BytesPerUnit: price.PixelsPerUnit},
	}
	for _, rd := range job.Renditions {
		r.Renditions = append(r.Renditions, &archiverpb.RenditionBytes{Name: rd.Name, Bytes: uint64(len(rd.Data))})
	}
	bytes := job.Bytes()
	fee, err := payments.Fee(price, bytes)
	var denied, badName, lowDeposit error
	if d.cfg.Policy != nil {
		denied = d.cfg.Policy.Check(job.Sender)
	}
	if d.cfg.MinDeposit != nil && d.cfg.MinDeposit.Sign() > 0 {
		lowDeposit = d.checkDeposit(job.Sender)
	}
	if c, ok := d.sink.(archiver.Checker); ok {
		badName = c.Check(job)
	}
	switch {
	case err != nil:
		d.refuse(session, r, archiverpb.ArchiveReceipt_NOT_OFFERED, err.Error())
		return
	case denied != nil:
		d.refuse(session, r, archiverpb.ArchiveReceipt_NOT_ALLOWED, denied.Error())
		return
	case badName != nil:
		d.refuse(session, r, archiverpb.ArchiveReceipt_INVALID_NAME, badName.Error())
		return
	case lowDeposit != nil:
		d.refuse(session, r, archiverpb.ArchiveReceipt_INSUFFICIENT_DEPOSIT, lowDeposit.Error())
		return
	case d.cfg.MaxSegmentBytes > 0 && bytes > d.cfg.MaxSegmentBytes:
		d.refuse(session, r, archiverpb.ArchiveReceipt_TOO_LARGE, "segment larger than the offer's limit")
		return
	case !d.reserve(job.Sender, session, fee):
		d.refuse(session, r, archiverpb.ArchiveReceipt_INSUFFICIENT_BALANCE, "balance does not cover the archive fee")
		return
	}
	r.BytesCharged = uint64(bytes)
	outcome := d.sink.Submit(job)
	select {
	case o := <-outcome: // decided already: a refusal, or a wait-free archiver
		d.decide(session, r, job.Sender, price, fee, o)
		return
	default:
	}
	if d.cfg.AcceptWait > 0 {
		timer := time.NewTimer(d.cfg.AcceptWait)
		defer timer.Stop()
		select {
		case o := <-outcome:
			d.decide(session, r, job.Sender, price, fee, o)
			return
		case <-timer.C:
		}
	}
	late := proto.Clone(r).(*archiverpb.ArchiveReceipt)
	r.Status = archiverpb.ArchiveReceipt_PENDING
	d.deliver(session, r)
	go func() { d.decide(session, late, job.Sender, price, fee, <-outcome) }()
}

// ErrLowDeposit: the broadcaster's deposit is below Config.MinDeposit.
var ErrLowDeposit = errors.New("deposit below the orchestrator's minimum for archiving")

// checkDeposit holds the sender's deposit against Config.MinDeposit.
func (d *Decorator) checkDeposit(sender common.Address) error {
	var dep *big.Int
	ok := false
	if d.cfg.Deposits != nil {
		dep, ok = d.cfg.Deposits.Deposit(sender)
	}
	switch {
	case !ok:
		return fmt.Errorf("%w: %s wei; the deposit of %s is not known", ErrLowDeposit, d.cfg.MinDeposit, sender.Hex())
	case dep.Cmp(d.cfg.MinDeposit) < 0:
		return fmt.Errorf("%w: %s has %s wei, the minimum is %s wei", ErrLowDeposit, sender.Hex(), dep, d.cfg.MinDeposit)
	}
	return nil
}

// job collects the source and the renditions, named by profile.
func (d *Decorator) job(md *SegTranscodingMetadata, seg *HLSSegment, td *TranscodeData) archiver.Job {
	d.mu.Lock()
	sender := d.session(md.Session()).sender
	d.mu.Unlock()
	job := archiver.Job{Sender: sender, ManifestID: md.ManifestID, Seq: md.Seq, Duration: md.Duration, Source: seg.Data}
	for i, s := range td.Segments {
		name := ""
		if i < len(md.Profiles) {
			name = md.Profiles[i]
		}
		job.Renditions = append(job.Renditions, archiver.Rendition{Name: name, Data: s.Data})
	}
	return job
}

// reserve holds the fee against the balance until the archiver decides,
// so concurrent segments cannot spend the same credit twice.
func (d *Decorator) reserve(sender common.Address, id archiver.ManifestID, fee *big.Rat) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.session(id)
	if fee.Sign() == 0 {
		// free archiving needs no credit
	} else if d.balances != nil {
		bal := d.balances.Balance(sender, id)
		if bal == nil || new(big.Rat).Sub(bal, s.reserved).Cmp(fee) < 0 {
			return false
		}
	} else if !d.ledger.SufficientBalance(sender, id) {
		return false
	}
	s.reserved.Add(s.reserved, fee)
	s.inflight++
	return true
}

// decide records the archiver's outcome: debit on acceptance, release the
// reservation either way. The receipt waits for the session's next reply,
// unless the session ended meanwhile; the last outcome of an ended session
// forgets it.
func (d *Decorator) decide(id archiver.ManifestID, r *archiverpb.ArchiveReceipt, sender common.Address, price *lpnet.PriceInfo, fee *big.Rat, o archiver.Outcome) {
	switch {
	case o.Err == nil:
		d.ledger.DebitFees(sender, id, price, int64(r.BytesCharged))
		r.Status, r.FeeWei = archiverpb.ArchiveReceipt_ACCEPTED, fee.String()
	case errors.Is(o.Err, archiver.ErrSpoolFull):
		r.Status, r.Reason, r.Detail, r.BytesCharged = archiverpb.ArchiveReceipt_REFUSED, archiverpb.ArchiveReceipt_SPOOL_FULL, o.Err.Error(), 0
	default:
		r.Status, r.Detail, r.BytesCharged = archiverpb.ArchiveReceipt_FAILED, o.Err.Error(), 0
	}
	wire := d.marshal(r)
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.sessions[id]
	if s == nil {
		return // cannot happen: an outcome in flight keeps its session
	}
	s.reserved.Sub(s.reserved, fee)
	s.inflight--
	s.seen = time.Now()
	total := ""
	if r.Status == archiverpb.ArchiveReceipt_ACCEPTED {
		s.charged.Add(s.charged, fee)
		total = s.charged.String()
	}
	switch {
	case !s.ended:
		s.out.post(wire, total)
	case s.inflight == 0:
		d.drop(id)
	}
}

func (d *Decorator) refuse(session archiver.ManifestID, r *archiverpb.ArchiveReceipt, reason archiverpb.ArchiveReceipt_Reason, detail string) {
	r.Status, r.Reason, r.Detail = archiverpb.ArchiveReceipt_REFUSED, reason, detail
	d.deliver(session, r)
}

// deliver queues a receipt for the next reply of the session.
func (d *Decorator) deliver(id archiver.ManifestID, r *archiverpb.ArchiveReceipt) {
	wire := d.marshal(r)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.session(id).out.post(wire, "")
}

// marshal is a receipt's wire form for an outbox; a receipt that cannot
// be marshaled (it cannot happen: its fields are plain) is logged and
// dropped, and the session's fee total still tells the broadcaster.
func (d *Decorator) marshal(r *archiverpb.ArchiveReceipt) []byte {
	wire, err := archiverpb.AppendReceipt(nil, r)
	if err != nil {
		d.cfg.Logger.Error("archive receipt dropped", "seq", r.GetSeq(), "error", err)
		return nil
	}
	return wire
}

// outbox is a session's receipts waiting for its next reply, each
// marshaled when it is decided, and the session's fee total. A reply takes
// them under the outbox's own lock, held only to append or swap, and joins
// bytes: on a node whose transcoders keep every core busy, the less a
// reply runs and waits for, the less often the OS preempts it there.
type outbox struct {
	mu       sync.Mutex
	receipts []byte // ArchiveReceipts.receipts entries (archiverpb.AppendReceipt)
	fee      string // the session's archive fees so far, "num/den"
}

// post queues a receipt in wire form; fee, if set, is the new total.
func (b *outbox) post(receipt []byte, fee string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.receipts = append(b.receipts, receipt...)
	if fee != "" {
		b.fee = fee
	}
}

// take returns ArchiveReceipts in wire form, with the receipts not taken
// before; fresh is false when there are none and nothing was charged.
func (b *outbox) take() (wire []byte, fresh bool) {
	b.mu.Lock()
	receipts, fee := b.receipts, b.fee
	b.receipts = nil
	b.mu.Unlock()
	return archiverpb.ReceiptsWire(receipts, fee), len(receipts) > 0 || fee != "0/1"
}

// clear drops the receipts not taken.
func (b *outbox) clear() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.receipts = nil
}

// TakeReceipts returns the receipts not yet sent for a session (the id
// go-livepeer keys balances by, see SegTranscodingMetadata.Session): the one of
// the segment just transcoded and late outcomes of earlier ones, plus the
// session's total archive fee so far, for the reply (archiverpb.SetReceipts).
// A receipt lost with its reply is not sent again; the total lets the
// broadcaster see the difference. A session the decorator does not know
// (no archiving, ended or expired) gets an empty answer and is not created.
func (d *Decorator) TakeReceipts(id archiver.ManifestID) *archiverpb.ArchiveReceipts {
	out := &archiverpb.ArchiveReceipts{SessionFeeWei: "0/1"}
	if wire, _ := d.TakeReceiptsWire(id); wire != nil {
		if err := proto.Unmarshal(wire, out); err != nil {
			d.cfg.Logger.Error("archive receipts dropped", "session", string(id), "error", err)
		}
	}
	return out
}

// TakeReceiptsWire is TakeReceipts in wire form, for
// archiverpb.SetReceiptsWire: it neither marshals nor waits for the
// decisions. wire is nil for a session the decorator does not know; fresh
// is false when it holds no receipt and nothing was charged, a reply that
// a stock broadcaster may get as go-livepeer made it.
func (d *Decorator) TakeReceiptsWire(id archiver.ManifestID) (wire []byte, fresh bool) {
	b, ok := d.outboxes.Load(id)
	if !ok {
		return nil, false
	}
	return b.(*outbox).take()
}

// EndSession forgets a session's pinned price and bookkeeping. Outcomes
// still in flight are debited when they arrive, their receipts dropped.
func (d *Decorator) EndSession(sender common.Address, id archiver.ManifestID) {
	d.prices.Forget(sender, string(id))
	d.mu.Lock()
	defer d.mu.Unlock()
	s := d.sessions[id]
	if s == nil {
		return
	}
	if s.sender != sender {
		d.prices.Forget(s.sender, string(id)) // pinned under the payer's address
	}
	if s.inflight == 0 {
		d.drop(id)
		return
	}
	s.ended = true
	s.out.clear()
}
