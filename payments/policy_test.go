package payments

import (
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/stretchr/testify/require"
)

// A checksummed address (EIP-55 test vector) and its lower-case form.
const (
	checksummed = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
	lowered     = "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"
)

func TestParseAddresses(t *testing.T) {
	a := common.HexToAddress(checksummed)
	b := common.HexToAddress("0x0000000000000000000000000000000000000b0b")
	tests := []struct {
		name string
		in   string
		want []common.Address // nil with ok: empty list
		ok   bool
	}{
		{"empty", "", nil, true},
		{"blank", "  ", nil, true},
		{"one checksummed", checksummed, []common.Address{a}, true},
		{"one lower case", lowered, []common.Address{a}, true},
		{"one upper case digits", "0x" + strings.ToUpper(lowered[2:]), []common.Address{a}, true},
		{"upper case prefix", "0X" + lowered[2:], []common.Address{a}, true},
		{"two with spaces", " " + lowered + " , 0x0000000000000000000000000000000000000b0b ", []common.Address{a, b}, true},
		{"bad checksum", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAeD", nil, false},
		{"no prefix", lowered[2:], nil, false},
		{"short", lowered[:41], nil, false},
		{"long", lowered + "0", nil, false},
		{"not hex", "0x" + strings.Repeat("g", 40), nil, false},
		{"empty entry", lowered + ",," + lowered, nil, false},
		{"trailing comma", lowered + ",", nil, false},
		{"ens name", "vitalik.eth", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseAddresses(tt.in)
			if !tt.ok {
				require.ErrorIs(t, err, ErrInvalidAddress)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestParsePolicyErrors(t *testing.T) {
	_, err := ParsePolicy("0x123", "")
	require.ErrorIs(t, err, ErrInvalidAddress)
	require.ErrorContains(t, err, "allow list")
	require.ErrorContains(t, err, `"0x123"`, "the error names the bad entry")

	_, err = ParsePolicy("", lowered+",nope")
	require.ErrorIs(t, err, ErrInvalidAddress)
	require.ErrorContains(t, err, "deny list: entry 2")
}

func TestPolicyCheck(t *testing.T) {
	const (
		x = "0xa00000000000000000000000000000000000000a"
		y = "0xb00000000000000000000000000000000000000b"
		z = "0xc00000000000000000000000000000000000000c"
	)
	tests := []struct {
		name        string
		allow, deny string
		addr        string
		ok          bool
	}{
		{"open", "", "", x, true},
		{"allowed", x + "," + y, "", y, true},
		{"not on allow list", x + "," + y, "", z, false},
		{"denied", "", x, x, false},
		{"not denied", "", x, y, true},
		{"deny wins over allow", x + "," + y, y, y, false},
		{"allow list still applies with deny", x, y, z, false},
		{"case does not matter", "0x" + strings.ToUpper(x[2:]), "", x, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParsePolicy(tt.allow, tt.deny)
			require.NoError(t, err)
			addr := common.HexToAddress(tt.addr)
			err = p.Check(addr)
			if tt.ok {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrNotAllowed)
			require.ErrorContains(t, err, addr.Hex())
		})
	}
}

func TestPolicyNilAllowsAll(t *testing.T) {
	var p *Policy
	require.NoError(t, p.Check(common.Address{1}))
	require.NoError(t, NewPolicy(nil, nil).Check(common.Address{1}))
}
