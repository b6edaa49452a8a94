package payments

import (
	"errors"
	"fmt"
	"sync"

	"github.com/ethereum/go-ethereum/common"
	lpnet "github.com/livepeer/go-livepeer/net"
)

// ErrPriceMismatch reports a payment whose expected price differs from
// the price pinned for its session.
var ErrPriceMismatch = errors.New("expected price differs from session price")

// SessionPrices pins the archive price of each session to the price in
// force when the session started, so that an operator changing the price
// affects new sessions only. The zero value is ready to use and it is safe
// for concurrent use.
//
// It mirrors go-livepeer v0.7.9's fixed price per session:
//
//   - Balances are kept per (sender, ManifestID), the ManifestID being the
//     session ID of the AuthToken the orchestrator issued. Pins use the
//     same key: sender is the broadcaster's Ethereum address (the payment's
//     sender) and session is that session ID, so one broadcaster's
//     concurrent streams and different broadcasters never share a price.
//   - orchestrator.priceInfo(sender, manifestID) quotes the fixed price of
//     the session if one is set, else the current price; ProcessPayment
//     fixes the session's price on the first payment from the payment's
//     expected_price (the PriceInfo the broadcaster was quoted and echoes
//     back). Pin combines both: the first call, whether made to quote the
//     session or to accept its first payment, pins the current price, and
//     every later call returns it whatever the current price has become.
//   - go-livepeer debits with the expected_price the payment carries
//     without comparing it to the fixed price. An archive fee should not
//     be chosen by the payer, so CheckExpected lets the caller refuse a
//     payment that expects anything but the pinned price.
//
// Pins live until Forget, which the caller must invoke at session
// teardown. (go-livepeer drops a session's balance, and with it the fixed
// price, after a TTL without updates; an archive session has an explicit
// end, and forgetting it there keeps a pin from outliving the session.)
type SessionPrices struct {
	mu   sync.Mutex
	pins map[sessionKey]pinnedPrice
}

type sessionKey struct {
	sender  common.Address
	session string
}

// pinnedPrice holds the two fields rather than an *lpnet.PriceInfo so
// that no caller can alter a pin through a returned pointer (and a
// protobuf message must not be copied by value).
type pinnedPrice struct {
	perUnit, units int64
}

func (p pinnedPrice) info() *lpnet.PriceInfo {
	return &lpnet.PriceInfo{PricePerUnit: p.perUnit, PixelsPerUnit: p.units}
}

// Pin returns the price pinned for (sender, session), pinning current if
// the session has none. A nil current pins nothing and returns nil when
// the session has no price yet. The result is a copy the caller may keep.
func (s *SessionPrices) Pin(sender common.Address, session string, current *lpnet.PriceInfo) *lpnet.PriceInfo {
	key := sessionKey{sender, session}
	s.mu.Lock()
	defer s.mu.Unlock()
	if p, ok := s.pins[key]; ok {
		return p.info()
	}
	if current == nil {
		return nil
	}
	if s.pins == nil {
		s.pins = make(map[sessionKey]pinnedPrice)
	}
	p := pinnedPrice{current.GetPricePerUnit(), current.GetPixelsPerUnit()}
	s.pins[key] = p
	return p.info()
}

// Pinned returns the price pinned for (sender, session), if any.
func (s *SessionPrices) Pinned(sender common.Address, session string) (*lpnet.PriceInfo, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.pins[sessionKey{sender, session}]
	if !ok {
		return nil, false
	}
	return p.info(), true
}

// CheckExpected pins current for the session if needed and checks that a
// payment's expected price equals the pinned price as a rational (1/3 and
// 2/6 are equal). It returns the pinned price, which is what the caller
// should debit at.
func (s *SessionPrices) CheckExpected(sender common.Address, session string, current, expected *lpnet.PriceInfo) (*lpnet.PriceInfo, error) {
	pinned := s.Pin(sender, session, current)
	want, err := PerByte(pinned)
	if err != nil {
		return nil, fmt.Errorf("session %q price: %w", session, err)
	}
	got, err := PerByte(expected)
	if err != nil {
		return nil, fmt.Errorf("expected price: %w", err)
	}
	if got.Cmp(want) != 0 {
		return nil, fmt.Errorf("%w: session %q of %s: got %s wei/byte, pinned %s",
			ErrPriceMismatch, session, sender.Hex(), got.RatString(), want.RatString())
	}
	return pinned, nil
}

// Forget drops the pin of (sender, session); call it at session teardown.
func (s *SessionPrices) Forget(sender common.Address, session string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.pins, sessionKey{sender, session})
}

// Len is the number of pinned sessions, for metrics and leak checks.
func (s *SessionPrices) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pins)
}
