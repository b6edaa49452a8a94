package archive

import (
	"fmt"

	"github.com/ethersphere/bee/v2/pkg/swarm"
)

// Spec describes a stream's archive by its records: what the orchestrator's
// index holds and a worker needs to publish the manifest.
type Spec struct {
	Renditions []RenditionSpec
}

// RenditionSpec is one rendition and its records in any order.
type RenditionSpec struct {
	Name     string
	Listing  Listing
	Segments []Record
}

// Record is one segment by reference, or a gap.
type Record struct {
	Segment
	Reference swarm.Address
	Bytes     int64
	Gap       string
}

// Rebuild makes an archive from records without uploading any segment;
// Publish then stores only the playlists and manifest through up. Builds
// are deterministic: the same spec gives the same manifest reference.
func Rebuild(up Uploader, spec Spec) (*Archive, error) {
	return RebuildFrom(up, spec, Stored{})
}

// RebuildFrom is Rebuild for a stream whose last publish through the same
// Bee node stored prev (Archive.Stored): Publish skips the nodes and
// playlists in prev. The caller vouches that the node still holds them;
// the manifest reference does not depend on prev.
func RebuildFrom(up Uploader, spec Spec, prev Stored) (*Archive, error) {
	a := New(up)
	for k, v := range prev.refs {
		a.nodes.prev[k] = v
	}
	for _, r := range spec.Renditions {
		if err := a.AddRendition(r.Name, r.Listing); err != nil {
			return nil, err
		}
		for _, rec := range r.Segments {
			var err error
			if rec.Gap != "" {
				err = a.AddGap(r.Name, rec.Segment, fmt.Errorf("%s", rec.Gap))
			} else {
				err = a.AddRecord(r.Name, rec.Segment, rec.Reference, rec.Bytes)
			}
			if err != nil {
				return nil, err
			}
		}
	}
	return a, nil
}
