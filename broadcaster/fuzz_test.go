package broadcaster_test

import (
	"math/big"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"

	"github.com/lpswarm/archiver/broadcaster"
	"github.com/lpswarm/archiver/proto/archiverpb"
)

// maxFeeBits bounds the mirror's numbers under any reply.
const maxFeeBits = 1024

// feeFormat is how the orchestrator writes fees (big.Rat's String) with
// 256-bit parts; the mirror reads nothing else.
var feeFormat = regexp.MustCompile(`^-?[0-9]{1,78}(/[0-9]{1,78})?$`)

// FuzzMirrorReply: receipts are the orchestrator's word, read from its
// reply. Whatever they say, the mirror keeps its books balanced (every fee
// it records comes off the balance), debits accepted segments at the
// pinned price on its own byte count, and adopts a readable session total.
func FuzzMirrorReply(f *testing.F) {
	// raw carries receipts as protobuf; one more receipt and the session
	// total come as plain fields, so the fuzzer works on the strings
	// directly instead of through length prefixes.
	type seed struct {
		r          *archiverpb.ArchiveReceipts
		seq        int64
		status     archiverpb.ArchiveReceipt_Status
		bytes      uint64
		fee, total string
	}
	for _, sd := range []seed{
		{&archiverpb.ArchiveReceipts{}, 1, archiverpb.ArchiveReceipt_ACCEPTED, 150, "9/20", "9/20"},
		{&archiverpb.ArchiveReceipts{Receipts: []*archiverpb.ArchiveReceipt{receipt(1, archiverpb.ArchiveReceipt_ACCEPTED, 150, "9/20")}},
			2, archiverpb.ArchiveReceipt_PENDING, 0, "", "0/1"},
		{&archiverpb.ArchiveReceipts{Receipts: []*archiverpb.ArchiveReceipt{{Seq: 3, Status: archiverpb.ArchiveReceipt_REFUSED, Reason: archiverpb.ArchiveReceipt_SPOOL_FULL}}},
			2, archiverpb.ArchiveReceipt_ACCEPTED, 10, "3/100", "1e3"},
		{&archiverpb.ArchiveReceipts{}, 1, archiverpb.ArchiveReceipt_ACCEPTED, 1, "-5", "x"},
		{&archiverpb.ArchiveReceipts{}, 2, archiverpb.ArchiveReceipt_FAILED, 10, "0x10p-3", "0/1"},
	} {
		raw, err := proto.Marshal(sd.r)
		require.NoError(f, err)
		f.Add(raw, sd.seq, int32(sd.status), sd.bytes, sd.fee, sd.total)
	}
	f.Fuzz(func(t *testing.T, raw []byte, seq int64, status int32, bytes uint64, fee, total string) {
		var r archiverpb.ArchiveReceipts
		if proto.Unmarshal(raw, &r) != nil {
			return
		}
		r.Receipts = append(r.Receipts, &archiverpb.ArchiveReceipt{Seq: seq, Status: archiverpb.ArchiveReceipt_Status(status), BytesCharged: bytes, FeeWei: fee})
		r.SessionFeeWei = total
		s, err := broadcaster.NewSession(offer(3, 1000))
		require.NoError(t, err)
		credited := big.NewRat(1_000_000, 1)
		s.Credit(credited)
		s.Counted(1, 100, 50)
		s.Counted(2, 10)
		s.Lost(3)
		s.Reply(&r)

		st := s.Status()
		balance := s.Balance()
		// Honest fees are rationals of int64 prices and byte counts; a
		// total like "1e-999999" would make every later fee on this
		// session cost seconds of big-number arithmetic.
		require.LessOrEqual(t, max(balance.Num().BitLen(), balance.Denom().BitLen()), maxFeeBits,
			"the orchestrator's fee strings blew up the mirror's numbers")
		charged := new(big.Rat).Sub(credited, balance)
		if total, ok := new(big.Rat).SetString(r.GetSessionFeeWei()); ok && feeFormat.MatchString(r.GetSessionFeeWei()) {
			require.Zero(t, total.Cmp(charged), "a readable session total is adopted")
		} else {
			// Only the segments counted here can have been debited, at the
			// pinned price on our count: 150 or 10 bytes at 3/1000.
			var want big.Rat
			for _, seq := range st.Archived {
				switch seq {
				case 1:
					want.Add(&want, big.NewRat(450, 1000))
				case 2:
					want.Add(&want, big.NewRat(30, 1000))
				default:
					t.Fatalf("segment %d archived without being counted", seq)
				}
			}
			require.Zero(t, want.Cmp(charged), "charged %s, want %s", charged.RatString(), want.RatString())
		}
		for _, d := range st.Disagreements {
			require.NotNil(t, d.Ours)
		}
	})
}

// TestMirrorReadsOnlyPlainFees is the regression test of the fuzzer's
// find (testdata/fuzz/FuzzMirrorReply): a session total with an exponent
// was adopted, and "1e-999999" made every later reply take over a second.
func TestMirrorReadsOnlyPlainFees(t *testing.T) {
	tests := []struct {
		total   string
		adopted bool
	}{
		{"9/20", true},
		{"-3/7", true},
		{"1", true},
		{"1e700", false},
		{"1e-999999", false},
		{"0x10p-3", false},
		{"1.5", false},
		{"1/0", false},
		{strings.Repeat("9", 79), false},
	}
	for _, tc := range tests {
		t.Run(tc.total, func(t *testing.T) {
			s, err := broadcaster.NewSession(offer(3, 1000))
			require.NoError(t, err)
			s.Counted(1, 100)
			s.Reply(&archiverpb.ArchiveReceipts{SessionFeeWei: tc.total, Receipts: []*archiverpb.ArchiveReceipt{
				receipt(1, archiverpb.ArchiveReceipt_ACCEPTED, 100, "3/10")}})
			charged := new(big.Rat).Neg(s.Balance())
			if tc.adopted {
				want, _ := new(big.Rat).SetString(tc.total)
				require.Zero(t, want.Cmp(charged))
				return
			}
			require.Zero(t, big.NewRat(3, 10).Cmp(charged), "an unreadable total is not adopted")
		})
	}
}
