package tickets

import (
	"math/big"
	"sync"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/livepeer/go-livepeer/pm"
	"github.com/stretchr/testify/require"
)

var (
	claimant = common.HexToAddress("0x0a")
	holder   = common.HexToAddress("0xb0")
)

func signedTicket(sender common.Address, nonce uint32, fv *big.Int) *pm.SignedTicket {
	return &pm.SignedTicket{Ticket: &pm.Ticket{
		Recipient: claimant, Sender: sender, FaceValue: fv, WinProb: maxWinProb,
		SenderNonce: nonce, CreationRound: testRound, ParamsExpirationBlock: big.NewInt(0),
	}}
}

func newFunds(a Account) (*Funds, *Clock) {
	c := NewClock(testRound, common.HexToHash("0x1"), testL1Block)
	f := NewFunds(claimant, c)
	f.SetAccount(holder, a)
	return f, c
}

func TestFundsValidateSender(t *testing.T) {
	cases := []struct {
		name string
		acct *Account
		want error
	}{
		{"unknown", nil, ErrUnknownSender},
		{"funded", &Account{Deposit: big.NewInt(1), Reserve: big.NewInt(1)}, nil},
		{"deposit only", &Account{Deposit: big.NewInt(1)}, nil},
		{"no deposit nor reserve", &Account{}, ErrUnfundedSender},
		{"withdraws next round", &Account{Deposit: big.NewInt(1), WithdrawRound: testRound + 1}, ErrSenderUnlocking},
		{"withdraws this round", &Account{Deposit: big.NewInt(1), WithdrawRound: testRound}, ErrSenderUnlocking},
		{"withdraws in two rounds", &Account{Deposit: big.NewInt(1), WithdrawRound: testRound + 2}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := NewFunds(claimant, NewClock(testRound, common.Hash{1}, 1))
			if tc.acct != nil {
				f.SetAccount(holder, *tc.acct)
			}
			err := f.ValidateSender(holder)
			if tc.want == nil {
				require.NoError(t, err)
				return
			}
			requireOnly(t, err, tc.want)
		})
	}
}

func TestFundsMaxFloat(t *testing.T) {
	cases := []struct {
		name     string
		deposit  int64
		reserve  int64
		pool     int64
		pending  []int64
		redeemed int // how many of pending to redeem
		want     int64
	}{
		{"whole reserve for a pool of one", 0, 1000, 1, nil, 0, 1000},
		{"reserve split across the pool", 0, 1000, 4, nil, 0, 250},
		{"empty pool", 0, 1000, 0, nil, 0, 0},
		{"pending winners lower the float", 10, 1000, 1, []int64{100, 50}, 0, 850},
		{"deposit ≥ 3× pending ignores them", 450, 1000, 1, []int64{100, 50}, 0, 1000},
		{"redeemed from deposit restores the float", 100, 1000, 1, []int64{100}, 1, 1000},
		{"claimed reserve lowers the allocation", 0, 1000, 1, []int64{100}, 1, 900},
		{"float can go negative", 0, 100, 1, []int64{60, 70}, 0, -30},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, c := newFunds(Account{Deposit: big.NewInt(tc.deposit), Reserve: big.NewInt(tc.reserve)})
			c.SetPoolSize(tc.pool)
			var queued []*pm.SignedTicket
			for i, fv := range tc.pending {
				st := signedTicket(holder, uint32(i), big.NewInt(fv))
				require.NoError(t, f.QueueTicket(st))
				queued = append(queued, st)
			}
			for _, st := range queued[:tc.redeemed] {
				_, err := f.MarkRedeemed(st)
				require.NoError(t, err)
			}
			got, err := f.MaxFloat(holder)
			require.NoError(t, err)
			require.Equal(t, big.NewInt(tc.want), got)
		})
	}
}

func TestFundsMarkRedeemed(t *testing.T) {
	cases := []struct {
		name             string
		deposit, reserve int64
		pool             int64
		face             int64
		wantPaid         int64
		wantDeposit      int64
		wantReserve      int64
	}{
		{"deposit covers it", 100, 1000, 1, 60, 60, 40, 1000},
		{"rest claimed from the reserve", 30, 1000, 1, 100, 100, 0, 930},
		{"claim limited to this recipient's allocation", 0, 1000, 4, 400, 250, 0, 750},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, c := newFunds(Account{Deposit: big.NewInt(tc.deposit), Reserve: big.NewInt(tc.reserve)})
			c.SetPoolSize(tc.pool)
			st := signedTicket(holder, 1, big.NewInt(tc.face))
			require.NoError(t, f.QueueTicket(st))
			paid, err := f.MarkRedeemed(st)
			require.NoError(t, err)
			require.Equal(t, big.NewInt(tc.wantPaid), paid)
			a, err := f.Account(holder)
			require.NoError(t, err)
			require.Equal(t, big.NewInt(tc.wantDeposit), a.Deposit)
			require.Equal(t, big.NewInt(tc.wantReserve), a.Reserve)
			claimed, err := f.ClaimedReserve(holder, claimant)
			require.NoError(t, err)
			require.Equal(t, big.NewInt(tc.reserve-tc.wantReserve), claimed)
			require.Zero(t, f.Pending(holder).Sign())
			require.Empty(t, f.WinningTickets(holder))
		})
	}
}

