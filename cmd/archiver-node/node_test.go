package main

import (
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestNodeFlagSources: command line over environment over config file.
func TestNodeFlagSources(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "worker.conf")
	require.NoError(t, os.WriteFile(cfg, []byte("# worker\norchAddr 10.0.0.1:8935\norchSecret from-file\ncapacity 7\n-bee http://bee:1633\npostageBatch ab\n"), 0o600))
	t.Setenv("ARCHIVER_ORCHSECRET", "from-env")
	t.Setenv("ARCHIVER_CAPACITY", "5")

	c, err := parseNode([]string{"-config", cfg, "-capacity", "3"}, io.Discard)
	require.NoError(t, err)
	require.Equal(t, "10.0.0.1:8935", c.orchAddr, "file")
	require.Equal(t, "from-env", c.orchSecret, "environment over file")
	require.Equal(t, 3, c.capacity, "command line over environment")
	require.Equal(t, "http://bee:1633", c.beeURL)

	require.NoError(t, os.WriteFile(cfg, []byte("nonsense 1\n"), 0o600))
	_, err = parseNode([]string{"-config", cfg}, io.Discard)
	require.ErrorContains(t, err, `unknown flag "nonsense"`)
}

func TestNodeRequiredFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-orchSecret", "s", "-postageBatch", "ab"}, "-orchAddr is required"},
		{[]string{"-orchAddr", "a:1", "-postageBatch", "ab"}, "-orchSecret is required"},
		{[]string{"-orchAddr", "a:1", "-orchSecret", "s", "-capacity", "0", "-postageBatch", "ab"}, "-capacity must be at least 1"},
		{[]string{"-orchAddr", "a:1", "-orchSecret", "s"}, "a postage batch is required"},
		{[]string{"-orchAddr", "a:1", "-orchSecret", "s", "-stamping", "client"}, "needs -key"},
		{[]string{"-orchAddr", "a:1", "-orchSecret", "s", "-postageBatch", "ab", "-postageTopupTTL", "24h"}, "-postageTopupCap"},
		{[]string{"-orchAddr", "a:1", "-orchSecret", "s", "-postageBatch", "ab", "-postageTopupTTL", "24h", "-postageTopupCap", "-5"}, "positive number of PLUR"},
		{[]string{"-orchAddr", "a:1", "-orchSecret", "s", "-postageBatch", "ab", "-postageTopupCap", "5"}, "-postageTopupCap needs -postageTopupTTL"},
		{[]string{"-orchAddr", "a:1", "-orchSecret", "s", "-postageBatch", "ab", "-postageBlockTime", "0s"}, "must be positive"},
		{[]string{"-orchAddr", "a:1", "-orchSecret", "s", "-stamping", "client", "-ethKeystorePath", "k", "-postageTopupTTL", "24h",
			"-postageTopupCap", "5"}, "needs -postageEthUrl"},
	} {
		_, err := parseNode(tc.args, io.Discard)
		require.ErrorContains(t, err, tc.want)
		require.ErrorIs(t, err, errUsage)
	}
}

// TestHelpDocumentsEveryFlag: archiver-node -h lists every flag of every
// command.
func TestHelpDocumentsEveryFlag(t *testing.T) {
	var out strings.Builder
	require.NoError(t, run(context.Background(), nil, []string{"-h"}, &out, io.Discard))
	sets := []*flag.FlagSet{importFlags(&importConfig{}, io.Discard), nodeFlags(&nodeConfig{}, io.Discard)}
	for _, sub := range postageCommands() {
		sets = append(sets, postageFlags(&postageConfig{}, sub, io.Discard))
	}
	for _, fs := range sets {
		require.Contains(t, out.String(), "\n"+fs.Name()+" flags:\n")
		fs.VisitAll(func(f *flag.Flag) {
			require.Contains(t, out.String(), "  -"+f.Name, "%s -%s", fs.Name(), f.Name)
		})
	}
}
