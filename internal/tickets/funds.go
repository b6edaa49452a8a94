package tickets

import (
	"fmt"
	"math/big"
	"sync"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/event"
	"github.com/livepeer/go-livepeer/pm"
)

// ticketValidityPeriod is the number of rounds a ticket stays redeemable
// after its creation round (pm/queue.go:12, TicketBroker's
// ticketValidityPeriod).
const ticketValidityPeriod = 2

// minDepositPendingRatio: once deposit/pending reaches it, pending winning
// tickets no longer reduce the max float because the deposit alone covers
// them (pm/sendermonitor.go:21).
const minDepositPendingRatio = 3

// Account is a sender's position on the TicketBroker contract, in wei.
type Account struct {
	Deposit *big.Int
	Reserve *big.Int // reserve funds remaining
	// WithdrawRound is the round the sender may withdraw after calling
	// unlock; 0 means no unlock is in progress.
	WithdrawRound int64
}

type senderState struct {
	deposit, reserve *big.Int
	withdrawRound    int64
	claimedInRound   *big.Int                    // reserve claimed this round, all claimants
	claimed          map[common.Address]*big.Int // reserve claimed per claimant
	pending          *big.Int                    // face value of queued winners
	queued           map[common.Hash]*pm.SignedTicket
}

// Funds models the TicketBroker state the PM protocol relies on: each
// sender's deposit and reserve, what recipients claimed from the reserve,
// and the winning tickets a recipient queued but has not redeemed yet. It is
// pm.SenderManager for a Sender and pm.SenderMonitor for a Recipient.
// Values are set by the operator or by tests (SetAccount); nothing is read
// from a chain. Claims are not reset per round.
type Funds struct {
	claimant common.Address
	tm       pm.TimeManager

	mu      sync.Mutex
	senders map[common.Address]*senderState

	reserveFeed event.Feed
}

var (
	_ pm.SenderManager = (*Funds)(nil)
	_ pm.SenderMonitor = (*Funds)(nil)
)

// NewFunds returns an empty model. claimant is the recipient whose share of
// each reserve MaxFloat reports; tm supplies the round and the pool size
// that splits a reserve between recipients.
func NewFunds(claimant common.Address, tm pm.TimeManager) *Funds {
	return &Funds{claimant: claimant, tm: tm, senders: make(map[common.Address]*senderState)}
}

// SetAccount records a sender's deposit, reserve and unlock state, as read
// from the chain or operator config. Pending winners and claims are kept.
func (f *Funds) SetAccount(addr common.Address, a Account) {
	f.mu.Lock()
	s := f.state(addr)
	s.deposit, s.reserve = orZero(a.Deposit), orZero(a.Reserve)
	s.withdrawRound = a.WithdrawRound
	f.mu.Unlock()
	// Outside the lock: event.Feed.Send blocks until subscribers read.
	f.reserveFeed.Send(addr)
}

// Account returns the sender's current position.
func (f *Funds) Account(addr common.Address) (Account, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, err := f.known(addr)
	if err != nil {
		return Account{}, err
	}
	return Account{Deposit: copyInt(s.deposit), Reserve: copyInt(s.reserve), WithdrawRound: s.withdrawRound}, nil
}

// GetSenderInfo implements pm.SenderManager.
func (f *Funds) GetSenderInfo(addr common.Address) (*pm.SenderInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, err := f.known(addr)
	if err != nil {
		return nil, err
	}
	return &pm.SenderInfo{
		Deposit:       copyInt(s.deposit),
		WithdrawRound: big.NewInt(s.withdrawRound),
		Reserve: &pm.ReserveInfo{
			FundsRemaining:        copyInt(s.reserve),
			ClaimedInCurrentRound: copyInt(s.claimedInRound),
		},
	}, nil
}

// ClaimedReserve implements pm.SenderManager.
func (f *Funds) ClaimedReserve(reserveHolder, claimant common.Address) (*big.Int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, err := f.known(reserveHolder)
	if err != nil {
		return nil, err
	}
	return copyInt(orZero(s.claimed[claimant])), nil
}

// Clear implements pm.SenderManager. Funds is the source of truth, not a
// cache, so there is nothing to clear.
func (f *Funds) Clear(common.Address) {}

// SubscribeReserveChange implements pm.SenderManager; SetAccount notifies.
func (f *Funds) SubscribeReserveChange(sink chan<- common.Address) event.Subscription {
	return f.reserveFeed.Subscribe(sink)
}

// Start implements pm.SenderMonitor; Funds runs no goroutines.
func (f *Funds) Start() {}

// Stop implements pm.SenderMonitor.
func (f *Funds) Stop() {}

// ValidateSender implements pm.SenderMonitor. Like LocalSenderMonitor
// (pm/sendermonitor.go:176) it refuses senders whose funds unlock before the
// round after next, and also unknown senders and senders with neither
// deposit nor reserve, which LocalSenderMonitor leaves to the chain.
func (f *Funds) ValidateSender(addr common.Address) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, err := f.known(addr)
	if err != nil {
		return err
	}
	maxWithdrawRound := f.tm.LastInitializedRound().Int64() + 1
	if s.withdrawRound != 0 && s.withdrawRound <= maxWithdrawRound {
		return fmt.Errorf("%w: sender %s withdraws in round %d", ErrSenderUnlocking, addr.Hex(), s.withdrawRound)
	}
	if new(big.Int).Add(s.deposit, s.reserve).Sign() == 0 {
		return fmt.Errorf("%w: sender %s", ErrUnfundedSender, addr.Hex())
	}
	return nil
}

