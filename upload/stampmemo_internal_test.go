package upload

import (
	"testing"

	beepostage "github.com/ethersphere/bee/v2/pkg/postage"
	"github.com/ethersphere/bee/v2/pkg/swarm"
	"github.com/stretchr/testify/require"
)

func TestStampMemoForgetsLeastRecentlyUsed(t *testing.T) {
	addr := func(b byte) swarm.Address { return swarm.NewAddress(append(make([]byte, swarm.HashSize-1), b)) }
	stamp := func(b byte) *beepostage.Stamp { return beepostage.NewStamp([]byte{b}, nil, nil, nil) }
	m := newStampMemo(2)
	m.put(addr(1), stamp(1))
	m.put(addr(2), stamp(2))
	_, ok := m.get(addr(1)) // 1 is now the most recently used
	require.True(t, ok)
	m.put(addr(3), stamp(3))
	_, ok = m.get(addr(2))
	require.False(t, ok, "the least recently used entry should be gone")
	for _, b := range []byte{1, 3} {
		st, ok := m.get(addr(b))
		require.True(t, ok)
		require.Equal(t, []byte{b}, st.BatchID())
	}
	m.put(addr(3), stamp(4)) // replaces, does not grow
	require.Equal(t, 2, m.order.Len())
	st, _ := m.get(addr(3))
	require.Equal(t, []byte{4}, st.BatchID())
}
