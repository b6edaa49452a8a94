// Package payments prices archiving: what a broadcaster pays an
// orchestrator, over Livepeer's probabilistic-micropayment tickets, for
// storing its stream on Swarm.
//
// # Price unit
//
// The archive price is a price per byte, carried in go-livepeer's
// net.PriceInfo so that it can ride in OrchestratorInfo and in a payment's
// expected_price without a protocol change: PricePerUnit wei buys
// PixelsPerUnit bytes. The field name says pixels because the message was
// made for transcoding; for the archive price the unit is a byte. Fees are
// exact big.Rat wei, as go-livepeer's balances are; the only rounding is
// when a price is put into a PriceInfo, and it rounds up (PriceInfo).
//
// Billed bytes are the source plus every rendition archived
// (SegmentBytes), since each is stored and stamped separately.
//
// # Session prices
//
// SessionPrices fixes the price of a session when it starts, keyed like
// go-livepeer's fixed price per session by (broadcaster address, session
// ID); an operator's price change applies to new sessions only.
//
// # Deriving a price from postage
//
// PriceFromPostage turns the cost of postage into a price per media byte
// and returns each step in a PriceBreakdown. The worked example
// (ExamplePriceFromPostage, checked by go test) uses:
//
//	postage price   24000 PLUR per chunk per block (Swarm docs example)
//	block time      5 s (Gnosis)
//	retention       1 year = 365 d = 31,536,000 s = 6,307,200 blocks
//	batch depth     24, effective capacity 47,060,000,000 bytes
//	redundancy      MEDIUM, large-file limit 128/118 = 64/59
//	overhead        1 % (factor 101/100)
//	exchange rate   1/100 wei per PLUR, an ASSUMPTION for the example:
//	                1 xBZZ = 0.0001 ETH, i.e. 10^14 wei per 10^16 PLUR
//	margin          20 % (factor 6/5)
//
// By hand:
//
//	amount  = 6,307,200 blocks × 24,000          = 151,372,800,000 PLUR/chunk
//	batch   = 151,372,800,000 × 2^24             = 2,539,614,162,124,800,000 PLUR
//	                                               (≈ 253.96 xBZZ)
//	storage = 2,539,614,162,124,800,000 / 47,060,000,000
//	                                             ≈ 53,965,451.8089 PLUR/byte
//	plur    = 53,965,451.8089 × 64/59 × 101/100  ≈ 59,124,183.1343 PLUR/byte
//	cost    = 59,124,183.1343 × 1/100            ≈ 591,241.8313 wei/byte
//	price   = 591,241.8313 × 6/5                 ≈ 709,490.1976 wei/byte
//
// Exactly, the price is 7,695,030,911,238,144 / 10,845,859,375 wei per
// byte, which fits a PriceInfo unchanged: about 7.09 × 10^14 wei
// (0.00071 ETH) per GB archived for a year.
//
// # Who may archive
//
// Swarm content cannot be deleted, so an operator can restrict archiving
// to chosen broadcasters with a Policy (allow and deny lists; deny wins).
package payments
