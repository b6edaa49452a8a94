package postage

import (
	"math/big"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/stretchr/testify/require"
)

func TestBatchValidate(t *testing.T) {
	owner := common.HexToAddress("0x1000000000000000000000000000000000000001")
	valid := Batch{ID: idFromSeed("v"), Owner: owner, Depth: 17, BucketDepth: 16, Amount: big.NewInt(1)}
	tests := []struct {
		name   string
		mutate func(*Batch)
		ok     bool
	}{
		{"mainnet minimum", func(*Batch) {}, true},
		{"deep batch", func(b *Batch) { b.Depth = 40 }, true},
		{"widest slots", func(b *Batch) { b.Depth = 16 + maxSlotDepth }, true},
		{"slots beyond uint32", func(b *Batch) { b.Depth = 16 + maxSlotDepth + 1 }, false},
		{"zero id", func(b *Batch) { b.ID = [32]byte{} }, false},
		{"zero owner", func(b *Batch) { b.Owner = common.Address{} }, false},
		{"zero bucket depth", func(b *Batch) { b.BucketDepth = 0 }, false},
		{"bucket depth equals depth", func(b *Batch) { b.Depth = 16 }, false},
		{"bucket depth above depth", func(b *Batch) { b.BucketDepth = 18 }, false},
		{"bucket depth below chain minimum", func(b *Batch) { b.BucketDepth = 15 }, false},
		{"bucket depth above issuer limit", func(b *Batch) { b.BucketDepth, b.Depth = MaxBucketDepth+1, 30 }, false},
		{"nil amount", func(b *Batch) { b.Amount = nil }, false},
		{"zero amount", func(b *Batch) { b.Amount = big.NewInt(0) }, false},
		{"negative amount", func(b *Batch) { b.Amount = big.NewInt(-1) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := valid
			tt.mutate(&b)
			err := b.Validate()
			if tt.ok {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrInvalidBatch)
		})
	}
}

func TestBatchBucketCapacity(t *testing.T) {
	tests := []struct {
		depth, bucketDepth uint8
		want               uint64
	}{
		{17, 16, 2},   // 2^(17-16)
		{18, 16, 4},   // docs: "batch depth is 18, so there are 2^(18-16) or 4 slots"
		{24, 16, 256}, // docs: "2^(24-16) = 2^8 = 256 chunks/bucket"
		{47, 16, 1 << 31},
	}
	for _, tt := range tests {
		b := Batch{Depth: tt.depth, BucketDepth: tt.bucketDepth}
		require.Equal(t, tt.want, b.BucketCapacity(), "depth %d bucket depth %d", tt.depth, tt.bucketDepth)
	}
}

func TestParseBatchID(t *testing.T) {
	const hexID = "8fcec40c65841e0c3c56679315a29a6495d32b9ed506f2757e03cdd778552c6b"
	want := [32]byte{0x8f, 0xce, 0xc4, 0x0c, 0x65, 0x84, 0x1e, 0x0c, 0x3c, 0x56, 0x67, 0x93, 0x15, 0xa2, 0x9a, 0x64,
		0x95, 0xd3, 0x2b, 0x9e, 0xd5, 0x06, 0xf2, 0x75, 0x7e, 0x03, 0xcd, 0xd7, 0x78, 0x55, 0x2c, 0x6b}
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"bare", hexID, true},
		{"0x prefix", "0x" + hexID, true},
		{"0X prefix", "0X" + hexID, true},
		{"upper case digits", strings.ToUpper(hexID), true},
		{"empty", "", false},
		{"only prefix", "0x", false},
		{"one digit short", hexID[1:], false},
		{"one byte long", hexID + "00", false},
		{"odd length", hexID + "0", false},
		{"not hex", "zz" + hexID[2:], false},
		{"double prefix", "0x0x" + hexID[4:], false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseBatchID(tt.in)
			if !tt.ok {
				require.ErrorIs(t, err, ErrInvalidBatchID)
				return
			}
			require.NoError(t, err)
			require.Equal(t, want, got)
		})
	}
}
