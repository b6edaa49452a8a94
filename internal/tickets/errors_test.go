package tickets

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/livepeer/go-livepeer/pm"
	"github.com/stretchr/testify/require"
)

// pmTicket rebuilds the first ticket of a fresh payment of n tickets, as
// the recipient does, so pm can be called directly.
func pmTicket(t *testing.T, e *env, n int) (*pm.Ticket, []byte, *big.Int, []*pm.Ticket, [][]byte) {
	t.Helper()
	p := e.pay(t, n)
	price, err := ratPrice(p.ExpectedPrice)
	require.NoError(t, err)
	params, exp := paymentParams(p, price)
	var all []*pm.Ticket
	var sigs [][]byte
	for _, tsp := range p.TicketSenderParams {
		all = append(all, pm.NewTicket(params, exp, e.baddr(), tsp.SenderNonce))
		sigs = append(sigs, tsp.Sig)
	}
	return all[0], sigs[0], params.Seed, all, sigs
}

// TestPMErrorTextsPinned makes pm produce each unexported error we match by
// text and checks the text and its mapping. It fails if a go-livepeer
// upgrade rewords any of them.
func TestPMErrorTextsPinned(t *testing.T) {
	cases := []struct {
		name     string
		produce  func(t *testing.T, e *env) error
		text     string
		classify func(error) error
		want     error
	}{
		{"bad signature", func(t *testing.T, e *env) error {
			tk, sig, seed, _, _ := pmTicket(t, e, 1)
			sig = append([]byte(nil), sig...)
			sig[3] ^= 1
			_, _, err := e.rcp.pm.ReceiveTicket(tk, sig, seed)
			return err
		}, pmTextSignature, classifyReceiveErr, ErrInvalidSignature},
		{"wrong recipient", func(t *testing.T, e *env) error {
			tk, sig, seed, _, _ := pmTicket(t, e, 1)
			tk.Recipient = common.HexToAddress("0x0b")
			_, _, err := e.rcp.pm.ReceiveTicket(tk, sig, seed)
			return err
		}, pmTextRecipient, classifyReceiveErr, ErrWrongRecipient},
		{"zero sender", func(t *testing.T, e *env) error {
			e.funds.SetAccount(common.Address{}, Account{Deposit: oneEther, Reserve: oneEther})
			tk, sig, seed, _, _ := pmTicket(t, e, 1)
			tk.Sender = common.Address{}
			_, _, err := e.rcp.pm.ReceiveTicket(tk, sig, seed)
			return err
		}, pmTextSender, classifyReceiveErr, ErrInvalidTicket},
		{"recipientRand mismatch", func(t *testing.T, e *env) error {
			tk, sig, seed, _, _ := pmTicket(t, e, 1)
			_, _, err := e.rcp.pm.ReceiveTicket(tk, sig, new(big.Int).Add(seed, big.NewInt(1)))
			return err
		}, pmTextRecipRand, classifyReceiveErr, ErrInvalidTicket},
		{"nonce seen", func(t *testing.T, e *env) error {
			tk, sig, seed, _, _ := pmTicket(t, e, 1)
			_, _, err := e.rcp.pm.ReceiveTicket(tk, sig, seed)
			require.NoError(t, err)
			_, _, err = e.rcp.pm.ReceiveTicket(tk, sig, seed)
			return err
		}, pmTextNonceSeen, classifyReceiveErr, ErrReplayedNonce},
		{"nonce limit", func(t *testing.T, e *env) error {
			_, _, seed, all, sigs := pmTicket(t, e, 151)
			for i := range all {
				if _, _, err := e.rcp.pm.ReceiveTicket(all[i], sigs[i], seed); err != nil {
					return err
				}
			}
			return nil
		}, pmTextNonceLimit, classifyReceiveErr, ErrNonceLimit},
		{"insufficient reserve", func(t *testing.T, e *env) error {
			e.funds.SetAccount(e.baddr(), Account{Deposit: oneEther, Reserve: big.NewInt(1)})
			_, err := e.rcp.pm.TicketParams(e.baddr(), big.NewRat(1, 1))
			return err
		}, pmTextLowReserve, classifyReceiveErr, ErrOverReserve},
		{"sender unlocking (sender side)", func(t *testing.T, e *env) error {
			params, err := e.rcp.TicketParams(e.baddr(), testPrice)
			require.NoError(t, err)
			e.funds.SetAccount(e.baddr(), Account{Deposit: oneEther, Reserve: oneEther, WithdrawRound: testRound})
			return e.snd.pm.ValidateTicketParams(pmTicketParams(params))
		}, pmTextUnlockSoon, classifySendErr, ErrSenderUnlocking},
		{"face value over deposit (sender side)", func(t *testing.T, e *env) error {
			params, err := e.rcp.TicketParams(e.baddr(), testPrice)
			require.NoError(t, err)
			e.funds.SetAccount(e.baddr(), Account{Deposit: big.NewInt(1), Reserve: oneEther})
			return e.snd.pm.ValidateTicketParams(pmTicketParams(params))
		}, pmTextMaxFaceVal, classifySendErr, ErrOverReserve},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.produce(t, newEnv(t))
			require.Error(t, err)
			require.True(t, strings.Contains(err.Error(), tc.text), "pm text changed: %q lacks %q", err, tc.text)
			require.Equal(t, tc.want, tc.classify(err))
		})
	}
}

func TestExportedPMErrorsMapped(t *testing.T) {
	require.Equal(t, ErrExpiredParams, classifyReceiveErr(pm.ErrTicketParamsExpired))
	require.Equal(t, ErrExpiredParams, classifySendErr(fmt.Errorf("x: %w", pm.ErrTicketParamsExpired)))
	require.Equal(t, ErrUnacceptableParams, classifySendErr(errors.New("ticket EV 1 > max ticket EV 0")))
	// Our own sentinels survive pm.FatalReceiveErr, which has no Unwrap.
	fatal := pm.NewFatalReceiveErr(fmt.Errorf("%w: 0xdead", ErrUnknownSender))
	require.False(t, errors.Is(fatal, ErrUnknownSender))
	require.Equal(t, ErrUnknownSender, classifyReceiveErr(fatal))
	require.Equal(t, ErrInvalidTicket, classifyReceiveErr(errors.New("something new in pm")))
}

func TestSentinelsDistinct(t *testing.T) {
	all := allSentinels()
	seen := map[string]bool{}
	for i, a := range all {
		require.False(t, seen[a.Error()], "duplicate text %q", a)
		seen[a.Error()] = true
		for j, b := range all {
			require.Equal(t, i == j, errors.Is(a, b), "%v vs %v", a, b)
		}
	}
}

func TestPaymentErrorUnwraps(t *testing.T) {
	e := newEnv(t)
	p := e.pay(t, 2)
	e.clock.SetL1Block(testL1Block + 10)
	_, err := e.rcp.ReceivePayment(context.Background(), p)
	requireOnly(t, err, ErrExpiredParams)
	require.ErrorIs(t, err, pm.ErrTicketParamsExpired, "pm's cause stays reachable")
	var pe *PaymentError
	require.True(t, errors.As(err, &pe))
	require.Equal(t, 0, pe.Ticket)
	require.Zero(t, pe.Accepted.Sign())
	require.Contains(t, pe.Error(), "ticket 1 of 2")
}
