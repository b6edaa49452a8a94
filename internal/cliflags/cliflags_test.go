package cliflags

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEnvName(t *testing.T) {
	for _, tc := range []struct{ flag, want string }{
		{"postageBatch", "ARCHIVER_POSTAGE_BATCH"},
		{"ethKeystorePath", "ARCHIVER_ETH_KEYSTORE_PATH"},
		{"maxConcurrentReads", "ARCHIVER_MAX_CONCURRENT_READS"},
		{"dataDir", "ARCHIVER_DATA_DIR"},
		{"bee", "ARCHIVER_BEE"},
		{"v", "ARCHIVER_V"},
		{"postageEthUrl", "ARCHIVER_POSTAGE_ETH_URL"},
		{"postageTopupTTL", "ARCHIVER_POSTAGE_TOPUP_TTL"},
		{"maxTicketEV", "ARCHIVER_MAX_TICKET_EV"},
		{"ttlValue", "ARCHIVER_TTL_VALUE"},
		{"TTLValue", "ARCHIVER_TTL_VALUE"},
		{"http2Addr", "ARCHIVER_HTTP2_ADDR"},
		{"h2c", "ARCHIVER_H2C"},
	} {
		assert.Equal(t, tc.want, EnvName(tc.flag), tc.flag)
	}
}

// testFlags is a small command: a string, a bool, an int, a duration and
// a config file flag.
type testFlags struct {
	batch, config string
	dry           bool
	capacity      int
	timeout       time.Duration
}

func newCommand(env map[string]string, warnings io.Writer) (*testFlags, Command) {
	var v testFlags
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&v.batch, "postageBatch", "", "")
	fs.BoolVar(&v.dry, "dryRun", false, "")
	fs.IntVar(&v.capacity, "capacity", 0, "")
	fs.DurationVar(&v.timeout, "idleTimeout", 0, "")
	fs.StringVar(&v.config, "config", "", "")
	return &v, Command{
		Flags:      fs,
		Renames:    map[string]string{"batch": "postageBatch", "dry-run": "dryRun", "idle-timeout": "idleTimeout", "gone": "notAFlag"},
		EnvAliases: map[string][]string{"postageBatch": {"ARCHIVER_OLD_BATCH"}},
		ConfigFlag: "config",
		Warnings:   warnings,
		Program:    "prog",
		LookupEnv: func(k string) (string, bool) {
			v, ok := env[k]
			return v, ok
		},
	}
}

// TestDeprecatedFlags: an old name works in every form the flag package
// accepts, warns once naming the new flag, and values are never
// rewritten, even when they look like old flags.
func TestDeprecatedFlags(t *testing.T) {
	for _, tc := range []struct {
		name     string
		args     []string
		want     testFlags
		warnings []string
		rest     []string
	}{
		{"-old value", []string{"-batch", "ab"}, testFlags{batch: "ab"}, []string{"-batch"}, nil},
		{"-old=value", []string{"-batch=ab"}, testFlags{batch: "ab"}, []string{"-batch"}, nil},
		{"--old value", []string{"--batch", "ab"}, testFlags{batch: "ab"}, []string{"-batch"}, nil},
		{"--old=value", []string{"--batch=ab"}, testFlags{batch: "ab"}, []string{"-batch"}, nil},
		{"boolean -old", []string{"-dry-run"}, testFlags{dry: true}, []string{"-dry-run"}, nil},
		{"boolean --old=false", []string{"--dry-run=false"}, testFlags{}, []string{"-dry-run"}, nil},
		{"value like an old flag", []string{"-postageBatch", "-dry-run", "-batch=x"}, testFlags{batch: "x"}, []string{"-batch"}, nil},
		{"value starting with a dash", []string{"-idle-timeout", "-5s", "-capacity", "-1"},
			testFlags{timeout: -5 * time.Second, capacity: -1}, []string{"-idle-timeout"}, nil},
		{"after a boolean the next flag", []string{"-dry-run", "-batch", "ab"}, testFlags{dry: true, batch: "ab"},
			[]string{"-dry-run", "-batch"}, nil},
		{"one warning per name", []string{"-batch", "a", "-batch", "b"}, testFlags{batch: "b"}, []string{"-batch"}, nil},
		{"positional arguments untouched", []string{"-capacity", "2", "in", "-batch", "-dry-run"}, testFlags{capacity: 2}, nil,
			[]string{"in", "-batch", "-dry-run"}},
		{"after --", []string{"--", "-batch", "ab"}, testFlags{}, nil, []string{"-batch", "ab"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var warn strings.Builder
			v, c := newCommand(nil, &warn)
			require.NoError(t, c.Parse(tc.args))
			assert.Equal(t, tc.want, *v)
			assert.Equal(t, tc.rest, nilIfEmpty(c.Flags.Args()))
			var lines []string
			for _, old := range tc.warnings {
				lines = append(lines, "prog: "+old+" is deprecated; use -"+c.Renames[old[1:]])
			}
			assert.Equal(t, lines, nilIfEmpty(splitLines(warn.String())))
		})
	}
}

