package worker

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/ethersphere/bee/v2/pkg/swarm"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/bee"
	"github.com/lpswarm/archiver/postage"
	"github.com/lpswarm/archiver/upload"
)

// TestOutOfPostageIsTheWorkersTrouble: a full batch (Bee's 402, every
// node-side batch full, a full bucket in the client-side issuer) is the
// worker's trouble, never the job's: it must not be reported (it would
// count against the job's attempts and end as a gap). Other failures are
// not mistaken for it.
func TestOutOfPostageIsTheWorkersTrouble(t *testing.T) {
	overissued := &bee.APIError{Method: http.MethodPost, Path: "/bytes", Status: http.StatusPaymentRequired, Message: "batch is overissued"}
	for _, tc := range []struct {
		name      string
		err       error
		noPostage bool
		beeDown   bool
	}{
		{"bee 402 overissued", fmt.Errorf("upload: %w", overissued), true, false},
		{"every node-side batch full", fmt.Errorf("upload: %w: 2 batches full: %w", upload.ErrNoPostage, overissued), true, false},
		{"client-side bucket full", fmt.Errorf("upload: stamp 3 chunks: %w", &postage.BucketFullError{Address: swarm.ZeroAddress, Bucket: 7}), true, false},
		{"bee unreachable", fmt.Errorf("upload: %w", bee.ErrUnreachable), false, true},
		{"bee starting (503)", &bee.APIError{Status: http.StatusServiceUnavailable}, false, true},
		{"bee 500", &bee.APIError{Status: http.StatusInternalServerError}, false, false},
		{"batch not usable (422)", &bee.APIError{Status: http.StatusUnprocessableEntity}, false, false},
		{"reference mismatch", fmt.Errorf("upload: %w", upload.ErrReferenceMismatch), false, false},
		{"other", errors.New("boom"), false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.noPostage, outOfPostage(tc.err))
			require.Equal(t, tc.beeDown, beeDown(context.Background(), tc.err))
		})
	}
}
