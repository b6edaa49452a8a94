package plugin

import (
	"encoding/json"
	"errors"
	"flag"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"math"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/capability"
	"github.com/lpswarm/archiver/grpcsvc"
	"github.com/lpswarm/archiver/internal/streams"
	"github.com/lpswarm/archiver/payments"
)

const testSecret = "s3cret"

// allFlags is every flag Register defines: a flag added without being
// listed here (or renamed) fails TestRegisterNames.
var allFlags = []string{
	"archiver", "archiverSecret", "archiverCapability",
	"archivePricePerUnit", "archiveBytesPerUnit", "archiveRetention", "archiveRedundancy",
	"archiveMaxSegmentBytes", "archiveAcceptWait", "archiveAllow", "archiveDeny",
	"archiveTrustWorkers", "archiveIntakeMaxBytes", "archiveSpoolMaxBytes",
	"archiveSpoolMinFreeBytes", "archiveIdleTimeout", "archiveEndGrace",
	"archiveWorkerMaxUnacked", "archiveWorkerAckTimeout",
	"archivePostageBatch", "archivePostageDepth", "archiveLeaseSlot", "archiveMinDeposit",
	"archive", "archiveGateway",
}

// parseFlags registers the flags on a fresh flag set and parses args.
func parseFlags(t *testing.T, args ...string) (*Flags, error) {
	t.Helper()
	fs := flag.NewFlagSet("livepeer", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f := &Flags{}
	f.Register(fs)
	return f, fs.Parse(args)
}

func mustParseFlags(t *testing.T, args ...string) *Flags {
	t.Helper()
	f, err := parseFlags(t, args...)
	require.NoError(t, err)
	return f
}

func TestRegisterNames(t *testing.T) {
	fs := flag.NewFlagSet("livepeer", flag.ContinueOnError)
	(&Flags{}).Register(fs)
	var got []string
	camel := regexp.MustCompile(`^archive([A-Z][a-z]*)*$|^archiver([A-Z][a-z]*)*$`)
	fs.VisitAll(func(fl *flag.Flag) {
		got = append(got, fl.Name)
		assert.Regexp(t, camel, fl.Name, "flag -%s is not camelCase with the archive prefix", fl.Name)
		assert.NotEmpty(t, fl.Usage, "flag -%s has no usage", fl.Name)
	})
	assert.ElementsMatch(t, allFlags, got)
}

func TestRegisterDefaults(t *testing.T) {
	f := mustParseFlags(t)
	assert.Equal(t, Flags{
		CapabilityID:     uint(capability.DefaultArchiveID),
		BytesPerUnit:     1,
		Retention:        DefaultRetention,
		Redundancy:       uint(redundancy.MEDIUM),
		MaxSegmentBytes:  DefaultMaxSegmentBytes,
		IntakeMaxBytes:   streams.DefaultMaxIntakeBytes,
		SpoolMaxBytes:    DefaultSpoolMaxBytes,
		IdleTimeout:      streams.DefaultIdleTimeout,
		EndGrace:         DefaultEndGrace,
		WorkerMaxUnacked: grpcsvc.DefaultMaxUnacked,
		WorkerAckTimeout: grpcsvc.DefaultAckTimeout,
		Gateway:          DefaultGateway,
	}, *f)

	// The defaults only lack the secret.
	_, _, err := f.orchestratorConfig(t.TempDir(), true)
	require.ErrorContains(t, err, "-archiverSecret")

	f = mustParseFlags(t, "-archiver", "-archiverSecret", testSecret)
	for _, offchain := range []bool{true, false} {
		hc, oc, err := f.orchestratorConfig("/var/lib/livepeer", offchain)
		require.NoError(t, err, "offchain=%v", offchain)
		assert.Equal(t, filepath.Join("/var/lib/livepeer", "archiver"), hc.DataDir)
		assert.Equal(t, offchain, hc.PublicStatus)
		assert.Equal(t, capability.DefaultArchiveID, oc.CapabilityID)
		p := oc.Price()
		assert.Equal(t, int64(0), p.PricePerUnit)
		assert.Equal(t, int64(1), p.PixelsPerUnit)
		assert.Equal(t, uint64(DefaultRetention/time.Second), oc.RetentionSeconds)
		assert.Equal(t, uint32(redundancy.MEDIUM), oc.RedundancyLevel)
		assert.Equal(t, int64(DefaultMaxSegmentBytes), oc.MaxSegmentBytes)
		assert.NoError(t, oc.Policy.Check(common.HexToAddress("0x01")), "the default policy allows everyone")
	}
}

// TestOrchestratorConfigCarriesFlags: every orchestrator flag reaches the
// configuration it is meant for.
func TestOrchestratorConfigCarriesFlags(t *testing.T) {
	allowed := common.HexToAddress("0x00000000000000000000000000000000000000a1")
	denied := common.HexToAddress("0x00000000000000000000000000000000000000d1")
	f := mustParseFlags(t,
		"-archiver", "-archiverSecret", testSecret,
		"-archiverCapability", "100",
		"-archivePricePerUnit", "7", "-archiveBytesPerUnit", "1000",
		"-archiveRetention", "48h", "-archiveRedundancy", "3",
		"-archiveMaxSegmentBytes", "12345", "-archiveAcceptWait", "150ms",
		"-archiveAllow", allowed.Hex(), "-archiveDeny", denied.Hex(),
		"-archiveTrustWorkers", "-archiveIntakeMaxBytes", "999",
		"-archiveSpoolMaxBytes", "1048576", "-archiveSpoolMinFreeBytes", "-1",
		"-archiveIdleTimeout", "42s", "-archiveEndGrace", "7s",
		"-archiveWorkerMaxUnacked", "3", "-archiveWorkerAckTimeout", "9s",
		"-archiveGateway", "http://bee:1633/",
	)
	assert.True(t, f.Archiver)
	assert.Equal(t, "http://bee:1633/", f.Gateway)
	assert.Equal(t, 7*time.Second, f.EndGrace)

	hc, oc, err := f.orchestratorConfig("/data", false)
	require.NoError(t, err)

	assert.Equal(t, capability.ID(100), oc.CapabilityID)
	p := oc.Price()
	assert.Equal(t, int64(7), p.PricePerUnit)
	assert.Equal(t, int64(1000), p.PixelsPerUnit)
	assert.Equal(t, uint64(48*3600), oc.RetentionSeconds)
	assert.Equal(t, uint32(3), oc.RedundancyLevel)
	assert.Equal(t, int64(12345), oc.MaxSegmentBytes)
	assert.Equal(t, 150*time.Millisecond, oc.AcceptWait)
	assert.NoError(t, oc.Policy.Check(allowed))
	assert.ErrorIs(t, oc.Policy.Check(denied), payments.ErrNotAllowed)
	assert.ErrorIs(t, oc.Policy.Check(common.HexToAddress("0x00000000000000000000000000000000000000c1")), payments.ErrNotAllowed,
		"not on the allow list")

	assert.Equal(t, filepath.Join("/data", "archiver"), hc.DataDir)
	assert.False(t, hc.PublicStatus, "on chain status queries are signed")
	assert.Equal(t, int64(1048576), hc.Spool.MaxBytes)
	assert.Equal(t, int64(-1), hc.Spool.MinFreeBytes)
	assert.Equal(t, testSecret, hc.Service.Secret)
	assert.Equal(t, redundancy.Level(3), hc.Service.Redundancy)
	assert.Equal(t, 3, hc.Service.MaxUnacked)
	assert.Equal(t, 9*time.Second, hc.Service.AckTimeout)
	assert.True(t, hc.Service.TrustReferences)
	assert.Equal(t, 42*time.Second, hc.Streams.IdleTimeout)
	assert.Equal(t, int64(999), hc.Streams.MaxIntakeBytes)
}

func TestOrchestratorConfigErrors(t *testing.T) {
	base := []string{"-archiver", "-archiverSecret", testSecret}
	tests := []struct {
		name     string
		args     []string
		offchain bool
		noSecret bool
		is       error  // errors.Is, when set
		contains string // the flag the message must name
	}{
		{name: "missing secret", noSecret: true, contains: "-archiverSecret"},
		{name: "capability reserved", args: []string{"-archiverCapability", "5"}, is: capability.ErrIDReserved, contains: "-archiverCapability"},
		{name: "capability 37 reserved", args: []string{"-archiverCapability", "37"}, is: capability.ErrIDReserved, contains: "-archiverCapability"},
		{name: "capability 128 too large", args: []string{"-archiverCapability", "128"}, is: capability.ErrIDTooLarge, contains: "-archiverCapability"},
		{name: "capability above uint32", args: []string{"-archiverCapability", strconv.FormatUint(math.MaxUint32+63, 10)},
			is: capability.ErrIDTooLarge, contains: "-archiverCapability"},
		{name: "negative price", args: []string{"-archivePricePerUnit", "-1"}, is: payments.ErrInvalidPrice, contains: "-archivePricePerUnit"},
		{name: "zero bytes per unit", args: []string{"-archiveBytesPerUnit", "0"}, is: payments.ErrInvalidPrice, contains: "-archiveBytesPerUnit"},
		{name: "redundancy 5", args: []string{"-archiveRedundancy", "5"}, contains: "-archiveRedundancy"},
		{name: "spool max 0", args: []string{"-archiveSpoolMaxBytes", "0"}, contains: "-archiveSpoolMaxBytes"},
		{name: "spool max negative", args: []string{"-archiveSpoolMaxBytes", "-5"}, contains: "-archiveSpoolMaxBytes"},
		{name: "negative end grace", args: []string{"-archiveEndGrace", "-1s"}, contains: "-archiveEndGrace"},
		{name: "no unacknowledged job", args: []string{"-archiveWorkerMaxUnacked", "0"}, contains: "-archiveWorkerMaxUnacked"},
		{name: "negative retention", args: []string{"-archiveRetention", "-1h"}, contains: "-archiveRetention"},
		{name: "bad allow address", args: []string{"-archiveAllow", "0x1234"}, contains: "-archiveAllow"},
		{name: "bad deny address", args: []string{"-archiveDeny", "nobody"}, contains: "-archiveDeny"},
		{name: "paid offchain", args: []string{"-archivePricePerUnit", "1"}, offchain: true, is: ErrPaidOffchain, contains: "-archivePricePerUnit"},
		{name: "min deposit not a number", args: []string{"-archiveMinDeposit", "1e18"}, contains: "-archiveMinDeposit"},
		{name: "min deposit negative", args: []string{"-archiveMinDeposit", "-1"}, contains: "-archiveMinDeposit"},
		{name: "min deposit offchain", args: []string{"-archiveMinDeposit", "5"}, offchain: true, contains: "-archiveMinDeposit"},
		{name: "batch not hex", args: []string{"-archivePostageBatch", "xyz", "-archivePostageDepth", "20"}, contains: "-archivePostageBatch"},
		{name: "batch short", args: []string{"-archivePostageBatch", "abcd", "-archivePostageDepth", "20"}, contains: "-archivePostageBatch"},
		{name: "batch without depth", args: []string{"-archivePostageBatch", "abababababababababababababababababababababababababababababababab"}, contains: "-archivePostageDepth"},
		{name: "batch depth of a bucket", args: []string{"-archivePostageBatch", "abababababababababababababababababababababababababababababababab", "-archivePostageDepth", "16"}, contains: "-archivePostageDepth"},
		{name: "lease slot above the bucket", args: []string{"-archivePostageBatch", "abababababababababababababababababababababababababababababababab", "-archivePostageDepth", "18", "-archiveLeaseSlot", "5"}, contains: "-archiveLeaseSlot"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append([]string(nil), base...), tc.args...)
			if tc.noSecret {
				args = args[:1]
			}
			f := mustParseFlags(t, args...)
			_, _, err := f.orchestratorConfig(t.TempDir(), tc.offchain)
			require.Error(t, err)
			if tc.is != nil {
				assert.True(t, errors.Is(err, tc.is), "%v is not %v", err, tc.is)
			}
			assert.Contains(t, err.Error(), tc.contains)

			// OpenOrchestrator refuses the same flags before touching the disk.
			dir := t.TempDir()
			_, err = OpenOrchestrator(f, OrchestratorEnv{DataDir: dir, Offchain: tc.offchain})
			require.Error(t, err)
			assert.NoDirExists(t, filepath.Join(dir, "archiver"))
		})
	}
}

