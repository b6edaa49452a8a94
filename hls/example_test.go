package hls_test

import (
	"fmt"
	"os"
	"strings"

	"github.com/lpswarm/archiver/hls"
)

// An archiver regenerates a VOD playlist from what it fetched. Segment 19
// of the live stream could not be fetched: Encode documents the hole in a
// comment, and the caller marks the next segment as a discontinuity.
func ExampleMedia_Encode() {
	live := "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:17\n" +
		"#EXTINF:2.000000,\nhttps://origin.example/s/17.ts?tok=1\n" +
		"#EXTINF:2.000000,\nhttps://origin.example/s/18.ts?tok=1\n" +
		"#EXTINF:2.000000,\nhttps://origin.example/s/19.ts?tok=1\n" +
		"#EXTINF:1.500000,\nhttps://origin.example/s/20.ts?tok=1\n"
	src, err := hls.ParseMedia(strings.NewReader(live))
	if err != nil {
		fmt.Println(err)
		return
	}
	fetched := func(seq uint64) bool { return seq != 19 }

	vod := &hls.Media{PlaylistType: hls.PlaylistVOD, EndList: true, MediaSequence: src.MediaSequence}
	for _, s := range src.Segments {
		if !fetched(s.Seq) {
			continue
		}
		// Timestamps jump across a hole; tell the player to reset.
		if n := len(vod.Segments); n > 0 && vod.Segments[n-1].Seq+1 != s.Seq {
			s.Discontinuity = true
		}
		s.URI = fmt.Sprintf("%d%s", s.Seq, hls.SegmentExt(s.URI))
		vod.Segments = append(vod.Segments, s)
	}
	fmt.Println("# gaps:", vod.Gaps())
	if err := vod.Encode(os.Stdout); err != nil {
		fmt.Println(err)
	}
	// Output:
	// # gaps: [19]
	// #EXTM3U
	// #EXT-X-VERSION:3
	// #EXT-X-TARGETDURATION:2
	// #EXT-X-MEDIA-SEQUENCE:17
	// #EXT-X-PLAYLIST-TYPE:VOD
	// #EXTINF:2.000000,
	// 17.ts
	// #EXTINF:2.000000,
	// 18.ts
	// # missing media sequence 19
	// #EXT-X-DISCONTINUITY
	// #EXTINF:1.500000,
	// 20.ts
	// #EXT-X-ENDLIST
}
