package payments

import (
	"fmt"
	"sync"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	lpnet "github.com/livepeer/go-livepeer/net"
	"github.com/stretchr/testify/require"
)

var (
	alice = common.HexToAddress("0x00000000000000000000000000000000000a11ce")
	bob   = common.HexToAddress("0x0000000000000000000000000000000000000b0b")
)

func requirePrice(t *testing.T, want, got *lpnet.PriceInfo, msg ...any) {
	t.Helper()
	require.NotNil(t, got, msg...)
	require.Equal(t, want.GetPricePerUnit(), got.GetPricePerUnit(), msg...)
	require.Equal(t, want.GetPixelsPerUnit(), got.GetPixelsPerUnit(), msg...)
}

// TestSessionPricesPriceChange walks an operator changing the price while
// sessions run: running sessions keep their price, new ones get the new
// one, and a forgotten session starts over.
func TestSessionPricesPriceChange(t *testing.T) {
	var s SessionPrices
	old, raised := price(1, 3), price(1, 2)

	requirePrice(t, old, s.Pin(alice, "s1", old))
	requirePrice(t, old, s.Pin(bob, "s1", old))

	// The operator raises the price.
	requirePrice(t, old, s.Pin(alice, "s1", raised), "running session keeps its price")
	requirePrice(t, old, s.Pin(bob, "s1", raised), "same session ID, other sender: own pin")
	requirePrice(t, raised, s.Pin(alice, "s2", raised), "new session of a known sender")
	requirePrice(t, raised, s.Pin(common.Address{1}, "s1", raised), "new sender")
	require.Equal(t, 4, s.Len())

	s.Forget(alice, "s1")
	_, ok := s.Pinned(alice, "s1")
	require.False(t, ok)
	got, ok := s.Pinned(bob, "s1")
	require.True(t, ok, "forgetting one sender's session leaves another's")
	requirePrice(t, old, got)
	requirePrice(t, raised, s.Pin(alice, "s1", raised), "a session started again pins the new price")
	require.Equal(t, 4, s.Len())
}

func TestSessionPricesPin(t *testing.T) {
	tests := []struct {
		name  string
		calls []*lpnet.PriceInfo // successive current prices for one session
		want  *lpnet.PriceInfo   // result of the last call; nil for nil
	}{
		{"first call pins", []*lpnet.PriceInfo{price(5, 1)}, price(5, 1)},
		{"later price ignored", []*lpnet.PriceInfo{price(5, 1), price(9, 1)}, price(5, 1)},
		{"lower price ignored too", []*lpnet.PriceInfo{price(5, 1), price(1, 1)}, price(5, 1)},
		{"nil before a pin pins nothing", []*lpnet.PriceInfo{nil}, nil},
		{"nil then a price", []*lpnet.PriceInfo{nil, price(2, 7)}, price(2, 7)},
		{"nil after a pin", []*lpnet.PriceInfo{price(2, 7), nil}, price(2, 7)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s SessionPrices
			var got *lpnet.PriceInfo
			for _, c := range tt.calls {
				got = s.Pin(alice, "s", c)
			}
			if tt.want == nil {
				require.Nil(t, got)
				require.Zero(t, s.Len())
				return
			}
			requirePrice(t, tt.want, got)
		})
	}
}

// TestSessionPricesCopies checks that neither the caller's PriceInfo nor
// a returned one aliases the pin.
func TestSessionPricesCopies(t *testing.T) {
	var s SessionPrices
	current := price(1, 3)
	got := s.Pin(alice, "s", current)
	current.PricePerUnit = 100
	got.PricePerUnit = 200
	again, ok := s.Pinned(alice, "s")
	require.True(t, ok)
	requirePrice(t, price(1, 3), again)
}

func TestSessionPricesCheckExpected(t *testing.T) {
	tests := []struct {
		name     string
		pinned   *lpnet.PriceInfo // pinned before the check; nil: none
		current  *lpnet.PriceInfo
		expected *lpnet.PriceInfo
		wantErr  error
	}{
		{"first payment pins current", nil, price(1, 3), price(1, 3), nil},
		{"same rational", price(1, 3), price(1, 3), price(2, 6), nil},
		{"pinned wins over current", price(1, 3), price(1, 2), price(1, 3), nil},
		{"expects the new price", price(1, 3), price(1, 2), price(1, 2), ErrPriceMismatch},
		{"expects less", price(1, 3), price(1, 3), price(1, 4), ErrPriceMismatch},
		{"no expected price", price(1, 3), price(1, 3), nil, ErrInvalidPrice},
		{"bad expected price", price(1, 3), price(1, 3), price(1, 0), ErrInvalidPrice},
		{"no price at all", nil, nil, price(1, 3), ErrInvalidPrice},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s SessionPrices
			if tt.pinned != nil {
				s.Pin(alice, "s", tt.pinned)
			}
			got, err := s.CheckExpected(alice, "s", tt.current, tt.expected)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			want := tt.pinned
			if want == nil {
				want = tt.current
			}
			requirePrice(t, want, got)
		})
	}
}

// TestSessionPricesConcurrent races first pins of one session: exactly one
// price must win and every caller must see it. Run with -race.
func TestSessionPricesConcurrent(t *testing.T) {
	var s SessionPrices
	const n = 64
	results := make([]*lpnet.PriceInfo, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			results[i] = s.Pin(alice, "race", price(int64(i+1), 1))
			s.Pin(bob, fmt.Sprint(i), price(1, 1))
		})
	}
	wg.Wait()
	for _, r := range results {
		requirePrice(t, results[0], r)
	}
	require.Equal(t, n+1, s.Len())
}
