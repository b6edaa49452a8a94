// Package hls reads and writes HTTP Live Streaming playlists (RFC 8216)
// for an archiver that copies live streams into permanent storage and
// publishes them again as video on demand.
//
// The package is deliberately small and strict. It models only what the
// archiver needs to fetch every segment and to regenerate playlists that
// any player accepts; everything it cannot archive faithfully is refused
// with a sentinel error instead of being silently mangled:
//
//   - ErrMalformed: the input breaks RFC 8216 in a way that makes the
//     segment list ambiguous (no #EXTM3U, EXTINF or EXT-X-STREAM-INF
//     without a URI, bad numbers or attribute lists, negative durations,
//     control characters, invalid UTF-8, master and media tags mixed).
//     The error names the line.
//   - ErrEncrypted: EXT-X-KEY or EXT-X-SESSION-KEY with a METHOD other than
//     NONE. The archiver would store ciphertext it cannot decrypt later.
//   - ErrByteRange: EXT-X-BYTERANGE, or EXT-X-MAP with BYTERANGE. Segments
//     are archived as whole files, so sub-ranges have no home.
//   - ErrTooLarge: the input exceeds MaxSize.
//
// # Leniency
//
// Sources are ffmpeg, Livepeer and assorted media servers, so the parser
// accepts a few things RFC 8216 frowns upon but which carry no ambiguity:
// a UTF-8 byte order mark, CRLF line endings, blank lines, spaces around a
// line, tags between EXTINF and its URI (ffmpeg puts
// EXT-X-PROGRAM-DATE-TIME there), an EXTINF without the comma, segments
// longer than the target duration, and an EXT-X-VERSION lower than the
// features used. Unknown tags are ignored so that newer HLS features
// (EXT-X-DATERANGE, low-latency parts, ...) never stop an archive. The
// I-frame tags (EXT-X-I-FRAME-STREAM-INF, EXT-X-I-FRAMES-ONLY) and
// EXT-X-SESSION-DATA are ignored too: the archiver copies only the
// playable renditions.
//
// Everything that is kept is kept verbatim: URIs (relative, absolute, with
// queries), EXTINF durations and titles, PROGRAM-DATE-TIME values. Values
// the struct cannot represent (unknown attributes, HDCP-LEVEL, ...) are
// dropped.
//
// # Writing
//
// Encode validates before writing anything, so a playlist is written
// completely or not at all, and it refuses values that could inject tags
// (line breaks, quotes in quoted strings) with ErrInvalid. It writes
// EXT-X-VERSION as the larger of the Version field and the lowest version
// the content needs (3 for decimal durations, 6 for EXT-X-MAP, 7 for
// INSTREAM-ID="SERVICEn"), and EXT-X-TARGETDURATION as the larger of the
// TargetDuration field and the longest segment rounded to the nearest
// second; both only ever go up, so an explicit value is kept when valid.
//
// HLS numbers segments implicitly, so a regenerated playlist cannot skip a
// media sequence number the archiver failed to fetch. Segment.Seq records
// the source numbering; where it jumps, Encode writes a comment line such
// as "# missing media sequence 19-21" (comments are ignored by players)
// and Media.Gaps reports the same ranges. Timestamps jump there too;
// callers decide whether to mark the next segment Discontinuity or to
// insert Gap segments.
//
// # Names
//
// ValidName, SafeName and SegmentExt turn untrusted text (stream names,
// folder names from URIs, segment extensions) into names that are safe as
// a single path element on disk and in an archive manifest.
package hls
