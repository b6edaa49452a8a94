package streams_test

import (
	"sync"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver"
	"github.com/lpswarm/archiver/internal/catalog"
	"github.com/lpswarm/archiver/internal/streams"
)

// spoolRecorder accepts every job and keeps what it was given.
type spoolRecorder struct {
	mu   sync.Mutex
	jobs []archiver.Job
}

func (r *spoolRecorder) Submit(j archiver.Job) <-chan archiver.Outcome {
	r.mu.Lock()
	r.jobs = append(r.jobs, j)
	r.mu.Unlock()
	ch := make(chan archiver.Outcome, 1)
	ch <- archiver.Outcome{}
	return ch
}

// TestEmptySegmentsAreGaps: on the live path a 0-byte file is a gap with
// its reason, never archived: an empty source makes the whole segment a gap
// and nothing reaches the spool; an empty rendition is a gap of that
// rendition and the rest of the segment is archived.
func TestEmptySegmentsAreGaps(t *testing.T) {
	id := catalog.StreamID{ManifestID: "m", Sender: common.Address{1}}
	tests := []struct {
		name       string
		job        archiver.Job
		wantErr    error
		spooled    []string // file names the spool gets, source first
		wantGapsIn []string
	}{
		{"empty source", func() archiver.Job { j := job(1); j.Source = nil; return j }(),
			archiver.ErrEmptySegment, nil, []string{"source", "360p"}},
		{"empty rendition", func() archiver.Job {
			j := job(2)
			j.Renditions = append(j.Renditions, archiver.Rendition{Name: "240p", Data: []byte{}})
			return j
		}(), nil, []string{"source", "360p"}, []string{"240p"}},
		{"nothing empty", job(3), nil, []string{"source", "360p"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, ix, _ := setup(t, streams.Config{})
			spool := &spoolRecorder{}
			err := (<-s.Intake(spool).Submit(tt.job)).Err
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				assert.Empty(t, spool.jobs, "an empty segment never reaches the spool")
			} else {
				require.NoError(t, err)
				require.Len(t, spool.jobs, 1)
				names := []string{"source"}
				for _, r := range spool.jobs[0].Renditions {
					names = append(names, r.Name)
				}
				assert.Equal(t, tt.spooled, names)
			}
			recs, err := ix.Records(id)
			require.NoError(t, err)
			var gaps []string
			for _, r := range recs {
				if r.State == catalog.Gap {
					gaps = append(gaps, r.Rendition)
					assert.Equal(t, archiver.ErrEmptySegment.Error(), r.Error)
				}
			}
			assert.ElementsMatch(t, tt.wantGapsIn, gaps)
		})
	}
}
