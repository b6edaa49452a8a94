package testbed

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	lpnet "github.com/livepeer/go-livepeer/net"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/protobuf/proto"

	"github.com/lpswarm/archiver/broadcaster"
	"github.com/lpswarm/archiver/capability"
	"github.com/lpswarm/archiver/internal/lpwire"
	"github.com/lpswarm/archiver/internal/tickets"
	"github.com/lpswarm/archiver/proto/archiverpb"
)

// This file exposes the pieces Stream is made of, so that a test can send
// segments one at a time and break any part of a request on the wire.

// NewBroadcaster funds a broadcaster with a new key on the orchestrator's
// clock, in the orchestrator's view of the chain and in its own, as Run's
// are.
func (o *Orchestrator) NewBroadcaster() (*Broadcaster, error) {
	key, err := crypto.GenerateKey()
	if err != nil {
		return nil, err
	}
	return o.BroadcasterFor(key)
}

// BroadcasterFor is NewBroadcaster with a given key, for a broadcaster the
// orchestrator's configuration names (a deny list).
func (o *Orchestrator) BroadcasterFor(key *ecdsa.PrivateKey) (*Broadcaster, error) {
	ether := new(big.Int).Exp(big.NewInt(10), big.NewInt(18), nil)
	acct := tickets.Account{Deposit: new(big.Int).Mul(ether, big.NewInt(10)), Reserve: new(big.Int).Mul(ether, big.NewInt(10))}
	addr := crypto.PubkeyToAddress(key.PublicKey)
	o.Funds.SetAccount(addr, acct)
	own := tickets.NewFunds(o.Address(), o.clock)
	own.SetAccount(addr, acct)
	return NewBroadcaster(key, o.clock, own)
}

// AuthToken is the token the orchestrator would issue for session with
// this expiry: a test makes expired ones with it.
func (o *Orchestrator) AuthToken(session string, expiration time.Time) *lpnet.AuthToken {
	return o.authToken(session, expiration.Unix())
}

// ExpireTicketParams moves the L1 clock past the expiration block of every
// ticket param issued so far (pm issues them for 10 blocks); sessions
// opened afterwards get fresh ones.
func (o *Orchestrator) ExpireTicketParams() {
	o.clock.SetL1Block(o.clock.LastSeenL1Block().Int64() + 100)
}

// SignMessage signs msg as go-livepeer's broadcaster signs its discovery
// request, for requests a test makes up.
func (b *Broadcaster) SignMessage(msg []byte) ([]byte, error) { return lpwire.SignMessage(b.key, msg) }

// Session is one broadcaster session with the orchestrator, opened by
// discovery: the auth token, ticket params, price and, when archiving, the
// mirror of the archive fees.
type Session struct {
	b     *Broadcaster
	info  *lpnet.OrchestratorInfo
	payID string
	res   StreamResult
}

// Open discovers the orchestrator at rpcAddr and starts a session, with
// the Archive bit on its segments when archive is set.
func (b *Broadcaster) Open(ctx context.Context, rpcAddr string, archive bool) (*Session, error) {
	info, err := b.discover(ctx, rpcAddr)
	if err != nil {
		return nil, err
	}
	_, offer := broadcaster.Choose([]*lpnet.OrchestratorInfo{info}, capability.DefaultArchiveID)
	if !archive {
		offer = nil
	}
	mirror, err := broadcaster.NewSession(offer)
	if err != nil {
		return nil, err
	}
	payID, err := b.sender.StartSession(info.GetTicketParams(), info.GetPriceInfo())
	if err != nil {
		return nil, fmt.Errorf("start payment session: %w", err)
	}
	return &Session{b: b, info: info, payID: payID, res: StreamResult{Session: info.GetAuthToken().GetSessionId(),
		Archived: offer != nil, TranscodeFee: new(big.Rat), Mirror: mirror, Credit: new(big.Rat)}}, nil
}

// ID is the orchestrator's session id, the key of its balance.
func (s *Session) ID() string { return s.res.Session }

// Sender is the address of the session's broadcaster.
func (s *Session) Sender() common.Address { return s.b.addr }

// Balance is what the orchestrator should hold for the session: the EV of
// the tickets it accepted minus the transcode and archive fees mirrored.
func (s *Session) Balance() *big.Rat { return s.res.Balance() }

