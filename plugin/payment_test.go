package plugin

import (
	"context"
	"math/big"
	"sync"
	"testing"
	"time"

	lpnet "github.com/livepeer/go-livepeer/net"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/proto/archiverpb"
)

// ledger is a session balance as go-livepeer's core.Balance keeps it.
type ledger struct {
	mu  sync.Mutex
	bal *big.Rat
}

func (l *ledger) Credit(amount *big.Rat) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.bal.Add(l.bal, amount)
}

func (l *ledger) Balance() *big.Rat {
	l.mu.Lock()
	defer l.mu.Unlock()
	return new(big.Rat).Set(l.bal)
}

// offering is an orchestrator's info offering archiving at price wei per
// bytesPer bytes.
func offering(t *testing.T, uri string, price, bytesPer int64) *lpnet.OrchestratorInfo {
	t.Helper()
	info := orchInfo(uri, true)
	require.NoError(t, archiverpb.SetOffer(info, &archiverpb.ArchiveOffer{Price: &archiverpb.Price{PricePerUnit: price, BytesPerUnit: bytesPer}}))
	return info
}

// receipts is a reply carrying receipts and the orchestrator's session
// total.
func receipts(t *testing.T, total string, rs ...*archiverpb.ArchiveReceipt) *lpnet.TranscodeResult {
	t.Helper()
	tr := &lpnet.TranscodeResult{}
	require.NoError(t, archiverpb.SetReceipts(tr, &archiverpb.ArchiveReceipts{Receipts: rs, SessionFeeWei: total}))
	return tr
}

func accepted(seq int64, bytes uint64, fee string) *archiverpb.ArchiveReceipt {
	return &archiverpb.ArchiveReceipt{Seq: seq, Status: archiverpb.ArchiveReceipt_ACCEPTED, BytesCharged: bytes, FeeWei: fee}
}

// TestArchiveFeesDebitGoLivepeersBalance: the archive fee the broadcaster
// mirrors, price × its own byte count (source sent plus renditions
// downloaded), is debited from go-livepeer's session balance, so that its
// tickets pay for archiving; receipts arriving before the renditions are
// counted wait for them, in either order.
func TestArchiveFeesDebitGoLivepeersBalance(t *testing.T) {
	tests := []struct {
		name         string
		run          func(b *Broadcaster, sess Session)
		wantFees     string
		wantBalance  string
		wantDisagree int
		wantSettled  string // the balance once the stream ended and settled
	}{
		{
			name: "receipt in the next reply (the default)",
			run: func(b *Broadcaster, sess Session) {
				b.Sending("m", sess, 0, 1000)
				b.Reply("m", sess.ID, receipts(t, "0", &archiverpb.ArchiveReceipt{Seq: 0, Status: archiverpb.ArchiveReceipt_PENDING}))
				b.Downloaded("m", sess.ID, 0, [][]byte{make([]byte, 300), make([]byte, 200)})
				b.Sending("m", sess, 1, 1000)
				b.Reply("m", sess.ID, receipts(t, "4500", accepted(0, 1500, "4500"))) // 3 wei a byte
			},
			// Segment 1's fee is held at its estimate until its outcome
			// is known: 1000 source bytes × (1 + 5/4 × 500/1000) × 3 wei.
			wantFees: "4500", wantBalance: "625", wantSettled: "5500",
		},
		{
			name: "receipt before the renditions (-archiveAcceptWait)",
			run: func(b *Broadcaster, sess Session) {
				b.Sending("m", sess, 0, 1000)
				b.Reply("m", sess.ID, receipts(t, "4500", accepted(0, 1500, "4500")))
				b.Downloaded("m", sess.ID, 0, [][]byte{make([]byte, 300), make([]byte, 200)})
			},
			wantFees: "4500", wantBalance: "5500", wantSettled: "5500",
		},
		{
			name: "overcharged: the broadcaster's own count is debited, then the total is adopted and flagged",
			run: func(b *Broadcaster, sess Session) {
				b.Sending("m", sess, 0, 1000)
				b.Downloaded("m", sess.ID, 0, [][]byte{make([]byte, 500)})
				b.Reply("m", sess.ID, receipts(t, "6000", accepted(0, 2000, "6000")))
			},
			wantFees: "6000", wantBalance: "4000", wantDisagree: 2, wantSettled: "4000",
		},
		{
			name: "a rendition not downloaded: the orchestrator's total settles it, flagged",
			run: func(b *Broadcaster, sess Session) {
				b.Sending("m", sess, 0, 1000)
				b.Downloaded("m", sess.ID, 0, [][]byte{nil})
				b.Reply("m", sess.ID, receipts(t, "4500", accepted(0, 1500, "4500")))
			},
			wantFees: "4500", wantBalance: "5500", wantDisagree: 1, wantSettled: "5500",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newBroadcaster(t, BroadcasterEnv{}, "-archive")
			l := &ledger{bal: big.NewRat(10000, 1)} // tickets' EV so far
			info := offering(t, closedURI(t), 3, 1)
			sess := Session{ID: "sess-1", Info: info, Ledger: l}
			b.SegmentCaps("m", info, 0, stockCaps())
			tc.run(b, sess)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			st, err := b.Status(ctx, "m")
			require.NoError(t, err)
			require.Len(t, st.Sessions, 1)
			require.Equal(t, tc.wantFees, st.Sessions[0].ArchiveFeesWei)
			require.Equal(t, tc.wantBalance, st.Sessions[0].BalanceWei)
			require.Equal(t, tc.wantBalance, l.Balance().RatString())
			require.Equal(t, tc.wantDisagree, st.Sessions[0].Disagreements)

			// The orchestrator cannot be asked here (closedURI): what has
			// no outcome at the end was not charged, its estimate returns.
			b.settle(ctx, "m")
			require.Equal(t, tc.wantSettled, l.Balance().RatString())
		})
	}
}

// TestArchiveFeesWithoutTickets: offchain (no ledger) and for a stream
// that does not ask for archiving nothing is debited and nothing breaks.
func TestArchiveFeesWithoutTickets(t *testing.T) {
	b := newBroadcaster(t, BroadcasterEnv{})
	info := offering(t, closedURI(t), 3, 1)
	b.Reply("m", "s", receipts(t, "4500", accepted(0, 1500, "4500")))
	b.Downloaded("m", "s", 0, [][]byte{make([]byte, 10)})

	b = newBroadcaster(t, BroadcasterEnv{}, "-archive")
	b.Sending("m", Session{ID: "s", Info: info}, 0, 1000)
	b.Downloaded("m", "s", 0, [][]byte{make([]byte, 500)})
	b.Reply("m", "s", receipts(t, "4500", accepted(0, 1500, "4500")))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := b.Status(ctx, "m")
	require.NoError(t, err)
	require.Equal(t, "4500", st.Sessions[0].ArchiveFeesWei)
	require.Empty(t, st.Sessions[0].BalanceWei)
}
