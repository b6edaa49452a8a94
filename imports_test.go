package archiver_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const module = "github.com/lpswarm/archiver"

// transport is what the domain, the queue and the store must never pull
// in: gRPC, go-livepeer and the generated wire types.
var transport = []string{"google.golang.org/grpc", "github.com/livepeer/go-livepeer", module + "/proto"}

// orchestratorSide is the orchestrator's machinery, which the Swarm-side
// libraries (used by workers and importers alone) must not depend on.
var orchestratorSide = []string{module + "/orchestrator", module + "/internal/streams", module + "/grpcsvc",
	module + "/internal/host", module + "/internal/spool", module + "/internal/catalog", module + "/plugin", module + "/broadcaster"}

// TestImportsPointInward: the domain package imports nothing of the module;
// the queue (spool), the store (catalog), the dispatcher (dispatch) and the
// stream keeper (streams) import no transport; the Swarm
// libraries know nothing of the orchestrator. `go list -deps` is the
// judge, so an indirect import counts as much as a direct one.
func TestImportsPointInward(t *testing.T) {
	type rule struct {
		pkg       string
		forbidden []string
		onlyOwn   []string // when set, the only module packages it may depend on
	}
	tests := []rule{
		{pkg: module, forbidden: transport, onlyOwn: []string{module}},
		{pkg: module + "/internal/spool", forbidden: append(append([]string(nil), transport...), orchestratorSide[:4]...)},
		{pkg: module + "/internal/catalog", forbidden: append(append([]string(nil), transport...), orchestratorSide[:4]...)},
		{pkg: module + "/internal/dispatch", forbidden: append(append([]string(nil), transport...), orchestratorSide...)},
		// The stream keeper records and publishes through the dispatcher's
		// types, not through the gRPC service that carries them.
		{pkg: module + "/internal/streams", forbidden: append(append([]string(nil), transport...), module+"/grpcsvc", module+"/internal/host")},
	}
	for _, lib := range []string{"bee", "upload", "postage", "chunker", "feed", "hls", "archive", "hlsimport", "worker"} {
		tests = append(tests, rule{pkg: module + "/" + lib, forbidden: orchestratorSide})
	}
	for _, tt := range tests {
		t.Run(strings.TrimPrefix(tt.pkg, module+"/"), func(t *testing.T) {
			deps := goListDeps(t, tt.pkg)
			for _, d := range deps {
				for _, f := range tt.forbidden {
					assert.False(t, d == f || strings.HasPrefix(d, f+"/"), "%s depends on %s", tt.pkg, d)
				}
				if tt.onlyOwn != nil && (d == module || strings.HasPrefix(d, module+"/")) {
					assert.Contains(t, tt.onlyOwn, d, "%s depends on %s", tt.pkg, d)
				}
			}
		})
	}
}

func goListDeps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", pkg).Output()
	require.NoError(t, err, "go list -deps %s", pkg)
	return strings.Fields(string(out))
}
