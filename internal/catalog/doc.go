// Package catalog is the orchestrator's index of what has been archived,
// durable and authoritative (named so as not to be confused with an HLS
// index.m3u8): one bbolt file holding, per stream, its renditions, one
// record per (rendition, media sequence number) and the stream's publish
// state. Workers keep nothing a successor cannot rebuild from here, so a
// restarted orchestrator or a fresh worker continues a stream by reading the
// index (Pending lists the outstanding jobs, Records rebuilds playlists).
//
// # Durability
//
// Every mutating call is one bbolt read-write transaction, and bbolt fsyncs
// on commit: when a call returns nil its effect survives a crash or power
// loss. A call that returns an error changed nothing. Reads use bbolt's
// MVCC snapshots; they never wait for the writer or for a disk sync, which
// is why they take no context. Mutations check their context before they
// start and cannot be interrupted once the transaction begins.
//
// One process owns the file: Open takes bbolt's exclusive file lock and
// fails with ErrLocked if another process holds it.
//
// # Layout
//
//	"info"/"schema"               format version (uvarint), checked by Open
//	"streams"/                    one nested bucket per stream
//	  <sender 20B><manifest id>/  stream bucket; keys sort by sender, then id
//	    "meta"                    state, created, ended, last publish
//	    "feed"                    the stream's feed: owner, topic, feed manifest, updates (absent: none)
//	    "renditions"/             name -> ordinal (uvarint) ++ opaque listing blob
//	    "records"/                ordinal (4B BE) ++ seq (8B BE) -> Record
//
// The records key makes a plain cursor walk return records in (rendition
// first-seen order, seq) order, the order playlists are built in. The
// ordinal comes from the renditions bucket's sequence counter. Values are
// small versioned binary encodings (codec.go); an unknown version or a
// truncated value is ErrCorrupt, never a silent zero.
//
// # Policies
//
// Archives are append-only: the first version of a segment stays.
//
//   - Rendition registers a name once, in first-seen order; a later call
//     with the same name is a no-op and keeps the first listing. The first
//     Rendition call creates the stream (Live).
//   - Accept of a new (rendition, seq) records it Pending. Records are keyed
//     by seq, so out-of-order arrival is accepted normally and a jump in seq
//     needs nothing here: playlists sort by seq and mark missing ranges.
//   - Accept of a known (rendition, seq) with the same content hash is an
//     idempotent no-op (a replayed spool, a retried RPC); with a different
//     content hash it is ErrConflict and the first version stays. A Gap
//     record is the exception: nothing was archived for it, so Accept turns
//     it Pending again with the new content and a fresh attempt count.
//   - Accept of a new record (or a gap refill) on an Ended stream is
//     ErrEnded: its final manifest was declared. A duplicate is still the
//     no-op above, so a spool replayed after a restart is harmless.
//   - Complete turns a Pending (or Gap) record Archived. A late duplicate
//     report with the same reference changes nothing (changed=false). A
//     different reference for the same content is ErrReferenceMismatch and
//     the first reference stays: references are computed from content, so
//     this is a bug or a lying worker, which the caller logs. A report whose
//     content hash or size differs from the accepted record is ErrConflict.
//     A report for a record never accepted is ErrUnknownRecord.
//   - Fail counts an attempt on a Pending record and keeps the reason;
//     final=true turns it into a Gap (EXT-X-GAP in the playlist). Fail on an
//     Archived record is a no-op: the success stands. Fail on a Gap is a
//     no-op: it is already final.
//   - SetPublished records the last manifest; a publish listing fewer
//     segments than the recorded one is ErrStalePublish (a slow publisher
//     finishing after a newer one must not roll the stream back). A publish
//     recorded after End is marked Final.
//   - SetPublishedFeed also records the feed update pointing at that publish,
//     in the same transaction; the update count of one feed only grows.
//   - End marks the stream Ended once; repeating it keeps the first time.
//
// Arguments that would poison every later publish are refused with
// ErrInvalid before any write: an empty or over-long manifest id, a
// rendition name hls.ValidName rejects, a zero content hash or reference, a
// negative size, a duration that does not parse as EXTINF, an extension off
// hls's allowlist.
package catalog
