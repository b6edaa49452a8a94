package transcode

import "errors"

// Sentinel errors. Returned errors wrap one of these (test with errors.Is)
// or the context's error when the context ended first.
var (
	// ErrFFmpeg means ffmpeg or ffprobe could not be run, exited with an
	// error, or produced a rendition without video frames. For invalid
	// input (not MPEG-TS, no video stream) this is the error; the message
	// ends with the tail of the tool's stderr.
	ErrFFmpeg = errors.New("transcode: ffmpeg failed")
	// ErrInvalidProfile means the profile list is empty, too long, or holds
	// a profile that libx264 cannot encode (see Profile.Validate).
	ErrInvalidProfile = errors.New("transcode: invalid profile")
)
