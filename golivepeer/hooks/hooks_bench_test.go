package hooks

import (
	"testing"

	"github.com/livepeer/go-livepeer/core"
	"github.com/livepeer/go-livepeer/net"
	"github.com/livepeer/lpms/ffmpeg"
	"github.com/livepeer/lpms/stream"

	"github.com/lpswarm/archiver/proto/archiverpb"
)

// BenchmarkTranscodeSegHooks is the archiver's share of one segment's
// reply, as the real node runs it: the TranscodeSeg wrapper around an
// instant go-livepeer transcode, then the reply hook. Nothing here waits
// for the disk or Swarm. The decisions and durable writes the replies hand
// over run meanwhile on the handover's and the spool's goroutines, on the
// same cores, so ns/op moves with them; the allocations per reply are the
// steady figure.
func BenchmarkTranscodeSegHooks(b *testing.B) {
	src := make([]byte, 64<<10)
	td := &core.TranscodeData{Segments: []*core.TranscodedSegmentData{{Data: make([]byte, 32<<10)}, {Data: make([]byte, 16<<10)}}}
	lp := &fakeOrch{res: &core.TranscodeResult{TranscodeData: td}}
	o := newOrch(b, lp)
	caps := newCaps(true)
	profiles := []ffmpeg.VideoProfile{ffmpeg.P360p30fps16x9, ffmpeg.P240p30fps16x9}
	token := &net.AuthToken{SessionId: "bench-session"}
	statuses := map[string]int{}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		md := &core.SegTranscodingMetadata{ManifestID: "bench", Seq: int64(i), Profiles: profiles, Caps: caps, AuthToken: token}
		seg := &stream.HLSSegment{SeqNo: uint64(i), Data: src}
		if _, err := o.TranscodeSeg(b.Context(), md, seg); err != nil {
			b.Fatal(err)
		}
		tr := &net.TranscodeResult{}
		o.a.AmendReply(tr, token.SessionId)
		r, _, err := archiverpb.GetReceipts(tr)
		if err != nil {
			b.Fatal(err)
		}
		for _, x := range r.GetReceipts() {
			statuses[x.GetStatus().String()+"/"+x.GetReason().String()]++
		}
	}
	b.StopTimer()
	b.Log(statuses)
}
