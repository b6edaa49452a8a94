// Package hlsimport archives an existing HLS stream to Swarm: a finished
// folder or playlist URL, or, with Follow, a live playlist until it ends.
//
// The source may be shaped any way ffmpeg or a media server writes it:
// master or media playlist at the top, any folder names, relative or
// absolute URIs, query strings, alternative audio renditions, MPEG-TS or
// fMP4. Encrypted and byte-range playlists are refused with a clear error.
// A segment the source lists but does not deliver becomes a gap in the
// archive, never a silent hole.
package hlsimport
