package tickets

import (
	"context"
	"errors"
	"math/big"
	"sync"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	lpnet "github.com/livepeer/go-livepeer/net"
)

func TestReceivePaymentCreditsSumOfTicketEVs(t *testing.T) {
	for _, n := range []int{1, 3, 10} {
		e := newEnv(t)
		p := e.pay(t, n)
		// Go through the wire encoding, as a real payment would.
		raw, err := proto.Marshal(p)
		require.NoError(t, err)
		var got lpnet.Payment
		require.NoError(t, proto.Unmarshal(raw, &got))

		credited, err := e.rcp.ReceivePayment(context.Background(), &got)
		require.NoError(t, err)
		want := wantEV(p.TicketParams, n)
		require.Zero(t, want.Cmp(credited), "n=%d credited %s want %s", n, credited.RatString(), want.RatString())
		// pm rounds winProb up, so each ticket is worth at least the EV asked.
		require.GreaterOrEqual(t, credited.Cmp(new(big.Rat).SetInt(new(big.Int).Mul(testEV, big.NewInt(int64(n))))), 0)
		// The denominator is 2^256 − 1, not 2^256.
		wrongDenom := new(big.Rat).SetFrac(new(big.Int).Mul(new(big.Int).SetBytes(p.TicketParams.FaceValue), new(big.Int).SetBytes(p.TicketParams.WinProb)), new(big.Int).Lsh(big.NewInt(1), 256))
		require.NotZero(t, wrongDenom.Mul(wrongDenom, big.NewRat(int64(n), 1)).Cmp(credited))
	}
}

func TestReceivePaymentRejects(t *testing.T) {
	cases := []struct {
		name string
		// prepare returns the payment to submit and the recipient to submit it to.
		prepare func(t *testing.T, e *env) (*lpnet.Payment, *Recipient)
		want    error
	}{
		{"signature forged by another key", func(t *testing.T, e *env) (*lpnet.Payment, *Recipient) {
			p := e.pay(t, 2)
			resign(t, p, newKey(t))
			return p, e.rcp
		}, ErrInvalidSignature},
		{"signature bytes tampered", func(t *testing.T, e *env) (*lpnet.Payment, *Recipient) {
			p := e.pay(t, 2)
			p.TicketSenderParams[0].Sig[5] ^= 0xff
			return p, e.rcp
		}, ErrInvalidSignature},
		{"ticket made for another recipient", func(t *testing.T, e *env) (*lpnet.Payment, *Recipient) {
			return e.pay(t, 2), e.otherRecipient(t, common.HexToAddress("0x0b"), [32]byte{1})
		}, ErrWrongRecipient},
		{"replayed nonce", func(t *testing.T, e *env) (*lpnet.Payment, *Recipient) {
			p := e.pay(t, 2)
			_, err := e.rcp.ReceivePayment(context.Background(), clonePayment(p))
			require.NoError(t, err)
			return p, e.rcp
		}, ErrReplayedNonce},
		{"params expired by L1 block", func(t *testing.T, e *env) (*lpnet.Payment, *Recipient) {
			p := e.pay(t, 2)
			e.clock.SetL1Block(testL1Block + 10) // params expire at issue block + 10
			return p, e.rcp
		}, ErrExpiredParams},
		{"params expired by round", func(t *testing.T, e *env) (*lpnet.Payment, *Recipient) {
			p := e.pay(t, 2)
			e.clock.SetRound(testRound+ticketValidityPeriod+1, common.HexToHash("0xabc2"))
			return p, e.rcp
		}, ErrExpiredParams},
		{"face value over the sender's reduced reserve", func(t *testing.T, e *env) (*lpnet.Payment, *Recipient) {
			p := e.pay(t, 2)
			e.funds.SetAccount(e.baddr(), Account{Deposit: oneEther, Reserve: new(big.Int).Sub(faceValue, big.NewInt(1))})
			return p, e.rcp
		}, ErrOverReserve},
		{"unknown sender", func(t *testing.T, e *env) (*lpnet.Payment, *Recipient) {
			p := e.pay(t, 2)
			p.Sender = common.HexToAddress("0xdead").Bytes()
			return p, e.rcp
		}, ErrUnknownSender},
		{"sender unlocking", func(t *testing.T, e *env) (*lpnet.Payment, *Recipient) {
			p := e.pay(t, 2)
			e.funds.SetAccount(e.baddr(), Account{Deposit: oneEther, Reserve: oneEther, WithdrawRound: testRound + 1})
			return p, e.rcp
		}, ErrSenderUnlocking},
		{"sender without funds", func(t *testing.T, e *env) (*lpnet.Payment, *Recipient) {
			p := e.pay(t, 2)
			e.funds.SetAccount(e.baddr(), Account{})
			return p, e.rcp
		}, ErrUnfundedSender},
		{"params issued under another secret", func(t *testing.T, e *env) (*lpnet.Payment, *Recipient) {
			return e.pay(t, 2), e.otherRecipient(t, e.rcp.Address(), [32]byte{2})
		}, ErrInvalidTicket},
		{"face value tampered", func(t *testing.T, e *env) (*lpnet.Payment, *Recipient) {
			p := e.pay(t, 2)
			p.TicketParams.FaceValue = big.NewInt(12345).Bytes()
			return p, e.rcp
		}, ErrInvalidTicket},
		{"expected price differs from quote", func(t *testing.T, e *env) (*lpnet.Payment, *Recipient) {
			p := e.pay(t, 2)
			p.ExpectedPrice = &lpnet.PriceInfo{PricePerUnit: 1, PixelsPerUnit: 1}
			return p, e.rcp
		}, ErrInvalidTicket},
		{"no sender", func(t *testing.T, e *env) (*lpnet.Payment, *Recipient) {
			p := e.pay(t, 2)
			p.Sender = nil
			return p, e.rcp
		}, ErrInvalidTicket},
		{"no expected price", func(t *testing.T, e *env) (*lpnet.Payment, *Recipient) {
			p := e.pay(t, 2)
			p.ExpectedPrice = nil
			return p, e.rcp
		}, ErrInvalidPrice},
		{"more tickets than pm allows per params", func(t *testing.T, e *env) (*lpnet.Payment, *Recipient) {
			return e.pay(t, 151), e.rcp
		}, ErrNonceLimit},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			p, r := tc.prepare(t, e)
			credited, err := r.ReceivePayment(context.Background(), p)
			require.Nil(t, credited)
			requireOnly(t, err, tc.want)
		})
	}
}

