package main

import (
	"fmt"
	"image/color"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Plot size: 720×440 pixels at gonum/plot's default 96 dpi.
const plotWidth, plotHeight = 7.5 * vg.Inch, 440.0 / 96 * vg.Inch

// writePNG draws archive lag (p50, p95, max) against aggregate bitrate,
// with the one-segment threshold, and raw Bee's p95 when the run has it
// (-raw). The numbers behind it are in ramp.csv.
func writePNG(path string, results []result, seg time.Duration) error {
	p := plot.New()
	p.Title.Text = "Archive lag against aggregate bitrate"
	p.X.Label.Text = "aggregate Mbit/s archived"
	p.Y.Label.Text = "archive lag (s)"
	p.X.Min, p.Y.Min = 0, 0
	p.Add(plotter.NewGrid())
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.XOffs, p.Legend.YOffs = vg.Points(8), -vg.Points(4)

	var arch, raw []result
	for _, r := range results {
		if r.Mode == modeRaw {
			raw = append(raw, r)
		} else {
			arch = append(arch, r)
		}
	}
	series := []struct {
		name  string
		rs    []result
		get   func(result) float64
		color color.RGBA
	}{
		{"archiver p50", arch, func(r result) float64 { return r.LagP50 }, color.RGBA{0, 110, 200, 255}},
		{"archiver p95", arch, func(r result) float64 { return r.LagP95 }, color.RGBA{220, 120, 0, 255}},
		{"archiver max", arch, func(r result) float64 { return r.LagMax }, color.RGBA{200, 0, 0, 255}},
		{"raw Bee p95", raw, func(r result) float64 { return r.LagP95 }, color.RGBA{0, 150, 60, 255}},
	}
	xmax, ymax := 1.0, 1.5*seg.Seconds()
	for _, s := range series {
		if len(s.rs) == 0 {
			continue
		}
		xys := make(plotter.XYs, len(s.rs))
		for i, r := range s.rs {
			xys[i] = plotter.XY{X: r.MeasuredMbps, Y: s.get(r)}
			xmax, ymax = max(xmax, r.MeasuredMbps), max(ymax, s.get(r))
		}
		l, pts, err := plotter.NewLinePoints(xys)
		if err != nil {
			return fmt.Errorf("ramp: plot %s: %w", s.name, err)
		}
		l.Color, l.Width = s.color, vg.Points(1.5)
		pts.Color, pts.Shape = s.color, draw.CircleGlyph{}
		p.Add(l, pts)
		p.Legend.Add(s.name, l, pts)
	}
	threshold, err := plotter.NewLine(plotter.XYs{{X: 0, Y: seg.Seconds()}, {X: xmax * 1.05, Y: seg.Seconds()}})
	if err != nil {
		return fmt.Errorf("ramp: plot: %w", err)
	}
	threshold.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	p.Add(threshold)
	p.Legend.Add("lag = 1 segment", threshold)
	p.Y.Max = ymax * 1.35 // room for the legend above the lines
	if err := p.Save(plotWidth, plotHeight, path); err != nil {
		return fmt.Errorf("ramp: %w", err)
	}
	return nil
}
