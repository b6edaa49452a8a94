package tickets

import (
	"context"
	"errors"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/accounts"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/livepeer/go-livepeer/pm"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	lpnet "github.com/livepeer/go-livepeer/net"
)

// fuzzRecipientConfig is newEnv's recipient: its fixed secret lets a fresh
// recipient accept the params an earlier one issued.
var fuzzRecipientConfig = RecipientConfig{Address: common.HexToAddress("0x0a"), Secret: [32]byte{1}, EV: testEV,
	RedeemGas: testRedeemGas, TxCostMultiplier: testTxMult}

// fuzzRecipient is a fresh orchestrator that knows sender's funds, so
// every input starts from unspent nonces.
func fuzzRecipient(tb testing.TB, clock *Clock, sender common.Address) *Recipient {
	funds := NewFunds(fuzzRecipientConfig.Address, clock)
	funds.SetAccount(sender, Account{Deposit: new(big.Int).Div(oneEther, big.NewInt(10)), Reserve: oneEther})
	r, err := NewRecipient(fuzzRecipientConfig, funds, clock, NewGasPriceFeed(gwei))
	require.NoError(tb, err)
	return r
}

// signerOf recovers a ticket signature's signer with go-ethereum alone,
// independently of pm's verifier.
func signerOf(hash common.Hash, sig []byte) (common.Address, bool) {
	if len(sig) != 65 || (sig[64] != 27 && sig[64] != 28) {
		return common.Address{}, false
	}
	s := append([]byte(nil), sig...)
	s[64] -= 27
	pub, err := crypto.SigToPub(accounts.TextHash(hash.Bytes()), s)
	if err != nil {
		return common.Address{}, false
	}
	return crypto.PubkeyToAddress(*pub), true
}

// FuzzReceivePayment: the Livepeer-Payment an orchestrator credits. A
// payment either fails with exactly one of the package's sentinels and no
// credit, or every ticket in it was signed by the payment's sender over
// params this recipient issued, and the credit is their EV.
func FuzzReceivePayment(f *testing.F) {
	key, err := crypto.HexToECDSA("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
	require.NoError(f, err)
	sender := crypto.PubkeyToAddress(key.PublicKey)
	clock := NewClock(testRound, common.HexToHash("0xabc1"), testL1Block)
	issuer := fuzzRecipient(f, clock, sender)
	funds := NewFunds(fuzzRecipientConfig.Address, clock)
	funds.SetAccount(sender, Account{Deposit: new(big.Int).Div(oneEther, big.NewInt(10)), Reserve: oneEther})
	snd, err := NewSender(key, clock, funds, SenderConfig{MaxEV: big.NewRat(1e13, 1), MaxTotalEV: big.NewRat(1e15, 1), DepositMultiplier: 1})
	require.NoError(f, err)
	for _, n := range []int{1, 3} {
		params, err := issuer.TicketParams(sender, testPrice)
		require.NoError(f, err)
		id, err := snd.StartSession(params, testPrice)
		require.NoError(f, err)
		p, err := snd.Pay(id, n)
		require.NoError(f, err)
		_, err = fuzzRecipient(f, clock, sender).ReceivePayment(context.Background(), proto.Clone(p).(*lpnet.Payment))
		require.NoError(f, err, "the seed must reach the credit path")
		raw, err := proto.Marshal(p)
		require.NoError(f, err)
		f.Add(raw)
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, raw []byte) {
		var p lpnet.Payment
		if proto.Unmarshal(raw, &p) != nil {
			return // lpwire.DecodePaymentHeader refuses it first
		}
		credit, err := fuzzRecipient(t, clock, sender).ReceivePayment(context.Background(), &p)
		if err != nil {
			require.Nil(t, credit, "credit despite an error")
			matched := 0
			for _, s := range allSentinels() {
				if errors.Is(err, s) {
					matched++
				}
			}
			require.Equal(t, 1, matched, "want exactly one sentinel: %v", err)
			var pe *PaymentError
			if errors.As(err, &pe) {
				require.Less(t, pe.Ticket, pe.Tickets)
				require.GreaterOrEqual(t, pe.Accepted.Sign(), 0)
			}
			return
		}
		require.GreaterOrEqual(t, credit.Sign(), 0)
		if p.TicketParams == nil {
			require.Zero(t, credit.Sign(), "a payment without tickets credits nothing")
			return
		}
		from := common.BytesToAddress(p.Sender)
		require.Equal(t, sender, from, "credited a sender with no funds")
		params, exp := paymentParams(&p, big.NewRat(testPrice.PricePerUnit, testPrice.PixelsPerUnit))
		for i, tsp := range p.TicketSenderParams {
			tk := pm.NewTicket(params, exp, from, tsp.GetSenderNonce())
			signer, ok := signerOf(tk.Hash(), tsp.GetSig())
			require.True(t, ok, "ticket %d: signature does not recover", i)
			require.Equal(t, sender, signer, "ticket %d not signed by the sender", i)
		}
		require.Zero(t, wantEV(p.TicketParams, len(p.TicketSenderParams)).Cmp(credit))
	})
}
