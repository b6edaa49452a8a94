package testbed

import (
	"context"
	"crypto/ecdsa"
	"crypto/tls"
	"fmt"
	"math/big"
	"net/http"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	"github.com/ethersphere/bee/v2/pkg/swarm"
	lpnet "github.com/livepeer/go-livepeer/net"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/lpswarm/archiver/broadcaster"
	"github.com/lpswarm/archiver/capability"
	"github.com/lpswarm/archiver/chunker"
	"github.com/lpswarm/archiver/internal/lpwire"
	"github.com/lpswarm/archiver/internal/tickets"
)

// Broadcaster is the testbed broadcaster: go-livepeer's side of the wire,
// paying with PM tickets and mirroring every debit.
type Broadcaster struct {
	key    *ecdsa.PrivateKey
	addr   common.Address
	sender *tickets.Sender
	http   *http.Client
}

// NewBroadcaster makes a broadcaster whose tickets are backed by funds
// (its deposit and reserve as its own view of the chain).
func NewBroadcaster(key *ecdsa.PrivateKey, clock *tickets.Clock, funds *tickets.Funds) (*Broadcaster, error) {
	s, err := tickets.NewSender(key, clock, funds, tickets.SenderConfig{MaxEV: big.NewRat(1e15, 1), MaxTotalEV: big.NewRat(1e18, 1), DepositMultiplier: 1})
	if err != nil {
		return nil, err
	}
	// go-livepeer broadcasters accept orchestrators' self-signed
	// certificates (server/rpc.go, InsecureSkipVerify).
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	return &Broadcaster{key: key, addr: crypto.PubkeyToAddress(key.PublicKey), sender: s,
		http: &http.Client{Transport: tr, Timeout: 2 * time.Minute}}, nil
}

// Address is the broadcaster's Ethereum address.
func (b *Broadcaster) Address() common.Address { return b.addr }

// Segment is one source segment of a stream.
type Segment struct {
	Data     []byte
	Duration time.Duration
}

// StreamResult is what a broadcaster knows of a stream it sent.
type StreamResult struct {
	ManifestID     string
	Session        string // the orchestrator's session id (balances)
	Archived       bool   // the stream asked for archiving
	Segments       int
	SourceBytes    int64
	RenditionBytes int64
	TranscodeFee   *big.Rat // mirrored: price × pixels, as go-livepeer's broadcaster
	Mirror         *broadcaster.Session
	Credit         *big.Rat // EV of all tickets sent
	// Offline are the Swarm references the broadcaster computed itself,
	// by "<rendition>/<seq>", for its own verification of the archive.
	Offline map[string]swarm.Address
	// Files are the bytes sent and downloaded, by "<rendition>/<seq>".
	Files map[string][]byte
}

// Balance is the session balance the broadcaster expects the orchestrator
// to hold: credits minus the transcode and archive debits it mirrored.
func (r StreamResult) Balance() *big.Rat {
	return new(big.Rat).Sub(r.Mirror.Balance(), r.TranscodeFee)
}

// Stream sends a stream's segments to the orchestrator at rpcAddr, with the
// Archive bit when archive is set (a stock broadcaster otherwise).
func (b *Broadcaster) Stream(ctx context.Context, rpcAddr, manifestID string, segs []Segment, archive bool, profiles []lpwire.Profile) (StreamResult, error) {
	info, err := b.discover(ctx, rpcAddr)
	if err != nil {
		return StreamResult{}, err
	}
	_, offer := broadcaster.Choose([]*lpnet.OrchestratorInfo{info}, capability.DefaultArchiveID)
	if !archive {
		offer = nil
	}
	mirror, err := broadcaster.NewSession(offer)
	if err != nil {
		return StreamResult{}, err
	}
	payID, err := b.sender.StartSession(info.GetTicketParams(), info.GetPriceInfo())
	if err != nil {
		return StreamResult{}, fmt.Errorf("start payment session: %w", err)
	}
	res := StreamResult{ManifestID: manifestID, Session: info.GetAuthToken().GetSessionId(), Archived: offer != nil,
		TranscodeFee: new(big.Rat), Mirror: mirror, Credit: new(big.Rat),
		Offline: map[string]swarm.Address{}, Files: map[string][]byte{}}
	level := redundancy.Level(offer.GetRedundancyLevel())
	for seq, seg := range segs {
		files, err := b.send(ctx, info, payID, &res, int64(seq), seg, profiles)
		if err != nil {
			return res, fmt.Errorf("segment %d: %w", seq, err)
		}
		for key, data := range files {
			res.Files[key] = data
			if res.Archived {
				if res.Offline[key], err = chunker.Reference(ctx, data, level); err != nil {
					return res, err
				}
			}
		}
	}
	return res, nil
}

// discover calls GetOrchestrator as go-livepeer's broadcaster does.
func (b *Broadcaster) discover(ctx context.Context, rpcAddr string) (*lpnet.OrchestratorInfo, error) {
	conn, err := grpc.NewClient(rpcAddr, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{InsecureSkipVerify: true})))
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	sig, err := lpwire.SignMessage(b.key, []byte(b.addr.Hex()))
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return lpnet.NewOrchestratorClient(conn).GetOrchestrator(ctx, &lpnet.OrchestratorRequest{Address: b.addr.Bytes(), Sig: sig})
}
