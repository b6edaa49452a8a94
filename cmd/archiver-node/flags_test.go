package main

import (
	"context"
	"flag"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/internal/cliflags"
)

var (
	camelCase = regexp.MustCompile(`^[a-z][a-zA-Z0-9]*$`)
	envVar    = regexp.MustCompile(`^ARCHIVER_[A-Z0-9_]+$`)
)

// TestFlagNames: every flag of every command is camelCase, maps to an
// ARCHIVER_<UPPER_SNAKE> variable, and no two flags of a command share a
// variable, current or deprecated.
func TestFlagNames(t *testing.T) {
	known := map[string]string{
		"postageBatch":       "ARCHIVER_POSTAGE_BATCH",
		"ethKeystorePath":    "ARCHIVER_ETH_KEYSTORE_PATH",
		"maxConcurrentReads": "ARCHIVER_MAX_CONCURRENT_READS",
		"dataDir":            "ARCHIVER_DATA_DIR",
		"ethPassword":        "ARCHIVER_ETH_PASSWORD",
		"archiverSecret":     "ARCHIVER_ARCHIVER_SECRET",
		"dryRun":             "ARCHIVER_DRY_RUN",
		"issuerState":        "ARCHIVER_ISSUER_STATE",
		"postageEthUrl":      "ARCHIVER_POSTAGE_ETH_URL",
		"postageTopupTTL":    "ARCHIVER_POSTAGE_TOPUP_TTL",
		"orchCertPin":        "ARCHIVER_ORCH_CERT_PIN",
		"sourceStallTimeout": "ARCHIVER_SOURCE_STALL_TIMEOUT",
		"bee":                "ARCHIVER_BEE",
		"v":                  "ARCHIVER_V",
	}
	seen := map[string]bool{}
	for _, fs := range commandFlags(io.Discard) {
		c := flagSurface(fs, io.Discard, "")
		owner := map[string]string{} // environment variable → flag
		fs.VisitAll(func(f *flag.Flag) {
			seen[f.Name] = true
			assert.Regexp(t, camelCase, f.Name, "%s -%s", fs.Name(), f.Name)
			env := cliflags.EnvName(f.Name)
			assert.Regexp(t, envVar, env, "%s -%s", fs.Name(), f.Name)
			if want, ok := known[f.Name]; ok {
				assert.Equal(t, want, env, "%s -%s", fs.Name(), f.Name)
			}
			for _, e := range append([]string{env}, c.DeprecatedEnv(f.Name)...) {
				if other, dup := owner[e]; dup {
					t.Errorf("%s: -%s and -%s both read %s", fs.Name(), other, f.Name, e)
				}
				owner[e] = f.Name
			}
		})
	}
	for name := range known {
		assert.True(t, seen[name], "no command has -%s", name)
	}
	for old, to := range renamed() {
		assert.False(t, seen[old], "-%s is deprecated but still a flag", old)
		assert.True(t, seen[to], "-%s is renamed to -%s, which no command has", old, to)
	}
}

// flagToken is a flag named in help text: a dash or two and a name, after
// a space, quote or bracket (not inside a word such as go-ethereum).
var flagToken = regexp.MustCompile("(?:^|[\\s(\\[\"'`,])--?([A-Za-z][A-Za-z0-9_-]*)")

// TestHelpNamesOnlyCurrentFlags: -h of every command names no deprecated
// flag and no flag that is not camelCase, and says how to set flags from
// the environment.
func TestHelpNamesOnlyCurrentFlags(t *testing.T) {
	old := renamed()
	for _, args := range [][]string{
		{"-h"}, {"import", "-h"}, {"node", "-h"}, {"postage", "-h"}, {"postage", "buy", "-h"}, {"postage", "topup", "-h"},
		{"postage", "dilute", "-h"}, {"postage", "status", "-h"},
	} {
		var stdout, stderr strings.Builder
		require.NoError(t, run(context.Background(), nil, args, &stdout, &stderr), "%v", args)
		help := stdout.String() + stderr.String()
		assert.Contains(t, help, "Every flag can also be set as an environment variable ARCHIVER_<UPPER_SNAKE>, e.g. -", "%v", args)
		tokens := flagToken.FindAllStringSubmatch(help, -1)
		require.NotEmpty(t, tokens, "%v", args)
		for _, m := range tokens {
			assert.Regexp(t, camelCase, m[1], "%v names -%s", args, m[1])
			_, deprecated := old[m[1]]
			assert.False(t, deprecated, "%v names deprecated -%s", args, m[1])
		}
	}
}

