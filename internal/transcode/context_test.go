//go:build unix

package transcode_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/internal/transcode"
)

// slowFFmpeg returns a wrapper that records its PID in pidFile and runs
// the real ffmpeg with -re, so a 2 s segment takes 2 s of wall time.
func slowFFmpeg(t *testing.T) (bin, pidFile string) {
	t.Helper()
	real, err := exec.LookPath("ffmpeg")
	require.NoError(t, err)
	dir := t.TempDir()
	bin, pidFile = filepath.Join(dir, "ffmpeg-re"), filepath.Join(dir, "pid")
	script := fmt.Sprintf("#!/bin/sh\necho $$ > '%s'\nexec '%s' -re \"$@\"\n", pidFile, real)
	require.NoError(t, os.WriteFile(bin, []byte(script), 0o755))
	return bin, pidFile
}

func TestTranscodeContext(t *testing.T) {
	segs := makeSegments(t, "640x360")
	profiles := []transcode.Profile{transcode.P360p(), transcode.P240p()}

	tests := []struct {
		name    string
		ctx     func(parent context.Context) (context.Context, context.CancelFunc)
		slow    bool // run ffmpeg in real time so the context ends mid-encode
		wantErr error
	}{
		{"cancelled before the call", func(p context.Context) (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(p)
			cancel()
			return ctx, cancel
		}, false, context.Canceled},
		{"cancelled during encode", func(p context.Context) (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(p)
			timer := time.AfterFunc(500*time.Millisecond, cancel)
			return ctx, func() { timer.Stop(); cancel() }
		}, true, context.Canceled},
		{"deadline during encode", func(p context.Context) (context.Context, context.CancelFunc) {
			return context.WithTimeout(p, 500*time.Millisecond)
		}, true, context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tc transcode.Transcoder
			var pidFile string
			if tt.slow {
				tc.FFmpeg, pidFile = slowFFmpeg(t)
			}
			ctx, cancel := tt.ctx(t.Context())
			defer cancel()

			start := time.Now()
			rends, err := tc.Transcode(ctx, segs[0], profiles)
			elapsed := time.Since(start)
			require.ErrorIs(t, err, tt.wantErr)
			require.NotErrorIs(t, err, transcode.ErrFFmpeg)
			require.Nil(t, rends)
			require.Less(t, elapsed, 1500*time.Millisecond, "returns well before the 2 s real-time encode ends")
			if !tt.slow {
				return
			}
			raw, err := os.ReadFile(pidFile)
			require.NoError(t, err, "ffmpeg had started")
			pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
			require.NoError(t, err)
			err = syscall.Kill(pid, 0)
			require.True(t, errors.Is(err, syscall.ESRCH), "ffmpeg pid %d still exists: %v", pid, err)
		})
	}
}