// Ticket 3 of 5 carries a bad signature: mirror of ProcessPayment.
func TestReceivePaymentBadTicketMidway(t *testing.T) {
	e := newEnv(t)
	p := e.pay(t, 5)
	goodSig := append([]byte(nil), p.TicketSenderParams[2].Sig...)
	p.TicketSenderParams[2].Sig[5] ^= 0xff

	credited, err := e.rcp.ReceivePayment(context.Background(), clonePayment(p))
	require.Nil(t, credited)
	requireOnly(t, err, ErrInvalidSignature)
	var pe *PaymentError
	require.True(t, errors.As(err, &pe))
	require.Equal(t, 2, pe.Ticket)
	require.Equal(t, 5, pe.Tickets)
	require.Zero(t, wantEV(p.TicketParams, 2).Cmp(pe.Accepted), "accepted = tickets 1 and 2")

	// Tickets 4 and 5 went through pm after the error: their nonces are burnt.
	rest := clonePayment(p)
	rest.TicketSenderParams = rest.TicketSenderParams[3:]
	_, err = e.rcp.ReceivePayment(context.Background(), rest)
	requireOnly(t, err, ErrReplayedNonce)

	// Ticket 3 was refused before its nonce was recorded: the genuine one pays.
	third := clonePayment(p)
	third.TicketSenderParams = third.TicketSenderParams[2:3]
	third.TicketSenderParams[0].Sig = goodSig
	credited, err = e.rcp.ReceivePayment(context.Background(), third)
	require.NoError(t, err)
	require.Zero(t, wantEV(p.TicketParams, 1).Cmp(credited))
}

// A fatal error stops at once, so nothing of the payment is spent.
func TestReceivePaymentFatalErrorSpendsNothing(t *testing.T) {
	e := newEnv(t)
	p := e.pay(t, 3)
	other := e.otherRecipient(t, common.HexToAddress("0x0b"), [32]byte{1})
	_, err := other.ReceivePayment(context.Background(), clonePayment(p))
	requireOnly(t, err, ErrWrongRecipient)

	credited, err := e.rcp.ReceivePayment(context.Background(), p)
	require.NoError(t, err)
	require.Zero(t, wantEV(p.TicketParams, 3).Cmp(credited))
}

