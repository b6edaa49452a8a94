package dispatch

import (
	"context"
	"crypto/sha256"
	"fmt"

	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	"github.com/ethersphere/bee/v2/pkg/swarm"

	"github.com/lpswarm/archiver"
	"github.com/lpswarm/archiver/chunker"
)

// Files lists a job's files in the order workers fetch and report them:
// the source, then the renditions.
func Files(j archiver.Job) []archiver.Rendition {
	out := []archiver.Rendition{{Name: "source", Data: j.Source}}
	return append(out, j.Renditions...)
}

// FileSpec is what the orchestrator knows of one file of a job before any
// worker touches it, computed once per job from the bytes it holds.
type FileSpec struct {
	Name   string
	Size   uint64
	SHA256 [sha256.Size]byte
	// Reference and Chunks, when the orchestrator checks references, are
	// the file's Swarm reference at the job's redundancy level and the
	// address of every distinct chunk of its tree.
	Reference swarm.Address
	Chunks    []swarm.Address
}

// Describe computes the FileSpec of each of j's files; with refs, their
// references and chunks too: the one pass over the bytes that every check
// of a reported reference is compared against.
func Describe(ctx context.Context, j archiver.Job, level redundancy.Level, refs bool) ([]FileSpec, error) {
	files := Files(j)
	out := make([]FileSpec, len(files))
	for i, f := range files {
		out[i] = FileSpec{Name: f.Name, Size: uint64(len(f.Data)), SHA256: sha256.Sum256(f.Data)}
		if !refs {
			continue
		}
		root, chunks, err := chunker.Addresses(ctx, f.Data, level)
		if err != nil {
			return nil, fmt.Errorf("dispatch: file %q: %w", f.Name, err)
		}
		out[i].Reference, out[i].Chunks = root, chunks
	}
	return out, nil
}

// Check matches reported files to specs, by name and size, and with refs
// each reported reference to the spec's: a worker cannot record a
// reference that is not the content's.
func Check(specs []FileSpec, got []archiver.FileResult, refs bool) error {
	if len(got) != len(specs) {
		return fmt.Errorf("reported %d files, job has %d", len(got), len(specs))
	}
	for i, f := range got {
		want := specs[i]
		if f.Name != want.Name || len(f.Reference) != swarm.HashSize || f.Bytes != want.Size {
			return fmt.Errorf("file %d: reported %q (%d bytes), job has %q (%d bytes)", i, f.Name, f.Bytes, want.Name, want.Size)
		}
		if refs && !want.Reference.Equal(swarm.NewAddress(f.Reference)) {
			return fmt.Errorf("file %q: reported reference %x, the content's is %s", f.Name, f.Reference, want.Reference)
		}
	}
	return nil
}

// Verify is Describe then Check: reported files against the job's bytes.
func Verify(ctx context.Context, j archiver.Job, got []archiver.FileResult, level redundancy.Level, refs bool) error {
	specs, err := Describe(ctx, j, level, refs)
	if err != nil {
		return err
	}
	return Check(specs, got, refs)
}
