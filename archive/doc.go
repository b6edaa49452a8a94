// Package archive builds the Swarm form of an archived HLS stream: one
// manifest whose index.m3u8 plays as a VOD straight from /bzz/<ref>/.
//
// Layout of an archive manifest:
//
//	index.m3u8               master playlist (website index document)
//	<rendition>/index.m3u8   media playlist per rendition
//	<rendition>/<seq>.ts     segments, named by media sequence number
//	<rendition>/init-<n>.mp4 fMP4 initialisation sections
//
// Playlists are generated from what was archived, never copied from the
// source. Segments that could not be archived stay visible as gaps
// (EXT-X-GAP), and a jump in sequence numbers is marked as a discontinuity.
//
// Every publish rebuilds the manifest from the archive's records; manifest
// nodes and playlists unchanged since the previous publish are not uploaded
// again, so republishing uploads the changed paths only.
package archive
