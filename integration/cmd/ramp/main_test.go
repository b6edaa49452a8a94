package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestRampSmoke runs a one-step ramp of two 144p streams for 5 s against a
// dev Bee and one real worker, with the raw baseline (-raw): the same
// streams posted straight to Bee first, then through the archiver. Every
// accepted segment is recorded archived before the drain ends and every raw
// one stored, the lags and bitrates are plausible, the archiver's lag split
// saw every stage, and the CSV, segments.csv and PNG are written. It checks
// the tool works, not how fast anything is.
func TestRampSmoke(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	out := t.TempDir()
	cfg, err := parseFlags([]string{"-steps", "2@144p", "-segment", "1s", "-hold", "5s", "-clip", "4", "-raw",
		"-workers", "1", "-capacity", "2", "-drain", "20s", "-cache", t.TempDir(), "-out", out}, os.Stderr)
	require.NoError(t, err)
	var stdout bytes.Buffer
	results, err := run(ctx, cfg, &stdout)
	t.Log(stdout.String())
	require.NoError(t, err)
	require.Len(t, results, 2)
	raw, r := results[0], results[1]
	require.Equal(t, modeRaw, raw.Mode, "step 1 runs raw Bee first")
	require.Equal(t, modeArchiver, r.Mode)
	for _, res := range results {
		require.Positive(t, res.Segments, res.Mode)
		require.Zero(t, res.Refused+res.Failed+res.Unrecorded, res.Mode)
		require.Positive(t, res.LagP50, "%s: storing takes time", res.Mode)
		require.Less(t, res.LagMax, 30.0, "%s: a 25 KB segment stored within 30 s", res.Mode)
		// 2 × 100 kbit/s nominal; TS overhead and the marker packets add some.
		require.InDelta(t, 0.2, res.MeasuredMbps, 0.15, res.Mode)
	}
	// The archiver's lag is the sum of its stages, each seen.
	require.Positive(t, r.Split.WorkerP50, "job notices and reports were seen")
	require.Positive(t, r.Split.UploadP50, "fetches were seen")
	require.LessOrEqual(t, r.Split.WorkerP50, r.LagMax)
	require.Contains(t, stdout.String(), "spool drained within 20s: true")
	require.Contains(t, stdout.String(), "raw Bee max sustainable aggregate bitrate")
	m := regexp.MustCompile(`raw Bee segments: (\d+) posted, (\d+) stored \(0 failed\)`).FindStringSubmatch(stdout.String())
	require.NotNil(t, m)
	require.Equal(t, m[1], m[2], "every raw segment stored")
	segs, err := os.ReadFile(filepath.Join(out, "segments.csv"))
	require.NoError(t, err)
	require.Contains(t, string(segs), "kind,step,stream,seq,submitted,accepted,dispatched")

	f, err := os.Open(filepath.Join(out, "ramp.csv"))
	require.NoError(t, err)
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 3)
	require.Equal(t, "lag_p95_s", rows[0][8])
	require.Equal(t, "mode", rows[0][27])
	require.Equal(t, []string{modeRaw, modeArchiver}, []string{rows[1][27], rows[2][27]})

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
