package spool

import (
	"bytes"
	"encoding/binary"
	"testing"
	"testing/iotest"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver"
)

// jobSeeds are real job files of the current format.
func jobSeeds(tb testing.TB) [][]byte {
	sender := common.HexToAddress("0x00000000000000000000000000000000000000a1")
	var out [][]byte
	for _, job := range []archiver.Job{
		{Renditions: []archiver.Rendition{}},
		{Sender: sender, ManifestID: "m", Seq: 1, Duration: 2002 * time.Millisecond, Source: []byte("ts"), Renditions: []archiver.Rendition{}},
		{Sender: sender, ManifestID: "стрим/1", Seq: -42, Source: []byte{},
			Renditions: []archiver.Rendition{{Name: "", Data: []byte{}}, {Name: "P720p30fps16x9 ✓", Data: []byte{1, 2, 3}}}},
	} {
		var buf bytes.Buffer
		require.NoError(tb, encode(&buf, job))
		out = append(out, buf.Bytes())
	}
	return out
}

// checkJobFile decodes data as a job file of its own size and checks the
// decoder's contract: ErrCorrupt or a job that encodes to exactly data;
// the same answer when the data is dropped (startup reload) and when the
// file arrives a byte at a time; and a file whose size lies is corrupt.
func checkJobFile(t *testing.T, data []byte) {
	t.Helper()
	job, err := decode(bytes.NewReader(data), int64(len(data)), true)
	meta, metaErr := decode(iotest.OneByteReader(bytes.NewReader(data)), int64(len(data)), false)
	if err != nil {
		require.ErrorIs(t, err, ErrCorrupt)
		require.ErrorIs(t, metaErr, ErrCorrupt, "dropping the data must not hide corruption")
		return
	}
	require.NoError(t, metaErr)
	var buf bytes.Buffer
	require.NoError(t, encode(&buf, job))
	require.Equal(t, data, buf.Bytes(), "the format has one encoding per job")
	require.Equal(t, encodedSize(job), int64(len(data)))
	require.Equal(t, keyless(job), keyless(meta))
	require.Nil(t, meta.Source)

	for _, size := range []int64{int64(len(data)) - 1, int64(len(data)) + 1} {
		_, err := decode(bytes.NewReader(data), size, true)
		require.ErrorIs(t, err, ErrCorrupt, "size %d of a %d-byte file", size, len(data))
	}
}

// FuzzDecodeJob: a spool job file as found on disk at startup.
func FuzzDecodeJob(f *testing.F) {
	for _, s := range jobSeeds(f) {
		f.Add(s)
		f.Add(s[:len(s)-1])
	}
	f.Add([]byte{})
	f.Fuzz(checkJobFile)
}

// FuzzDecodeJobBody: the same with a valid checksum appended, so that the
// fuzzer explores the length fields instead of failing the CRC.
func FuzzDecodeJobBody(f *testing.F) {
	for _, s := range jobSeeds(f) {
		f.Add(s[:len(s)-checksumLen])
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		sum := newChecksum()
		_, _ = sum.Write(body)
		checkJobFile(t, binary.BigEndian.AppendUint32(bytes.Clone(body), sum.Sum32()))
	})
}
