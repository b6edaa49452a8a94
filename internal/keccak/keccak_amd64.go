//go:build !purego

package keccak

import "golang.org/x/sys/cpu"

//go:generate go run gen.go

// hasWide: the OS saves the ZMM registers and the CPU has AVX-512F, which
// holds every instruction permute8 uses.
func hasWide() bool { return cpu.X86.HasAVX512F }

//go:noescape
func permute8(s *[25][Lanes]uint64)
