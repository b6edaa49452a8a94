package catalog

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"
)

func TestRecordsOrder(t *testing.T) {
	ix, _ := openTest(t)
	s := testStream(1)
	// "source" sorts after "720p" by name; first-seen order must win.
	run(t, ix, twoRenditions()...)
	run(t, ix,
		accept(s, "720p", 3, "c"), accept(s, "source", 2, "b"), accept(s, "source", 1, "a"),
		accept(s, "720p", 1, "d"), complete(s, "source", 1, "a", "a"), fail(s, "720p", 3, "x", true),
	)
	require.Equal(t, []string{
		"source/1 archived a ref:a", "source/2 pending b",
		"720p/1 pending d", "720p/3 gap c attempts:1 err:x",
	}, summaries(t, ix, s))

	pending, err := ix.Pending(s)
	require.NoError(t, err)
	require.Len(t, pending, 2)
	require.Equal(t, "source/2 pending b", summary(pending[0]))
	require.Equal(t, "720p/1 pending d", summary(pending[1]))

	r := pending[0]
	require.Equal(t, int64(segBytes), r.Bytes)
	require.Equal(t, "2.000", r.Duration)
	require.Equal(t, ".ts", r.Ext)
	require.False(t, r.UpdatedAt.IsZero())
}

func TestStreamInfo(t *testing.T) {
	ix, _ := openTest(t)
	s := testStream(1)
	run(t, ix, twoRenditions()...)
	run(t, ix, rendition(s, "source", "ignored"), publish(s, "m1", 3))

	info, err := ix.StreamInfo(s)
	require.NoError(t, err)
	require.Equal(t, s, info.ID)
	require.Equal(t, Live, info.State)
	require.Equal(t, []RenditionInfo{{Name: "source", Listing: []byte("src")}, {Name: "720p", Listing: []byte("hd")}}, info.Renditions)
	require.True(t, info.Ended.IsZero())
	require.True(t, ref("m1").Equal(info.Published.Reference))
	require.Equal(t, 3, info.Published.Segments)
	require.True(t, info.Published.At.After(info.Created))
	require.False(t, info.Published.Final)

	run(t, ix, end(s))
	ended, err := ix.StreamInfo(s)
	require.NoError(t, err)
	require.Equal(t, Ended, ended.State)
	require.True(t, ended.Ended.After(info.Published.At))

	run(t, ix, end(s), publish(s, "m2", 3))
	final, err := ix.StreamInfo(s)
	require.NoError(t, err)
	require.Equal(t, ended.Ended, final.Ended, "a second End keeps the first time")
	require.True(t, final.Published.Final)
	require.True(t, ref("m2").Equal(final.Published.Reference))

	_, err = ix.StreamInfo(testStream(2))
	require.ErrorIs(t, err, ErrUnknownStream)
	_, err = ix.Records(testStream(2))
	require.ErrorIs(t, err, ErrUnknownStream)
}

func TestStreams(t *testing.T) {
	ix, _ := openTest(t)
	b := StreamID{ManifestID: "b", Sender: common.HexToAddress("0x01")}
	a := StreamID{ManifestID: "a", Sender: common.HexToAddress("0x02")}
	c := StreamID{ManifestID: "c", Sender: common.HexToAddress("0x01")}
	for _, id := range []StreamID{a, b, c} {
		run(t, ix, rendition(id, "source", ""))
	}
	got, err := ix.Streams()
	require.NoError(t, err)
	require.Equal(t, []StreamID{b, c, a}, got, "by sender, then manifest id")
}

