package grpcsvc_test

import (
	"context"
	"crypto/ecdsa"
	"encoding/binary"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethersphere/bee/v2/pkg/feeds"
	"github.com/ethersphere/bee/v2/pkg/feeds/sequence"
	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	"github.com/ethersphere/bee/v2/pkg/swarm"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/archive"
	"github.com/lpswarm/archiver/feed"
	"github.com/lpswarm/archiver/grpcsvc"
	"github.com/lpswarm/archiver/hls"
	"github.com/lpswarm/archiver/internal/memstore"
	"github.com/lpswarm/archiver/upload"
	"github.com/lpswarm/archiver/worker"
)

func newSigner(t *testing.T) (feed.Signer, *ecdsa.PrivateKey) {
	t.Helper()
	k, err := crypto.GenerateKey()
	require.NoError(t, err)
	return feed.KeySigner(k), k
}

// specOf is a one-rendition spec of n segments.
func specOf(n int) archive.Spec {
	r := archive.RenditionSpec{Name: "source", Listing: archive.Listing{Variants: []hls.Variant{{}}}}
	for i := range n {
		ref := make([]byte, 32)
		ref[0] = byte(i + 1)
		r.Segments = append(r.Segments, archive.Record{Segment: archive.Segment{Seq: uint64(i), Duration: "2.000", Ext: ".ts"},
			Reference: swarm.NewAddress(ref), Bytes: 1000})
	}
	return archive.Spec{Renditions: []archive.RenditionSpec{r}}
}

// TestPublishUpdatesTheFeed: three publishes of a growing stream, each
// with the next feed index. The orchestrator signs, the worker stores the
// manifest, the feed manifest (once) and the update, and the report must
// match what the orchestrator computed. Bee's own sequence lookup then
// finds the latest index and resolves it to the newest manifest.
func TestPublishUpdatesTheFeed(t *testing.T) {
	ctx := context.Background()
	signer, _ := newSigner(t)
	h := newHarness(t, newMemQueue(), grpcsvc.Config{FeedSigner: signer})
	st := memstore.New(redundancy.NONE)
	startWorker(t, h, "w", st, 1)
	owner, ok := h.srv.FeedOwner()
	require.True(t, ok)
	require.Equal(t, signer.Address(), owner)

	topic := feed.StreamTopic(common.Address{1}, "m")
	fm, err := feed.ManifestReference(ctx, owner, topic, redundancy.NONE)
	require.NoError(t, err)
	lookup := sequence.NewFinder(st.Chunks, feeds.New(topic[:], owner))
	for i := range 3 {
		res, err := h.srv.Publish(ctx, grpcsvc.PublishRequest{ManifestID: "m", Spec: specOf(i + 1),
			Feed: &grpcsvc.FeedTarget{Topic: topic, Index: uint64(i)}})
		require.NoError(t, err)
		require.NotNil(t, res.Feed)
		require.Equal(t, fm, res.Feed.Manifest)
		require.Equal(t, uint64(i), res.Feed.Index)
		require.Equal(t, feed.Address(owner, topic, uint64(i)), res.Feed.Update)

		ch, cur, _, err := lookup.At(ctx, time.Now().Unix(), 0)
		require.NoError(t, err)
		require.Equal(t, uint64(i), mustIndex(t, cur))
		wrapped, err := feeds.GetWrappedChunk(ctx, st.Chunks, ch, true)
		require.NoError(t, err)
		require.Equal(t, res.Reference, wrapped.Address(), "update %d resolves to the newest manifest", i)
	}
	require.Equal(t, 1, st.Uploads(fm), "the feed manifest is stored once")
	require.Equal(t, 3, st.SOCs())

	// Without a feed target, a publish reports the manifest alone.
	res, err := h.srv.Publish(ctx, grpcsvc.PublishRequest{ManifestID: "m", Spec: specOf(4)})
	require.NoError(t, err)
	require.Nil(t, res.Feed)
	require.Equal(t, 3, st.SOCs())
}

func mustIndex(t *testing.T, i feeds.Index) uint64 {
	t.Helper()
	b, err := i.MarshalBinary()
	require.NoError(t, err)
	require.Len(t, b, 8)
	return binary.BigEndian.Uint64(b)
}

// liar claims the honest address but signs with another key: a go-livepeer
// account adapter wired to the wrong account.
type liar struct {
	feed.Signer
	claimed common.Address
}

func (l liar) Address() common.Address { return l.claimed }

// fileOnly stores files but no single-owner chunks: a worker whose
// uploader cannot update feeds.
type fileOnly struct{ st *memstore.Store }

func (f fileOnly) Upload(ctx context.Context, data []byte) (upload.Receipt, error) {
	return f.st.Upload(ctx, data)
}

func TestPublishFeedRefusals(t *testing.T) {
	honest, _ := newSigner(t)
	other, _ := newSigner(t)
	topic := feed.StreamTopic(common.Address{1}, "m")
	tests := []struct {
		name    string
		signer  feed.Signer
		up      func(*memstore.Store) worker.Uploader
		wantErr error
		wantMsg string
	}{
		{"no signer", nil, func(s *memstore.Store) worker.Uploader { return s }, grpcsvc.ErrNoFeedSigner, "no feed signer"},
		{"a signer signing with another key", liar{Signer: other, claimed: honest.Address()},
			func(s *memstore.Store) worker.Uploader { return s }, feed.ErrWrongSigner, "signed by " + other.Address().Hex()},
		{"a worker that cannot store feeds", honest, func(s *memstore.Store) worker.Uploader { return fileOnly{s} },
			grpcsvc.ErrPublishFailed, "cannot store feed updates"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, newMemQueue(), grpcsvc.Config{FeedSigner: tc.signer, MaxAttempts: 1})
			st := memstore.New(redundancy.NONE)
			startWorker(t, h, "w", tc.up(st), 1)
			_, err := h.srv.Publish(context.Background(), grpcsvc.PublishRequest{ManifestID: "m", Spec: specOf(1),
				Feed: &grpcsvc.FeedTarget{Topic: topic}})
			require.ErrorIs(t, err, tc.wantErr)
			require.ErrorContains(t, err, tc.wantMsg)
			require.Zero(t, st.SOCs())
		})
	}
}
