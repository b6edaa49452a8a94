package orchestrator_test

import (
	"context"
	"math/big"
	"testing"
	"time"

	lpnet "github.com/livepeer/go-livepeer/net"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver"
	"github.com/lpswarm/archiver/orchestrator"
	"github.com/lpswarm/archiver/proto/archiverpb"
)

// TestEndSessionWhileOutcomeInFlight: go-livepeer may end a session while
// the spool has not yet decided its last segment (the reply said PENDING).
// The late outcome is still debited, its receipt is dropped with the
// session, and the session is forgotten once it arrives. With free
// archiving this used to dereference the forgotten reservation and crash
// the orchestrator.
func TestEndSessionWhileOutcomeInFlight(t *testing.T) {
	for _, tc := range []struct {
		name    string
		price   *lpnet.PriceInfo
		balance *big.Rat
	}{
		{"free", &lpnet.PriceInfo{PricePerUnit: 0, PixelsPerUnit: 1}, big.NewRat(10, 1)},
		{"paid", price(), big.NewRat(7, 1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, orchestrator.Config{AcceptWait: time.Millisecond,
				Price: func() *lpnet.PriceInfo { return tc.price }})
			f.orch.credit(broadcaster, session, big.NewRat(10, 1))
			f.arch.hold = make(chan struct{})
			md, seg := segment(1, true)
			_, err := f.dec.TranscodeSeg(context.Background(), md, seg)
			require.NoError(t, err)
			require.Equal(t, archiverpb.ArchiveReceipt_PENDING, onlyReceipt(t, f.dec).Status)

			f.dec.EndSession(broadcaster, session)
			require.Equal(t, []archiver.ManifestID{session}, f.dec.Sessions(), "kept while the outcome is in flight")
			close(f.arch.hold)
			require.Eventually(t, func() bool { return len(f.dec.Sessions()) == 0 }, 5*time.Second, time.Millisecond)
			require.Equal(t, tc.balance, f.orch.Balance(broadcaster, session), "the accepted segment is still charged")
			require.Empty(t, f.dec.TakeReceipts(session).Receipts)
			require.Empty(t, f.dec.Sessions(), "TakeReceipts of an unknown session creates nothing")
		})
	}
}

// TestIdleSessionsExpire mirrors go-livepeer's balance TTL: a session
// nobody ends is forgotten between SessionTTL and 1.25 × SessionTTL after
// its last use, pinned price included; one whose outcome is still in
// flight is kept until the outcome arrives, then expires in turn.
func TestIdleSessionsExpire(t *testing.T) {
	const ttl = 200 * time.Millisecond
	current := price()
	f := newFixture(t, orchestrator.Config{AcceptWait: time.Millisecond, SessionTTL: ttl,
		Price: func() *lpnet.PriceInfo { return current }})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = f.dec.Run(ctx) }()

	f.orch.credit(broadcaster, session, big.NewRat(10, 1))
	md, seg := segment(1, true)
	_, err := f.dec.TranscodeSeg(context.Background(), md, seg)
	require.NoError(t, err)
	last := time.Now()
	require.Equal(t, archiverpb.ArchiveReceipt_ACCEPTED, onlyReceipt(t, f.dec).Status)
	current = &lpnet.PriceInfo{PricePerUnit: 5, PixelsPerUnit: 1000}
	require.Equal(t, int64(3), f.dec.Offer(broadcaster, session).Price.PricePerUnit, "pinned while alive")

	// A second session whose outcome never arrives while we watch.
	other := archiver.ManifestID("session-2")
	require.NoError(t, f.dec.ProcessPayment(context.Background(), &lpnet.Payment{Sender: broadcaster.Bytes()}, other))
	f.orch.credit(broadcaster, other, big.NewRat(10, 1))
	f.arch.mu.Lock()
	f.arch.hold = make(chan struct{})
	f.arch.mu.Unlock()
	md2, seg2 := segment(1, true)
	md2.ManifestID = other
	_, err = f.dec.TranscodeSeg(context.Background(), md2, seg2)
	require.NoError(t, err)

	require.Eventually(t, func() bool {
		s := f.dec.Sessions()
		return len(s) == 1 && s[0] == other
	}, 5*time.Second, time.Millisecond)
	gone := time.Since(last)
	t.Logf("idle session forgotten %v after its last use (TTL %v)", gone, ttl)
	require.GreaterOrEqual(t, gone, ttl)
	require.Less(t, gone, ttl+ttl/4+500*time.Millisecond) // slack for a busy machine
	require.Equal(t, int64(5), f.dec.Offer(broadcaster, session).Price.PricePerUnit, "the pin went with the session")

	f.dec.Expire(time.Now().Add(2 * ttl)) // long idle, were its outcome not in flight
	require.Equal(t, []archiver.ManifestID{other}, f.dec.Sessions(), "an outcome in flight keeps its session")
	close(f.arch.hold)
	require.Eventually(t, func() bool { return len(f.dec.Sessions()) == 0 }, 5*time.Second, time.Millisecond)
}
