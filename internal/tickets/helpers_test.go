package tickets

import (
	"crypto/ecdsa"
	"errors"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/livepeer/go-livepeer/pm"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	lpnet "github.com/livepeer/go-livepeer/net"
)

// Test economy: gas 1 gwei × 100k gas × multiplier 100 gives a face value
// of 1e16 wei; the required EV is 1e12 wei, so winProb ≈ 1e-4.
var (
	gwei       = big.NewInt(1_000_000_000)
	testEV     = big.NewInt(1_000_000_000_000)
	faceValue  = big.NewInt(10_000_000_000_000_000)
	oneEther   = new(big.Int).Exp(big.NewInt(10), big.NewInt(18), nil)
	testPrice  = &lpnet.PriceInfo{PricePerUnit: 1000, PixelsPerUnit: 1}
	maxWinProb = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 256), big.NewInt(1))
)

const (
	testRound     = 100
	testL1Block   = 1_000
	testRedeemGas = 100_000
	testTxMult    = 100
)

// env is one broadcaster paying one orchestrator over a shared clock.
type env struct {
	clock *Clock
	gas   *GasPriceFeed
	funds *Funds // the orchestrator's view of sender funds
	bkey  *ecdsa.PrivateKey
	snd   *Sender
	rcp   *Recipient
}

type envOpt func(*RecipientConfig, *SenderConfig, *Account)

func newEnv(t *testing.T, opts ...envOpt) *env {
	t.Helper()
	e := &env{
		clock: NewClock(testRound, common.HexToHash("0xabc1"), testL1Block),
		gas:   NewGasPriceFeed(gwei),
		bkey:  newKey(t),
	}
	rcfg := RecipientConfig{Address: common.HexToAddress("0x0a"), Secret: [32]byte{1}, EV: testEV, RedeemGas: testRedeemGas, TxCostMultiplier: testTxMult}
	scfg := SenderConfig{MaxEV: big.NewRat(1e13, 1), MaxTotalEV: big.NewRat(1e15, 1), DepositMultiplier: 1}
	acct := Account{Deposit: new(big.Int).Div(oneEther, big.NewInt(10)), Reserve: oneEther}
	for _, o := range opts {
		o(&rcfg, &scfg, &acct)
	}
	e.funds = NewFunds(rcfg.Address, e.clock)
	e.funds.SetAccount(e.baddr(), acct)
	var err error
	e.rcp, err = NewRecipient(rcfg, e.funds, e.clock, e.gas)
	require.NoError(t, err)
	e.snd, err = NewSender(e.bkey, e.clock, e.funds, scfg)
	require.NoError(t, err)
	return e
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := crypto.GenerateKey()
	require.NoError(t, err)
	return k
}

func (e *env) baddr() common.Address { return crypto.PubkeyToAddress(e.bkey.PublicKey) }

// session fetches params from the recipient and opens a sender session.
func (e *env) session(t *testing.T) (string, *lpnet.TicketParams) {
	t.Helper()
	params, err := e.rcp.TicketParams(e.baddr(), testPrice)
	require.NoError(t, err)
	id, err := e.snd.StartSession(params, testPrice)
	require.NoError(t, err)
	return id, params
}

// pay opens a fresh session and returns a payment of n tickets.
func (e *env) pay(t *testing.T, n int) *lpnet.Payment {
	t.Helper()
	id, _ := e.session(t)
	p, err := e.snd.Pay(id, n)
	require.NoError(t, err)
	return p
}

// otherRecipient is a second orchestrator on the same chain that also
// knows the broadcaster's funds.
func (e *env) otherRecipient(t *testing.T, addr common.Address, secret [32]byte) *Recipient {
	t.Helper()
	funds := NewFunds(addr, e.clock)
	acct, err := e.funds.Account(e.baddr())
	require.NoError(t, err)
	funds.SetAccount(e.baddr(), acct)
	r, err := NewRecipient(RecipientConfig{Address: addr, Secret: secret, EV: testEV, RedeemGas: testRedeemGas, TxCostMultiplier: testTxMult}, funds, e.clock, e.gas)
	require.NoError(t, err)
	return r
}

// wantEV computes n tickets' EV independently of pm:
// faceValue × winProb / (2^256 − 1).
func wantEV(p *lpnet.TicketParams, n int) *big.Rat {
	fv := new(big.Int).SetBytes(p.FaceValue)
	wp := new(big.Int).SetBytes(p.WinProb)
	one := new(big.Rat).SetFrac(new(big.Int).Mul(fv, wp), maxWinProb)
	return one.Mul(one, big.NewRat(int64(n), 1))
}

// resign replaces every signature with one by key, claiming the payment's
// original sender: a forgery.
func resign(t *testing.T, p *lpnet.Payment, key *ecdsa.PrivateKey) {
	t.Helper()
	signer, err := NewKeySigner(key)
	require.NoError(t, err)
	price, err := ratPrice(p.ExpectedPrice)
	require.NoError(t, err)
	params, exp := paymentParams(p, price)
	for _, tsp := range p.TicketSenderParams {
		tk := pm.NewTicket(params, exp, common.BytesToAddress(p.Sender), tsp.SenderNonce)
		tsp.Sig, err = signer.Sign(tk.Hash().Bytes())
		require.NoError(t, err)
	}
}

func clonePayment(p *lpnet.Payment) *lpnet.Payment { return proto.Clone(p).(*lpnet.Payment) }

func allSentinels() []error {
	return []error{ErrInvalidSignature, ErrWrongRecipient, ErrReplayedNonce, ErrNonceLimit,
		ErrExpiredParams, ErrOverReserve, ErrUnknownSender, ErrUnfundedSender, ErrSenderUnlocking,
		ErrInvalidTicket, ErrInvalidPrice, ErrUnknownSession, ErrUnacceptableParams, ErrInvalidConfig}
}

// requireOnly asserts err matches want and no other sentinel.
func requireOnly(t *testing.T, err, want error) {
	t.Helper()
	require.ErrorIs(t, err, want)
	for _, s := range allSentinels() {
		if s != want {
			require.False(t, errors.Is(err, s), "%v also matches %v", err, s)
		}
	}
}
