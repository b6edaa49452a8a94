// Package hlsimport archives an existing HLS stream to Swarm: a finished
// folder or playlist URL, or, with Follow, a live playlist until it ends.
//
// The source may be shaped any way ffmpeg or a media server writes it:
// master or media playlist at the top, any folder names, relative or
// absolute URIs, query strings, alternative audio renditions, MPEG-TS or
// fMP4. Encrypted and byte-range playlists are refused with a clear error.
// A segment the source lists but does not deliver (or delivers empty)
// becomes a gap in the archive, never a silent hole.
//
// An import reads only what the operator named: a local import only files
// below the named folder, through no symbolic link leading out of it; a
// remote import only the input URL's origin and Config.AllowOrigins, after
// redirects too. At most Config.MaxConcurrentReads files are read (and
// held in memory) at once, however many renditions a master lists.
package hlsimport