// Mirror is the broadcaster's account of the session's archive fees.
func (s *Session) Mirror() *broadcaster.Session { return s.res.Mirror }

// Send sends one well-formed segment of stream manifestID as Stream does:
// paid, signed, renditions downloaded and verified, fees mirrored. It
// returns the files sent and received by "<rendition>/<seq>".
func (s *Session) Send(ctx context.Context, manifestID string, seq int64, seg Segment) (map[string][]byte, error) {
	s.res.ManifestID = manifestID
	return s.b.send(ctx, s.info, s.payID, &s.res, seq, seg, Profiles())
}

// Request is one segment request in its parts. Build makes a well-formed
// one; a test changes any part, then Sign (after changing Meta) or Encode
// (after changing SegData or Payment), or overwrites the headers.
type Request struct {
	Meta    lpwire.SegMeta
	SegData *lpnet.SegData
	Payment *lpnet.Payment
	// Credit is the EV of the tickets in Payment, mirrored as credited
	// when the orchestrator answers 200.
	Credit *big.Rat
	Body   []byte
	// SegHeader and PayHeader are sent as they are.
	SegHeader, PayHeader string
}

// Build makes a well-formed request for seg as segment seq of manifestID
// with the testbed's profiles. tickets < 0 pays as Stream does (enough for
// this segment's fees); otherwise the payment holds that many tickets.
func (s *Session) Build(manifestID string, seq int64, seg Segment, tickets int) (*Request, error) {
	ev, err := s.b.sender.EV(s.payID)
	if err != nil {
		return nil, err
	}
	if tickets < 0 {
		tickets = ticketsNeeded(s.info, &s.res, seg, ev)
	}
	payment, err := s.b.sender.Pay(s.payID, tickets)
	if err != nil {
		return nil, err
	}
	r := &Request{Payment: payment, Credit: new(big.Rat).Mul(ev, big.NewRat(int64(tickets), 1)), Body: seg.Data,
		Meta: lpwire.SegMeta{ManifestID: manifestID, Seq: seq, Hash: lpwire.HashSegment(seg.Data), Profiles: Profiles(),
			Duration: seg.Duration, Capabilities: s.res.Mirror.SegmentCaps(stockCaps(), capability.DefaultArchiveID),
			AuthToken: s.info.GetAuthToken()}}
	return r, s.Sign(r)
}

// Sign signs r.Meta into r.SegData with the session's broadcaster key and
// encodes the headers.
func (s *Session) Sign(r *Request) error {
	sd, err := lpwire.SignSegment(s.b.key, r.Meta)
	if err != nil {
		return err
	}
	r.SegData = sd
	return r.Encode()
}

// Encode encodes r.SegData and r.Payment into the headers.
func (r *Request) Encode() (err error) {
	if r.SegHeader, err = lpwire.EncodeSegHeader(r.SegData); err != nil {
		return err
	}
	r.PayHeader, err = lpwire.EncodePaymentHeader(r.Payment)
	return err
}

// ForgePayment is a payment of n tickets on this session's ticket params,
// made and signed by another broadcaster, that claims to come from this
// session's broadcaster.
func (s *Session) ForgePayment(by *Broadcaster, n int) (*lpnet.Payment, error) {
	id, err := by.sender.StartSession(s.info.GetTicketParams(), s.info.GetPriceInfo())
	if err != nil {
		return nil, err
	}
	p, err := by.sender.Pay(id, n)
	if err != nil {
		return nil, err
	}
	p.Sender = s.b.addr.Bytes()
	return p, nil
}

// Reply is the orchestrator's answer to a Request.
type Reply struct {
	Status int
	// Text is the body of an answer other than 200: go-livepeer's error.
	Text string
	// Result is the TranscodeResult of a 200 answer.
	Result *lpnet.TranscodeResult
	// Receipts rode in the result; nil when there were none.
	Receipts *archiverpb.ArchiveReceipts
	// TranscodeFee is price × pixels of the renditions reported, which
	// the orchestrator debits.
	TranscodeFee *big.Rat
	// Elapsed is the /segment round trip: from sending the request to the
	// last byte of the answer (renditions not downloaded yet).
	Elapsed time.Duration
}