func TestFundsMarkRedeemedErrors(t *testing.T) {
	f, c := newFunds(Account{Deposit: big.NewInt(100), Reserve: big.NewInt(100)})
	st := signedTicket(holder, 1, big.NewInt(10))
	_, err := f.MarkRedeemed(st)
	requireOnly(t, err, ErrInvalidTicket)

	require.NoError(t, f.QueueTicket(st))
	require.NoError(t, f.QueueTicket(st), "queueing twice is harmless")
	require.Equal(t, big.NewInt(10), f.Pending(holder))
	c.SetRound(testRound+ticketValidityPeriod+1, common.Hash{2})
	_, err = f.MarkRedeemed(st)
	requireOnly(t, err, ErrExpiredParams)
	require.Zero(t, f.Pending(holder).Sign(), "expired winner no longer pending")
	a, err := f.Account(holder)
	require.NoError(t, err)
	require.Equal(t, big.NewInt(100), a.Deposit, "expired winner is not paid")

	_, err = f.MarkRedeemed(signedTicket(common.HexToAddress("0xdead"), 1, big.NewInt(1)))
	requireOnly(t, err, ErrUnknownSender)
}

func TestFundsUnknownSender(t *testing.T) {
	f := NewFunds(claimant, NewClock(1, common.Hash{1}, 1))
	_, err := f.GetSenderInfo(holder)
	requireOnly(t, err, ErrUnknownSender)
	_, err = f.ClaimedReserve(holder, claimant)
	requireOnly(t, err, ErrUnknownSender)
	_, err = f.MaxFloat(holder)
	requireOnly(t, err, ErrUnknownSender)
	_, err = f.Account(holder)
	requireOnly(t, err, ErrUnknownSender)
	requireOnly(t, f.QueueTicket(signedTicket(holder, 1, big.NewInt(1))), ErrUnknownSender)
	require.Zero(t, f.Pending(holder).Sign())
	require.Nil(t, f.WinningTickets(holder))
}

func TestFundsSenderInfo(t *testing.T) {
	f, _ := newFunds(Account{Deposit: big.NewInt(5), Reserve: big.NewInt(7), WithdrawRound: 9})
	info, err := f.GetSenderInfo(holder)
	require.NoError(t, err)
	require.Equal(t, big.NewInt(5), info.Deposit)
	require.Equal(t, big.NewInt(9), info.WithdrawRound)
	require.Equal(t, big.NewInt(7), info.Reserve.FundsRemaining)
	require.Zero(t, info.Reserve.ClaimedInCurrentRound.Sign())
	info.Deposit.SetInt64(1000) // callers cannot change the model
	a, err := f.Account(holder)
	require.NoError(t, err)
	require.Equal(t, big.NewInt(5), a.Deposit)
}

func TestSubscriptions(t *testing.T) {
	f, c := newFunds(Account{})
	reserves := make(chan common.Address, 1)
	rounds := make(chan types.Log, 1)
	blocks := make(chan *big.Int, 1)
	defer f.SubscribeReserveChange(reserves).Unsubscribe()
	defer c.SubscribeRounds(rounds).Unsubscribe()
	defer c.SubscribeL1Blocks(blocks).Unsubscribe()

	f.SetAccount(holder, Account{Deposit: big.NewInt(1)})
	require.Equal(t, holder, <-reserves)
	c.SetRound(testRound+1, common.Hash{9})
	require.Equal(t, common.Hash{9}, (<-rounds).BlockHash)
	c.SetL1Block(42)
	require.Equal(t, big.NewInt(42), <-blocks)
	require.Equal(t, big.NewInt(testRound+1), c.LastInitializedRound())
	require.Equal(t, [32]byte(common.HexToHash("0x1")), c.PreLastInitializedL1BlockHash())
}

func TestFundsConcurrent(t *testing.T) {
	f, c := newFunds(Account{Deposit: big.NewInt(1), Reserve: big.NewInt(1_000_000)})
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			for j := 0; j < 50; j++ {
				st := signedTicket(holder, uint32(i*100+j), big.NewInt(10))
				_ = f.QueueTicket(st)
				_, _ = f.MaxFloat(holder)
				_, _ = f.MarkRedeemed(st)
				_ = f.ValidateSender(holder)
				c.SetPoolSize(1)
			}
		}(i)
	}
	wg.Wait()
	require.Zero(t, f.Pending(holder).Sign())
	a, err := f.Account(holder)
	require.NoError(t, err)
	// 400 tickets of 10: 1 from the deposit, the rest from the reserve.
	require.Equal(t, big.NewInt(1_000_000-(4000-1)), a.Reserve)
}
