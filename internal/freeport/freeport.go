// Package freeport picks loopback TCP ports for the processes the tests
// start (Bee, geth, go-livepeer), which bind them some time after the pick.
//
// A port the kernel hands out for 127.0.0.1:0 comes from the ephemeral
// range, which is also where every outgoing connection on the machine gets
// its local port: between the pick and the bind (seconds, or minutes for an
// orchestrator's service address registered on chain before it starts),
// some connection may take it. Ports below that range are handed to no
// one unasked, so a random free one stays free until its owner binds it.
package freeport

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
)

// low is the first port picked: above the well-known and most registered
// service ports.
const low = 20000

// ErrNone is returned when no free port was found.
var ErrNone = errors.New("freeport: no free loopback port")

// Port returns a loopback port nobody listens on now, below the ephemeral
// range when that range leaves room, else one the kernel picks.
func Port() (int, error) {
	high := ephemeralLow()
	for i := 0; high-low > 1000 && i < 50; i++ {
		p := low + rand.IntN(high-low)
		if free(p) {
			return p, nil
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrNone, err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Addr is Port as "127.0.0.1:<port>".
func Addr() (string, error) {
	p, err := Port()
	if err != nil {
		return "", err
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(p)), nil
}

func free(p int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// ephemeralLow is the first port of the kernel's ephemeral range (Linux's
// default when it cannot be read).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 32768
	}
	n, err := strconv.Atoi(f[0])
	if err != nil {
		return 32768
	}
	return n
}
