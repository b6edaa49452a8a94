package broadcaster

import (
	lpnet "github.com/livepeer/go-livepeer/net"

	"github.com/lpswarm/archiver/capability"
	"github.com/lpswarm/archiver/proto/archiverpb"
)

// Choose picks an orchestrator for a stream that wants archiving: the first
// that advertises the Archive bit and sends a readable offer. When none
// does it returns the first orchestrator and a nil offer: the stream goes
// live without archiving (NewSession(nil) records the gap), because
// archiving never blocks going live.
func Choose(infos []*lpnet.OrchestratorInfo, id capability.ID) (*lpnet.OrchestratorInfo, *archiverpb.ArchiveOffer) {
	for _, info := range infos {
		if !capability.Offers(info.GetCapabilities(), id) {
			continue
		}
		offer, ok, err := archiverpb.GetOffer(info)
		if ok && err == nil && offer.GetCapabilityId() == uint32(id) {
			return info, offer
		}
	}
	if len(infos) == 0 {
		return nil, nil
	}
	return infos[0], nil
}

// SegmentCaps returns the capabilities a segment of this session carries
// in SegData: the stream's own, plus the Archive bit when archiving.
func (s *Session) SegmentCaps(caps *lpnet.Capabilities, id capability.ID) *lpnet.Capabilities {
	if !s.Archiving() {
		return capability.Strip(caps, id)
	}
	return capability.Request(caps, id)
}