// Post sends r as it is to /segment. A 200 answer is mirrored as the
// orchestrator books it: the tickets credited, the transcode fee debited,
// the receipts applied (an archive fee on bytes the broadcaster did not
// count shows as a disagreement).
func (s *Session) Post(ctx context.Context, r *Request) (*Reply, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.info.GetTranscoder()+lpwire.SegmentPath, bytes.NewReader(r.Body))
	if err != nil {
		return nil, err
	}
	req.Header.Set(lpwire.SegmentHeader, r.SegHeader)
	req.Header.Set(lpwire.PaymentHeader, r.PayHeader)
	req.Header.Set("Content-Type", lpwire.ContentTypeSegment)
	sent := time.Now()
	resp, err := s.b.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	rep := &Reply{Status: resp.StatusCode, TranscodeFee: new(big.Rat), Elapsed: time.Since(sent)}
	if resp.StatusCode != http.StatusOK {
		rep.Text = string(bytes.TrimSpace(body))
		return rep, nil
	}
	rep.Result = &lpnet.TranscodeResult{}
	if err := proto.Unmarshal(body, rep.Result); err != nil {
		return nil, fmt.Errorf("testbed: transcode result: %w", err)
	}
	s.res.Credit.Add(s.res.Credit, r.Credit)
	s.res.Mirror.Credit(r.Credit)
	if td := rep.Result.GetData(); td != nil {
		// The orchestrator debits at the price the payment says it
		// expects, as go-livepeer's DebitFees does.
		if p := r.Payment.GetExpectedPrice(); p.GetPixelsPerUnit() > 0 {
			rep.TranscodeFee.Mul(big.NewRat(p.GetPricePerUnit(), p.GetPixelsPerUnit()), big.NewRat(lpwire.TotalPixels(td), 1))
		}
		s.res.TranscodeFee.Add(s.res.TranscodeFee, rep.TranscodeFee)
		// The archive fee is counted on the renditions downloaded; a
		// rendition URL that does not work (a name no URL can carry)
		// leaves the segment uncounted, so any archive fee charged for it
		// shows as a disagreement.
		if rends, err := s.b.download(ctx, td); err == nil {
			sizes := make([]int, len(rends))
			for i, rd := range rends {
				sizes[i] = len(rd)
			}
			s.res.Mirror.Counted(r.Meta.Seq, len(r.Body), sizes...)
		}
	}
	receipts, ok, err := archiverpb.GetReceipts(rep.Result)
	if err != nil {
		return nil, err
	}
	if ok {
		rep.Receipts = receipts
		s.res.Mirror.Reply(receipts)
	}
	return rep, nil
}

// rawCodec sends a request's bytes as they are and keeps the reply's, so a
// test can send what no generated client would. It names itself "proto":
// the server decodes with its protobuf codec, as for any client.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) {
	b, ok := v.(*[]byte)
	if !ok {
		return nil, errors.New("testbed: raw codec sends *[]byte only")
	}
	return *b, nil
}

func (rawCodec) Unmarshal(data []byte, v any) error {
	b, ok := v.(*[]byte)
	if !ok {
		return errors.New("testbed: raw codec receives into *[]byte only")
	}
	*b = append((*b)[:0], data...)
	return nil
}

func (rawCodec) Name() string { return "proto" }

// InvokeRaw sends payload as the request of the gRPC method (full name,
// "/package.Service/Method") on the orchestrator's gRPC port and returns
// the call's error, nil when the server answered. For server-streaming
// methods it reads the first message or the end of the stream. No size
// limit applies on the client side.
func (o *Orchestrator) InvokeRaw(ctx context.Context, method string, payload []byte, serverStream bool) error {
	conn, err := grpc.NewClient(o.RPCAddr, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{InsecureSkipVerify: true})),
		grpc.WithDefaultCallOptions(grpc.ForceCodec(rawCodec{}), grpc.MaxCallSendMsgSize(1<<30)))
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var reply []byte
	if !serverStream {
		return conn.Invoke(ctx, method, &payload, &reply)
	}
	st, err := conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, method)
	if err != nil {
		return err
	}
	if err := st.SendMsg(&payload); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	if err := st.CloseSend(); err != nil {
		return err
	}
	if err := st.RecvMsg(&reply); !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}
