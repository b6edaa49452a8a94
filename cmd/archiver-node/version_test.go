package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestVersionNamesTheRevision builds archiver-node as an operator would,
// from this checkout, and checks that `archiver-node version` names the
// commit it was built from; built without VCS information, it says so.
func TestVersionNamesTheRevision(t *testing.T) {
	head, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skipf("not a git checkout (or no git): %v", err)
	}
	for _, tt := range []struct {
		buildvcs, want string
	}{
		{"true", "revision " + strings.TrimSpace(string(head))},
		{"false", "revision unknown (built without VCS information)"},
	} {
		bin := filepath.Join(t.TempDir(), "archiver-node")
		out, err := exec.Command("go", "build", "-buildvcs="+tt.buildvcs, "-o", bin, ".").CombinedOutput()
		require.NoError(t, err, "%s", out)
		out, err = exec.Command(bin, "version").CombinedOutput()
		require.NoError(t, err, "%s", out)
		require.True(t, strings.HasPrefix(string(out), "archiver-node "), "%s", out)
		require.Contains(t, string(out), tt.want, "-buildvcs=%s", tt.buildvcs)
	}
}
