package e2e

import (
	"context"
	"net/http"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/internal/realnode"
)

// TestDefaultsStart: `livepeer-archiver -orchestrator -transcoder -network
// offchain -archiver -archiverSecret S` starts with no other archive flag
// (its home, hence its data directory, in a temporary folder) and serves
// the archiver: /archive/status on go-livepeer's default CLI port answers
// JSON. -serviceAddr is go-livepeer's: without it go-livepeer asks a public
// service for the machine's IP, which a loopback-only test cannot reach.
func TestDefaultsStart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	home := t.TempDir()
	o, err := realnode.StartEnv("orchestrator", bins.archiver, filepath.Join(home, "log"), []string{"HOME=" + home},
		"-orchestrator", "-transcoder", "-network", "offchain", "-serviceAddr", "127.0.0.1:8935",
		"-archiver", "-archiverSecret", "S")
	require.NoError(t, err)
	defer o.Stop(5 * time.Second)
	dumpOnFailure(t, o)
	require.NoError(t, o.WaitHTTP(ctx, "http://127.0.0.1:7935/status"))
	_, code, err := realnode.Status(ctx, "127.0.0.1:7935", "nothing")
	assert.Equal(t, http.StatusNotFound, code)
	assert.ErrorContains(t, err, `{"error":"no archive of stream \"nothing\""}`)
	assert.DirExists(t, filepath.Join(home, ".lpData", "offchain", "archiver", "spool"))
}

// TestPaidOffchainRefused: an archive price offchain, where there are no
// tickets, stops the node at start with a message naming both.
func TestPaidOffchainRefused(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bins.archiver, "-orchestrator", "-transcoder", "-network", "offchain",
		"-dataDir", t.TempDir(), "-cliAddr", "127.0.0.1:0", "-httpAddr", "127.0.0.1:0", "-serviceAddr", "127.0.0.1:1",
		"-archiver", "-archiverSecret", "S", "-archivePricePerUnit", "5")
	out, err := cmd.CombinedOutput()
	require.Error(t, err, "the node must not start")
	assert.Contains(t, string(out), "-archivePricePerUnit 5")
	assert.Contains(t, string(out), "-network offchain")
}
