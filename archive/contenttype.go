package archive

import "strings"

// PlaylistContentType is the MIME type of HLS playlists (RFC 8216).
const PlaylistContentType = "application/vnd.apple.mpegurl"

// ContentType returns the MIME type stored with an archived file. Bee serves
// the type from the manifest entry, so players get it right without relying
// on the node's own MIME table (which maps .ts to a Qt translation file).
func ContentType(name string) string {
	ext := ""
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		ext = strings.ToLower(name[i:])
	}
	switch ext {
	case ".m3u8":
		return PlaylistContentType
	case ".ts":
		return "video/mp2t"
	case ".m4s":
		return "video/iso.segment"
	case ".mp4", ".cmfv":
		return "video/mp4"
	case ".m4a", ".cmfa":
		return "audio/mp4"
	case ".aac":
		return "audio/aac"
	case ".mp3":
		return "audio/mpeg"
	case ".ac3":
		return "audio/ac3"
	case ".ec3":
		return "audio/eac3"
	case ".vtt", ".webvtt":
		return "text/vtt"
	}
	return "application/octet-stream"
}