// TestHelpDocumentsEveryFlag: archiver-node -h lists every flag of every
// command.
func TestHelpDocumentsEveryFlag(t *testing.T) {
	var out strings.Builder
	require.NoError(t, run(context.Background(), nil, []string{"-h"}, &out, io.Discard))
	for _, fs := range commandFlags(io.Discard) {
		require.Contains(t, out.String(), "\n"+fs.Name()+" flags:\n")
		fs.VisitAll(func(f *flag.Flag) {
			require.Contains(t, out.String(), "  -"+f.Name, "%s -%s", fs.Name(), f.Name)
		})
	}
}

// parseCommand parses args (the command, then its flags) as that command
// does, with the arguments each needs to parse at all, and returns its
// config.
func parseCommand(args []string, stderr io.Writer) (any, error) {
	switch args[0] {
	case "import":
		return parseImport(append(slices.Clone(args[1:]), "https://media.example/master.m3u8"), stderr)
	case "node":
		return parseNode(args[1:], stderr)
	case "postage":
		return parsePostage(args[1], args[2:], stderr)
	}
	panic("unknown command " + args[0])
}

var (
	importBase = []string{"import", "-postageBatch", "ab"}
	nodeBase   = []string{"node", "-orchAddr", "a:1", "-archiverSecret", "s", "-postageBatch", "ab"}
)

// TestDeprecatedFlagNames: every old name still sets its flag, in every
// form, with one warning naming the new flag.
func TestDeprecatedFlagNames(t *testing.T) {
	for _, tc := range []struct {
		args []string
		got  func(any) any
		want any
	}{
		{append(slices.Clone(importBase), "-batch", "cd"), func(c any) any { return c.(importConfig).stamping.batches }, "cd"},
		{append(slices.Clone(importBase), "--key", "k.json"), func(c any) any { return c.(importConfig).stamping.keyFile }, "k.json"},
		{append(slices.Clone(importBase), "-password-file=-pw"), func(c any) any { return c.(importConfig).stamping.passwordFile }, "-pw"},
		{append(slices.Clone(importBase), "--feed-name=n"), func(c any) any { return c.(importConfig).feedName }, "n"},
		{append(slices.Clone(importBase), "-idle-timeout", "5s"), func(c any) any { return c.(importConfig).idleTimeout }, 5 * time.Second},
		{append(slices.Clone(importBase), "-issuer-state", "-state"), func(c any) any { return c.(importConfig).stamping.stateDir }, "-state"},
		{append(slices.Clone(importBase), "--max-segment-bytes", "10"), func(c any) any { return c.(importConfig).maxSegmentBytes }, int64(10)},
		{append(slices.Clone(importBase), "-publish-every=3"), func(c any) any { return c.(importConfig).publishEvery }, 3},
		{append(slices.Clone(importBase), "-publish-interval", "1m"), func(c any) any { return c.(importConfig).publishInterval }, time.Minute},
		{append(slices.Clone(importBase), "--wait-synced=2s"), func(c any) any { return c.(importConfig).waitSynced }, 2 * time.Second},
		{append(slices.Clone(nodeBase), "-orchSecret", "-secret-"), func(c any) any { return c.(nodeConfig).secret }, "-secret-"},
		{append(slices.Clone(nodeBase), "--datadir=/d"), func(c any) any { return c.(nodeConfig).dataDir }, "/d"},
		{[]string{"postage", "buy", "-dry-run"}, func(c any) any { return c.(postageConfig).dryRun }, true},
		{[]string{"postage", "topup", "--dry-run", "-batch", "ab"}, func(c any) any { return c.(postageConfig).batch }, "ab"},
		{[]string{"postage", "dilute", "-issuer-state=s"}, func(c any) any { return c.(postageConfig).stateDir }, "s"},
		{[]string{"postage", "status", "--batch", "ab"}, func(c any) any { return c.(postageConfig).batch }, "ab"},
		{[]string{"postage", "status", "--issuer-state", "s"}, func(c any) any { return c.(postageConfig).stateDir }, "s"},
	} {
		var stderr strings.Builder
		c, err := parseCommand(tc.args, &stderr)
		require.NoError(t, err, "%v", tc.args)
		assert.Equal(t, tc.want, tc.got(c), "%v", tc.args)
		var warnings []string
		for _, a := range tc.args {
			name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
			if to, ok := renamed()[name]; ok && strings.HasPrefix(a, "-") {
				warnings = append(warnings, "archiver-node: -"+name+" is deprecated; use -"+to+"\n")
			}
		}
		require.NotEmpty(t, warnings)
		assert.Equal(t, strings.Join(warnings, ""), stderr.String(), "%v", tc.args)
	}
}

