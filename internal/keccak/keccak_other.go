//go:build !amd64 || purego

package keccak

func hasWide() bool { return false }

func permute8(*[25][Lanes]uint64) { panic("keccak: no eight-lane permutation on this platform") }
