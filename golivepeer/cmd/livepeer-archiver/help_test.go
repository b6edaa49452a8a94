package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestHelpKeepsStockFlags builds livepeer-archiver and go-livepeer's stock
// livepeer from the same tree and compares their -help: livepeer-archiver
// must be a drop-in for livepeer, so every stock flag must still be there,
// beside the archiver's own.
func TestHelpKeepsStockFlags(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two cgo binaries")
	}
	dir := t.TempDir()
	archiver := build(t, filepath.Join(dir, "livepeer-archiver"), ".")
	stock := build(t, filepath.Join(dir, "livepeer"), "github.com/livepeer/go-livepeer/cmd/livepeer")

	stockFlags := helpFlags(t, stock)
	archiverFlags := helpFlags(t, archiver)
	// A parse that finds next to nothing would make the comparison vacuous.
	require.Greater(t, len(stockFlags), 50, "stock livepeer -help lists too few flags; has its usage format changed?")

	for name := range stockFlags {
		assert.True(t, archiverFlags[name], "stock flag -%s is missing from livepeer-archiver", name)
	}
	for _, name := range []string{"archiver", "archiverSecret", "archive", "archivePricePerUnit", "archiveGateway"} {
		assert.True(t, archiverFlags[name], "archiver flag -%s is missing from livepeer-archiver -help", name)
		assert.False(t, stockFlags[name], "-%s is go-livepeer's own: the archiver's flag would clash", name)
	}
}

// build runs go build with the test's environment (livepeer_env's FFmpeg
// and GOCACHE) and returns the binary.
func build(t *testing.T, out, pkg string) string {
	t.Helper()
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Env = os.Environ()
	b, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build %s:\n%s", pkg, b)
	return out
}

// flagLine is a flag in Go's flag.PrintDefaults format: two spaces, then
// -name, then the type or a tab.
var flagLine = regexp.MustCompile(`(?m)^  -([^\s=]+)`)

// helpFlags runs bin -help and returns the flags it lists. go-livepeer's
// flag set exits 0 on -help (flag.ExitOnError); exit status 2, a usage
// error, is accepted as well.
func helpFlags(t *testing.T, bin string) map[string]bool {
	t.Helper()
	cmd := exec.Command(bin, "-help")
	cmd.Env = os.Environ()
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 2 {
		err = nil
	}
	require.NoError(t, err, "%s -help:\n%s", bin, out)
	flags := map[string]bool{}
	for _, m := range flagLine.FindAllSubmatch(out, -1) {
		flags[string(m[1])] = true
	}
	return flags
}
