package lpcaps

import (
	"strconv"
	"strings"
)

// VersionCompatible is go-livepeer v0.7.9's LivepeerVersionCompatibleWith
// (core/capabilities.go:337-363) for a segment asking for minVersion and a
// node reporting version. It is reimplemented rather than imported because
// go-livepeer's core package needs cgo FFmpeg, and Masterminds/semver (which
// go-livepeer uses) is not a dependency of this module.
func VersionCompatible(minVersion, version string) bool {
	if minVersion == "" {
		return true // no constraint (capabilities.go:338-341)
	}
	if version == "" || version == "undefined" {
		return false // unversioned node (capabilities.go:342-345)
	}
	want, ok := ParseVersion(minVersion)
	if !ok {
		return true // unparsable constraint is ignored (capabilities.go:347-351)
	}
	have, ok := ParseVersion(version)
	if !ok {
		return false // unparsable node version is refused (capabilities.go:352-356)
	}
	// go-livepeer strips the pre-release part of both before comparing
	// (capabilities.go:358-362) because its "-suffix" marks post-release
	// builds; semver ignores build metadata. What remains is a plain
	// major.minor.patch comparison.
	for i := range have {
		if have[i] != want[i] {
			return have[i] > want[i]
		}
	}
	return true
}

// ParseVersion accepts what Masterminds/semver/v3 (v3.2.1, go-livepeer's
// pin) NewVersion accepts: an optional "v", one to three dot-separated
// decimal numbers fitting uint64 (missing ones are 0, leading zeros allowed),
// an optional "-prerelease" and an optional "+metadata", each a non-empty
// dot-separated list of non-empty [0-9A-Za-z-] identifiers, where a
// prerelease identifier made only of digits may not have a leading zero.
// It returns major, minor and patch.
func ParseVersion(s string) ([3]uint64, bool) {
	var out [3]uint64
	s = strings.TrimPrefix(s, "v")
	if core, meta, found := strings.Cut(s, "+"); found {
		if !identifiers(meta, false) {
			return out, false
		}
		s = core
	}
	if core, pre, found := strings.Cut(s, "-"); found {
		if !identifiers(pre, true) {
			return out, false
		}
		s = core
	}
	parts := strings.Split(s, ".")
	if len(parts) > 3 {
		return out, false
	}
	for i, p := range parts {
		if p == "" || strings.Trim(p, "0123456789") != "" {
			return out, false
		}
		n, err := strconv.ParseUint(p, 10, 64)
		if err != nil {
			return out, false // overflow
		}
		out[i] = n
	}
	return out, true
}

func identifiers(s string, prerelease bool) bool {
	for _, id := range strings.Split(s, ".") {
		if id == "" || strings.Trim(id, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-") != "" {
			return false
		}
		numeric := strings.Trim(id, "0123456789") == ""
		if prerelease && numeric && len(id) > 1 && id[0] == '0' {
			return false
		}
	}
	return true
}
