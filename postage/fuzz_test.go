package postage

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/stretchr/testify/require"
)

// stateSeeds are real state files: small and mainnet-shaped batches,
// immutable and mutable, with empty, partly used and full buckets.
func stateSeeds() [][]byte {
	owner := common.HexToAddress("0x00000000000000000000000000000000000000a1")
	var out [][]byte
	for _, b := range []Batch{
		testBatch(owner, "small", 3, 1, false),
		testBatch(owner, "fuzz", 14, 6, true),
		testBatch(owner, "deep", 40, 10, false),
	} {
		counters := make([]uint32, 1<<b.BucketDepth)
		out = append(out, encodeState(b, counters, nil))
		for i := range counters {
			counters[i] = uint32(uint64(i*7919) % (b.BucketCapacity() + 1))
		}
		out = append(out, encodeState(b, counters, nil))
	}
	return out
}

// frame wraps a body in a valid header and checksum, so that the fuzzer
// explores the body's decoding instead of failing the checksum.
func frame(body []byte) []byte {
	out := binary.BigEndian.AppendUint16([]byte(stateMagic), stateVersion)
	out = binary.BigEndian.AppendUint32(out, uint32(len(body)))
	out = append(out, body...)
	sum := sha256.Sum256(out)
	return append(out, sum[:]...)
}

// checkDecoded is what a state accepted from disk must satisfy: the shape
// the issuer relies on, counters within the bucket, and a re-encoding that
// decodes to the same state.
func checkDecoded(t *testing.T, b Batch, counters []uint32) {
	t.Helper()
	require.NoError(t, b.checkShape())
	require.Len(t, counters, 1<<b.BucketDepth)
	for i, c := range counters {
		require.LessOrEqual(t, uint64(c), b.BucketCapacity(), "bucket %d", i)
	}
	b2, c2, err := decodeState(encodeState(b, counters, nil))
	require.NoError(t, err)
	require.Equal(t, b, b2)
	require.Equal(t, counters, c2)
}

// FuzzDecodeState: an issuer state file read back from disk is refused as
// ErrStateCorrupt (or ErrStateVersion for a well-formed newer file), never
// reset, and an accepted one is a valid state.
func FuzzDecodeState(f *testing.F) {
	for _, s := range stateSeeds() {
		f.Add(s)
		f.Add(s[:len(s)-1])
		flipped := bytes.Clone(s)
		flipped[len(stateMagic)+5] ^= 1
		f.Add(flipped)
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		b, counters, err := decodeState(data)
		if err != nil {
			require.True(t, errors.Is(err, ErrStateCorrupt) || errors.Is(err, ErrStateVersion), "unexpected error kind: %v", err)
			require.Nil(t, counters)
			return
		}
		checkDecoded(t, b, counters)
		require.Equal(t, data, encodeState(b, counters, nil), "a file with a valid checksum is ours, byte for byte")
	})
}

// FuzzDecodeStateBody: the body of a state file with a valid frame, so the
// parameters and the counters themselves are explored. Bodies that are
// not canonical (unknown flag bits, over-long varints) may decode, but
// then re-encode to the canonical form of the same state.
func FuzzDecodeStateBody(f *testing.F) {
	for _, s := range stateSeeds() {
		f.Add(s[stateHeaderLen : len(s)-sha256.Size])
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		data := frame(body)
		b, counters, err := decodeState(data)
		if err != nil {
			require.ErrorIs(t, err, ErrStateCorrupt)
			return
		}
		checkDecoded(t, b, counters)
		if again := encodeState(b, counters, nil); len(again) == len(data) && body[stateParamsLen-1]&^flagImmutable == 0 {
			require.Equal(t, data, again)
		}
	})
}