// TestReopen: a clean close and reopen gives back exactly what was there.
func TestReopen(t *testing.T) {
	ix, path := openTest(t)
	ctx := context.Background()
	for n := range 3 {
		s := testStream(n)
		run(t, ix, rendition(s, "source", "src"), rendition(s, "low", "lo"))
		for seq := range uint64(20) {
			c := fmt.Sprintf("%d-%d", n, seq)
			run(t, ix, accept(s, "source", seq, c), accept(s, "low", seq, c+"l"))
			run(t, ix, complete(s, "source", seq, c, c))
			if seq%3 == 0 {
				run(t, ix, fail(s, "low", seq, "gone", true))
			}
		}
		require.NoError(t, ix.SetPublished(ctx, s, ref("m"), 20))
	}
	require.NoError(t, ix.End(ctx, testStream(1)))

	type snapshot struct {
		streams []StreamID
		infos   []StreamInfo
		records [][]Record
	}
	take := func(ix *Index) snapshot {
		var sn snapshot
		var err error
		sn.streams, err = ix.Streams()
		require.NoError(t, err)
		for _, s := range sn.streams {
			info, err := ix.StreamInfo(s)
			require.NoError(t, err)
			recs, err := ix.Records(s)
			require.NoError(t, err)
			sn.infos, sn.records = append(sn.infos, info), append(sn.records, recs)
		}
		return sn
	}
	before := take(ix)
	require.Len(t, before.streams, 3)
	require.NoError(t, ix.Close())

	again, err := Open(path)
	require.NoError(t, err)
	defer again.Close()
	require.Equal(t, before, take(again))
}

// TestConcurrent runs writers and readers on many streams at once; run it
// with -race.
func TestConcurrent(t *testing.T) {
	ix, _ := openTest(t)
	ctx := context.Background()
	const streams, segs = 8, 25
	var wg sync.WaitGroup
	for n := range streams {
		wg.Go(func() {
			s := testStream(n)
			for seq := range uint64(segs) {
				// Every goroutine registers the renditions: the first wins.
				require.NoError(t, ix.Rendition(ctx, s, "source", nil))
				c := fmt.Sprintf("%d/%d", n, seq)
				require.NoError(t, ix.Accept(ctx, s, "source", seq, content(c), 1, "2", ".ts"))
				changed, err := ix.Complete(ctx, s, "source", seq, content(c), ref(c), 1)
				require.NoError(t, err)
				require.True(t, changed)
			}
		})
		wg.Go(func() { // reader racing the writer of the same stream
			for range segs {
				_, _ = ix.Records(testStream(n))
				_, _ = ix.Streams()
			}
		})
	}
	wg.Wait()
	ids, err := ix.Streams()
	require.NoError(t, err)
	require.Len(t, ids, streams)
	for _, s := range ids {
		recs, err := ix.Records(s)
		require.NoError(t, err)
		require.Len(t, recs, segs)
		for _, r := range recs {
			require.Equal(t, Archived, r.State)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	t.Run("locked by another holder", func(t *testing.T) {
		_, path := openTest(t)
		_, err := Open(path, WithLockTimeout(50*time.Millisecond))
		require.ErrorIs(t, err, ErrLocked)
	})
	t.Run("another format version", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "index.db")
		db, err := bolt.Open(path, 0o600, nil)
		require.NoError(t, err)
		require.NoError(t, db.Update(func(tx *bolt.Tx) error {
			b, err := tx.CreateBucket(keyInfo)
			if err != nil {
				return err
			}
			return b.Put(keySchema, []byte{99})
		}))
		require.NoError(t, db.Close())
		_, err = Open(path)
		require.ErrorIs(t, err, ErrIncompatible)
	})
	t.Run("closed", func(t *testing.T) {
		ix, _ := openTest(t)
		require.NoError(t, ix.Close())
		require.ErrorIs(t, ix.Rendition(ctx, testStream(1), "source", nil), ErrClosed)
		_, err := ix.Streams()
		require.ErrorIs(t, err, ErrClosed)
	})
	t.Run("canceled context", func(t *testing.T) {
		ix, _ := openTest(t)
		canceled, cancel := context.WithCancel(ctx)
		cancel()
		require.ErrorIs(t, ix.Rendition(canceled, testStream(1), "source", nil), context.Canceled)
		_, err := ix.Streams()
		require.NoError(t, err)
		ids, _ := ix.Streams()
		require.Empty(t, ids)
	})
}