func TestReceivePaymentWithoutTicketsIsFree(t *testing.T) {
	e := newEnv(t)
	id, _ := e.session(t)
	p, err := e.snd.Pay(id, 0)
	require.NoError(t, err)
	credited, err := e.rcp.ReceivePayment(context.Background(), p)
	require.NoError(t, err)
	require.Zero(t, credited.Sign())
}

func TestReceivePaymentHonoursContext(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := e.rcp.ReceivePayment(ctx, e.pay(t, 1))
	require.ErrorIs(t, err, context.Canceled)
}

// With EV equal to the face value every ticket wins.
func alwaysWin(deposit *big.Int) envOpt {
	return func(r *RecipientConfig, _ *SenderConfig, a *Account) {
		// pm's sender refuses EV == face value, so one wei less: a ticket
		// then loses with probability 1e-16.
		r.EV = new(big.Int).Sub(faceValue, big.NewInt(1))
		a.Deposit = deposit
	}
}

func TestWinningTicketsReduceMaxFloat(t *testing.T) {
	cases := []struct {
		name    string
		deposit *big.Int
		// float after two winners, as a function of the reserve
		wantFloat *big.Int
	}{
		{"deposit below 3× pending: float shrinks", faceValue, new(big.Int).Sub(oneEther, new(big.Int).Mul(faceValue, big.NewInt(2)))},
		{"deposit covers 3× pending: float kept", oneEther, oneEther},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, alwaysWin(tc.deposit), func(_ *RecipientConfig, s *SenderConfig, _ *Account) {
				s.MaxEV, s.MaxTotalEV = new(big.Rat).SetInt(oneEther), new(big.Rat).SetInt(oneEther)
			})
			p := e.pay(t, 2)
			credited, err := e.rcp.ReceivePayment(context.Background(), clonePayment(p))
			require.NoError(t, err)
			require.Zero(t, wantEV(p.TicketParams, 2).Cmp(credited))
			require.Len(t, e.funds.WinningTickets(e.baddr()), 2)
			require.Equal(t, new(big.Int).Mul(faceValue, big.NewInt(2)), e.funds.Pending(e.baddr()))
			float, err := e.funds.MaxFloat(e.baddr())
			require.NoError(t, err)
			require.Equal(t, tc.wantFloat, float)

			// Replaying winners is rejected and does not count them twice.
			_, err = e.rcp.ReceivePayment(context.Background(), p)
			requireOnly(t, err, ErrReplayedNonce)
			require.Equal(t, new(big.Int).Mul(faceValue, big.NewInt(2)), e.funds.Pending(e.baddr()))
		})
	}
}

func TestShrunkFloatCapsFaceValueThenRefusesParams(t *testing.T) {
	// Reserve for exactly three face values; the deposit is too small to
	// cover pending winners, so each winner lowers the float.
	e := newEnv(t, alwaysWin(big.NewInt(1)), func(_ *RecipientConfig, s *SenderConfig, a *Account) {
		a.Reserve = new(big.Int).Mul(faceValue, big.NewInt(3))
		s.MaxEV, s.MaxTotalEV, s.DepositMultiplier = new(big.Rat).SetInt(oneEther), new(big.Rat).SetInt(oneEther), 1
	})
	float := func() *big.Int {
		f, err := e.funds.MaxFloat(e.baddr())
		require.NoError(t, err)
		return f
	}
	require.Equal(t, new(big.Int).Mul(faceValue, big.NewInt(3)), float())
	params, err := e.rcp.TicketParams(e.baddr(), testPrice)
	require.NoError(t, err)
	require.Equal(t, faceValue, new(big.Int).SetBytes(params.FaceValue))

	// Queue three winners by hand: the float drops to zero and the
	// recipient can no longer issue params.
	for i := 0; i < 3; i++ {
		require.NoError(t, e.funds.QueueTicket(signedTicket(e.baddr(), uint32(i), faceValue)))
	}
	require.Zero(t, float().Sign())
	_, err = e.rcp.TicketParams(e.baddr(), testPrice)
	requireOnly(t, err, ErrOverReserve)
}

