// Package spool is the orchestrator's bounded, durable, on-disk queue of
// accepted archive jobs: the place a segment waits between "the broadcaster
// was charged for it" and "a worker uploaded it to Swarm".
//
// The charging contract (docs/charging.md) debits the archive fee only once
// the spool write is durable, so the spool is where that promise is kept:
//
//   - Submit never waits for the disk. It reserves the job's bytes against
//     a global budget and a per-sender quota in memory and hands the job to
//     the writer goroutine through a bounded channel. Anything that
//     does not fit is refused at once with archiver.ErrSpoolFull, as is
//     a job that would leave the file system less free space than
//     Config.MinFreeBytes: the index on the same disk must still be able to
//     record results, or nothing could ever be freed.
//   - The writer writes one file per job (temp file, fsync, rename, fsync of
//     the directory) and only then answers nil. An acknowledged job
//     therefore survives a crash or power loss; an unacknowledged one may or
//     may not, and was never charged.
//   - Workers take jobs with Next, which leases one in memory, and finish
//     them with Done (the file is deleted) or Release (it is offered again).
//     Jobs are served round-robin across senders, then across each
//     sender's manifests, in seq order within a manifest, so one busy
//     stream cannot starve the others.
//   - Open reloads every job from an existing directory. Every file carries
//     a CRC-32C; one that fails verification is moved to dir/corrupt/ and
//     logged, never served and never deleted. Leases live in memory only,
//     so after a restart every job not yet Done is offered again: delivery
//     to workers is at least once, and the archive's per-seq idempotence
//     makes a repeat harmless.
//
// One Spool owns its directory; a flock keeps a second process out.
package spool