// TestDeprecatedFlagArgsUnchanged: the caller's slice is not rewritten.
func TestDeprecatedFlagArgsUnchanged(t *testing.T) {
	_, c := newCommand(nil, io.Discard)
	args := []string{"-batch", "ab"}
	require.NoError(t, c.Parse(args))
	assert.Equal(t, []string{"-batch", "ab"}, args)
}

// TestUnknownAndMisdirectedNames: a rename whose new flag this command
// lacks is not applied, so the error names the flag the operator typed.
func TestUnknownAndMisdirectedNames(t *testing.T) {
	var warn strings.Builder
	_, c := newCommand(nil, &warn)
	err := c.Parse([]string{"-gone", "x"})
	require.ErrorContains(t, err, "flag provided but not defined: -gone")
	assert.Empty(t, warn.String())
}

// TestEnvironment: unset flags come from ARCHIVER_<UPPER_SNAKE>, else from
// a deprecated variable (with a warning); the command line wins.
func TestEnvironment(t *testing.T) {
	for _, tc := range []struct {
		name    string
		env     map[string]string
		args    []string
		want    testFlags
		warning string
	}{
		{"new names", map[string]string{"ARCHIVER_POSTAGE_BATCH": "ab", "ARCHIVER_DRY_RUN": "true", "ARCHIVER_CAPACITY": "3"}, nil,
			testFlags{batch: "ab", dry: true, capacity: 3}, ""},
		{"old upper-cased new name", map[string]string{"ARCHIVER_POSTAGEBATCH": "ab"}, nil, testFlags{batch: "ab"},
			"prog: ARCHIVER_POSTAGEBATCH is deprecated; use ARCHIVER_POSTAGE_BATCH\n"},
		{"old upper-cased old name", map[string]string{"ARCHIVER_BATCH": "ab"}, nil, testFlags{batch: "ab"},
			"prog: ARCHIVER_BATCH is deprecated; use ARCHIVER_POSTAGE_BATCH\n"},
		{"old name with its dash", map[string]string{"ARCHIVER_DRY-RUN": "1"}, nil, testFlags{dry: true},
			"prog: ARCHIVER_DRY-RUN is deprecated; use ARCHIVER_DRY_RUN\n"},
		{"old name without separators", map[string]string{"ARCHIVER_DRYRUN": "1"}, nil, testFlags{dry: true},
			"prog: ARCHIVER_DRYRUN is deprecated; use ARCHIVER_DRY_RUN\n"},
		{"alias", map[string]string{"ARCHIVER_OLD_BATCH": "ab"}, nil, testFlags{batch: "ab"},
			"prog: ARCHIVER_OLD_BATCH is deprecated; use ARCHIVER_POSTAGE_BATCH\n"},
		{"new wins over old", map[string]string{"ARCHIVER_POSTAGE_BATCH": "new", "ARCHIVER_BATCH": "old"}, nil,
			testFlags{batch: "new"}, ""},
		{"command line wins", map[string]string{"ARCHIVER_POSTAGE_BATCH": "env", "ARCHIVER_BATCH": "old"}, []string{"-postageBatch", "cli"},
			testFlags{batch: "cli"}, ""},
		{"deprecated command line wins", map[string]string{"ARCHIVER_POSTAGE_BATCH": "env"}, []string{"--batch=cli"},
			testFlags{batch: "cli"}, "prog: -batch is deprecated; use -postageBatch\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var warn strings.Builder
			v, c := newCommand(tc.env, &warn)
			require.NoError(t, c.Parse(tc.args))
			assert.Equal(t, tc.want, *v)
			assert.Equal(t, tc.warning, warn.String())
		})
	}
}

