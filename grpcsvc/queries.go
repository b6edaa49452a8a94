package grpcsvc

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/ethereum/go-ethereum/accounts"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/lpswarm/archiver/internal/catalog"
	"github.com/lpswarm/archiver/proto/archiverpb"
)

// StatusFreshness bounds the clock skew of a signed status request, so a
// captured request cannot be replayed for long.
const StatusFreshness = 5 * time.Minute

// Queries answers broadcasters' questions: the archive offer, and the
// archive status of a stream.
type Queries struct {
	archiverpb.UnimplementedArchiveQueriesServer
	ix     *catalog.Index
	offer  func() *archiverpb.ArchiveOffer
	public bool
	now    func() time.Time
}

var _ archiverpb.ArchiveQueriesServer = (*Queries)(nil)

// NewQueries answers from the index; offer gives the current offer. public
// answers status requests without a signature (the operator's choice).
func NewQueries(ix *catalog.Index, offer func() *archiverpb.ArchiveOffer, public bool) *Queries {
	return &Queries{ix: ix, offer: offer, public: public, now: time.Now}
}

// GetArchiveInfo returns the offer.
func (q *Queries) GetArchiveInfo(context.Context, *archiverpb.ArchiveInfoRequest) (*archiverpb.ArchiveOffer, error) {
	return q.offer(), nil
}

// StatusMessage is what a broadcaster signs to ask for a stream's status.
func StatusMessage(manifestID []byte, timestamp int64) []byte {
	return []byte("lpswarm-archive-status:" + string(manifestID) + ":" + strconv.FormatInt(timestamp, 10))
}

// GetArchiveStatus returns a stream's archive status to its broadcaster.
func (q *Queries) GetArchiveStatus(_ context.Context, req *archiverpb.ArchiveStatusRequest) (*archiverpb.ArchiveStatus, error) {
	if len(req.GetSender()) != common.AddressLength {
		return nil, status.Error(codes.InvalidArgument, "sender must be a 20-byte address")
	}
	sender := common.BytesToAddress(req.GetSender())
	if !q.public {
		if err := q.verify(req, sender); err != nil {
			return nil, status.Error(codes.PermissionDenied, err.Error())
		}
	}
	out, err := q.Status(catalog.StreamID{ManifestID: string(req.GetManifestId()), Sender: sender})
	switch {
	case errors.Is(err, catalog.ErrUnknownStream):
		return nil, status.Error(codes.NotFound, "no archive of this stream from this broadcaster")
	case errors.Is(err, catalog.ErrInvalid): // a manifest id no stream can have: the caller's error
		return nil, status.Error(codes.InvalidArgument, err.Error())
	case err != nil:
		return nil, status.Error(codes.Internal, err.Error())
	}
	return out, nil
}

// Senders lists the broadcasters that have a stream under manifestID: the
// operator's status page asks when it is not told which one.
func (q *Queries) Senders(manifestID string) ([]common.Address, error) {
	ids, err := q.ix.Streams()
	if err != nil {
		return nil, err
	}
	var out []common.Address
	for _, id := range ids {
		if id.ManifestID == manifestID {
			out = append(out, id.Sender)
		}
	}
	return out, nil
}

// Status is a stream's archive status, unchecked: for the operator's own
// API. catalog.ErrUnknownStream reports a stream the index does not know.
func (q *Queries) Status(id catalog.StreamID) (*archiverpb.ArchiveStatus, error) {
	info, err := q.ix.StreamInfo(id)
	if err != nil {
		return nil, err
	}
	recs, err := q.ix.Records(id)
	if err != nil {
		return nil, err
	}
	out := &archiverpb.ArchiveStatus{ManifestId: []byte(id.ManifestID), State: info.State.String(),
		Final: info.Published.Final}
	if !info.Published.Reference.IsZero() {
		out.ManifestReference = info.Published.Reference.Bytes()
	}
	if f := info.Feed; f.Updates > 0 {
		latest := f.Updates - 1
		out.FeedManifestReference, out.FeedIndex = f.Manifest.Bytes(), &latest
		out.FeedOwner, out.FeedTopic = f.Owner.Bytes(), bytes.Clone(f.Topic[:])
	}
	for _, r := range recs {
		s := &archiverpb.SegmentStatus{Rendition: r.Rendition, Seq: int64(r.Seq), State: r.State.String(),
			Bytes: uint64(r.Bytes), Error: r.Error}
		switch r.State {
		case catalog.Archived:
			s.Reference = r.Reference.Bytes()
			out.ArchivedBytes += uint64(r.Bytes)
		case catalog.Gap:
			out.Gaps++
		}
		out.Segments = append(out.Segments, s)
	}
	return out, nil
}

// verify checks the request is fresh and signed by the sender.
func (q *Queries) verify(req *archiverpb.ArchiveStatusRequest, sender common.Address) error {
	at := time.Unix(req.GetTimestampUnix(), 0)
	if d := q.now().Sub(at); d > StatusFreshness || d < -StatusFreshness {
		return errors.New("request timestamp is not within 5 minutes")
	}
	sig := bytes.Clone(req.GetSig())
	if len(sig) != crypto.SignatureLength {
		return errors.New("signature must be 65 bytes")
	}
	if sig[64] >= 27 {
		sig[64] -= 27
	}
	pub, err := crypto.SigToPub(accounts.TextHash(StatusMessage(req.GetManifestId(), req.GetTimestampUnix())), sig)
	if err != nil || crypto.PubkeyToAddress(*pub) != sender {
		return errors.New("not signed by the stream's broadcaster")
	}
	return nil
}

// SignStatusRequest builds a status request signed by the broadcaster's
// key, as go-livepeer signs (Ethereum signed message, V of 27 or 28).
func SignStatusRequest(key *ecdsa.PrivateKey, manifestID string, now time.Time) (*archiverpb.ArchiveStatusRequest, error) {
	ts := now.Unix()
	sig, err := crypto.Sign(accounts.TextHash(StatusMessage([]byte(manifestID), ts)), key)
	if err != nil {
		return nil, fmt.Errorf("streams: sign status request: %w", err)
	}
	sig[64] += 27
	return &archiverpb.ArchiveStatusRequest{ManifestId: []byte(manifestID), Sender: crypto.PubkeyToAddress(key.PublicKey).Bytes(),
		TimestampUnix: ts, Sig: sig}, nil
}
