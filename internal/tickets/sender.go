package tickets

import (
	"crypto/ecdsa"
	"fmt"
	"math"
	"math/big"
	"sync"

	"github.com/ethereum/go-ethereum/common"
	"github.com/livepeer/go-livepeer/pm"

	lpnet "github.com/livepeer/go-livepeer/net"
)

// SenderConfig holds the broadcaster's limits, the same knobs as
// go-livepeer's -maxTicketEV, -maxTotalEV and -depositMultiplier flags
// (defaults there: 3000 gwei, 20000 gwei, 1).
type SenderConfig struct {
	MaxEV             *big.Rat // max EV of a single ticket, wei
	MaxTotalEV        *big.Rat // max EV of one payment, wei
	DepositMultiplier int      // face value must not exceed deposit / DepositMultiplier
}

// Sender pays recipients with tickets signed by one broadcaster key. It is
// safe for concurrent use.
type Sender struct {
	signer *KeySigner
	pm     pm.Sender

	mu     sync.RWMutex
	prices map[string]*lpnet.PriceInfo // session ID → price the recipient quoted
}

// NewSender builds a pm.Sender. sm reports the broadcaster's own deposit and
// reserve (a Funds works), tm the round and L1 block it sees.
func NewSender(key *ecdsa.PrivateKey, tm pm.TimeManager, sm pm.SenderManager, cfg SenderConfig) (*Sender, error) {
	signer, err := NewKeySigner(key)
	if err != nil {
		return nil, err
	}
	if cfg.MaxEV == nil || cfg.MaxTotalEV == nil || cfg.DepositMultiplier < 1 || tm == nil || sm == nil {
		return nil, fmt.Errorf("%w: sender needs MaxEV, MaxTotalEV, DepositMultiplier >= 1, a time manager and a sender manager", ErrInvalidConfig)
	}
	return &Sender{
		signer: signer,
		pm:     pm.NewSender(signer, tm, sm, cfg.MaxEV, cfg.MaxTotalEV, cfg.DepositMultiplier),
		prices: make(map[string]*lpnet.PriceInfo),
	}, nil
}

// Address is the broadcaster's Ethereum address, the tickets' sender.
func (s *Sender) Address() common.Address { return s.signer.Account().Address }

// StartSession opens a payment session for ticket params and the price the
// recipient quoted with them (both come from its OrchestratorInfo). The
// params are validated first, as go-livepeer's discovery does
// (discovery/db_discovery.go), rather than on the first Pay. Starting a
// session for params that already have one keeps the existing session:
// pm would reset its nonce counter to 0, and the recipient rejects reused
// nonces.
func (s *Sender) StartSession(params *lpnet.TicketParams, price *lpnet.PriceInfo) (string, error) {
	if params == nil {
		return "", fmt.Errorf("%w: missing ticket params", ErrInvalidTicket)
	}
	if _, err := ratPrice(price); err != nil {
		return "", err
	}
	p := pmTicketParams(params)
	if err := s.pm.ValidateTicketParams(p); err != nil {
		return "", wrap(classifySendErr(err), err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id := p.RecipientRandHash.Hex() // pm's own session ID (pm/sender.go StartSession)
	if _, ok := s.prices[id]; !ok {
		s.pm.StartSession(*p)
		s.prices[id] = clonePrice(price)
	}
	return id, nil
}

// EndSession forgets a session.
func (s *Sender) EndSession(sessionID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.prices, sessionID)
	s.pm.CleanupSession(sessionID)
}

// EV returns the expected value of one ticket of the session, in wei.
func (s *Sender) EV(sessionID string) (*big.Rat, error) {
	if _, err := s.price(sessionID); err != nil {
		return nil, err
	}
	v, err := s.pm.EV(sessionID)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUnknownSession, err)
	}
	return v, nil
}

// Pay returns the payment for n tickets, built field for field like
// server/segment_rpc.go genPayment: sender and expected price always, and
// for n > 0 the batch's ticket params, expiration params and one
// (nonce, signature) pair per ticket. n <= 0 yields a ticketless payment, as
// in genPayment. The params are checked against the sender's limits, its
// funds and the L1 block each time, because those change during a session.
func (s *Sender) Pay(sessionID string, n int) (*lpnet.Payment, error) {
	price, err := s.price(sessionID)
	if err != nil {
		return nil, err
	}
	payment := &lpnet.Payment{Sender: s.Address().Bytes(), ExpectedPrice: price}
	if n <= 0 {
		return payment, nil
	}
	batch, err := s.pm.CreateTicketBatch(sessionID, n)
	if err != nil {
		return nil, wrap(classifySendErr(err), err)
	}
	paymentTickets(payment, batch)
	return payment, nil
}

// price returns a copy of the session's price or ErrUnknownSession.
func (s *Sender) price(sessionID string) (*lpnet.PriceInfo, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	p, ok := s.prices[sessionID]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrUnknownSession, sessionID)
	}
	return clonePrice(p), nil
}

// TicketsFor returns how many tickets of params cover fee (wei), computed
// like go-livepeer's broadcaster with no existing credit: the fee is raised
// to at least one ticket's EV (server/segment_rpc.go newBalanceUpdate,
// because the orchestrator wants a balance of at least one ticket) and the
// count is ceil(fee / EV) (core/accounting.go Balance.StageUpdate). Params
// with zero EV (a free orchestrator) need no tickets.
func TicketsFor(fee *big.Rat, params *lpnet.TicketParams) int {
	if params == nil {
		return 0
	}
	one := ev(new(big.Int).SetBytes(params.FaceValue), new(big.Int).SetBytes(params.WinProb))
	if one.Sign() <= 0 {
		return 0
	}
	need := one
	if fee != nil && fee.Cmp(one) > 0 {
		need = fee
	}
	q := new(big.Rat).Quo(need, one)
	n := new(big.Int).Quo(q.Num(), q.Denom())
	if !q.IsInt() {
		n.Add(n, big.NewInt(1))
	}
	if !n.IsInt64() || n.Int64() > math.MaxInt {
		return math.MaxInt // no sender can sign that many; pm refuses by total EV
	}
	return int(n.Int64())
}
