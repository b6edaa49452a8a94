package keccak

import (
	"crypto/rand"
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/sha3"
)

func reference(m []byte) []byte {
	h := sha3.NewLegacyKeccak256()
	_, _ = h.Write(m)
	return h.Sum(nil)
}

func TestSumMatchesKeccak256(t *testing.T) {
	hashers := map[string]*Hasher{"generic": NewGeneric()}
	if h := New(); h.Wide() {
		hashers["wide"] = h
	} else {
		t.Log("no AVX-512 here: only the generic hasher is checked")
	}
	var zero [Lanes * 64]byte
	ones := zero
	for i := range ones {
		ones[i] = 0xFF
	}
	var random [Lanes * 64]byte
	_, _ = rand.Read(random[:])
	for name, h := range hashers {
		for input, in := range map[string][Lanes * 64]byte{"zero": zero, "ones": ones, "random": random} {
			var out [Lanes * Size]byte
			h.Sum(out[:], in[:], 64)
			for i := range Lanes {
				require.Equal(t, reference(in[64*i:64*i+64]), out[Size*i:Size*i+Size], "%s, %s input, lane %d", name, input, i)
			}
		}
	}
}

func TestSumInPlace(t *testing.T) {
	var in [Lanes * 64]byte
	_, _ = rand.Read(in[:])
	want := make([][]byte, Lanes)
	for i := range want {
		want[i] = reference(in[64*i : 64*i+64])
	}
	h := New()
	h.Sum(in[:], in[:], 64)
	for i := range Lanes {
		require.Equal(t, want[i], in[Size*i:Size*i+Size], "lane %d", i)
	}
}

// The known digest of 64 zero bytes: the first level of an empty chunk's
// BMT.
func TestKnownDigest(t *testing.T) {
	var in [Lanes * 64]byte
	var out [Lanes * Size]byte
	New().Sum(out[:], in[:], 64)
	require.Equal(t, "ad3228b676f7d3cd4284a5443f17f1962b36e491b30a40b2405849e597ba5fb5", hex.EncodeToString(out[:Size]))
}

func BenchmarkSum(b *testing.B) {
	var in [Lanes * 64]byte
	_, _ = rand.Read(in[:])
	var out [Lanes * Size]byte
	for _, v := range []struct {
		name string
		h    *Hasher
	}{{"generic", NewGeneric()}, {"wide", New()}} {
		if v.name == "wide" && !v.h.Wide() {
			continue
		}
		b.Run(v.name, func(b *testing.B) {
			b.SetBytes(Lanes * 64)
			for b.Loop() {
				v.h.Sum(out[:], in[:], 64)
			}
		})
	}
}

// Every message size and count Sum takes, on both hashers.
func TestSumSizes(t *testing.T) {
	var in [Lanes * 128]byte
	_, _ = rand.Read(in[:])
	for _, h := range []*Hasher{NewGeneric(), New()} {
		for size := 8; size < rate; size += 8 {
			for k := 1; k <= Lanes; k++ {
				out := make([]byte, k*Size)
				h.Sum(out, in[:k*size], size)
				for i := range k {
					require.Equal(t, reference(in[size*i:size*i+size]), out[Size*i:Size*i+Size], "wide %v, size %d, %d messages, lane %d", h.Wide(), size, k, i)
				}
			}
		}
	}
}

func TestSumRefusesWhatItCannotHash(t *testing.T) {
	h := New()
	out := make([]byte, 16*Size)
	for _, c := range []struct {
		name     string
		in, size int
	}{{"size not a multiple of 8", 60, 60}, {"a message of a whole block", 136, 136}, {"nine messages", 9 * 64, 64}, {"a part message", 100, 64}} {
		require.Panics(t, func() { h.Sum(out, make([]byte, c.in), c.size) }, c.name)
	}
}
