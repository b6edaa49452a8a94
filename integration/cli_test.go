package integration_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts/keystore"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	"github.com/ethersphere/bee/v2/pkg/swarm"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/internal/hlstest"
)

var (
	cliOnce sync.Once
	cliPath string
	cliErr  error
)

// archiverNode builds cmd/archiver-node once per test run.
func archiverNode(tb testing.TB) string {
	tb.Helper()
	cliOnce.Do(func() {
		dir, err := os.MkdirTemp("", "archiver-node-bin")
		if err != nil {
			cliErr = err
			return
		}
		cliPath = filepath.Join(dir, "archiver-node")
		out, err := exec.Command("go", "build", "-o", cliPath, "../cmd/archiver-node").CombinedOutput()
		if err != nil {
			cliErr = fmt.Errorf("go build: %w: %s", err, out)
		}
	})
	require.NoError(tb, cliErr)
	return cliPath
}

// runCLI runs archiver-node and returns stdout, stderr and the exit error.
func runCLI(t *testing.T, ctx context.Context, args ...string) (string, string, error) {
	t.Helper()
	cmd := exec.CommandContext(ctx, archiverNode(t), args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

var refLine = regexp.MustCompile(`(?m)^reference: ([0-9a-f]{64})$`)

func parseRef(t *testing.T, stdout string) swarm.Address {
	t.Helper()
	m := refLine.FindStringSubmatch(stdout)
	require.NotNil(t, m, "no reference in output: %q", stdout)
	ref, err := swarm.ParseHexAddress(m[1])
	require.NoError(t, err)
	return ref
}

// signedServer serves dir over HTTP and refuses segments without ?sig=ok,
// so an import passes only if it keeps query strings.
func signedServer(t *testing.T, dir string) *httptest.Server {
	t.Helper()
	files := http.FileServer(http.Dir(dir))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, ".ts") && r.URL.Query().Get("sig") != "ok" {
			http.Error(w, "missing signature", http.StatusForbidden)
			return
		}
		files.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestImportURLWithAbsoluteURIs archives a stream served over HTTP whose
// media playlists name segments by absolute URLs with signed query strings,
// through the real archiver-node command.
func TestImportURLWithAbsoluteURIs(t *testing.T) {
	ctx := testContext(t, 2*time.Minute)
	dir := generate(t, hlstest.Options{Seconds: 6})
	srv := signedServer(t, dir)
	for _, r := range []string{"audio", "hi", "lo"} {
		abs := srv.URL + "/" + r + "/"
		rewrite(t, filepath.Join(dir, r, "index.m3u8"), "seg_", abs+"seg_", ".ts\n", ".ts?sig=ok\n")
	}
	batch, err := dev.BuyBatch(ctx, 22)
	require.NoError(t, err)

	stdout, stderr, err := runCLI(t, ctx, "import", "-bee", dev.URL, "-postageBatch", batch, "-redundancy", "0",
		srv.URL+"/master.m3u8")
	require.NoError(t, err, stderr)
	ref := parseRef(t, stdout)
	require.Contains(t, stdout, "url: "+dev.URL+"/bzz/"+ref.String()+"/index.m3u8")

	for _, r := range []string{"audio", "hi", "lo"} {
		src := readSource(t, filepath.Join(dir, r, "index.m3u8"))
		verifyRendition(t, ctx, ref, r, src, redundancy.NONE, true)
	}
	requireRemuxDuration(t, ctx, ref, 6, 2)
}

// TestImportCommandErrors: bad input gets a clear error and a non-zero exit.
func TestImportCommandErrors(t *testing.T) {
	ctx := testContext(t, time.Minute)
	dir := generate(t, hlstest.Options{Seconds: 2})
	batch, err := dev.BuyBatch(ctx, 22)
	require.NoError(t, err)
	keyFile, passFile := writeKey(t)
	malformed := filepath.Join(t.TempDir(), "bad.m3u8")
	require.NoError(t, os.WriteFile(malformed, []byte("#EXTM3U\n#EXTINF:abc,\nseg.ts\n"), 0o644))

	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no batch flag", []string{"import", "-bee", dev.URL, dir}, "a postage batch is required"},
		{"unknown batch", []string{"import", "-bee", dev.URL, "-postageBatch", strings.Repeat("ab", 32), dir}, "no such batch"},
		{"unreachable bee", []string{"import", "-bee", "http://127.0.0.1:1", "-postageBatch", batch, dir}, "cannot reach Bee"},
		{"malformed playlist", []string{"import", "-bee", dev.URL, "-postageBatch", batch, malformed}, "malformed"},
		{"missing input", []string{"import", "-bee", dev.URL, "-postageBatch", batch, filepath.Join(dir, "nope")}, "no such file"},
		{"bad redundancy", []string{"import", "-bee", dev.URL, "-postageBatch", batch, "-redundancy", "7", dir}, "-redundancy must be 0-4"},
		{"client stamping without key", []string{"import", "-bee", dev.URL, "-postageBatch", batch, "-stamping", "client", dir}, "needs -ethKeystorePath"},
		{"client stamping, wrong password", []string{"import", "-bee", dev.URL, "-postageBatch", batch, "-stamping", "client",
			"-ethKeystorePath", keyFile, "-ethPassword", keyFile, dir}, "could not decrypt key"},
		// The dev node's batches belong to its own random key.
		{"client stamping, batch of another owner", []string{"import", "-bee", dev.URL, "-postageBatch", batch, "-stamping", "client",
			"-ethKeystorePath", keyFile, "-ethPassword", passFile, "-issuerState", t.TempDir(), dir}, "not by the key's address"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, err := runCLI(t, ctx, tc.args...)
			require.Error(t, err)
			require.Contains(t, stderr, tc.want)
			require.NotContains(t, stdout, "reference:")
		})
	}
}

// writeKey writes a go-ethereum keystore file and its password file.
func writeKey(t *testing.T) (keyFile, passFile string) {
	t.Helper()
	priv, err := crypto.GenerateKey()
	require.NoError(t, err)
	id, err := uuid.NewRandom()
	require.NoError(t, err)
	key := &keystore.Key{Id: id, Address: crypto.PubkeyToAddress(priv.PublicKey), PrivateKey: priv}
	blob, err := keystore.EncryptKey(key, "secret", keystore.LightScryptN, keystore.LightScryptP)
	require.NoError(t, err)
	dir := t.TempDir()
	keyFile, passFile = filepath.Join(dir, "key.json"), filepath.Join(dir, "password")
	require.NoError(t, os.WriteFile(keyFile, blob, 0o600))
	require.NoError(t, os.WriteFile(passFile, []byte("secret\n"), 0o600))
	return keyFile, passFile
}

// TestImportWaitSynced: on a dev node nothing is pushed to a network, so
// waiting for sync must fail clearly after the reference is printed.
func TestImportWaitSynced(t *testing.T) {
	ctx := testContext(t, time.Minute)
	dir := generate(t, hlstest.Options{Seconds: 2})
	batch, err := dev.BuyBatch(ctx, 22)
	require.NoError(t, err)
	stdout, stderr, err := runCLI(t, ctx, "import", "-bee", dev.URL, "-postageBatch", batch, "-waitSynced", "1s", dir)
	require.Error(t, err)
	parseRef(t, stdout)
	require.Contains(t, stderr, "not synced after 1s")
}
