package dispatch

import (
	"bytes"
	"context"
	"fmt"

	"github.com/ethersphere/bee/v2/pkg/file/redundancy"

	"github.com/lpswarm/archiver"
	"github.com/lpswarm/archiver/chunker"
)

// Files lists a job's files in the order workers fetch and report them:
// the source, then the renditions.
func Files(j archiver.Job) []archiver.Rendition {
	out := []archiver.Rendition{{Name: "source", Data: j.Source}}
	return append(out, j.Renditions...)
}

// Verify matches reported files to the job's files, by name and size, and,
// with refs, checks every reference against the one computed offline from
// the bytes the orchestrator holds at level: a worker cannot record a
// reference that is not the content's.
func Verify(ctx context.Context, j archiver.Job, got []archiver.FileResult, level redundancy.Level, refs bool) error {
	want := Files(j)
	if len(got) != len(want) {
		return fmt.Errorf("reported %d files, job has %d", len(got), len(want))
	}
	for i, f := range got {
		if f.Name != want[i].Name || len(f.Reference) != 32 || f.Bytes != uint64(len(want[i].Data)) {
			return fmt.Errorf("file %d: reported %q (%d bytes), job has %q (%d bytes)",
				i, f.Name, f.Bytes, want[i].Name, len(want[i].Data))
		}
		if !refs {
			continue
		}
		ref, err := chunker.Reference(ctx, want[i].Data, level)
		if err != nil {
			return err
		}
		if !bytes.Equal(ref.Bytes(), f.Reference) {
			return fmt.Errorf("file %q: reported reference %x, the content's is %s", f.Name, f.Reference, ref)
		}
	}
	return nil
}
