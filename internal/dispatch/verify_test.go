package dispatch

import (
	"context"
	"testing"

	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver"
	"github.com/lpswarm/archiver/chunker"
)

func verifyJob() archiver.Job {
	return archiver.Job{ManifestID: "m", Seq: 1, Source: []byte("source bytes"),
		Renditions: []archiver.Rendition{{Name: "P720p30fps16x9", Data: []byte("720p bytes")}, {Name: "P360p30fps16x9", Data: []byte{}}}}
}

// honestReport is what an honest worker reports for j.
func honestReport(t *testing.T, j archiver.Job) []archiver.FileResult {
	var out []archiver.FileResult
	for _, f := range Files(j) {
		ref, err := chunker.Reference(context.Background(), f.Data, redundancy.NONE)
		require.NoError(t, err)
		out = append(out, archiver.FileResult{Name: f.Name, Reference: ref.Bytes(), Bytes: uint64(len(f.Data)), Chunks: 1})
	}
	return out
}

// TestVerify: with reference checks a reference that is not the content's
// is refused; without them only that check is skipped, never the match of
// names and sizes to the job.
func TestVerify(t *testing.T) {
	for _, tc := range []struct {
		name     string
		wrongRef bool
		refs     bool
		refused  bool
	}{
		{"honest, verified", false, true, false},
		{"honest, trusted", false, false, false},
		{"wrong reference, verified", true, true, true},
		{"wrong reference, trusted", true, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := honestReport(t, verifyJob())
			if tc.wrongRef {
				r[1].Reference[0] ^= 1
			}
			err := Verify(context.Background(), verifyJob(), r, redundancy.NONE, tc.refs)
			if tc.refused {
				require.ErrorContains(t, err, "reported reference")
				return
			}
			require.NoError(t, err)
		})
	}
	// Sizes and names are checked either way.
	for _, refs := range []bool{true, false} {
		r := honestReport(t, verifyJob())
		r[0].Bytes++
		require.ErrorContains(t, Verify(context.Background(), verifyJob(), r, redundancy.NONE, refs), "job has")
		r = honestReport(t, verifyJob())
		r[2].Name = "other"
		require.ErrorContains(t, Verify(context.Background(), verifyJob(), r, redundancy.NONE, refs), "job has")
		r = honestReport(t, verifyJob())
		require.ErrorContains(t, Verify(context.Background(), verifyJob(), r[:2], redundancy.NONE, refs), "job has 3")
	}
}
