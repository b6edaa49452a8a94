// Package jobspec carries a stream's archive spec in a publish job: the
// orchestrator encodes it, the worker decodes it, and the orchestrator
// computes the expected manifest from the decoded form too, so both build
// from exactly the same spec.
package jobspec

import (
	"bytes"
	"fmt"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	"github.com/ethersphere/bee/v2/pkg/swarm"

	"github.com/lpswarm/archiver/archive"
	"github.com/lpswarm/archiver/feed"
	"github.com/lpswarm/archiver/hls"
	"github.com/lpswarm/archiver/proto/archiverpb"
)

// Names of the files a publish report lists.
const (
	FileManifest     = "manifest"
	FileFeedManifest = "feed-manifest"
	FileFeedUpdate   = "feed-update"
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

// EncodeFeed describes a feed update on the wire.
func EncodeFeed(u feed.Update) *archiverpb.FeedUpdate {
	return &archiverpb.FeedUpdate{Owner: u.Owner.Bytes(), Topic: bytes.Clone(u.Topic[:]), Index: u.Index,
		Signature: bytes.Clone(u.Signature), Payload: bytes.Clone(u.Payload)}
}

// DecodeFeed reads a publish job's feed update; nil when it has none. The
// signature is not checked here: feed.Store checks it before storing.
func DecodeFeed(job *archiverpb.PublishJob) (*feed.Update, error) {
	pb := job.GetFeed()
	if pb == nil {
		return nil, nil
	}
	if len(pb.GetOwner()) != common.AddressLength || len(pb.GetTopic()) != len(feed.Topic{}) {
		return nil, fmt.Errorf("jobspec: %w: owner of %d bytes, topic of %d", feed.ErrMalformed, len(pb.GetOwner()), len(pb.GetTopic()))
	}
	u := &feed.Update{Owner: common.BytesToAddress(pb.GetOwner()), Index: pb.GetIndex(),
		Signature: bytes.Clone(pb.GetSignature()), Payload: bytes.Clone(pb.GetPayload())}
	copy(u.Topic[:], pb.GetTopic())
	return u, nil
}
