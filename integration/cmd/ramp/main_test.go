package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"image/png"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestRampSmoke runs a one-step ramp of two 144p streams for 5 s against a
// dev Bee and one real worker: every accepted segment is recorded archived
// before the drain ends, the lag and bitrate are plausible, and the CSV and
// PNG are written. It checks the tool works, not how fast anything is.
func TestRampSmoke(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	out := t.TempDir()
	cfg, err := parseFlags([]string{"-steps", "2@144p", "-segment", "1s", "-hold", "5s", "-clip", "4",
		"-workers", "1", "-capacity", "2", "-drain", "20s", "-cache", t.TempDir(), "-out", out}, os.Stderr)
	require.NoError(t, err)
	var stdout bytes.Buffer
	results, err := run(ctx, cfg, &stdout)
	t.Log(stdout.String())
	require.NoError(t, err)
	require.Len(t, results, 1)
	r := results[0]
	require.Positive(t, r.Segments)
	require.Zero(t, r.Refused+r.Failed)
	require.Positive(t, r.LagP50, "archiving takes time")
	require.Less(t, r.LagMax, 30.0, "a 25 KB segment archived within 30 s")
	// 2 × 100 kbit/s nominal; TS overhead and the marker packets add some.
	require.InDelta(t, 0.2, r.MeasuredMbps, 0.15)
	require.Contains(t, stdout.String(), "spool drained within 20s: true")

	f, err := os.Open(filepath.Join(out, "ramp.csv"))
	require.NoError(t, err)
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 2)
	require.Equal(t, "lag_p95_s", rows[0][8])

	p, err := os.Open(filepath.Join(out, "ramp.png"))
	require.NoError(t, err)
	defer p.Close()
	img, err := png.Decode(p)
	require.NoError(t, err)
	require.Equal(t, 720, img.Bounds().Dx())
}

func TestParseSteps(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []step
		err  string
	}{
		{in: "1@144p, 4@720p", want: []step{{1, 0}, {4, 3}}},
		{in: "0@144p", err: "bad stream count"},
		{in: "2@4k", err: "unknown profile"},
		{in: "2", err: "want streams@profile"},
	} {
		got, err := parseSteps(tc.in)
		if tc.err != "" {
			require.ErrorContains(t, err, tc.err, tc.in)
			continue
		}
		require.NoError(t, err)
		require.Equal(t, tc.want, got)
	}
}
