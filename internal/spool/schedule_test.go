package spool

import (
	"fmt"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver"
)

func TestSchedulerOrder(t *testing.T) {
	a, b, c := common.Address{0xa}, common.Address{0xb}, common.Address{0xc}
	type job struct {
		sender   common.Address
		manifest archiver.ManifestID
		seq      int64
	}
	tests := []struct {
		name string
		push []job
		want []string // "sender/manifest/seq" in pop order
	}{
		{
			name: "seq order within a manifest, whatever the arrival order",
			push: []job{{a, "m", 3}, {a, "m", 1}, {a, "m", 2}},
			want: []string{"a/m/1", "a/m/2", "a/m/3"},
		},
		{
			name: "senders alternate",
			push: []job{{a, "m", 1}, {a, "m", 2}, {a, "m", 3}, {b, "n", 1}, {b, "n", 2}},
			want: []string{"a/m/1", "b/n/1", "a/m/2", "b/n/2", "a/m/3"},
		},
		{
			name: "a sender's manifests share its turn",
			push: []job{{a, "x", 1}, {a, "x", 2}, {a, "y", 1}, {a, "y", 2}, {b, "n", 1}, {b, "n", 2}, {c, "k", 1}},
			want: []string{"a/x/1", "b/n/1", "c/k/1", "a/y/1", "b/n/2", "a/x/2", "a/y/2"},
		},
	}
	name := map[common.Address]string{a: "a", b: "b", c: "c"}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newScheduler()
			for i, j := range tc.push {
				s.push(&record{id: ID(i), sender: j.sender, manifest: j.manifest, seq: j.seq})
			}
			var got []string
			for r := s.pop(); r != nil; r = s.pop() {
				got = append(got, fmt.Sprintf("%s/%s/%d", name[r.sender], r.manifest, r.seq))
			}
			require.Equal(t, tc.want, got)
			require.Empty(t, s.senders, "an empty scheduler holds nothing")
		})
	}
}

// TestSchedulerNewcomerWaitsOneRound: a sender that gets work joins the
// ring behind everyone already waiting, each of whom gets one turn first.
func TestSchedulerNewcomerWaitsOneRound(t *testing.T) {
	s := newScheduler()
	senders := []common.Address{{1}, {2}, {3}}
	for i := range 9 {
		s.push(&record{id: ID(i), sender: senders[i%3], manifest: "m", seq: int64(i)})
	}
	require.Equal(t, senders[0], s.pop().sender)
	late := common.Address{9}
	s.push(&record{id: 100, sender: late, manifest: "m"})
	var order []common.Address
	for range 5 {
		order = append(order, s.pop().sender)
	}
	require.Equal(t, []common.Address{senders[1], senders[2], senders[0], late, senders[1]}, order)
}
