// Package orchestrator is the seam between go-livepeer's orchestrator and
// the archiver: a decorator over the part of go-livepeer's
// server.Orchestrator that archiving needs. It advertises the Archive
// capability, strips the bit before go-livepeer's transcoders see it, hands
// the source and every rendition to the archiver after transcoding without
// waiting for Swarm, and debits the archive fee on the same balance the PM
// tickets credit.
//
// go-livepeer's core and server packages need Livepeer's FFmpeg, which the
// main module never links, so this package mirrors the types it needs as a
// read-only view; seam_test.go checks the mirror against go-livepeer
// v0.7.9's sources, and the golivepeer module's fields_test.go walks every
// field of the real types through the conversion. In livepeer-archiver,
// go-livepeer keeps transcoding on its own types and the decorator is built
// with Attach (see package plugin and docs/golivepeer.md).
package orchestrator

import (
	"context"
	"math/big"
	"time"

	"github.com/ethereum/go-ethereum/common"
	lpnet "github.com/livepeer/go-livepeer/net"

	"github.com/lpswarm/archiver"
)

// Orchestrator is the part of go-livepeer's server.Orchestrator
// (server/rpc.go) the archiver wraps. Names and parameters match
// go-livepeer's, with one deliberate difference: ProcessPayment takes
// *net.Payment, because go-livepeer passes a protobuf message by value and
// go vet (copylocks) rejects that; the patch's adapter passes &payment.
type Orchestrator interface {
	Ledger
	TranscodeSeg(ctx context.Context, md *SegTranscodingMetadata, seg *HLSSegment) (*TranscodeResult, error)
	Capabilities() *lpnet.Capabilities
	PriceInfo(sender common.Address, manifestID archiver.ManifestID) (*lpnet.PriceInfo, error)
	ProcessPayment(ctx context.Context, payment *lpnet.Payment, manifestID archiver.ManifestID) error
}

// Ledger is the part of go-livepeer's orchestrator that keeps the session
// balances the tickets credit: the archive fee is checked against it and
// debited from it, exactly as the transcode fee is.
type Ledger interface {
	SufficientBalance(addr common.Address, manifestID archiver.ManifestID) bool
	DebitFees(addr common.Address, manifestID archiver.ManifestID, price *lpnet.PriceInfo, pixels int64)
}

// BalanceReader is go-livepeer's core.AddressBalances.Balance: the credit
// left for a sender's session, used to refuse archive work the balance
// cannot pay for.
type BalanceReader interface {
	Balance(addr common.Address, manifestID archiver.ManifestID) *big.Rat
}

// DepositReader reports a broadcaster's TicketBroker deposit in wei, as
// last read from the chain (false: not read yet). It does no I/O: the
// decision to archive is taken without any.
type DepositReader interface {
	Deposit(addr common.Address) (*big.Int, bool)
}

// SegTranscodingMetadata mirrors the fields of core.SegTranscodingMetadata
// the archiver reads. Caps is the segment's capabilities in wire form
// (core.Capabilities converted with ToNetCapabilities); Profiles holds the
// rendition names in the order of TranscodeData.Segments.
type SegTranscodingMetadata struct {
	ManifestID archiver.ManifestID
	Seq        int64
	Hash       common.Hash
	Duration   time.Duration
	Caps       *lpnet.Capabilities
	Profiles   []string
	// AuthToken carries the session id go-livepeer keys balances by
	// (ProcessPayment and DebitFees get it as their ManifestID).
	AuthToken *lpnet.AuthToken
}

// Session is the id go-livepeer keys a segment's balance by: the auth
// token's session id, or the manifest id when there is none (offchain).
func (md *SegTranscodingMetadata) Session() archiver.ManifestID {
	if id := md.AuthToken.GetSessionId(); id != "" {
		return archiver.ManifestID(id)
	}
	return md.ManifestID
}

// HLSSegment mirrors lpms stream.HLSSegment.
type HLSSegment struct {
	SeqNo    uint64
	Name     string
	Data     []byte
	Duration float64
}

// TranscodeResult mirrors core.TranscodeResult.
type TranscodeResult struct {
	Err           error
	Sig           []byte
	TranscodeData *TranscodeData
}

// TranscodeData mirrors core.TranscodeData.
type TranscodeData struct {
	Segments []*TranscodedSegmentData
	Pixels   int64
}

// TranscodedSegmentData mirrors core.TranscodedSegmentData.
type TranscodedSegmentData struct {
	Data   []byte
	PHash  []byte
	Pixels int64
}
