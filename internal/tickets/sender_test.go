package tickets

import (
	"crypto/ecdsa"
	"math"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/livepeer/go-livepeer/pm"
	"github.com/stretchr/testify/require"

	lpnet "github.com/livepeer/go-livepeer/net"
)

// The payment carries exactly what genPayment puts on the wire.
func TestPayBuildsGenPaymentMessage(t *testing.T) {
	e := newEnv(t)
	id, params := e.session(t)
	p, err := e.snd.Pay(id, 3)
	require.NoError(t, err)

	require.Equal(t, e.baddr().Bytes(), p.Sender)
	require.Equal(t, testPrice.PricePerUnit, p.ExpectedPrice.PricePerUnit)
	require.Equal(t, testPrice.PixelsPerUnit, p.ExpectedPrice.PixelsPerUnit)
	tp := p.TicketParams
	require.Equal(t, params.Recipient, tp.Recipient)
	require.Equal(t, params.FaceValue, tp.FaceValue)
	require.Equal(t, params.WinProb, tp.WinProb)
	require.Equal(t, params.RecipientRandHash, tp.RecipientRandHash)
	require.Equal(t, params.Seed, tp.Seed)
	require.Equal(t, params.ExpirationBlock, tp.ExpirationBlock)
	require.Nil(t, tp.ExpirationParams, "genPayment sends expiration params at the top level only")
	require.Equal(t, params.ExpirationParams.CreationRound, p.ExpirationParams.CreationRound)
	require.Equal(t, params.ExpirationParams.CreationRoundBlockHash, p.ExpirationParams.CreationRoundBlockHash)

	require.Len(t, p.TicketSenderParams, 3)
	price, err := ratPrice(p.ExpectedPrice)
	require.NoError(t, err)
	pp, exp := paymentParams(p, price)
	for i, tsp := range p.TicketSenderParams {
		require.Equal(t, uint32(i+1), tsp.SenderNonce, "pm nonces start at 1")
		require.Len(t, tsp.Sig, 65)
		tk := pm.NewTicket(pp, exp, e.baddr(), tsp.SenderNonce)
		require.True(t, (&pm.DefaultSigVerifier{}).Verify(e.baddr(), tk.Hash().Bytes(), tsp.Sig))
	}
}

func TestPayWithoutTickets(t *testing.T) {
	e := newEnv(t)
	id, _ := e.session(t)
	for _, n := range []int{0, -1} {
		p, err := e.snd.Pay(id, n)
		require.NoError(t, err)
		require.Equal(t, e.baddr().Bytes(), p.Sender)
		require.NotNil(t, p.ExpectedPrice)
		require.Nil(t, p.TicketParams)
		require.Nil(t, p.ExpirationParams)
		require.Empty(t, p.TicketSenderParams)
	}
}

// Restarting a session must not restart nonces at 1: the recipient would
// reject them as replays.
func TestStartSessionKeepsNonces(t *testing.T) {
	e := newEnv(t)
	id, params := e.session(t)
	_, err := e.snd.Pay(id, 2)
	require.NoError(t, err)
	again, err := e.snd.StartSession(params, testPrice)
	require.NoError(t, err)
	require.Equal(t, id, again)
	p, err := e.snd.Pay(again, 1)
	require.NoError(t, err)
	require.Equal(t, uint32(3), p.TicketSenderParams[0].SenderNonce)

	e.snd.EndSession(id)
	_, err = e.snd.Pay(id, 1)
	requireOnly(t, err, ErrUnknownSession)
	_, err = e.snd.EV(id)
	requireOnly(t, err, ErrUnknownSession)
}

func TestSenderEV(t *testing.T) {
	e := newEnv(t)
	id, params := e.session(t)
	got, err := e.snd.EV(id)
	require.NoError(t, err)
	require.Zero(t, wantEV(params, 1).Cmp(got))
}

func TestSenderRefuses(t *testing.T) {
	cases := []struct {
		name  string
		opt   envOpt
		after func(e *env) // applied after params are issued
		want  error
	}{
		{"params expired by L1 block", nil, func(e *env) { e.clock.SetL1Block(testL1Block + 9) }, ErrExpiredParams},
		{"ticket EV above MaxEV", func(_ *RecipientConfig, s *SenderConfig, _ *Account) { s.MaxEV = big.NewRat(1, 1) }, nil, ErrUnacceptableParams},
		{"face value above deposit / multiplier", func(_ *RecipientConfig, s *SenderConfig, _ *Account) { s.DepositMultiplier = 100 }, nil, ErrOverReserve},
		{"own funds unlocking", nil, func(e *env) {
			e.funds.SetAccount(e.baddr(), Account{Deposit: oneEther, Reserve: oneEther, WithdrawRound: testRound + 1})
		}, ErrSenderUnlocking},
		{"no reserve", nil, func(e *env) { e.funds.SetAccount(e.baddr(), Account{Deposit: oneEther}) }, ErrUnfundedSender},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var opts []envOpt
			if tc.opt != nil {
				opts = append(opts, tc.opt)
			}
			e := newEnv(t, opts...)
			params, err := e.rcp.TicketParams(e.baddr(), testPrice)
			require.NoError(t, err)
			if tc.after != nil {
				tc.after(e)
			}
			_, err = e.snd.StartSession(params, testPrice)
			requireOnly(t, err, tc.want)
		})
	}
}

