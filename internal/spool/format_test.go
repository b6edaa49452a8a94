package spool

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver"
)

func TestFormatRoundTrip(t *testing.T) {
	sender := common.HexToAddress("0x00000000000000000000000000000000000000a1")
	big := bytes.Repeat([]byte{0xab}, 3*bufSize+17) // larger than the buffers
	tests := []struct {
		name string
		job  archiver.Job
	}{
		{"empty", archiver.Job{Renditions: []archiver.Rendition{}}},
		{"source only", archiver.Job{Sender: sender, ManifestID: "m", Seq: 1, Duration: 2002 * time.Millisecond, Source: []byte("ts"), Renditions: []archiver.Rendition{}}},
		{"negative seq, unicode names", archiver.Job{
			Sender: sender, ManifestID: "стрим/1", Seq: -42, Source: []byte{},
			Renditions: []archiver.Rendition{{Name: "", Data: []byte{}}, {Name: "P720p30fps16x9 ✓", Data: []byte{1, 2, 3}}},
		}},
		{"large", archiver.Job{
			Sender: sender, ManifestID: "m", Seq: 1 << 40, Source: big,
			Renditions: []archiver.Rendition{{Name: "a", Data: big[:bufSize]}, {Name: "b", Data: big}},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			require.NoError(t, encode(&buf, tc.job))
			require.Equal(t, encodedSize(tc.job), int64(buf.Len()))

			got, err := decode(bytes.NewReader(buf.Bytes()), int64(buf.Len()), true)
			require.NoError(t, err)
			if tc.job.Source == nil {
				tc.job.Source = []byte{}
			}
			require.Equal(t, tc.job, got)

			// Reading one byte at a time exercises every short-read path.
			got, err = decode(iotest.OneByteReader(bytes.NewReader(buf.Bytes())), int64(buf.Len()), false)
			require.NoError(t, err)
			require.Equal(t, keyless(tc.job), keyless(got), "metadata without keeping data")
			require.Nil(t, got.Source)
		})
	}
}

// keyless is a job's identity and shape without its data.
func keyless(j archiver.Job) []any {
	out := []any{j.Sender, j.ManifestID, j.Seq, len(j.Renditions)}
	for _, r := range j.Renditions {
		out = append(out, r.Name)
	}
	return out
}

// TestFormatDetectsDamage damages a small job file in every way at every
// position: each must read as ErrCorrupt, never as a job.
func TestFormatDetectsDamage(t *testing.T) {
	job := archiver.Job{
		Sender: common.HexToAddress("0x01"), ManifestID: "m", Seq: 3, Source: []byte("source"),
		Renditions: []archiver.Rendition{{Name: "720p", Data: []byte("rendition")}},
	}
	var buf bytes.Buffer
	require.NoError(t, encode(&buf, job))
	good := buf.Bytes()

	check := func(t *testing.T, what string, data []byte) {
		t.Helper()
		_, err := decode(bytes.NewReader(data), int64(len(data)), true)
		require.ErrorIs(t, err, ErrCorrupt, what)
	}
	for n := range len(good) {
		check(t, "truncated", good[:n])
	}
	for i := range good {
		for _, bit := range []byte{0x01, 0x80} {
			bad := bytes.Clone(good)
			bad[i] ^= bit
			check(t, "bit flip", bad)
		}
	}
	check(t, "trailing byte", append(bytes.Clone(good), 0))

	// A file that is shorter than its size claims (it shrank under us).
	_, err := decode(bytes.NewReader(good[:len(good)-1]), int64(len(good)), true)
	require.ErrorIs(t, err, ErrCorrupt)
	// A read error is the disk's fault, not corruption.
	diskErr := errors.New("input/output error")
	_, err = decode(io.MultiReader(bytes.NewReader(good[:20]), iotest.ErrReader(diskErr)), int64(len(good)), true)
	require.ErrorIs(t, err, diskErr)
	require.NotErrorIs(t, err, ErrCorrupt)
}

func TestFormatRefusesHugeCounts(t *testing.T) {
	// A rendition count that passes no checksum yet must not size an
	// allocation: damage it and keep the file otherwise well formed.
	job := archiver.Job{ManifestID: "m", Renditions: []archiver.Rendition{}}
	var buf bytes.Buffer
	require.NoError(t, encode(&buf, job))
	data := buf.Bytes()
	countAt := headerLen + 2 + 1 + 8
	copy(data[countAt:], []byte{0xff, 0xff, 0xff, 0xff})
	_, err := decode(bytes.NewReader(data), int64(len(data)), true)
	require.ErrorIs(t, err, ErrCorrupt)
	require.ErrorContains(t, err, "renditions cannot fit")
}
