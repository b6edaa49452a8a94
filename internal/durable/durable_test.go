package durable_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/internal/durable"
)

func TestWriteFileReplacesAtomically(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	require.NoError(t, durable.MkdirAll(dir))
	p := filepath.Join(dir, "state")
	require.NoError(t, durable.WriteFile(p, []byte("one")))
	require.NoError(t, durable.WriteFile(p, []byte("two")))
	got, err := os.ReadFile(p)
	require.NoError(t, err)
	require.Equal(t, "two", string(got))
	_, err = os.Stat(p + durable.TempSuffix)
	require.True(t, os.IsNotExist(err), "no temp file left")

	require.NoError(t, os.WriteFile(filepath.Join(dir, "file"), nil, 0o600))
	require.Error(t, durable.MkdirAll(filepath.Join(dir, "file")))
}

func TestLockIsExclusive(t *testing.T) {
	p := filepath.Join(t.TempDir(), "LOCK")
	a, err := os.Create(p)
	require.NoError(t, err)
	defer a.Close()
	b, err := os.Open(p)
	require.NoError(t, err)
	defer b.Close()
	require.NoError(t, durable.Lock(a))
	require.ErrorIs(t, durable.Lock(b), durable.ErrLocked)
}