func TestSenderUnknownToItsFunds(t *testing.T) {
	e := newEnv(t)
	params, err := e.rcp.TicketParams(e.baddr(), testPrice)
	require.NoError(t, err)
	s, err := NewSender(newKey(t), e.clock, e.funds, SenderConfig{MaxEV: big.NewRat(1e13, 1), MaxTotalEV: big.NewRat(1e15, 1), DepositMultiplier: 1})
	require.NoError(t, err)
	_, err = s.StartSession(params, testPrice)
	requireOnly(t, err, ErrUnknownSender)
}

// Pay re-checks params: expiry during a session is reported there.
func TestPayExpiredDuringSession(t *testing.T) {
	e := newEnv(t)
	id, _ := e.session(t)
	e.clock.SetL1Block(testL1Block + 9)
	_, err := e.snd.Pay(id, 1)
	requireOnly(t, err, ErrExpiredParams)
}

func TestStartSessionBadInput(t *testing.T) {
	e := newEnv(t)
	params, err := e.rcp.TicketParams(e.baddr(), testPrice)
	require.NoError(t, err)
	_, err = e.snd.StartSession(nil, testPrice)
	requireOnly(t, err, ErrInvalidTicket)
	for _, price := range []*lpnet.PriceInfo{nil, {PricePerUnit: 1}, {PricePerUnit: -1, PixelsPerUnit: 1}} {
		_, err = e.snd.StartSession(params, price)
		requireOnly(t, err, ErrInvalidPrice)
	}
}

func TestTicketsFor(t *testing.T) {
	params := &lpnet.TicketParams{FaceValue: big.NewInt(1000).Bytes(), WinProb: new(big.Int).Div(maxWinProb, big.NewInt(10)).Bytes()}
	one := wantEV(params, 1) // ≈ 100 wei
	// mul returns one × x / y.
	mul := func(x, y int64) *big.Rat { return new(big.Rat).Mul(one, big.NewRat(x, y)) }
	cases := []struct {
		name   string
		fee    *big.Rat
		params *lpnet.TicketParams
		want   int
	}{
		{"no fee still pays one ticket", new(big.Rat), params, 1},
		{"nil fee", nil, params, 1},
		{"below one ticket", mul(1, 2), params, 1},
		{"exactly one ticket", mul(1, 1), params, 1},
		{"just above one ticket", new(big.Rat).Add(one, big.NewRat(1, 1_000_000)), params, 2},
		{"2.5 tickets round up", mul(5, 2), params, 3},
		{"exactly three", mul(3, 1), params, 3},
		{"free params", big.NewRat(1000, 1), &lpnet.TicketParams{}, 0},
		{"nil params", big.NewRat(1000, 1), nil, 0},
		{"absurd fee saturates", new(big.Rat).SetInt(new(big.Int).Lsh(big.NewInt(1), 200)), params, math.MaxInt},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, TicketsFor(tc.fee, tc.params))
		})
	}
}

func TestKeySigner(t *testing.T) {
	key := newKey(t)
	s, err := NewKeySigner(key)
	require.NoError(t, err)
	require.Equal(t, crypto.PubkeyToAddress(key.PublicKey), s.Account().Address)
	msg := crypto.Keccak256([]byte("ticket"))
	sig, err := s.Sign(msg)
	require.NoError(t, err)
	require.Contains(t, []byte{27, 28}, sig[64])
	v := &pm.DefaultSigVerifier{}
	require.True(t, v.Verify(s.Account().Address, msg, sig))
	require.False(t, v.Verify(common.HexToAddress("0x01"), msg, sig))

	for _, bad := range []*ecdsa.PrivateKey{nil, {}} {
		_, err := NewKeySigner(bad)
		requireOnly(t, err, ErrInvalidConfig)
	}
}

func TestConstructorsRejectBadConfig(t *testing.T) {
	c := NewClock(1, common.HexToHash("0x1"), 1)
	f := NewFunds(common.Address{}, c)
	_, err := NewSender(newKey(t), c, f, SenderConfig{MaxEV: big.NewRat(1, 1), MaxTotalEV: big.NewRat(1, 1)})
	requireOnly(t, err, ErrInvalidConfig)
	_, err = NewRecipient(RecipientConfig{}, f, c, NewGasPriceFeed(gwei))
	requireOnly(t, err, ErrInvalidConfig)
	r, err := NewRecipient(RecipientConfig{EV: big.NewInt(1)}, f, c, NewGasPriceFeed(gwei))
	require.NoError(t, err, "zero secret draws a random one")
	require.Equal(t, big.NewRat(1, 1), r.EV())
}