func TestOrchestratorConfigAccepted(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		offchain bool
	}{
		{name: "paid on chain", args: []string{"-archivePricePerUnit", "3", "-archiveBytesPerUnit", "1000"}},
		{name: "free offchain", args: []string{"-archivePricePerUnit", "0"}, offchain: true},
		{name: "free on chain"},
		{name: "capability 38", args: []string{"-archiverCapability", "38"}, offchain: true},
		{name: "capability 127", args: []string{"-archiverCapability", "127"}, offchain: true},
		{name: "redundancy 0", args: []string{"-archiveRedundancy", "0"}, offchain: true},
		{name: "redundancy 4", args: []string{"-archiveRedundancy", "4"}, offchain: true},
		{name: "zero durations", args: []string{"-archiveEndGrace", "0", "-archiveRetention", "0"}, offchain: true},
		{name: "shared batch", args: []string{"-archivePostageBatch", "abababababababababababababababababababababababababababababababab", "-archivePostageDepth", "20"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := mustParseFlags(t, append([]string{"-archiver", "-archiverSecret", testSecret}, tc.args...)...)
			hc, oc, err := f.orchestratorConfig(t.TempDir(), tc.offchain)
			require.NoError(t, err)
			assert.Equal(t, tc.offchain, hc.PublicStatus)
			assert.Equal(t, f.PricePerUnit, oc.Price().PricePerUnit)
			assert.Equal(t, capability.ID(f.CapabilityID), oc.CapabilityID)
			if f.PostageBatch != "" {
				require.NotNil(t, hc.Service.Leases)
				assert.Equal(t, uint32(16), hc.Service.Leases.BucketCapacity, "2^(20-16)")
				assert.Equal(t, uint32(4), hc.Service.Leases.Slot, "a quarter by default")
			} else {
				assert.Nil(t, hc.Service.Leases)
			}
		})
	}
}

