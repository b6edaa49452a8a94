package grpcsvc

import (
	"context"
	"testing"

	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	"github.com/stretchr/testify/require"
)

// TestCheckResults: with verification a reference that is not the
// content's is refused; TrustReferences skips only that check, never the
// match of names and sizes to the job.
func TestCheckResults(t *testing.T) {
	for _, tc := range []struct {
		name     string
		wrongRef bool
		verify   bool
		refused  bool
	}{
		{"honest, verified", false, true, false},
		{"honest, trusted", false, false, false},
		{"wrong reference, verified", true, true, true},
		{"wrong reference, trusted", true, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := validReport(t)
			if tc.wrongRef {
				r.Files[1].Reference[0] ^= 1
			}
			got, err := checkResults(context.Background(), fuzzJob(), r.GetFiles(), redundancy.NONE, tc.verify)
			if tc.refused {
				require.ErrorContains(t, err, "reported reference")
				return
			}
			require.NoError(t, err)
			require.Equal(t, r.Files[1].GetReference(), got[1].Reference, "the reported reference is what is recorded")
		})
	}
	// Sizes and names are checked either way.
	for _, verify := range []bool{true, false} {
		r := validReport(t)
		r.Files[0].Bytes++
		_, err := checkResults(context.Background(), fuzzJob(), r.GetFiles(), redundancy.NONE, verify)
		require.ErrorContains(t, err, "job has")
		r = validReport(t)
		r.Files[2].Name = "other"
		_, err = checkResults(context.Background(), fuzzJob(), r.GetFiles(), redundancy.NONE, verify)
		require.ErrorContains(t, err, "job has")
	}
}
