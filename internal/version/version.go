// Package version says what a binary was built from: its module version
// and the VCS revision the go command stamps into binaries built inside a
// checkout (-buildvcs, on by default).
package version

import (
	"runtime/debug"
	"strings"
)

// Info is what the build recorded.
type Info struct {
	Module   string // the main module's version; "(devel)" for a build of a checkout without a tag
	Revision string // VCS revision; empty when built without VCS information
	Time     string // commit time (RFC 3339)
	Modified bool   // the checkout had uncommitted changes
	Go       string // toolchain
}

// Read returns the running binary's Info.
func Read() Info {
	bi, ok := debug.ReadBuildInfo()
	return From(bi, ok)
}

// From extracts Info from build information (ok as debug.ReadBuildInfo
// returns it).
func From(bi *debug.BuildInfo, ok bool) Info {
	if !ok || bi == nil {
		return Info{Module: "unknown"}
	}
	i := Info{Module: bi.Main.Version, Go: bi.GoVersion}
	if i.Module == "" {
		i.Module = "(devel)"
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			i.Revision = s.Value
		case "vcs.time":
			i.Time = s.Value
		case "vcs.modified":
			i.Modified = s.Value == "true"
		}
	}
	return i
}

// String is the full line a version command prints.
func (i Info) String() string {
	var b strings.Builder
	b.WriteString(i.Module)
	if i.Revision == "" {
		b.WriteString(", revision unknown (built without VCS information)")
	} else {
		b.WriteString(", revision " + i.Revision)
		if i.Time != "" {
			b.WriteString(" of " + i.Time)
		}
		if i.Modified {
			b.WriteString(", with uncommitted changes")
		}
	}
	if i.Go != "" {
		b.WriteString(", " + i.Go)
	}
	return b.String()
}

// Short is the version a worker reports when it registers: the module
// version and the first 12 characters of the revision.
func (i Info) Short() string {
	rev := "unknown-revision"
	if i.Revision != "" {
		rev = i.Revision[:min(12, len(i.Revision))]
		if i.Modified {
			rev += "-modified"
		}
	}
	return i.Module + "+" + rev
}
