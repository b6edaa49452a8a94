package payments

import (
	"errors"
	"fmt"
	"strings"

	"github.com/ethereum/go-ethereum/common"
)

var (
	// ErrNotAllowed reports a broadcaster the operator's policy refuses.
	ErrNotAllowed = errors.New("broadcaster not allowed to archive")
	// ErrInvalidAddress reports a malformed address in a policy list.
	ErrInvalidAddress = errors.New("invalid Ethereum address")
)

// Policy decides which broadcasters may archive. Swarm content cannot be
// deleted once stored, so an operator may want to archive only for known
// broadcasters, or to shut out a known abuser.
//
// The deny list always wins. An empty allow list allows everyone not
// denied. A Policy is immutable after construction and safe for concurrent
// use; a nil *Policy allows everyone.
type Policy struct {
	allow map[common.Address]struct{}
	deny  map[common.Address]struct{}
}

// NewPolicy builds a Policy from address lists.
func NewPolicy(allow, deny []common.Address) *Policy {
	return &Policy{allow: addressSet(allow), deny: addressSet(deny)}
}

// ParsePolicy builds a Policy from flag values: comma-separated 0x
// addresses, each optionally surrounded by spaces. An empty string is an
// empty list.
func ParsePolicy(allow, deny string) (*Policy, error) {
	a, err := ParseAddresses(allow)
	if err != nil {
		return nil, fmt.Errorf("allow list: %w", err)
	}
	d, err := ParseAddresses(deny)
	if err != nil {
		return nil, fmt.Errorf("deny list: %w", err)
	}
	return NewPolicy(a, d), nil
}

// ParseAddresses parses a comma-separated list of 0x-prefixed addresses.
// Empty entries (",,", a trailing comma) are refused rather than skipped,
// since they usually mean a list was mangled. Mixed-case addresses must
// carry a valid EIP-55 checksum, so a mistyped character in a checksummed
// address is caught instead of silently naming someone else; all-lower
// and all-upper addresses carry no checksum and are accepted.
func ParseAddresses(list string) ([]common.Address, error) {
	if strings.TrimSpace(list) == "" {
		return nil, nil
	}
	var out []common.Address
	for i, field := range strings.Split(list, ",") {
		addr, err := parseAddress(strings.TrimSpace(field))
		if err != nil {
			return nil, fmt.Errorf("entry %d: %w", i+1, err)
		}
		out = append(out, addr)
	}
	return out, nil
}

func parseAddress(s string) (common.Address, error) {
	if !strings.HasPrefix(s, "0x") && !strings.HasPrefix(s, "0X") {
		return common.Address{}, fmt.Errorf("%w: %q: want 0x followed by 40 hex digits", ErrInvalidAddress, s)
	}
	if !common.IsHexAddress(s) {
		return common.Address{}, fmt.Errorf("%w: %q: want 0x followed by 40 hex digits", ErrInvalidAddress, s)
	}
	addr := common.HexToAddress(s)
	digits := s[2:]
	if digits != strings.ToLower(digits) && digits != strings.ToUpper(digits) && addr.Hex()[2:] != digits {
		return common.Address{}, fmt.Errorf("%w: %q: bad EIP-55 checksum (want %s)", ErrInvalidAddress, s, addr.Hex())
	}
	return addr, nil
}

func addressSet(addrs []common.Address) map[common.Address]struct{} {
	set := make(map[common.Address]struct{}, len(addrs))
	for _, a := range addrs {
		set[a] = struct{}{}
	}
	return set
}

// Check returns nil if addr may archive, else an error wrapping
// ErrNotAllowed that names addr and the reason.
func (p *Policy) Check(addr common.Address) error {
	if p == nil {
		return nil
	}
	if _, denied := p.deny[addr]; denied {
		return fmt.Errorf("%w: %s is on the deny list", ErrNotAllowed, addr.Hex())
	}
	if len(p.allow) == 0 {
		return nil
	}
	if _, allowed := p.allow[addr]; !allowed {
		return fmt.Errorf("%w: %s is not on the allow list", ErrNotAllowed, addr.Hex())
	}
	return nil
}
