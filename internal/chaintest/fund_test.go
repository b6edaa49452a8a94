package chaintest

import (
	"context"
	"math/big"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
)

// TestFundAndBuyOnAChainOnly: Fund gives an address exactly the ETH and
// BZZ asked for, and a chain-only network buys batches too.
func TestFundAndBuyOnAChainOnly(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	began := time.Now()
	n, err := StartChain(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := n.Close(); err != nil {
			t.Error(err)
		}
	}()
	t.Logf("chain up in %s", time.Since(began).Round(time.Millisecond))

	key, err := crypto.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	addr := crypto.PubkeyToAddress(key.PublicKey)
	wei, plur := big.NewInt(2e18), big.NewInt(3e16)
	if err := n.Fund(ctx, addr, wei, plur); err != nil {
		t.Fatal(err)
	}
	gotWei, err := n.chain.eth.BalanceAt(ctx, addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	var gotPlur *big.Int
	if err := call(ctx, n.storage.token, &gotPlur, "balanceOf", addr); err != nil {
		t.Fatal(err)
	}
	if gotWei.Cmp(wei) != 0 || gotPlur.Cmp(plur) != 0 {
		t.Fatalf("funded %s wei and %s PLUR, want %s and %s", gotWei, gotPlur, wei, plur)
	}

	id, err := n.BuyBatch(ctx, key, 17, big.NewInt(1_000_000_000), true)
	if err != nil {
		t.Fatal(err)
	}
	owner, err := n.BatchOwner(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if owner != addr {
		t.Fatalf("batch owner %s, want %s", owner, addr)
	}
}
