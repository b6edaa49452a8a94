// Package keccak computes Ethereum's Keccak-256 (the legacy padding, as
// Swarm's BMT uses it) of many short messages at once: eight 64-byte
// messages per call, one per 64-bit lane of the AVX-512 registers where
// the CPU has them, one after the other with golang.org/x/crypto/sha3
// where it does not. A chunk's BMT is 127 hashes of 64 bytes, so this is
// most of the CPU an uploader spends computing chunk addresses.
package keccak

import (
	"encoding/binary"
	"fmt"
	"hash"

	"golang.org/x/crypto/sha3"
)

// Size is the length of a digest.
const Size = 32

// Lanes is how many messages Hasher.Sum hashes in one call.
const Lanes = 8

// rate is Keccak-256's block: the bytes absorbed per permutation.
const rate = 136

// Hasher hashes short messages eight at a time. It is not safe for
// concurrent use; its zero value is not usable: call New or NewGeneric.
type Hasher struct {
	wide  bool
	state [25][Lanes]uint64
	h     hash.Hash
}

// New returns a Hasher that uses AVX-512 when the CPU and OS support it.
func New() *Hasher {
	if !hasWide() {
		return NewGeneric()
	}
	return &Hasher{wide: true}
}

// NewGeneric returns a Hasher that hashes one message at a time, on any
// CPU: the reference the wide one is held to, and the baseline of the
// benchmarks.
func NewGeneric() *Hasher { return &Hasher{h: sha3.NewLegacyKeccak256()} }

// Wide reports whether h hashes eight lanes at once.
func (h *Hasher) Wide() bool { return h.wide }

// Sum hashes the len(in)/size messages of size bytes each that in holds,
// one after the other, and writes their digests one after the other to
// out. There may be up to Lanes messages, of a size that is a multiple
// of 8 below the 136-byte block. out may overlap in where a digest lands
// on bytes of messages before it or on its own message: out == in is
// allowed.
func (h *Hasher) Sum(out, in []byte, size int) {
	k := len(in) / size
	if size%8 != 0 || size >= rate || k > Lanes || len(in)%size != 0 || len(out) < k*Size {
		panic(fmt.Sprintf("keccak: %d bytes of %d-byte messages into %d bytes", len(in), size, len(out)))
	}
	if !h.wide {
		for i := range k {
			h.h.Reset()
			_, _ = h.h.Write(in[size*i : size*i+size])
			h.h.Sum(out[Size*i : Size*i])
		}
		return
	}
	s := &h.state
	words := size / 8
	for i := range k {
		m := in[size*i : size*i+size]
		for w := range words {
			s[w][i] = binary.LittleEndian.Uint64(m[8*w:])
		}
	}
	for w := words; w < 25; w++ {
		s[w] = [Lanes]uint64{}
	}
	// Keccak's padding of a message shorter than its 136-byte block: 0x01
	// after it, 0x80 in the block's last byte. Unused lanes hash the same
	// and are not read.
	for i := range Lanes {
		s[words][i] = 0x01
		s[rate/8-1][i] |= 0x80 << 56
	}
	permute8(s)
	for i := range k {
		d := out[Size*i : Size*i+Size]
		for w := range 4 {
			binary.LittleEndian.PutUint64(d[8*w:], s[w][i])
		}
	}
}
