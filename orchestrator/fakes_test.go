package orchestrator_test

import (
	"context"
	"math/big"
	"sync"

	"github.com/ethereum/go-ethereum/common"
	lpnet "github.com/livepeer/go-livepeer/net"

	"github.com/lpswarm/archiver"
	"github.com/lpswarm/archiver/orchestrator"
)

// fakeOrch stands in for go-livepeer's orchestrator, which cannot be built
// here: balances keyed like go-livepeer's (sender, session), a transcoder
// that makes renditions of fixed sizes, and a record of what it was given.
type fakeOrch struct {
	caps *lpnet.Capabilities

	mu          sync.Mutex
	balances    map[string]*big.Rat
	debits      []debit
	transcoded  []*orchestrator.SegTranscodingMetadata
	renditionSz []int
}

type debit struct {
	sender common.Address
	id     archiver.ManifestID
	price  *lpnet.PriceInfo
	units  int64
}

func newFakeOrch(renditionSizes ...int) *fakeOrch {
	return &fakeOrch{
		caps:        &lpnet.Capabilities{Bitstring: []uint64{0b111}},
		balances:    map[string]*big.Rat{},
		renditionSz: renditionSizes,
	}
}

func key(a common.Address, id archiver.ManifestID) string { return a.Hex() + "/" + string(id) }

func (f *fakeOrch) credit(a common.Address, id archiver.ManifestID, amount *big.Rat) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b := f.balances[key(a, id)]
	if b == nil {
		b = new(big.Rat)
		f.balances[key(a, id)] = b
	}
	b.Add(b, amount)
}

func (f *fakeOrch) Balance(a common.Address, id archiver.ManifestID) *big.Rat {
	f.mu.Lock()
	defer f.mu.Unlock()
	if b := f.balances[key(a, id)]; b != nil {
		return new(big.Rat).Set(b)
	}
	return nil
}

func (f *fakeOrch) TranscodeSeg(_ context.Context, md *orchestrator.SegTranscodingMetadata, seg *orchestrator.HLSSegment) (*orchestrator.TranscodeResult, error) {
	f.mu.Lock()
	f.transcoded = append(f.transcoded, md)
	f.mu.Unlock()
	td := &orchestrator.TranscodeData{}
	for i, n := range f.renditionSz {
		data := make([]byte, n)
		data[0] = byte(i)
		td.Segments = append(td.Segments, &orchestrator.TranscodedSegmentData{Data: data, Pixels: int64(n) * 10})
	}
	return &orchestrator.TranscodeResult{Sig: []byte("signed hashes"), TranscodeData: td}, nil
}

func (f *fakeOrch) Capabilities() *lpnet.Capabilities { return f.caps }

func (f *fakeOrch) PriceInfo(common.Address, archiver.ManifestID) (*lpnet.PriceInfo, error) {
	return &lpnet.PriceInfo{PricePerUnit: 1, PixelsPerUnit: 1}, nil
}

func (f *fakeOrch) ProcessPayment(context.Context, *lpnet.Payment, archiver.ManifestID) error {
	return nil
}

func (f *fakeOrch) SufficientBalance(a common.Address, id archiver.ManifestID) bool {
	b := f.Balance(a, id)
	return b != nil && b.Sign() > 0
}

// DebitFees debits price × units exactly as go-livepeer's core does.
func (f *fakeOrch) DebitFees(a common.Address, id archiver.ManifestID, price *lpnet.PriceInfo, units int64) {
	fee := big.NewRat(price.PricePerUnit, price.PixelsPerUnit)
	fee.Mul(fee, big.NewRat(units, 1))
	f.credit(a, id, fee.Neg(fee))
	f.mu.Lock()
	f.debits = append(f.debits, debit{a, id, price, units})
	f.mu.Unlock()
}

// fakeArchiver answers Submit with a scripted outcome, or holds the job
// until released (a slow spool).
type fakeArchiver struct {
	mu      sync.Mutex
	jobs    []archiver.Job
	outcome error
	hold    chan struct{} // when set, outcomes wait for it to close
}

func (a *fakeArchiver) Submit(job archiver.Job) <-chan archiver.Outcome {
	a.mu.Lock()
	a.jobs = append(a.jobs, job)
	outcome, hold := a.outcome, a.hold
	a.mu.Unlock()
	ch := make(chan archiver.Outcome, 1)
	go func() {
		if hold != nil {
			<-hold
		}
		ch <- archiver.Outcome{Err: outcome}
	}()
	return ch
}

func (a *fakeArchiver) submitted() []archiver.Job {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]archiver.Job(nil), a.jobs...)
}
