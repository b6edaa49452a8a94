package hooks

import (
	"context"
	"runtime/trace"
	"time"

	"github.com/livepeer/go-livepeer/core"
	"github.com/livepeer/go-livepeer/net"
	"github.com/livepeer/go-livepeer/server"
	"github.com/livepeer/lpms/stream"

	"github.com/lpswarm/archiver"
	"github.com/lpswarm/archiver/orchestrator"
	"github.com/lpswarm/archiver/plugin"
)

// orch is go-livepeer's orchestrator with the archiver around it. Every
// method it does not define passes straight through; the ones it defines
// call go-livepeer's with go-livepeer's own values, so nothing of
// go-livepeer's is lost in a conversion, and give the archiver its view.
type orch struct {
	server.Orchestrator
	a *plugin.Orchestrator
	m *liveMetrics
}

var _ server.Orchestrator = (*orch)(nil)

// Capabilities advertises Archive beside go-livepeer's capabilities.
func (o *orch) Capabilities() *net.Capabilities {
	return o.a.Capabilities(o.Orchestrator.Capabilities())
}

// ProcessPayment credits the tickets as go-livepeer does, then tells the
// archiver who pays for the session.
//
// go-livepeer's server.Orchestrator passes the payment, a protobuf message,
// by value, which go vet's copylocks check reports; the signature is
// go-livepeer's and cannot change here.
func (o *orch) ProcessPayment(ctx context.Context, payment net.Payment, manifestID core.ManifestID) error {
	if err := o.Orchestrator.ProcessPayment(ctx, payment, manifestID); err != nil {
		return err
	}
	start := time.Now()
	o.a.Paid(&payment, string(manifestID))
	o.m.hook("ProcessPayment", time.Since(start))
	return nil
}

// TranscodeSeg transcodes through go-livepeer, with the Archive bit
// stripped when the segment asked for archiving, and then hands the source
// and renditions to the archiver without waiting for Swarm. go-livepeer's
// result is returned as go-livepeer made it.
func (o *orch) TranscodeSeg(ctx context.Context, md *core.SegTranscodingMetadata, seg *stream.HLSSegment) (*core.TranscodeResult, error) {
	start := time.Now()
	var inner time.Duration // in go-livepeer's own transcode
	// The regions show, in an execution trace of the node, what the
	// archiver's share of the reply waits on (scheduling, locks, GC).
	region := trace.StartRegion(ctx, "archiver.Begin")
	view := segMetadata(md)
	begun := o.a.Begin(view)
	region.End()
	if !begun {
		defer func() { o.m.segment(md, false, start, inner) }()
		t := time.Now()
		defer func() { inner = time.Since(t) }()
		return o.Orchestrator.TranscodeSeg(ctx, md, seg)
	}
	// Transcoded must follow Begin even if go-livepeer panics (net/http
	// recovers it), or the session would wait for this segment forever.
	var td *orchestrator.TranscodeData
	defer func() {
		defer trace.StartRegion(ctx, "archiver.Transcoded").End()
		o.a.Transcoded(view, hlsSegment(seg), td)
		o.m.segment(md, true, start, inner)
	}()
	region = trace.StartRegion(ctx, "archiver.Strip")
	stripped := *md
	stripped.Caps = core.CapabilitiesFromNetCapabilities(o.a.Strip(view.Caps))
	region.End()
	t := time.Now()
	res, err := o.Orchestrator.TranscodeSeg(ctx, &stripped, seg)
	inner = time.Since(t)
	if err == nil && res != nil && res.Err == nil {
		td = transcodeData(res.TranscodeData)
	}
	return res, err
}

// segMetadata is the archiver's view of a segment's metadata.
func segMetadata(md *core.SegTranscodingMetadata) *orchestrator.SegTranscodingMetadata {
	out := &orchestrator.SegTranscodingMetadata{
		ManifestID: archiver.ManifestID(md.ManifestID),
		Seq:        md.Seq,
		Hash:       md.Hash,
		Duration:   md.Duration,
		Caps:       md.Caps.ToNetCapabilities(),
		AuthToken:  md.AuthToken,
	}
	for _, p := range md.Profiles {
		out.Profiles = append(out.Profiles, p.Name)
	}
	return out
}

// hlsSegment is the archiver's view of the source segment.
func hlsSegment(seg *stream.HLSSegment) *orchestrator.HLSSegment {
	return &orchestrator.HLSSegment{SeqNo: seg.SeqNo, Name: seg.Name, Data: seg.Data, Duration: seg.Duration}
}

// transcodeData is the archiver's view of the renditions.
func transcodeData(td *core.TranscodeData) *orchestrator.TranscodeData {
	if td == nil {
		return nil
	}
	out := &orchestrator.TranscodeData{Pixels: td.Pixels}
	for _, s := range td.Segments {
		out.Segments = append(out.Segments, &orchestrator.TranscodedSegmentData{Data: s.Data, PHash: s.PHash, Pixels: s.Pixels})
	}
	return out
}
