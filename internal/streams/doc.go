// Package streams keeps each archived stream's state on the orchestrator:
// it records accepted segments in the durable index before they are
// spooled, records the references workers report, republishes each
// stream's manifest at a stated cadence and publishes the final VOD
// (ENDLIST) at teardown.
//
// Cadence: a stream is republished after PublishEvery new segments (10 by
// default) or PublishInterval (30 s) after its last publish when anything
// changed, whichever comes first. A new stream's first interval falls
// between half an interval and one, by its id: streams started together
// do not all publish at the same tick. Each publish uploads only the manifest nodes and playlists that
// changed (see package archive), and is priced into the archive fee as
// manifest overhead (payments.PostageParams.Overhead).
//
// Teardown: an explicit End, or IdleTimeout (60 s) without a new segment.
// The final publish (ENDLIST) waits until no segment of the stream is
// pending: jobs wait in the spool while no worker is connected, and a
// stream is never finished over them. Past TeardownGrace (2 min) the wait
// is logged. Segments are recorded in the index before they are spooled, so
// an orchestrator crash between the two leaves a pending record without a
// job, which keeps the stream live rather than losing anything; such a
// record was never acknowledged to the broadcaster nor charged. A job the
// intake took but has not recorded yet counts as pending too. After its
// final publish a stream is forgotten (Len counts what is kept); the
// index holds it for good.
package streams
