package integration_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	lpnet "github.com/livepeer/go-livepeer/net"

	"github.com/lpswarm/archiver"
	"github.com/lpswarm/archiver/capability"
	"github.com/lpswarm/archiver/internal/catalog"
	"github.com/lpswarm/archiver/internal/rig"
	"github.com/lpswarm/archiver/internal/testbed"
	"github.com/lpswarm/archiver/orchestrator"
	"github.com/lpswarm/archiver/proto/archiverpb"
)

// perfRig is the orchestrator side as go-livepeer hosts it (host, the
// decorator over the rig's stand-in core, the workers' gRPC service) with
// in-process workers archiving into the dev Bee, as TestSoak and the memory
// benchmarks build it: segments are played through its decorator.
type perfRig struct{ *rig.Rig }

// perfSegmentData is one file of a segment: fresh bytes (not shared), so
// that anything keeping a segment shows in the heap.
func perfSegmentData(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := 0; i < n; i += 8 {
		v := rng.Uint64()
		for j := 0; j < 8 && i+j < n; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	b[0] = 0x47
	return b
}

// perfTranscoder makes renditions of half and a quarter of the source,
// fresh bytes each from rng.
func perfTranscoder(rng *rand.Rand) testbed.Transcoder {
	var mu sync.Mutex
	return func(_ context.Context, md *orchestrator.SegTranscodingMetadata, source []byte) (*orchestrator.TranscodeData, error) {
		td := &orchestrator.TranscodeData{}
		mu.Lock()
		defer mu.Unlock()
		for i := range md.Profiles {
			n := max(len(source)>>(i+1), 188)
			td.Segments = append(td.Segments, &orchestrator.TranscodedSegmentData{Data: perfSegmentData(rng, n), Pixels: int64(n)})
			td.Pixels += int64(n)
		}
		return td, nil
	}
}

// perfSend plays one segment through the decorator as go-livepeer's
// ServeSegment does and returns the receipts of its reply.
func (r perfRig) perfSend(ctx context.Context, stream int, seq int64, source []byte) ([]*archiverpb.ArchiveReceipt, error) {
	mid, sender := fmt.Sprintf("perf-%06d", stream), churnSender(stream)
	session := archiver.ManifestID(fmt.Sprintf("perf-session-%06d", stream))
	dec := r.Decorator()
	if err := dec.ProcessPayment(ctx, &lpnet.Payment{Sender: sender.Bytes()}, session); err != nil {
		return nil, err
	}
	md := &orchestrator.SegTranscodingMetadata{ManifestID: archiver.ManifestID(mid), Seq: seq, Duration: 2 * time.Second,
		Caps: capability.Request(r.Core().Capabilities(), capability.DefaultArchiveID), Profiles: churnProfiles,
		AuthToken: &lpnet.AuthToken{SessionId: string(session)}}
	res, err := dec.TranscodeSeg(ctx, md, &orchestrator.HLSSegment{SeqNo: uint64(seq), Data: source, Duration: 2})
	if err == nil && res.Err != nil {
		err = res.Err
	}
	if err != nil {
		return nil, fmt.Errorf("%s seq %d: %w", mid, seq, err)
	}
	dec.DebitFees(sender, session, &lpnet.PriceInfo{PricePerUnit: 1, PixelsPerUnit: 1}, res.TranscodeData.Pixels)
	return dec.TakeReceipts(session).GetReceipts(), nil
}

// endStream ends a stream as the hook does when go-livepeer drops the
// session.
func (r perfRig) endStream(stream int) {
	sender := churnSender(stream)
	session := archiver.ManifestID(fmt.Sprintf("perf-session-%06d", stream))
	r.Decorator().EndSession(sender, session)
	r.Host().EndStream(catalog.StreamID{ManifestID: fmt.Sprintf("perf-%06d", stream), Sender: sender})
	r.Core().Forget(sender, session)
}
