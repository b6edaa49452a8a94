package transcode

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

const (
	// stderrTail is how much of a tool's stderr an error quotes.
	stderrTail = 2048
	// waitDelay bounds how long Wait waits for I/O after the process ended
	// or was killed.
	waitDelay = 5 * time.Second
)

// output is what one tool run produced.
type output struct {
	stdout []byte
	files  [][]byte // files[i] was written to file descriptor 3+i
}

// run executes bin with args, feeding stdin and collecting its stdout and
// nfiles extra output pipes (file descriptors 3, 4, ...). The context kills
// the process. Errors wrap the context's error or ErrFFmpeg with the tail
// of stderr.
func run(ctx context.Context, bin string, args []string, stdin []byte, nfiles int) (output, error) {
	readers := make([]*os.File, 0, nfiles)
	writers := make([]*os.File, 0, nfiles)
	closeAll := func(fs []*os.File) {
		for _, f := range fs {
			_ = f.Close()
		}
	}
	for range nfiles {
		r, w, err := os.Pipe()
		if err != nil {
			closeAll(readers)
			closeAll(writers)
			return output{}, fmt.Errorf("transcode: pipe: %w", err)
		}
		readers = append(readers, r)
		writers = append(writers, w)
	}
	defer closeAll(readers)

	var stdout bytes.Buffer
	stderr := &tailWriter{max: stderrTail}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	cmd.Stdout = &stdout
	cmd.Stderr = stderr
	cmd.ExtraFiles = writers
	cmd.WaitDelay = waitDelay
	err := cmd.Start()
	closeAll(writers) // the child holds its own copies
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return output{}, fmt.Errorf("transcode: %s: %w", bin, ctxErr)
		}
		return output{}, fmt.Errorf("%w: start %s: %w", ErrFFmpeg, bin, err)
	}

	files := make([][]byte, nfiles)
	readErrs := make([]error, nfiles)
	var wg sync.WaitGroup
	for i, r := range readers {
		wg.Go(func() { files[i], readErrs[i] = io.ReadAll(r) })
	}
	waitErr := cmd.Wait()
	if waitErr != nil {
		closeAll(readers) // unblock readers should anything still hold a write end
	}
	wg.Wait()

	if waitErr != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return output{}, fmt.Errorf("transcode: %s: %w", bin, ctxErr)
		}
		return output{}, fmt.Errorf("%w: %s: %w: %s", ErrFFmpeg, bin, waitErr, stderr)
	}
	if err := errors.Join(readErrs...); err != nil {
		return output{}, fmt.Errorf("%w: %s: read output: %w", ErrFFmpeg, bin, err)
	}
	return output{stdout: stdout.Bytes(), files: files}, nil
}

// tailWriter keeps the last max bytes written to it.
type tailWriter struct {
	max       int
	buf       []byte
	truncated bool
}

func (t *tailWriter) Write(p []byte) (int, error) {
	n := len(p)
	if len(p) >= t.max {
		t.truncated = t.truncated || len(t.buf) > 0 || len(p) > t.max
		t.buf = append(t.buf[:0], p[len(p)-t.max:]...)
		return n, nil
	}
	if over := len(t.buf) + len(p) - t.max; over > 0 {
		t.truncated = true
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	t.buf = append(t.buf, p...)
	return n, nil
}

// String returns the kept text on one line, "..." marking a cut start.
func (t *tailWriter) String() string {
	s := strings.Join(strings.Fields(strings.ReplaceAll(string(t.buf), "\n", " | ")), " ")
	s = strings.Trim(s, " |")
	if s == "" {
		return "(no stderr)"
	}
	if t.truncated {
		return "..." + s
	}
	return s
}
