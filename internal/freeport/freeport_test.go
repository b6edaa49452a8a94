package freeport

import (
	"net"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPortIsBelowTheEphemeralRangeAndBindable(t *testing.T) {
	for range 20 {
		p, err := Port()
		require.NoError(t, err)
		if ephemeralLow()-low > 1000 {
			require.GreaterOrEqual(t, p, low)
			require.Less(t, p, ephemeralLow(), "a port outgoing connections may take")
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		require.NoError(t, err, "the port is free")
		l.Close()
	}
}

func TestPortSkipsOneInUse(t *testing.T) {
	a, err := Addr()
	require.NoError(t, err)
	l, err := net.Listen("tcp", a)
	require.NoError(t, err)
	defer l.Close()
	_, port, _ := net.SplitHostPort(a)
	for range 200 {
		b, err := Addr()
		require.NoError(t, err)
		_, p, _ := net.SplitHostPort(b)
		require.NotEqual(t, port, p, "a port someone listens on")
	}
}
