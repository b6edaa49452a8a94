package catalog

import (
	"testing"
	"time"

	"github.com/ethersphere/bee/v2/pkg/swarm"
	"github.com/stretchr/testify/require"
)

func TestRecordCodec(t *testing.T) {
	at := time.Date(2025, 3, 4, 5, 6, 7, 8, time.UTC)
	long := make([]byte, 64) // an encrypted reference is 64 bytes
	long[0] = 1
	key := recordKey(2, 77)
	for _, r := range []Record{
		{State: Pending, ContentHash: content("a"), Bytes: 0, Duration: "2", Ext: ".ts"},
		{State: Archived, ContentHash: content("b"), Reference: ref("b"), Bytes: 1 << 40, Duration: "1.999", Ext: ".m4s", UpdatedAt: at},
		{State: Archived, ContentHash: content("c"), Reference: swarm.NewAddress(long), Duration: "6", Ext: ".ts"},
		{State: Gap, ContentHash: content("d"), Attempts: 7, Error: "upload: 503 ✗", Duration: "4.0", Ext: ".aac", UpdatedAt: at},
	} {
		r.Rendition, r.Seq = "720p", 77
		got, err := decodeRecord(key, r.encode(), "720p")
		require.NoError(t, err)
		require.Equal(t, r, got)
	}
}

func TestDecodeCorrupt(t *testing.T) {
	good := (&Record{State: Archived, ContentHash: content("a"), Reference: ref("a"), Duration: "2", Ext: ".ts"}).encode()
	key := recordKey(0, 1)
	for _, tc := range []struct {
		name  string
		key   []byte
		value []byte
	}{
		{"empty", key, nil},
		{"other version", key, append([]byte{9}, good[1:]...)},
		{"no state", key, append([]byte{recordVersion, 0}, good[2:]...)},
		{"truncated", key, good[:len(good)-1]},
		{"trailing bytes", key, append(good, 0)},
		{"short key", key[:8], good},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeRecord(tc.key, tc.value, "source")
			require.ErrorIs(t, err, ErrCorrupt)
		})
	}
	_, err := decodeMeta([]byte{metaVersion, byte(Live)})
	require.ErrorIs(t, err, ErrCorrupt)
	_, _, err = decodeRendition(nil)
	require.ErrorIs(t, err, ErrCorrupt)
}

func TestMetaCodec(t *testing.T) {
	at := time.Date(2025, 3, 4, 5, 6, 7, 8, time.UTC)
	for _, m := range []meta{
		{State: Live, Created: at},
		{State: Ended, Created: at, Ended: at.Add(time.Hour), Published: Publish{Reference: ref("m"), Segments: 9, At: at, Final: true}},
	} {
		got, err := decodeMeta(m.encode())
		require.NoError(t, err)
		require.Equal(t, m, got)
	}
}

// FuzzDecodeRecord: no stored value, however damaged, makes a read panic.
func FuzzDecodeRecord(f *testing.F) {
	f.Add((&Record{State: Pending, ContentHash: content("a"), Duration: "2", Ext: ".ts"}).encode())
	f.Add((&meta{State: Live}).encode())
	f.Fuzz(func(t *testing.T, v []byte) {
		if r, err := decodeRecord(recordKey(0, 1), v, "x"); err == nil {
			require.True(t, r.State.valid())
		}
		_, _ = decodeMeta(v)
		_, _, _ = decodeRendition(v)
	})
}