// TestPaidOffchainMessage: the operator is told which flag to change.
func TestPaidOffchainMessage(t *testing.T) {
	f := mustParseFlags(t, "-archiverSecret", testSecret, "-archivePricePerUnit", "10")
	_, _, err := f.orchestratorConfig(t.TempDir(), true)
	require.ErrorIs(t, err, ErrPaidOffchain)
	assert.Contains(t, err.Error(), "-archivePricePerUnit 10")
}

// TestRegisterOnGoLivepeerFlags: the archiver's flags can be registered on
// go-livepeer's flag set (flag panics on a name defined twice). The names
// are read from the pinned go-livepeer's cmd/livepeer/livepeer.go.
func TestRegisterOnGoLivepeerFlags(t *testing.T) {
	out, err := exec.Command("go", "list", "-m", "-json", "github.com/livepeer/go-livepeer").Output()
	if err != nil {
		t.Skipf("go list: %v", err)
	}
	var mod struct{ Dir string }
	require.NoError(t, json.Unmarshal(out, &mod))
	if mod.Dir == "" {
		t.Skip("go-livepeer is not in the module cache")
	}
	file, err := parser.ParseFile(token.NewFileSet(), filepath.Join(mod.Dir, "cmd", "livepeer", "livepeer.go"), nil, 0)
	require.NoError(t, err)

	var upstream []string
	ast.Inspect(file, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || len(call.Args) == 0 {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		if pkg, ok := sel.X.(*ast.Ident); !ok || pkg.Name != "flag" {
			return true
		}
		if lit, ok := call.Args[0].(*ast.BasicLit); ok && lit.Kind == token.STRING {
			name, err := strconv.Unquote(lit.Value)
			require.NoError(t, err)
			upstream = append(upstream, name)
		}
		return true
	})
	require.Greater(t, len(upstream), 50, "go-livepeer's flags were not found; has livepeer.go moved?")

	fs := flag.NewFlagSet("livepeer", flag.ContinueOnError)
	for _, name := range upstream {
		if fs.Lookup(name) == nil {
			fs.String(name, "", "go-livepeer")
		}
	}
	for _, name := range allFlags {
		assert.NotContains(t, upstream, name, "go-livepeer already defines -%s", name)
	}
	require.NotPanics(t, func() { (&Flags{}).Register(fs) })
}