// MaxFloat implements pm.SenderMonitor: the sender's reserve allocation for
// this claimant minus the face value of queued, unredeemed winners, unless
// the deposit covers those winners minDepositPendingRatio times over
// (pm/sendermonitor.go:192).
func (f *Funds) MaxFloat(addr common.Address) (*big.Int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, err := f.known(addr)
	if err != nil {
		return nil, err
	}
	alloc := f.reserveAlloc(s)
	if s.pending.Sign() > 0 && s.deposit.Cmp(new(big.Int).Mul(s.pending, big.NewInt(minDepositPendingRatio))) >= 0 {
		return alloc, nil
	}
	return alloc.Sub(alloc, s.pending), nil
}

// QueueTicket implements pm.SenderMonitor: it records a winning ticket for
// later redemption and counts its face value as pending, which lowers the
// max float right away (go-livepeer only does so while the redemption
// transaction is in flight). A ticket queued twice counts once, so replayed
// winners cannot drain the float.
func (f *Funds) QueueTicket(t *pm.SignedTicket) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, err := f.known(t.Sender)
	if err != nil {
		return err
	}
	h := t.Hash()
	if _, dup := s.queued[h]; dup {
		return nil
	}
	s.queued[h] = t
	s.pending.Add(s.pending, t.FaceValue)
	return nil
}

// Pending returns the face value of the sender's queued winning tickets.
func (f *Funds) Pending(addr common.Address) *big.Int {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s, ok := f.senders[addr]; ok {
		return copyInt(s.pending)
	}
	return new(big.Int)
}

// WinningTickets returns the sender's queued, unredeemed winning tickets.
func (f *Funds) WinningTickets(addr common.Address) []*pm.SignedTicket {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.senders[addr]
	if !ok {
		return nil
	}
	out := make([]*pm.SignedTicket, 0, len(s.queued))
	for _, t := range s.queued {
		out = append(out, t)
	}
	return out
}

// MarkRedeemed settles a queued winner the way TicketBroker does: the face
// value is paid from the deposit first and the rest is claimed from this
// claimant's reserve allocation. It returns the amount paid. A ticket whose
// validity period is over (created more than ticketValidityPeriod rounds
// ago, the window pm/queue.go redeems in) is dropped unpaid with
// ErrExpiredParams, as the contract would revert its redemption.
func (f *Funds) MarkRedeemed(t *pm.SignedTicket) (*big.Int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s, err := f.known(t.Sender)
	if err != nil {
		return nil, err
	}
	h := t.Hash()
	if _, ok := s.queued[h]; !ok {
		return nil, fmt.Errorf("%w: ticket %s is not queued", ErrInvalidTicket, h.Hex())
	}
	delete(s.queued, h)
	s.pending.Sub(s.pending, t.FaceValue)
	if t.CreationRound+ticketValidityPeriod < f.tm.LastInitializedRound().Int64() {
		return nil, fmt.Errorf("%w: ticket created in round %d", ErrExpiredParams, t.CreationRound)
	}
	return f.pay(s, t.FaceValue), nil
}

// pay moves amount out of the deposit, then out of the reserve allocation.
// Caller holds f.mu.
func (f *Funds) pay(s *senderState, amount *big.Int) *big.Int {
	fromDeposit := minInt(amount, s.deposit)
	s.deposit.Sub(s.deposit, fromDeposit)
	rest := new(big.Int).Sub(amount, fromDeposit)
	claim := minInt(rest, f.reserveAlloc(s))
	if claim.Sign() < 0 {
		claim.SetInt64(0)
	}
	s.reserve.Sub(s.reserve, claim)
	s.claimedInRound.Add(s.claimedInRound, claim)
	s.claimed[f.claimant] = new(big.Int).Add(orZero(s.claimed[f.claimant]), claim)
	return fromDeposit.Add(fromDeposit, claim)
}

// reserveAlloc is the claimant's share of the reserve still unclaimed
// (pm/sendermonitor.go:217). Caller holds f.mu.
func (f *Funds) reserveAlloc(s *senderState) *big.Int {
	pool := f.tm.GetTranscoderPoolSize()
	if pool.Sign() == 0 {
		return new(big.Int)
	}
	total := new(big.Int).Add(s.reserve, s.claimedInRound)
	alloc := total.Div(total, pool)
	return alloc.Sub(alloc, orZero(s.claimed[f.claimant]))
}

// known returns the sender's state or ErrUnknownSender. Caller holds f.mu.
func (f *Funds) known(addr common.Address) (*senderState, error) {
	s, ok := f.senders[addr]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrUnknownSender, addr.Hex())
	}
	return s, nil
}

// state returns the sender's state, creating it. Caller holds f.mu.
func (f *Funds) state(addr common.Address) *senderState {
	s, ok := f.senders[addr]
	if !ok {
		s = &senderState{
			deposit: new(big.Int), reserve: new(big.Int), claimedInRound: new(big.Int),
			claimed: make(map[common.Address]*big.Int), pending: new(big.Int),
			queued: make(map[common.Hash]*pm.SignedTicket),
		}
		f.senders[addr] = s
	}
	return s
}

func orZero(x *big.Int) *big.Int {
	if x == nil {
		return new(big.Int)
	}
	return new(big.Int).Set(x)
}

func minInt(a, b *big.Int) *big.Int {
	if a.Cmp(b) < 0 {
		return new(big.Int).Set(a)
	}
	return new(big.Int).Set(b)
}
