// Package broadcaster is the broadcaster's side of archiving: it asks for
// archiving per stream with the Archive capability bit, falls back to
// streaming without it when no orchestrator offers Archive, and mirrors the
// orchestrator's archive debits from its own count of the bytes it sent and
// downloaded, flagging any disagreement.
//
// go-livepeer's broadcaster mirrors the orchestrator's transcode debits in
// its own balance and sends tickets to keep that balance positive; an
// orchestrator debit the broadcaster does not mirror drifts until the
// orchestrator answers "insufficient balance". Hence the mirror here: it is
// computed independently of the orchestrator's code, from the broadcaster's
// own byte counts and the price pinned from the offer at session start.
package broadcaster
