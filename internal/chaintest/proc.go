package chaintest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"time"

	"github.com/lpswarm/archiver/internal/beetest"
)

// ErrTimeout: a bounded wait ran out. The error carrying it also holds the
// tail of the log of the process that was waited on.
var ErrTimeout = errors.New("timed out")

// errExited: the process ended while it was being waited on, which is how
// a port taken between probe and bind shows.
var errExited = errors.New("exited")

// tailBytes is how much of a child's output is kept for error messages:
// enough for the last few dozen log lines, which is where the cause is.
const tailBytes = 16 << 10

// process is a child process (geth or bee) whose output is kept, bounded,
// so that a failure can say what the process itself reported.
type process struct {
	name string
	cmd  *exec.Cmd
	out  *tail
	done chan struct{} // closed when the process has exited
	err  error         // Wait's result; read only after done is closed
	once sync.Once
}

// startProcess runs bin with args. Output goes to the kept tail and, when
// not nil, to copyTo. The process outlives ctx: Net.Close stops it.
func startProcess(name, bin string, args []string, copyTo io.Writer) (*process, error) {
	p := &process{name: name, out: &tail{}, done: make(chan struct{})}
	var w io.Writer = p.out
	var copied *prefixWriter
	if copyTo != nil {
		copied = &prefixWriter{prefix: name + ": ", w: copyTo}
		w = io.MultiWriter(p.out, copied)
	}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stdout, p.cmd.Stderr = w, w
	p.cmd.SysProcAttr = beetest.ChildProcAttr()
	// A killed process's children may hold its output pipe open; do not
	// let Wait hang on them.
	p.cmd.WaitDelay = time.Second
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("chaintest: start %s: %w", name, err)
	}
	go func() {
		p.err = p.cmd.Wait() // returns after all output is copied
		if copied != nil {
			copied.flush()
		}
		close(p.done)
	}()
	return p, nil
}

// exited reports whether the process has ended, and how.
func (p *process) exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// stop asks the process to shut down (SIGINT, which geth and bee handle by
// flushing their databases) and kills it after grace.
func (p *process) stop(grace time.Duration) {
	p.once.Do(func() {
		_ = p.cmd.Process.Signal(os.Interrupt)
		select {
		case <-p.done:
		case <-time.After(grace):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
}

// kill ends the process at once (SIGKILL), as a crash would.
func (p *process) kill() {
	p.once.Do(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
	})
}

// failure builds an error about p that ends with its recent output.
func (p *process) failure(err error) error {
	return fmt.Errorf("chaintest: %s: %w\n--- last output of %s ---\n%s", p.name, err, p.name, p.out.String())
}

// waitUntil polls check every interval until it reports done, the process
// exits, ctx ends or limit passes; what names the condition in errors.
func (p *process) waitUntil(ctx context.Context, limit, interval time.Duration, what string,
	check func(ctx context.Context) (bool, error)) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	var last error
	for {
		ok, err := check(ctx)
		if ok {
			return nil
		}
		if err != nil {
			last = err
		}
		if gone, werr := p.exited(); gone {
			return p.failure(fmt.Errorf("%w while waiting for %s: %v", errExited, what, werr))
		}
		select {
		case <-ctx.Done():
			if last == nil {
				last = ctx.Err()
			}
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return p.failure(fmt.Errorf("%w after %s waiting for %s (last error: %v)", ErrTimeout, limit, what, last))
			}
			return p.failure(fmt.Errorf("waiting for %s: %w", what, ctx.Err()))
		case <-time.After(interval):
		}
	}
}

// tail keeps the last tailBytes written to it.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

func (t *tail) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if over := len(t.buf) - tailBytes; over > 0 {
		// Cut at a line start so the first kept line is whole.
		if i := bytes.IndexByte(t.buf[over:], '\n'); i >= 0 {
			over += i + 1
		}
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(b), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// prefixWriter copies a process's output line by line, each line tagged
// with the process name, so the output of three processes sharing one
// writer stays readable. exec splits output at arbitrary points, hence the
// buffering of a partial last line.
type prefixWriter struct {
	prefix  string
	w       io.Writer
	mu      sync.Mutex
	partial []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.partial = append(p.partial, b...)
	end := bytes.LastIndexByte(p.partial, '\n') + 1
	if end == 0 {
		return len(b), nil
	}
	var out []byte
	for line := range bytes.Lines(p.partial[:end]) {
		out = append(out, p.prefix...)
		out = append(out, line...)
	}
	p.partial = append(p.partial[:0], p.partial[end:]...)
	if _, err := p.w.Write(out); err != nil {
		return 0, err
	}
	return len(b), nil
}

// flush writes out a last line that ended without a newline.
func (p *prefixWriter) flush() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.partial) > 0 {
		_, _ = p.w.Write(append(append([]byte(p.prefix), p.partial...), '\n'))
		p.partial = nil
	}
}
