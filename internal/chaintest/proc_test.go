package chaintest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestTailKeepsWholeLastLines(t *testing.T) {
	var tl tail
	for i := range 5000 {
		_, _ = tl.Write([]byte(strings.Repeat("x", i%50) + "\n"))
	}
	_, _ = tl.Write([]byte("last line\n"))
	s := tl.String()
	if len(s) > tailBytes || !strings.HasSuffix(s, "last line\n") {
		t.Fatalf("tail of %d bytes ends %q", len(s), s[max(0, len(s)-20):])
	}
	if s[0] != 'x' && s[0] != '\n' {
		t.Fatalf("tail starts mid-line: %q", s[:20])
	}
}

func TestWaitUntilTimeoutShowsOutput(t *testing.T) {
	p, err := startProcess("sh", "/bin/sh", []string{"-c", "echo the cause; exec sleep 30"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer p.stop(time.Second)
	err = p.waitUntil(t.Context(), 300*time.Millisecond, 50*time.Millisecond, "never",
		func(context.Context) (bool, error) { return false, errors.New("not yet") })
	if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "the cause") || !strings.Contains(err.Error(), "not yet") {
		t.Fatalf("got %v", err)
	}
}

func TestWaitUntilNoticesExit(t *testing.T) {
	p, err := startProcess("sh", "/bin/sh", []string{"-c", "echo bad flag; exit 3"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	err = p.waitUntil(t.Context(), 10*time.Second, 50*time.Millisecond, "never",
		func(context.Context) (bool, error) { return false, nil })
	if err == nil || !strings.Contains(err.Error(), "exited") || !strings.Contains(err.Error(), "bad flag") {
		t.Fatalf("got %v", err)
	}
	if time.Since(began) > 5*time.Second {
		t.Fatalf("took %s to notice the exit", time.Since(began))
	}
}

func TestPrefixWriterTagsWholeLines(t *testing.T) {
	var out strings.Builder
	w := &prefixWriter{prefix: "geth: ", w: &out}
	for _, s := range []string{"one\ntw", "o\n", "thr", "ee"} {
		_, _ = w.Write([]byte(s))
	}
	w.flush()
	if got, want := out.String(), "geth: one\ngeth: two\ngeth: three\n"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}
