package testbed

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/big"
	"net/http"

	"github.com/ethereum/go-ethereum/common"
	lpnet "github.com/livepeer/go-livepeer/net"

	"github.com/lpswarm/archiver/capability"
	"github.com/lpswarm/archiver/internal/lpwire"
	"github.com/lpswarm/archiver/internal/tickets"
	"github.com/lpswarm/archiver/proto/archiverpb"
)

// stockCaps are the capabilities a stock broadcaster's segment carries.
func stockCaps() *lpnet.Capabilities { return &lpnet.Capabilities{Bitstring: []uint64{0b11}} }

// send pays for, signs and submits one segment, downloads its renditions
// and mirrors the debits, as go-livepeer's SubmitSegment does. It returns
// the files it sent and received, by "<rendition>/<seq>".
func (b *Broadcaster) send(ctx context.Context, info *lpnet.OrchestratorInfo, payID string, res *StreamResult, seq int64, seg Segment, profiles []lpwire.Profile) (map[string][]byte, error) {
	ev, err := b.sender.EV(payID)
	if err != nil {
		return nil, err
	}
	n := ticketsNeeded(info, res, seg, ev)
	payment, err := b.sender.Pay(payID, n)
	if err != nil {
		return nil, err
	}
	if n > 0 {
		credit := new(big.Rat).Mul(ev, big.NewRat(int64(n), 1))
		res.Credit.Add(res.Credit, credit)
		res.Mirror.Credit(credit)
	}
	meta := lpwire.SegMeta{ManifestID: res.ManifestID, Seq: seq, Hash: lpwire.HashSegment(seg.Data), Profiles: profiles,
		Duration: seg.Duration, Capabilities: res.Mirror.SegmentCaps(stockCaps(), capability.DefaultArchiveID), AuthToken: info.GetAuthToken()}
	sd, err := lpwire.SignSegment(b.key, meta)
	if err != nil {
		return nil, err
	}
	body, err := b.post(ctx, info.GetTranscoder(), sd, payment, seg.Data)
	if err != nil {
		return nil, err
	}
	tr, td, err := lpwire.DecodeTranscodeResult(body)
	if err != nil {
		return nil, err
	}
	rends, err := b.download(ctx, td)
	if err != nil {
		return nil, err
	}
	if err := lpwire.VerifyTranscodeResult(td, common.BytesToAddress(info.GetAddress()), rends); err != nil {
		return nil, err
	}
	fee := new(big.Rat).Mul(big.NewRat(info.GetPriceInfo().GetPricePerUnit(), info.GetPriceInfo().GetPixelsPerUnit()),
		big.NewRat(lpwire.TotalPixels(td), 1))
	res.TranscodeFee.Add(res.TranscodeFee, fee)
	res.Segments++
	res.SourceBytes += int64(len(seg.Data))
	files := map[string][]byte{fmt.Sprintf("source/%d", seq): seg.Data}
	sizes := make([]int, len(rends))
	for i, r := range rends {
		sizes[i] = len(r)
		res.RenditionBytes += int64(len(r))
		files[fmt.Sprintf("%s/%d", profiles[i].Name, seq)] = r
	}
	res.Mirror.Counted(seq, len(seg.Data), sizes...)
	if receipts, ok, err := archiverpb.GetReceipts(tr); err != nil {
		return nil, err
	} else if ok {
		res.Mirror.Reply(receipts)
	}
	return files, nil
}

// ticketsNeeded keeps the mirrored balance above one ticket's EV (the
// orchestrator's SufficientBalance) plus twice a generous estimate of this
// segment's fees, as go-livepeer's broadcaster stages credit before
// sending: transcoding at 360p and 240p, 30 fps, and archiving three times
// the source's bytes.
func ticketsNeeded(info *lpnet.OrchestratorInfo, res *StreamResult, seg Segment, ev *big.Rat) int {
	pixels := int64((640*360 + 426*240) * 30 * seg.Duration.Seconds() * 1.5)
	p := info.GetPriceInfo()
	est := new(big.Rat).Mul(big.NewRat(p.GetPricePerUnit(), p.GetPixelsPerUnit()), big.NewRat(pixels, 1))
	if offer, ok, _ := archiverpb.GetOffer(info); ok && res.Archived {
		ap := offer.GetPrice()
		est.Add(est, new(big.Rat).Mul(big.NewRat(ap.GetPricePerUnit(), ap.GetBytesPerUnit()), big.NewRat(3*int64(len(seg.Data)), 1)))
	}
	need := new(big.Rat).Add(ev, new(big.Rat).Mul(est, big.NewRat(2, 1)))
	need.Sub(need, res.Balance())
	if need.Sign() <= 0 {
		return 0
	}
	return tickets.TicketsFor(need, info.GetTicketParams())
}

// post submits a segment as go-livepeer's SubmitSegment.
func (b *Broadcaster) post(ctx context.Context, transcoder string, sd *lpnet.SegData, payment *lpnet.Payment, data []byte) ([]byte, error) {
	segHeader, err := lpwire.EncodeSegHeader(sd)
	if err != nil {
		return nil, err
	}
	payHeader, err := lpwire.EncodePaymentHeader(payment)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, transcoder+lpwire.SegmentPath, bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	req.Header.Set(lpwire.SegmentHeader, segHeader)
	req.Header.Set(lpwire.PaymentHeader, payHeader)
	req.Header.Set("Content-Type", "video/MP2T")
	resp, err := b.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("orchestrator answered %s: %s", resp.Status, bytes.TrimSpace(body))
	}
	return body, nil
}

// download fetches the renditions from the URLs the orchestrator reported.
func (b *Broadcaster) download(ctx context.Context, td *lpnet.TranscodeData) ([][]byte, error) {
	out := make([][]byte, len(td.GetSegments()))
	for i, s := range td.GetSegments() {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.GetUrl(), nil)
		if err != nil {
			return nil, err
		}
		resp, err := b.http.Do(req)
		if err != nil {
			return nil, err
		}
		out[i], err = io.ReadAll(io.LimitReader(resp.Body, 64<<20))
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("rendition %s: %s", s.GetUrl(), resp.Status)
		}
	}
	return out, nil
}
