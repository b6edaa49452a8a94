// Package jobspec carries a stream's archive spec in a publish job: the
// orchestrator encodes it, the worker decodes it, and the orchestrator
// computes the expected manifest from the decoded form too, so both build
// from exactly the same spec.
package jobspec

import (
	"fmt"

	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	"github.com/ethersphere/bee/v2/pkg/swarm"

	"github.com/lpswarm/archiver/archive"
	"github.com/lpswarm/archiver/hls"
	archiverpb "github.com/lpswarm/archiver/proto"
)

// Encode describes spec on the wire. Listings are not carried: renditions
// are published as variants whose bandwidth is measured on archived bytes.
func Encode(manifestID string, spec archive.Spec, final bool, level redundancy.Level) *archiverpb.PublishJob {
	job := &archiverpb.PublishJob{ManifestId: []byte(manifestID), Final: final, RedundancyLevel: uint32(level)}
	for _, r := range spec.Renditions {
		pr := &archiverpb.PublishRendition{Name: r.Name}
		for _, rec := range r.Segments {
			pr.Segments = append(pr.Segments, &archiverpb.PublishSegment{
				Seq: int64(rec.Seq), Duration: rec.Duration, Ext: rec.Ext,
				Reference: rec.Reference.Bytes(), Bytes: uint64(rec.Bytes), Gap: rec.Gap,
			})
		}
		job.Renditions = append(job.Renditions, pr)
	}
	return job
}

// Decode reads the spec of a publish job.
func Decode(job *archiverpb.PublishJob) (archive.Spec, error) {
	var spec archive.Spec
	for _, pr := range job.GetRenditions() {
		r := archive.RenditionSpec{Name: pr.GetName(), Listing: archive.Listing{Variants: []hls.Variant{{}}}}
		for _, ps := range pr.GetSegments() {
			if ps.GetSeq() < 0 {
				return spec, fmt.Errorf("jobspec: %s: negative seq %d", pr.GetName(), ps.GetSeq())
			}
			rec := archive.Record{
				Segment: archive.Segment{Seq: uint64(ps.GetSeq()), Duration: ps.GetDuration(), Ext: ps.GetExt()},
				Bytes:   int64(ps.GetBytes()), Gap: ps.GetGap(),
			}
			if rec.Gap == "" {
				if len(ps.GetReference()) != swarm.HashSize {
					return spec, fmt.Errorf("jobspec: %s/%d: bad reference", pr.GetName(), ps.GetSeq())
				}
				rec.Reference = swarm.NewAddress(ps.GetReference())
			}
			r.Segments = append(r.Segments, rec)
		}
		spec.Renditions = append(spec.Renditions, r)
	}
	return spec, nil
}
