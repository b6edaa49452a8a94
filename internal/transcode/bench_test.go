package transcode_test

import (
	"testing"

	"github.com/lpswarm/archiver/internal/transcode"
)

// BenchmarkTranscode transcodes one 2 s 640x360 30 fps segment to both
// testbed presets. x-realtime is media seconds per wall second; the
// testbed needs > 1 on its 2 cores to keep up with a live stream.
func BenchmarkTranscode(b *testing.B) {
	seg := makeSegments(b, "640x360")[1]
	profiles := []transcode.Profile{transcode.P360p(), transcode.P240p()}
	var pixels int64
	for b.Loop() {
		rends, err := transcode.Transcode(b.Context(), seg, profiles)
		if err != nil {
			b.Fatal(err)
		}
		pixels = 0
		for _, r := range rends {
			pixels += r.Pixels
		}
	}
	b.ReportMetric(segmentSeconds*float64(b.N)/b.Elapsed().Seconds(), "x-realtime")
	b.ReportMetric(float64(pixels), "pixels/op")
	b.SetBytes(int64(len(seg)))
}
