package tickets

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/livepeer/go-livepeer/pm"

	lpnet "github.com/livepeer/go-livepeer/net"
)

// RecipientConfig configures the orchestrator side. EV, RedeemGas and
// TxCostMultiplier are pm.TicketParamsConfig (go-livepeer: -ticketEV default
// 8 gwei, redeem gas 350000 on L1 / 1200000 on Arbitrum, multiplier 100).
type RecipientConfig struct {
	Address common.Address // the recipient that tickets must be made out to
	// Secret seeds the recipientRand of every ticket params issued. Only a
	// recipient with the same secret can validate those tickets, so keep it
	// stable across restarts to honour params already handed out. The zero
	// value draws a random secret.
	Secret           [32]byte
	EV               *big.Int // required EV per ticket, wei
	RedeemGas        int
	TxCostMultiplier int
	MaxFaceValue     *big.Int     // optional cap on the face value
	Logger           *slog.Logger // optional; slog.Default() otherwise
}

// Recipient validates and credits payments made out to one address. It is
// safe for concurrent use.
type Recipient struct {
	addr common.Address
	pm   pm.Recipient
	sm   pm.SenderMonitor
	tm   pm.TimeManager
	log  *slog.Logger
}

// NewRecipient builds a pm recipient with pm.NewRecipientWithSecret and a
// pm.NewValidator over the default signature verifier. sm supplies sender
// funds and queues winners (a Funds works), tm the chain clock, gpm the gas
// price that sets face values.
func NewRecipient(cfg RecipientConfig, sm pm.SenderMonitor, tm pm.TimeManager, gpm pm.GasPriceMonitor) (*Recipient, error) {
	if cfg.EV == nil || cfg.EV.Sign() <= 0 || cfg.RedeemGas < 0 || cfg.TxCostMultiplier < 0 || sm == nil || tm == nil || gpm == nil {
		return nil, fmt.Errorf("%w: recipient needs EV > 0, non-negative gas settings, a sender monitor, a time manager and a gas price monitor", ErrInvalidConfig)
	}
	secret := cfg.Secret
	if secret == [32]byte{} {
		if _, err := rand.Read(secret[:]); err != nil {
			return nil, fmt.Errorf("%w: read random secret: %w", ErrInvalidConfig, err)
		}
	}
	tcfg := pm.TicketParamsConfig{EV: new(big.Int).Set(cfg.EV), RedeemGas: cfg.RedeemGas, TxCostMultiplier: cfg.TxCostMultiplier}
	val := pm.NewValidator(&pm.DefaultSigVerifier{}, tm)
	// The broker is nil: pm's recipient never calls it (redemption goes
	// through the SenderMonitor's queue).
	rcp := pm.NewRecipientWithSecret(cfg.Address, nil, val, gpm, sm, tm, secret, tcfg)
	if cfg.MaxFaceValue != nil {
		// Set before the recipient is shared: pm reads it without a lock.
		rcp.SetMaxFaceValue(new(big.Int).Set(cfg.MaxFaceValue))
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Recipient{addr: cfg.Address, pm: rcp, sm: sm, tm: tm, log: log}, nil
}

// Address is the address tickets must be made out to.
func (r *Recipient) Address() common.Address { return r.addr }

// EV is the configured EV per ticket, in wei.
func (r *Recipient) EV() *big.Rat { return r.pm.EV() }

// Run runs pm's cleanup of nonces of expired params until ctx ends; call it
// once. Without it the nonce memory grows with every params issued.
func (r *Recipient) Run(ctx context.Context) error {
	loop, ok := r.pm.(interface {
		Start()
		Stop()
	})
	if !ok {
		return nil
	}
	loop.Start()
	<-ctx.Done()
	loop.Stop()
	return nil
}

// TicketParams issues ticket params for sender at price, as
// core/orchestrator.go TicketParams does. The face value follows the gas
// price and is capped by the sender's max float; ErrOverReserve means the
// float is below the required EV or the redemption cost.
func (r *Recipient) TicketParams(sender common.Address, price *lpnet.PriceInfo) (*lpnet.TicketParams, error) {
	rat, err := ratPrice(price)
	if err != nil {
		return nil, err
	}
	params, err := r.pm.TicketParams(sender, rat)
	if err != nil {
		return nil, wrap(classifyReceiveErr(err), err)
	}
	return netTicketParams(params), nil
}

// ReceivePayment validates every ticket of payment and returns the EV to
// credit to the sender, in wei. On error the credit is nil.
//
// Whole-payment checks run first and reject without touching pm: known,
// funded, not unlocking sender; creation round within the ticket validity
// period; face value within the sender's current max float. The tickets are
// then handed to pm one by one in order, as core/orchestrator.go
// ProcessPayment does, and with the same outcome when ticket k fails:
//   - tickets before k were accepted by pm (nonces burnt, winners queued);
//     the error is a *PaymentError whose Accepted is their EV, the amount
//     ProcessPayment would already have credited;
//   - a fatal pm error (wrong recipient, params not ours, sender refused)
//     stops there, later tickets are not looked at;
//   - other errors (bad signature, replayed nonce, expired L1 block) let the
//     remaining tickets through pm, so their nonces are burnt and their
//     winners queued, but none of them is counted.
//
// A payment without ticket params is a free payment (zero price in
// ProcessPayment) and credits zero.
func (r *Recipient) ReceivePayment(ctx context.Context, payment *lpnet.Payment) (*big.Rat, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if payment == nil || payment.TicketParams == nil {
		return new(big.Rat), nil
	}
	sender := common.BytesToAddress(payment.Sender)
	if len(payment.Sender) == 0 {
		return nil, fmt.Errorf("%w: payment has ticket params but no sender", ErrInvalidTicket)
	}
	price, err := ratPrice(payment.ExpectedPrice)
	if err != nil {
		return nil, err
	}
	params, exp := paymentParams(payment, price)
	if err := r.precheck(sender, params, exp); err != nil {
		return nil, err
	}
	return r.receiveTickets(ctx, payment, sender, params, exp)
}

// precheck applies the checks that concern the whole payment. Sender
// validation is repeated here, before pm does it, because pm wraps the
// result in pm.FatalReceiveErr, which hides the sentinel from errors.Is.
func (r *Recipient) precheck(sender common.Address, params *pm.TicketParams, exp *pm.TicketExpirationParams) error {
	if err := r.sm.ValidateSender(sender); err != nil {
		return wrap(classifyReceiveErr(err), err)
	}
	// pm only checks the L1 expiration block; a ticket created more than
	// ticketValidityPeriod rounds ago can no longer be redeemed on chain
	// (pm/queue.go skips such tickets).
	round := r.tm.LastInitializedRound().Int64()
	if exp.CreationRound+ticketValidityPeriod < round {
		return fmt.Errorf("%w: ticket creation round %d, current round %d", ErrExpiredParams, exp.CreationRound, round)
	}
	// pm caps the face value at the max float when issuing params only; the
	// float may have shrunk since (new winners, lower reserve), and a face
	// value above it is a win the reserve might not pay.
	maxFloat, err := r.sm.MaxFloat(sender)
	if err != nil {
		return wrap(classifyReceiveErr(err), err)
	}
	if params.FaceValue.Cmp(maxFloat) > 0 {
		return fmt.Errorf("%w: face value %s > max float %s", ErrOverReserve, params.FaceValue, maxFloat)
	}
	return nil
}

// receiveTickets is the ticket loop of ProcessPayment.
func (r *Recipient) receiveTickets(ctx context.Context, payment *lpnet.Payment, sender common.Address, params *pm.TicketParams, exp *pm.TicketExpirationParams) (*big.Rat, error) {
	total := new(big.Rat)
	var failed *PaymentError
	for i, tsp := range payment.TicketSenderParams {
		ticket := pm.NewTicket(params, exp, sender, tsp.GetSenderNonce())
		err := r.receiveTicket(ctx, ticket, tsp.GetSig(), params.Seed)
		if err != nil && failed == nil {
			failed = &PaymentError{Ticket: i, Tickets: len(payment.TicketSenderParams), Accepted: total, Err: classifyReceiveErr(err), Cause: err}
		}
		if failed != nil {
			var fatal *pm.FatalReceiveErr
			if errors.As(err, &fatal) {
				break
			}
			continue
		}
		total.Add(total, ticket.EV())
	}
	if failed != nil {
		return nil, failed
	}
	return total, nil
}

// receiveTicket hands one ticket to pm and queues it if it won. Like
// ProcessPayment, a winner is queued even when pm also returned an error
// (an expired L1 block does not stop on-chain redemption); Funds ignores a
// winner queued twice.
func (r *Recipient) receiveTicket(ctx context.Context, t *pm.Ticket, sig []byte, seed *big.Int) error {
	_, won, err := r.pm.ReceiveTicket(t, sig, seed)
	if err != nil {
		r.log.DebugContext(ctx, "ticket rejected", "sender", t.Sender.Hex(), "nonce", t.SenderNonce, "err", err)
	}
	if won {
		if qerr := r.pm.RedeemWinningTicket(t, sig, seed); qerr != nil {
			// Logged, not returned: ProcessPayment does the same, and the
			// ticket itself was valid.
			r.log.ErrorContext(ctx, "queue winning ticket", "sender", t.Sender.Hex(), "nonce", t.SenderNonce, "err", qerr)
		}
	}
	return err
}
