// Command mkhls writes a test HLS stream with ffmpeg (two video renditions
// and an audio rendition under master.m3u8), for the demo script.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/lpswarm/archiver/internal/hlstest"
)

func main() {
	out := flag.String("o", "hls", "output folder")
	seconds := flag.Int("seconds", 20, "stream length")
	fmp4 := flag.Bool("fmp4", false, "fMP4 segments instead of MPEG-TS")
	flag.Parse()
	master, err := hlstest.Generate(context.Background(), *out, hlstest.Options{Seconds: *seconds, FMP4: *fmp4})
	if err != nil {
		fmt.Fprintln(os.Stderr, "mkhls:", err)
		os.Exit(1)
	}
	fmt.Println(master)
}
