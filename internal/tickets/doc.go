// Package tickets wraps go-livepeer's probabilistic micropayment (PM)
// library (github.com/livepeer/go-livepeer/pm) so the archiver can be paid
// for archiving live streams exactly the way a Livepeer orchestrator is
// paid for transcoding, without importing go-livepeer's core, server or eth
// packages (core/server need a patched FFmpeg and eth pulls a chain client).
// It stands in for go-livepeer's own payment path (core's ProcessPayment,
// the broadcaster's Sender) in the testbed, until real go-livepeer nodes pay
// each other on the local chain.
//
// The package has three parts:
//
//   - Sender (broadcaster side): pm.NewSender driven by a secp256k1 key
//     (KeySigner). Pay builds the same lpnet.Payment wire message that
//     go-livepeer's broadcaster builds in server/segment_rpc.go genPayment.
//     TicketsFor sizes a payment like core/accounting.go Balance.StageUpdate.
//   - Recipient (orchestrator side): pm.NewRecipientWithSecret and
//     pm.NewValidator. TicketParams mirrors core/orchestrator.go TicketParams
//     and ReceivePayment mirrors core/orchestrator.go ProcessPayment.
//   - The chain model the two sides need and that go-livepeer would read from
//     the TicketBroker contract: Funds (deposits, reserves, pending winning
//     tickets; it is both pm.SenderManager and pm.SenderMonitor), Clock
//     (pm.TimeManager: round, round block hash, L1 block, pool size) and
//     GasPriceFeed (pm.GasPriceMonitor). All are set by the operator or by
//     tests; nothing here talks to a chain.
//
// Amounts are wei: *big.Int for face values, deposits and reserves, *big.Rat
// for expected values (EV = faceValue × winProb / (2^256 − 1), the
// denominator pm uses, see pm/ticket.go ticketEV and pm/recipient.go
// maxWinProb).
//
// pm reports most failures with unexported errors. They are mapped to the
// exported sentinels in errors.go so callers can use errors.Is; see
// classifyReceiveErr and classifySendErr for the mapping.
package tickets
