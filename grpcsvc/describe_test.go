package grpcsvc_test

import (
	"context"
	"crypto/sha256"
	"testing"

	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	"github.com/ethersphere/bee/v2/pkg/swarm"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/chunker"
	"github.com/lpswarm/archiver/grpcsvc"
	"github.com/lpswarm/archiver/internal/dispatch"
	"github.com/lpswarm/archiver/proto/archiverpb"
)

// TestJobCarriesTheOrchestratorsReferences: an orchestrator that checks
// references sends, with each file, the reference and chunk addresses it
// computed from its own bytes at the job's redundancy level (what the
// worker compares Bee's answer with); one that trusts its workers sends
// only sizes and hashes.
func TestJobCarriesTheOrchestratorsReferences(t *testing.T) {
	for _, tc := range []struct {
		name  string
		trust bool
		level redundancy.Level
	}{{"checking, none", false, redundancy.NONE}, {"checking, medium", false, redundancy.MEDIUM}, {"trusting", true, redundancy.NONE}} {
		t.Run(tc.name, func(t *testing.T) {
			js := jobs(1)
			h := newHarness(t, newMemQueue(js...), grpcsvc.Config{TrustReferences: tc.trust, Redundancy: tc.level})
			stream, err := archiverpb.NewArchiverServiceClient(h.conn(t)).RegisterArchiver(context.Background(),
				&archiverpb.RegisterRequest{Secret: "s3cret", Capacity: 1, WorkerId: "w"})
			require.NoError(t, err)
			n, err := stream.Recv()
			require.NoError(t, err)
			files := dispatch.Files(js[0])
			require.Len(t, n.GetJob().GetFiles(), len(files))
			for i, f := range n.GetJob().GetFiles() {
				sum := sha256.Sum256(files[i].Data)
				require.Equal(t, sum[:], f.GetSha256())
				if tc.trust {
					require.Empty(t, f.GetReference())
					require.Empty(t, f.GetChunkAddresses())
					continue
				}
				root, chunks, err := chunker.Addresses(context.Background(), files[i].Data, tc.level)
				require.NoError(t, err)
				require.Equal(t, root.Bytes(), f.GetReference(), "file %s", f.GetName())
				raw := f.GetChunkAddresses()
				require.Len(t, raw, len(chunks)*swarm.HashSize)
				var got []swarm.Address
				for off := 0; off < len(raw); off += swarm.HashSize {
					got = append(got, swarm.NewAddress(raw[off:off+swarm.HashSize]))
				}
				require.ElementsMatch(t, chunks, got, "file %s: the root's replicas come in no fixed order", f.GetName())
			}
		})
	}
}