// TestEnvironment: every command reads its flags from the environment,
// the current names silently and the old ones with a warning.
func TestEnvironment(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		env     map[string]string
		got     func(any) any
		want    any
		warning string // the deprecated variable, if any
	}{
		{[]string{"import"}, map[string]string{"ARCHIVER_POSTAGE_BATCH": "ab"}, func(c any) any { return c.(importConfig).stamping.batches }, "ab", ""},
		{[]string{"import"}, map[string]string{"ARCHIVER_BATCH": "ab"}, func(c any) any { return c.(importConfig).stamping.batches }, "ab", "ARCHIVER_BATCH"},
		{importBase, map[string]string{"ARCHIVER_ETH_KEYSTORE_PATH": "k"}, func(c any) any { return c.(importConfig).stamping.keyFile }, "k", ""},
		{importBase, map[string]string{"ARCHIVER_ETH_PASSWORD": "pw"}, func(c any) any { return c.(importConfig).stamping.passwordFile }, "pw", ""},
		{importBase, map[string]string{"ARCHIVER_KEY_PASSWORD": "pw"}, func(c any) any { return c.(importConfig).stamping.passwordFile }, "pw",
			"ARCHIVER_KEY_PASSWORD"},
		{importBase, map[string]string{"ARCHIVER_ETH_PASSWORD": "new", "ARCHIVER_KEY_PASSWORD": "old"},
			func(c any) any { return c.(importConfig).stamping.passwordFile }, "new", ""},
		{importBase, map[string]string{"ARCHIVER_MAX_CONCURRENT_READS": "2"}, func(c any) any { return c.(importConfig).maxReads }, 2, ""},
		{importBase, map[string]string{"ARCHIVER_FOLLOW": "true"}, func(c any) any { return c.(importConfig).follow }, true, ""},
		{importBase, map[string]string{"ARCHIVER_IDLE-TIMEOUT": "3s"}, func(c any) any { return c.(importConfig).idleTimeout }, 3 * time.Second,
			"ARCHIVER_IDLE-TIMEOUT"},
		{[]string{"node"}, map[string]string{"ARCHIVER_ORCH_ADDR": "a:1", "ARCHIVER_ARCHIVER_SECRET": "s", "ARCHIVER_POSTAGE_BATCH": "ab"},
			func(c any) any { return c.(nodeConfig).secret }, "s", ""},
		{[]string{"node"}, map[string]string{"ARCHIVER_ORCH_ADDR": "a:1", "ARCHIVER_ORCHSECRET": "s", "ARCHIVER_POSTAGE_BATCH": "ab"},
			func(c any) any { return c.(nodeConfig).secret }, "s", "ARCHIVER_ORCHSECRET"},
		{[]string{"node", "-orchAddr", "a:1", "-archiverSecret", "s"}, map[string]string{"ARCHIVER_POSTAGEBATCH": "ab"},
			func(c any) any { return c.(nodeConfig).stamping.batches }, "ab", "ARCHIVER_POSTAGEBATCH"},
		{nodeBase, map[string]string{"ARCHIVER_DATA_DIR": "/d"}, func(c any) any { return c.(nodeConfig).dataDir }, "/d", ""},
		{nodeBase, map[string]string{"ARCHIVER_DATADIR": "/d"}, func(c any) any { return c.(nodeConfig).dataDir }, "/d", "ARCHIVER_DATADIR"},
		{nodeBase, map[string]string{"ARCHIVER_POSTAGE_TOPUP_TTL": "24h", "ARCHIVER_POSTAGE_TOPUP_CAP": "5"},
			func(c any) any { return c.(nodeConfig).watch.topUpAdd }, 24 * time.Hour, ""},
		{[]string{"postage", "buy"}, map[string]string{"ARCHIVER_DRY_RUN": "true"}, func(c any) any { return c.(postageConfig).dryRun }, true, ""},
		{[]string{"postage", "buy"}, map[string]string{"ARCHIVER_DRY-RUN": "true"}, func(c any) any { return c.(postageConfig).dryRun }, true,
			"ARCHIVER_DRY-RUN"},
		{[]string{"postage", "topup"}, map[string]string{"ARCHIVER_ETHPASSWORD": "pw"}, func(c any) any { return c.(postageConfig).password }, "pw",
			"ARCHIVER_ETHPASSWORD"},
		{[]string{"postage", "status"}, map[string]string{"ARCHIVER_POSTAGE_BATCH": "ab"}, func(c any) any { return c.(postageConfig).batch }, "ab", ""},
		{[]string{"postage", "dilute"}, map[string]string{"ARCHIVER_ISSUER_STATE": "s"}, func(c any) any { return c.(postageConfig).stateDir }, "s", ""},
		{[]string{"postage", "status"}, map[string]string{"ARCHIVER_POSTAGE_ETH_URL": "http://rpc"}, func(c any) any { return c.(postageConfig).ethURL },
			"http://rpc", ""},
	} {
		t.Run(strings.Join(slices.Sorted(maps.Keys(tc.env)), ","), func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			var stderr strings.Builder
			c, err := parseCommand(tc.args, &stderr)
			require.NoError(t, err)
			assert.Equal(t, tc.want, tc.got(c))
			if tc.warning == "" {
				assert.Empty(t, stderr.String())
				return
			}
			assert.Regexp(t, "^archiver-node: "+regexp.QuoteMeta(tc.warning)+" is deprecated; use ARCHIVER_[A-Z_]+\n$", stderr.String())
		})
	}
}