func TestTicketParamsFaceValue(t *testing.T) {
	cases := []struct {
		name     string
		gasPrice *big.Int
		reserve  *big.Int
		maxFace  *big.Int
		want     *big.Int
		wantErr  error
	}{
		{"gas × redeem gas × multiplier", gwei, oneEther, nil, faceValue, nil},
		{"follows gas price", new(big.Int).Mul(gwei, big.NewInt(3)), oneEther, nil, new(big.Int).Mul(faceValue, big.NewInt(3)), nil},
		{"below EV: 100 × EV", big.NewInt(1), oneEther, nil, new(big.Int).Mul(testEV, big.NewInt(100)), nil},
		{"capped by max float", gwei, big.NewInt(5e15), nil, big.NewInt(5e15), nil},
		{"capped by max face value", gwei, oneEther, big.NewInt(2e15), big.NewInt(2e15), nil},
		{"float below EV", gwei, new(big.Int).Sub(testEV, big.NewInt(1)), nil, nil, ErrOverReserve},
		{"float below redemption cost", gwei, big.NewInt(1e13), nil, nil, ErrOverReserve},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(r *RecipientConfig, _ *SenderConfig, a *Account) {
				a.Reserve, r.MaxFaceValue = tc.reserve, tc.maxFace
			})
			e.gas.Set(tc.gasPrice)
			params, err := e.rcp.TicketParams(e.baddr(), testPrice)
			if tc.wantErr != nil {
				requireOnly(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, new(big.Int).SetBytes(params.FaceValue))
			require.Equal(t, e.rcp.Address().Bytes(), params.Recipient)
			require.Equal(t, big.NewInt(testL1Block+10), new(big.Int).SetBytes(params.ExpirationBlock))
			require.Equal(t, int64(testRound), params.ExpirationParams.CreationRound)
		})
	}
}

func TestTicketParamsErrors(t *testing.T) {
	e := newEnv(t)
	_, err := e.rcp.TicketParams(common.HexToAddress("0xdead"), testPrice)
	requireOnly(t, err, ErrUnknownSender)
	_, err = e.rcp.TicketParams(e.baddr(), &lpnet.PriceInfo{PricePerUnit: 1})
	requireOnly(t, err, ErrInvalidPrice)
	_, err = e.rcp.TicketParams(e.baddr(), nil)
	requireOnly(t, err, ErrInvalidPrice)
}

// Arbitrum can report a zero block hash for a round; pm then falls back to
// the previous round, which the Clock must remember.
func TestTicketParamsZeroRoundHashUsesPreviousRound(t *testing.T) {
	e := newEnv(t)
	e.clock.SetRound(testRound+1, common.Hash{})
	params, err := e.rcp.TicketParams(e.baddr(), testPrice)
	require.NoError(t, err)
	require.Equal(t, int64(testRound), params.ExpirationParams.CreationRound)
	require.Equal(t, common.HexToHash("0xabc1").Bytes(), params.ExpirationParams.CreationRoundBlockHash)
}

func TestRecipientConcurrent(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = e.rcp.Run(ctx); close(done) }()

	const workers, perWorker = 8, 5
	var mu sync.Mutex
	total, want := new(big.Rat), new(big.Rat)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			params, err := e.rcp.TicketParams(e.baddr(), testPrice)
			assert.NoError(t, err)
			id, err := e.snd.StartSession(params, testPrice)
			assert.NoError(t, err)
			for i := 0; i < perWorker; i++ {
				p, err := e.snd.Pay(id, 2)
				if !assert.NoError(t, err) {
					return
				}
				c, err := e.rcp.ReceivePayment(ctx, p)
				if !assert.NoError(t, err) {
					return
				}
				_, _ = e.funds.MaxFloat(e.baddr())
				mu.Lock()
				total.Add(total, c)
				want.Add(want, wantEV(params, 2))
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < 5; i++ { // the chain moves while payments flow
		e.clock.SetL1Block(testL1Block + int64(i)%2)
		e.gas.Set(gwei)
	}
	wg.Wait()
	cancel()
	<-done
	require.Zero(t, want.Cmp(total))
}
