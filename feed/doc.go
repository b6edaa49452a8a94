// Package feed gives every archived stream one stable Swarm address that
// always plays its latest archive: a sequence feed owned by the operator's
// key, updated after every manifest publish, behind a feed manifest, so that
// /bzz/<feed manifest>/index.m3u8 serves the newest manifest's playlist.
//
// Formats, as bee v2.7 reads them (pkg/feeds, pkg/feeds/sequence, pkg/soc,
// pkg/api/feed.go and bzz.go):
//
//   - topic: keccak256(TopicPrefix | sender (20 bytes) | manifest id). The
//     sender is part of it because one operator key owns the feeds of every
//     broadcaster, and two broadcasters may pick the same manifest id. An
//     import names its stream itself and uses the operator's own address as
//     the sender;
//   - update i: a single-owner chunk with id keccak256(topic | uint64 i big
//     endian), address keccak256(id | owner), signed by the owner as an
//     Ethereum signed message (EIP-191) over keccak256(id | address of the
//     wrapped chunk);
//   - the wrapped chunk holds bee's v1 ("legacy") payload: an 8-byte big
//     endian Unix timestamp and the manifest reference. Bee also accepts the
//     content's root chunk itself as the wrapped chunk (v2), but that only
//     works when the root chunk is the whole story: a redundancy level other
//     than none encodes itself in the root's span and adds replicas the
//     wrapped copy would not carry, and a reader cannot tell the level. The
//     v1 payload is 40 bytes whatever the manifest's size and level;
//   - the feed manifest: a mantaray manifest whose root path "/" has the
//     metadata swarm-feed-owner (hex, no 0x), swarm-feed-topic (hex) and
//     swarm-feed-type "Sequence" and a zero reference, built exactly as
//     Bee's POST /feeds builds it, so its reference is known offline.
//
// Update indices must have no holes: a sequence lookup stops at the first
// missing index, so everything after a hole would be invisible. Callers
// therefore advance their counter only after an update is stored, and after
// a crash rewrite the last index rather than skip one (see Store).
package feed
