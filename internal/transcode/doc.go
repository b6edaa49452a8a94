// Package transcode is a small ffmpeg-backed transcoder for the testbed
// orchestrator. It stands in for go-livepeer's transcoder (LPMS, linked to
// Livepeer's FFmpeg fork, which livepeer-archiver uses) in the testbed only,
// and uses the stock ffmpeg and ffprobe binaries (5.1 or later) instead.
//
// One call takes one MPEG-TS segment (about 2 s of H.264 + AAC) and returns
// one MPEG-TS rendition per Profile. The testbed presets P360p (640x360,
// 600 kbps) and P240p (426x240, 300 kbps) use libx264's ultrafast preset so
// that both fit on 2 CPU cores well faster than real time (see
// BenchmarkTranscode).
//
// # The ffmpeg command
//
// All profiles share one ffmpeg process, so the segment is demuxed and
// decoded once. The segment is written to ffmpeg's stdin and rendition i is
// read from file descriptor 3+i (exec.Cmd.ExtraFiles), so nothing touches
// the disk; this needs a Unix system. For P360p and P240p:
//
//	ffmpeg -hide_banner -nostdin -nostats -loglevel error
//	  -copyts -f mpegts -i pipe:0
//	  -map 0:v:0 -map 0:a:0? -vf scale=640:360 -fps_mode passthrough
//	  -c:v libx264 -preset ultrafast -pix_fmt yuv420p -b:v 600000
//	  -force_key_frames expr:eq(n,0) -enc_time_base:v 1:90000 -c:a copy
//	  -muxdelay 0 -muxpreload 0 -mpegts_flags +initial_discontinuity
//	  -f mpegts pipe:3
//	  ... the same for P240p with scale=426:240 -b:v 300000 ... pipe:4
//
// A Profile with FPS > 0 prepends an fps filter: -vf fps=15,scale=W:H.
// The scale filter keeps the display aspect ratio through the sample
// aspect ratio, so a 16:9 source at 426x240 carries SAR 640:639.
//
// # Timestamps
//
// Renditions of consecutive segments must concatenate into one playable
// HLS VOD stream without discontinuity tags, so every rendition keeps the
// input's presentation timestamps exactly:
//
//   - -copyts stops ffmpeg from shifting the input to start at zero;
//   - -fps_mode passthrough hands every decoded frame to the encoder with
//     its own timestamp; ffmpeg never duplicates or drops frames to fit a
//     constant-rate grid;
//   - -enc_time_base:v 1:90000 encodes in the MPEG-TS clock; the default
//     (1/frame rate) would round the first PTS, 12 ms off for a 30 fps
//     segment that starts at 1.421333 s;
//   - -muxdelay 0 -muxpreload 0 stop the MPEG-TS muxer from adding its
//     default delay (with -copyts, every PTS would move 1.4 s later);
//   - -mpegts_flags +initial_discontinuity marks the first packet of each
//     stream, because every rendition restarts the continuity counters and
//     demuxers would otherwise report corrupt packets at segment joins.
//
// Audio is copied, not re-encoded: AAC encoder priming would put a gap at
// every segment join. Every rendition starts with a keyframe
// (-force_key_frames expr:eq(n,0)), so each segment decodes on its own.
// With an fps filter the first PTS snaps to the filter's frame grid.
//
// # Pixels
//
// Rendition.Pixels is width × height × the number of decoded video frames
// of the rendition. It is counted after encoding by decoding the rendition
// with
//
//	ffprobe -f mpegts -i pipe:0 -select_streams v:0 -count_frames
//	  -show_entries stream=width,height,nb_read_frames -of json
//
// one ffprobe per rendition, run in parallel (about 60 ms each for 2 s at
// 360p). This is the quantity a go-livepeer broadcaster verifies: its
// verification.countPixels decodes each rendition and takes the decoder's
// pixel count (LPMS Decoded.Pixels), so reported and verified counts agree
// by construction. ffmpeg's own -progress output is not used: it reports
// one frame count for the whole process rather than per output, counts
// frames handed to the encoder rather than frames a player decodes, and is
// a text format rather than an interface.
//
// # Errors and cancellation
//
// Invalid input (not MPEG-TS, no video stream) and any other ffmpeg or
// ffprobe failure return an error wrapping ErrFFmpeg that ends with the
// tail of the tool's stderr. Bad profiles return ErrInvalidProfile before
// anything runs. The context bounds the whole call: when it ends, the
// running ffmpeg or ffprobe is killed and the error wraps ctx.Err().
//
// Callers bound the input size (output size follows input duration) and
// how many calls run at once; on the testbed's 2 cores, one at a time.
package transcode