// TestEnvironmentBadValue: the error names the variable, new or old.
func TestEnvironmentBadValue(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"ARCHIVER_CAPACITY": "many"}, `environment variable ARCHIVER_CAPACITY: invalid value "many" for -capacity`},
		{map[string]string{"ARCHIVER_DRY_RUN": "maybe"}, `environment variable ARCHIVER_DRY_RUN: invalid value "maybe" for -dryRun`},
		{map[string]string{"ARCHIVER_IDLETIMEOUT": "soon"}, `environment variable ARCHIVER_IDLETIMEOUT: invalid value "soon" for -idleTimeout`},
	} {
		_, c := newCommand(tc.env, io.Discard)
		assert.ErrorContains(t, c.Parse(nil), tc.want)
	}
}

// TestConfigFile: the file fills what neither the command line nor the
// environment set, takes old names with a warning, and names the line of
// a mistake.
func TestConfigFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "conf")
	require.NoError(t, os.WriteFile(path, []byte("# comment\n\n-batch from-file\ncapacity 7\nidleTimeout 3s\n--dryRun true\n"), 0o600))

	var warn strings.Builder
	v, c := newCommand(map[string]string{"ARCHIVER_CAPACITY": "5"}, &warn)
	require.NoError(t, c.Parse([]string{"-config", path, "-idleTimeout", "9s"}))
	assert.Equal(t, testFlags{batch: "from-file", config: path, dry: true, capacity: 5, timeout: 9 * time.Second}, *v)
	assert.Equal(t, "prog: -config "+path+":3: -batch is deprecated; use -postageBatch\n", warn.String())

	// The config file's own name may come from the environment.
	v, c = newCommand(map[string]string{"ARCHIVER_CONFIG": path}, io.Discard)
	require.NoError(t, c.Parse(nil))
	assert.Equal(t, "from-file", v.batch)

	for _, tc := range []struct{ content, want string }{
		{"nonsense 1\n", `-config ` + path + `:1: unknown flag "nonsense"`},
		{"config other\n", `unknown flag "config"`},
		{"# c\ncapacity lots\n", `-config ` + path + `:2: invalid value "lots" for -capacity`},
	} {
		require.NoError(t, os.WriteFile(path, []byte(tc.content), 0o600))
		_, c = newCommand(nil, io.Discard)
		assert.ErrorContains(t, c.Parse([]string{"-config", path}), tc.want)
	}
	_, c = newCommand(nil, io.Discard)
	assert.ErrorIs(t, c.Parse([]string{"-config", filepath.Join(t.TempDir(), "missing")}), os.ErrNotExist)
}

func TestDeprecatedEnv(t *testing.T) {
	_, c := newCommand(nil, io.Discard)
	assert.Equal(t, []string{"ARCHIVER_POSTAGEBATCH", "ARCHIVER_BATCH", "ARCHIVER_OLD_BATCH"}, c.DeprecatedEnv("postageBatch"))
	assert.Equal(t, []string{"ARCHIVER_DRYRUN", "ARCHIVER_DRY-RUN"}, c.DeprecatedEnv("dryRun"))
	assert.Empty(t, c.DeprecatedEnv("capacity"), "ARCHIVER_CAPACITY is its new name too")
}

func TestEnvHelp(t *testing.T) {
	assert.Equal(t, "Every flag can also be set as an environment variable ARCHIVER_<UPPER_SNAKE>, e.g. -dataDir as ARCHIVER_DATA_DIR.",
		EnvHelp("dataDir"))
}

func splitLines(s string) []string { return strings.Split(strings.TrimSuffix(s, "\n"), "\n") }

func nilIfEmpty(s []string) []string {
	if len(s) == 0 || len(s) == 1 && s[0] == "" {
		return nil
	}
	return s
}
