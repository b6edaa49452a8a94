package tickets

import (
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/livepeer/go-livepeer/pm"

	lpnet "github.com/livepeer/go-livepeer/net"
)

// Conversions between go-livepeer's wire messages (net/lp_rpc.proto) and pm
// types. Each mirrors the go-livepeer function named in its comment so that
// tickets made here validate against a real orchestrator and vice versa.

// pmTicketParams mirrors server/rpc.go pmTicketParams (the broadcaster's
// view). PricePerPixel stays nil there too: it is not part of the ticket
// hash, only of the recipient's recipientRand, which the sender never sees.
func pmTicketParams(p *lpnet.TicketParams) *pm.TicketParams {
	return &pm.TicketParams{
		Recipient:         common.BytesToAddress(p.Recipient),
		FaceValue:         new(big.Int).SetBytes(p.FaceValue),
		WinProb:           new(big.Int).SetBytes(p.WinProb),
		RecipientRandHash: common.BytesToHash(p.RecipientRandHash),
		Seed:              new(big.Int).SetBytes(p.Seed),
		ExpirationBlock:   new(big.Int).SetBytes(p.ExpirationBlock),
		ExpirationParams: &pm.TicketExpirationParams{
			CreationRound:          p.ExpirationParams.GetCreationRound(),
			CreationRoundBlockHash: common.BytesToHash(p.ExpirationParams.GetCreationRoundBlockHash()),
		},
	}
}

// netTicketParams mirrors core/orchestrator.go TicketParams' conversion.
func netTicketParams(p *pm.TicketParams) *lpnet.TicketParams {
	return &lpnet.TicketParams{
		Recipient:         p.Recipient.Bytes(),
		FaceValue:         p.FaceValue.Bytes(),
		WinProb:           p.WinProb.Bytes(),
		RecipientRandHash: p.RecipientRandHash.Bytes(),
		Seed:              p.Seed.Bytes(),
		ExpirationBlock:   p.ExpirationBlock.Bytes(),
		ExpirationParams: &lpnet.TicketExpirationParams{
			CreationRound:          p.ExpirationParams.CreationRound,
			CreationRoundBlockHash: p.ExpirationParams.CreationRoundBlockHash.Bytes(),
		},
	}
}

// paymentParams mirrors the ticket parameter half of core/orchestrator.go
// ProcessPayment: the recipient rebuilds pm params from the payment and
// binds them to the price the sender says it expects.
func paymentParams(p *lpnet.Payment, price *big.Rat) (*pm.TicketParams, *pm.TicketExpirationParams) {
	tp := p.TicketParams
	params := &pm.TicketParams{
		Recipient:         common.BytesToAddress(tp.Recipient),
		FaceValue:         new(big.Int).SetBytes(tp.FaceValue),
		WinProb:           new(big.Int).SetBytes(tp.WinProb),
		RecipientRandHash: common.BytesToHash(tp.RecipientRandHash),
		Seed:              new(big.Int).SetBytes(tp.Seed),
		ExpirationBlock:   new(big.Int).SetBytes(tp.ExpirationBlock),
		PricePerPixel:     price,
	}
	// Getters: go-livepeer dereferences ExpirationParams unchecked and would
	// panic on a payment without it; zero values fail validation instead.
	exp := &pm.TicketExpirationParams{
		CreationRound:          p.ExpirationParams.GetCreationRound(),
		CreationRoundBlockHash: common.BytesToHash(p.ExpirationParams.GetCreationRoundBlockHash()),
	}
	return params, exp
}

// paymentTickets fills the ticket half of a payment from a pm batch, as
// server/segment_rpc.go genPayment does. Note that genPayment leaves
// TicketParams.ExpirationParams empty and sends them at the top level.
func paymentTickets(p *lpnet.Payment, b *pm.TicketBatch) {
	p.TicketParams = &lpnet.TicketParams{
		Recipient:         b.Recipient.Bytes(),
		FaceValue:         b.FaceValue.Bytes(),
		WinProb:           b.WinProb.Bytes(),
		RecipientRandHash: b.RecipientRandHash.Bytes(),
		Seed:              b.Seed.Bytes(),
		ExpirationBlock:   b.ExpirationBlock.Bytes(),
	}
	p.ExpirationParams = &lpnet.TicketExpirationParams{
		CreationRound:          b.CreationRound,
		CreationRoundBlockHash: b.CreationRoundBlockHash.Bytes(),
	}
	p.TicketSenderParams = make([]*lpnet.TicketSenderParams, len(b.SenderParams))
	for i, sp := range b.SenderParams {
		p.TicketSenderParams[i] = &lpnet.TicketSenderParams{SenderNonce: sp.SenderNonce, Sig: sp.Sig}
	}
}

// ratPrice mirrors common/util.go RatPriceInfo, except that a missing or
// negative price is an error here (go-livepeer's callers then fail anyway
// or compute a zero face value).
func ratPrice(p *lpnet.PriceInfo) (*big.Rat, error) {
	if p == nil {
		return nil, fmt.Errorf("%w: missing price", ErrInvalidPrice)
	}
	if p.PixelsPerUnit == 0 {
		return nil, fmt.Errorf("%w: pixels per unit is 0", ErrInvalidPrice)
	}
	if p.PricePerUnit < 0 || p.PixelsPerUnit < 0 {
		return nil, fmt.Errorf("%w: negative price %d/%d", ErrInvalidPrice, p.PricePerUnit, p.PixelsPerUnit)
	}
	return big.NewRat(p.PricePerUnit, p.PixelsPerUnit), nil
}

// clonePrice copies a price without copying the proto message's internals.
func clonePrice(p *lpnet.PriceInfo) *lpnet.PriceInfo {
	return &lpnet.PriceInfo{PricePerUnit: p.PricePerUnit, PixelsPerUnit: p.PixelsPerUnit}
}

// ev is pm's ticket EV: faceValue × winProb / (2^256 − 1).
func ev(faceValue, winProb *big.Int) *big.Rat {
	return (&pm.Ticket{FaceValue: faceValue, WinProb: winProb}).EV()
}