// TestEnvironmentBadValue: a bad value in the environment is a usage error
// naming the variable.
func TestEnvironmentBadValue(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		env, val string
	}{
		{importBase, "ARCHIVER_MAX_CONCURRENT_READS", "many"},
		{nodeBase, "ARCHIVER_CAPACITY", "lots"},
		{nodeBase, "ARCHIVER_VERIFY", "perhaps"},
		{[]string{"postage", "buy"}, "ARCHIVER_DRY_RUN", "maybe"},
		{[]string{"postage", "topup"}, "ARCHIVER_TX_TIMEOUT", "10"},
	} {
		t.Run(tc.env, func(t *testing.T) {
			t.Setenv(tc.env, tc.val)
			_, err := parseCommand(tc.args, io.Discard)
			require.ErrorIs(t, err, errUsage)
			require.ErrorContains(t, err, "environment variable "+tc.env+": invalid value \""+tc.val+"\"")
		})
	}
}

// TestNodeFlagSources: command line over environment over config file,
// old names accepted in the file with a warning.
func TestNodeFlagSources(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "worker.conf")
	require.NoError(t, os.WriteFile(cfg, []byte("# worker\norchAddr 10.0.0.1:8935\norchSecret from-file\ncapacity 7\n"+
		"-bee http://bee:1633\npostageBatch ab\ndatadir /from-file\ndrain 9s\n"), 0o600))
	t.Setenv("ARCHIVER_ARCHIVER_SECRET", "from-env")
	t.Setenv("ARCHIVER_CAPACITY", "5")
	t.Setenv("ARCHIVER_DATA_DIR", "/from-env")

	var stderr strings.Builder
	c, err := parseNode([]string{"-config", cfg, "-capacity", "3", "-drain", "1s"}, &stderr)
	require.NoError(t, err)
	assert.Equal(t, "10.0.0.1:8935", c.orchAddr, "file")
	assert.Equal(t, "from-env", c.secret, "environment over file (an old name there)")
	assert.Equal(t, "/from-env", c.dataDir, "environment over file (an old name there)")
	assert.Equal(t, 3, c.capacity, "command line over environment")
	assert.Equal(t, time.Second, c.drain, "command line over file")
	assert.Equal(t, "http://bee:1633", c.beeURL)
	assert.Equal(t, "archiver-node: -config "+cfg+":3: -orchSecret is deprecated; use -archiverSecret\n"+
		"archiver-node: -config "+cfg+":7: -datadir is deprecated; use -dataDir\n", stderr.String())

	require.NoError(t, os.WriteFile(cfg, []byte("nonsense 1\n"), 0o600))
	_, err = parseNode([]string{"-config", cfg}, io.Discard)
	require.ErrorIs(t, err, errUsage)
	require.ErrorContains(t, err, `unknown flag "nonsense"`)
}
