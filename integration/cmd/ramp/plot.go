package main

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"strings"
	"time"
)

// writePNG draws archive lag (p50, p95, max) against aggregate bitrate,
// with the one-segment threshold, using only the standard library.
func writePNG(path string, results []result, seg time.Duration) error {
	const w, h, left, right, top, bottom = 720, 440, 60, 20, 30, 50
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	white := color.RGBA{255, 255, 255, 255}
	black := color.RGBA{0, 0, 0, 255}
	grey := color.RGBA{200, 200, 200, 255}
	colors := []color.RGBA{{0, 110, 200, 255}, {220, 120, 0, 255}, {200, 0, 0, 255}}
	for y := range h {
		for x := range w {
			img.Set(x, y, white)
		}
	}
	xmax, ymax := 1.0, 2*seg.Seconds()
	for _, r := range results {
		xmax = math.Max(xmax, r.MeasuredMbps)
		ymax = math.Max(ymax, r.LagMax)
	}
	xmax, ymax = nice(xmax*1.05), nice(ymax*1.05)
	px := func(v float64) int { return left + int(v/xmax*float64(w-left-right)) }
	py := func(v float64) int { return h - bottom - int(v/ymax*float64(h-top-bottom)) }

	for i := 0; i <= 5; i++ { // grid and tick labels
		xv, yv := xmax*float64(i)/5, ymax*float64(i)/5
		line(img, px(xv), py(0), px(xv), py(ymax), grey, 1)
		line(img, px(0), py(yv), px(xmax), py(yv), grey, 1)
		text(img, px(xv)-10, h-bottom+8, num(xv), black)
		text(img, 8, py(yv)-3, num(yv), black)
	}
	line(img, px(0), py(0), px(xmax), py(0), black, 1)
	line(img, px(0), py(0), px(0), py(ymax), black, 1)
	for x := px(0); x < px(xmax); x += 12 { // threshold: one segment
		line(img, x, py(seg.Seconds()), x+6, py(seg.Seconds()), black, 1)
	}
	text(img, px(xmax)-150, py(seg.Seconds())-10, labelSegment, black)
	text(img, w/2-90, h-18, labelX, black)
	text(img, 8, 10, labelY, black)
	for i, name := range []string{"P50", "P95", "MAX"} {
		text(img, 140+i*70, 10, name, colors[i])
		line(img, 120+i*70, 12, 134+i*70, 12, colors[i], 2)
	}
	// The archiver's p50, p95 and max; raw Bee's p95 (-raw) in green.
	var arch, raw []result
	for _, r := range results {
		if r.Mode == modeRaw {
			raw = append(raw, r)
		} else {
			arch = append(arch, r)
		}
	}
	green := color.RGBA{0, 150, 60, 255}
	if len(raw) > 0 {
		text(img, 350, 10, labelRaw, green)
		line(img, 330, 12, 344, 12, green, 2)
	}
	for k, get := range []func(result) float64{
		func(r result) float64 { return r.LagP50 },
		func(r result) float64 { return r.LagP95 },
		func(r result) float64 { return r.LagMax },
		func(r result) float64 { return r.LagP95 },
	} {
		series, c := arch, color.RGBA{}
		if k < 3 {
			c = colors[k]
		} else {
			series, c = raw, green
		}
		for i, r := range series {
			x, y := px(r.MeasuredMbps), py(get(r))
			for dy := -2; dy <= 2; dy++ {
				line(img, x-2, y+dy, x+2, y+dy, c, 1)
			}
			if i > 0 {
				p := series[i-1]
				line(img, px(p.MeasuredMbps), py(get(p)), x, y, c, 2)
			}
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("ramp: %w", err)
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return fmt.Errorf("ramp: %w", err)
	}
	return f.Close()
}

// nice rounds v up to 1, 1.5, 2, 3, 4, 5, 6 or 8 times a power of ten.
func nice(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 1.5, 2, 3, 4, 5, 6, 8, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func num(v float64) string {
	s := fmt.Sprintf("%.2f", v)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if s == "" {
		return "0"
	}
	return s
}

// line draws a line of width wd (Bresenham).
func line(img *image.RGBA, x0, y0, x1, y1 int, c color.RGBA, wd int) {
	dx, dy := abs(x1-x0), -abs(y1-y0)
	sx, sy := sign(x1-x0), sign(y1-y0)
	e := dx + dy
	for {
		for i := range wd {
			img.SetRGBA(x0, y0+i, c)
			img.SetRGBA(x0+i, y0, c)
		}
		if x0 == x1 && y0 == y1 {
			return
		}
		if e2 := 2 * e; e2 >= dy {
			e += dy
			x0 += sx
		} else {
			e += dx
			y0 += sy
		}
	}
}

func abs(v int) int { return max(v, -v) }

func sign(v int) int {
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}

// glyphs is a 3×5 pixel font of what the plot writes, rows top down.
var glyphs = map[rune][5]string{
	'0': {"###", "#.#", "#.#", "#.#", "###"}, '1': {".#.", "##.", ".#.", ".#.", "###"},
	'2': {"###", "..#", "###", "#..", "###"}, '3': {"###", "..#", "###", "..#", "###"},
	'4': {"#.#", "#.#", "###", "..#", "..#"}, '5': {"###", "#..", "###", "..#", "###"},
	'6': {"###", "#..", "###", "#.#", "###"}, '7': {"###", "..#", "..#", "..#", "..#"},
	'8': {"###", "#.#", "###", "#.#", "###"}, '9': {"###", "#.#", "###", "..#", "###"},
	'.': {"...", "...", "...", "...", ".#."}, '/': {"..#", "..#", ".#.", "#..", "#.."},
	':': {"...", ".#.", "...", ".#.", "..."}, '=': {"...", "###", "...", "###", "..."},
	'A': {"###", "#.#", "###", "#.#", "#.#"}, 'B': {"##.", "#.#", "##.", "#.#", "##."},
	'C': {"###", "#..", "#..", "#..", "###"}, 'D': {"##.", "#.#", "#.#", "#.#", "##."},
	'E': {"###", "#..", "##.", "#..", "###"}, 'G': {"###", "#..", "#.#", "#.#", "###"},
	'H': {"#.#", "#.#", "###", "#.#", "#.#"}, 'I': {"###", ".#.", ".#.", ".#.", "###"},
	'L': {"#..", "#..", "#..", "#..", "###"}, 'M': {"#.#", "###", "###", "#.#", "#.#"},
	'N': {"##.", "#.#", "#.#", "#.#", "#.#"}, 'O': {"###", "#.#", "#.#", "#.#", "###"},
	'P': {"###", "#.#", "###", "#..", "#.."}, 'R': {"##.", "#.#", "##.", "#.#", "#.#"},
	'S': {"###", "#..", "###", "..#", "###"}, 'T': {"###", ".#.", ".#.", ".#.", ".#."},
	'V': {"#.#", "#.#", "#.#", "#.#", ".#."}, 'X': {"#.#", "#.#", ".#.", "#.#", "#.#"},
	'W': {"#.#", "#.#", "###", "###", "#.#"}, 'Y': {"#.#", "#.#", ".#.", ".#.", ".#."},
}

// labels are the fixed texts the plot writes; every rune needs a glyph
// (TestGlyphsCoverLabels), or it would print as a gap.
var labels = []string{labelSegment, labelX, labelY, "P50", "P95", "MAX", labelRaw}

const (
	labelSegment = "LAG = 1 SEGMENT"
	labelX       = "AGGREGATE MBIT/S ARCHIVED"
	labelY       = "ARCHIVE LAG S:"
	labelRaw     = "RAW BEE P95"
)

// text writes s at (x, y) at twice the glyph size.
func text(img *image.RGBA, x, y int, s string, c color.RGBA) {
	const scale = 2
	for _, r := range s {
		g, ok := glyphs[r]
		if ok {
			for gy, row := range g {
				for gx, p := range row {
					if p != '#' {
						continue
					}
					for dy := range scale {
						for dx := range scale {
							img.SetRGBA(x+gx*scale+dx, y+gy*scale+dy, c)
						}
					}
				}
			}
		}
		x += 4 * scale
	}
}
