package tickets

import (
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/livepeer/go-livepeer/pm"
)

// Exported sentinels. Every error returned by this package wraps exactly one
// of them (context errors excepted), so callers can branch with errors.Is
// without parsing pm's text.
var (
	// ErrInvalidSignature: the ticket signature does not recover to the
	// payment's sender (forged by another key, or tampered bytes).
	ErrInvalidSignature = errors.New("tickets: invalid ticket signature")
	// ErrWrongRecipient: the ticket was made out to another orchestrator.
	ErrWrongRecipient = errors.New("tickets: ticket made for another recipient")
	// ErrReplayedNonce: the sender nonce was already used with these params.
	ErrReplayedNonce = errors.New("tickets: sender nonce replayed")
	// ErrNonceLimit: more tickets than pm accepts for one set of ticket
	// params (150); the sender must fetch fresh params.
	ErrNonceLimit = errors.New("tickets: too many tickets for these ticket params")
	// ErrExpiredParams: ticket params expired (L1 expiration block reached,
	// or the creation round is outside the ticket validity period).
	ErrExpiredParams = errors.New("tickets: ticket params expired")
	// ErrOverReserve: the face value exceeds what the sender's reserve
	// (recipient side: max float) or deposit (sender side) can cover.
	ErrOverReserve = errors.New("tickets: face value exceeds sender reserve")
	// ErrUnknownSender: no deposit/reserve is known for the sender.
	ErrUnknownSender = errors.New("tickets: unknown sender")
	// ErrUnfundedSender: the sender's deposit and reserve are both zero
	// (recipient side) or either of them is zero (pm's sender-side rule).
	ErrUnfundedSender = errors.New("tickets: sender has no deposit or reserve")
	// ErrSenderUnlocking: the sender's funds unlock too soon to be trusted.
	ErrSenderUnlocking = errors.New("tickets: sender deposit and reserve unlock soon")
	// ErrInvalidTicket: any other validation failure (missing sender, params
	// not issued by this recipient or tampered, malformed payment).
	ErrInvalidTicket = errors.New("tickets: invalid ticket")
	// ErrInvalidPrice: missing price or a price with zero pixels per unit.
	ErrInvalidPrice = errors.New("tickets: invalid price")
	// ErrUnknownSession: Pay was called with a session that is not open.
	ErrUnknownSession = errors.New("tickets: unknown session")
	// ErrUnacceptableParams: the sender refuses the recipient's params
	// (EV above its configured maxima, or face value below the EV).
	ErrUnacceptableParams = errors.New("tickets: unacceptable ticket params")
	// ErrInvalidConfig: a constructor was given an unusable configuration.
	ErrInvalidConfig = errors.New("tickets: invalid config")
)

// Texts of pm's unexported errors (pm v0.7.9). pm gives no other handle on
// them; TestPMErrorTextsPinned fails if an upgrade changes any of them.
const (
	pmTextSignature  = "invalid ticket signature"                                             // pm/validator.go:15
	pmTextRecipient  = "invalid ticket recipient"                                             // pm/validator.go:12
	pmTextSender     = "invalid ticket sender"                                                // pm/validator.go:13
	pmTextRecipRand  = "invalid recipientRand for ticket recipientRandHash"                   // pm/validator.go:14
	pmTextNonceSeen  = "invalid ticket senderNonce: already seen"                             // pm/recipient.go:373
	pmTextNonceLimit = "invalid ticket senderNonce: too many values"                          // pm/recipient.go:383
	pmTextLowReserve = "insufficient sender reserve"                                          // pm/recipient.go:19
	pmTextUnlockSoon = "unable to validate sender: deposit and reserve is set to unlock soon" // pm/sender.go:95
	pmTextMaxFaceVal = "> max faceValue"                                                      // pm/sender.go:201
)

// PaymentError reports a payment whose ticket at index Ticket was rejected
// after pm had already accepted the tickets before it. Like go-livepeer's
// ProcessPayment, those earlier tickets are spent (their nonces are burnt and
// winners queued), so Accepted carries their EV: ProcessPayment credits
// exactly this amount to the sender's balance before returning the error.
// ReceivePayment itself returns a nil credit with this error; crediting
// Accepted is the caller's decision.
type PaymentError struct {
	Ticket   int      // index of the first rejected ticket
	Tickets  int      // number of tickets in the payment
	Accepted *big.Rat // EV of tickets [0, Ticket), accepted by pm
	Err      error    // exported sentinel
	Cause    error    // pm's original error
}

// Error implements error.
func (e *PaymentError) Error() string {
	return fmt.Sprintf("ticket %d of %d rejected (accepted EV %s wei): %v: %v",
		e.Ticket+1, e.Tickets, e.Accepted.RatString(), e.Err, e.Cause)
}

// Unwrap exposes both the sentinel and pm's error to errors.Is/As.
func (e *PaymentError) Unwrap() []error { return []error{e.Err, e.Cause} }

// ourSentinels are errors our own Funds returns through pm. pm wraps them in
// pm.FatalReceiveErr, which has no Unwrap, so only their text survives.
func ourSentinels() []error {
	return []error{ErrUnknownSender, ErrUnfundedSender, ErrSenderUnlocking, ErrOverReserve}
}

// classifyReceiveErr maps an error from pm.Recipient.ReceiveTicket or
// TicketParams to a sentinel. It matches pm's exported error first, then
// pm's error text, because the rest are unexported.
func classifyReceiveErr(err error) error {
	if errors.Is(err, pm.ErrTicketParamsExpired) {
		return ErrExpiredParams
	}
	msg := err.Error()
	switch {
	case msg == pmTextSignature:
		return ErrInvalidSignature
	case msg == pmTextRecipient:
		return ErrWrongRecipient
	case strings.HasPrefix(msg, pmTextNonceSeen):
		return ErrReplayedNonce
	case strings.HasPrefix(msg, pmTextNonceLimit):
		return ErrNonceLimit
	case msg == pmTextLowReserve:
		return ErrOverReserve
	}
	for _, s := range ourSentinels() {
		if errors.Is(err, s) || strings.HasPrefix(msg, s.Error()) {
			return s
		}
	}
	// pmTextSender, pmTextRecipRand and anything new.
	return ErrInvalidTicket
}

// classifySendErr maps an error from pm.Sender to a sentinel.
func classifySendErr(err error) error {
	if errors.Is(err, pm.ErrTicketParamsExpired) {
		return ErrExpiredParams
	}
	for _, s := range ourSentinels() {
		if errors.Is(err, s) {
			return s
		}
	}
	var sv pm.ErrSenderValidation
	if errors.As(err, &sv) {
		if strings.Contains(err.Error(), pmTextUnlockSoon) {
			return ErrSenderUnlocking
		}
		return ErrUnfundedSender
	}
	if strings.Contains(err.Error(), pmTextMaxFaceVal) {
		return ErrOverReserve
	}
	return ErrUnacceptableParams
}

// wrap attaches the sentinel to pm's error in a single wrapping step.
func wrap(sentinel, cause error) error {
	if errors.Is(cause, sentinel) {
		return cause
	}
	return fmt.Errorf("%w: %w", sentinel, cause)
}
