package streams_test

import (
	"context"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/feed"
	"github.com/lpswarm/archiver/grpcsvc"
	"github.com/lpswarm/archiver/internal/catalog"
	"github.com/lpswarm/archiver/internal/dispatch"
	"github.com/lpswarm/archiver/internal/streams"
	"github.com/lpswarm/archiver/proto/archiverpb"
)

// TestFeedIndexAdvancesOnlyOnSuccess: with a feed owner, every publish
// carries the stream's next feed index; a failed publish does not advance
// it (the retry signs the same index), a new owner starts its own feed at
// 0, and the status reports the latest update.
func TestFeedIndexAdvancesOnlyOnSuccess(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s, ix, p := setup(t, streams.Config{PublishEvery: 1, PublishInterval: 100 * time.Millisecond, IdleTimeout: time.Hour})
	owner := common.Address{0xaa}
	p.owner = &owner
	go func() { _ = s.Run(ctx) }()
	in := s.Intake(spoolNow{})
	id := catalog.StreamID{ManifestID: "m", Sender: common.Address{1}}
	topic := feed.StreamTopic(id.Sender, id.ManifestID)

	publishNext := func(seq int64) {
		t.Helper()
		before := len(p.feeds)
		require.NoError(t, (<-in.Submit(job(seq))).Err)
		require.NoError(t, s.Archived(ctx, job(seq), results(t, job(seq))))
		require.Eventually(t, func() bool {
			info, err := ix.StreamInfo(id)
			p.mu.Lock()
			defer p.mu.Unlock()
			return err == nil && len(p.feeds) > before && info.Published.Segments == 2*int(seq+1)
		}, 5*time.Second, 5*time.Millisecond)
	}
	publishNext(0)
	p.mu.Lock()
	p.fail = true
	p.mu.Unlock()
	publishNext(1) // fails once, then the interval republishes
	publishNext(2)

	p.mu.Lock()
	var indices []uint64
	for _, f := range p.feeds {
		require.Equal(t, topic, f.Topic)
		indices = append(indices, f.Index)
	}
	p.mu.Unlock()
	require.Equal(t, []uint64{0, 1, 1, 2}, indices, "the failed publish's index is signed again")
	info, err := ix.StreamInfo(id)
	require.NoError(t, err)
	require.Equal(t, catalog.Feed{Owner: owner, Topic: topic, Manifest: info.Feed.Manifest, Updates: 3}, info.Feed)

	q := grpcsvc.NewQueries(ix, func() *archiverpb.ArchiveOffer { return nil }, true)
	st, err := q.GetArchiveStatus(ctx, &archiverpb.ArchiveStatusRequest{ManifestId: []byte("m"), Sender: id.Sender.Bytes()})
	require.NoError(t, err)
	require.Equal(t, info.Feed.Manifest.Bytes(), st.FeedManifestReference)
	require.NotNil(t, st.FeedIndex)
	require.Equal(t, uint64(2), st.GetFeedIndex())
	require.Equal(t, owner.Bytes(), st.FeedOwner)
	require.Equal(t, topic[:], st.FeedTopic)

	// The operator changed keys: the new owner's feed starts at 0.
	other := common.Address{0xbb}
	p.mu.Lock()
	p.owner = &other
	p.mu.Unlock()
	publishNext(3)
	p.mu.Lock()
	last := p.feeds[len(p.feeds)-1]
	p.mu.Unlock()
	require.Equal(t, &dispatch.FeedTarget{Topic: topic, Index: 0}, last)
}

// TestNoFeedWithoutOwner: without a signer no publish carries a feed and
// the status reports none.
func TestNoFeedWithoutOwner(t *testing.T) {
	ctx := context.Background()
	s, ix, p := setup(t, streams.Config{PublishEvery: 1})
	require.NoError(t, (<-s.Intake(spoolNow{}).Submit(job(0))).Err)
	require.NoError(t, s.Archived(ctx, job(0), results(t, job(0))))
	require.Eventually(t, func() bool { _, _, n := p.last(); return n == 1 }, 5*time.Second, time.Millisecond)
	require.Nil(t, p.feeds[0])
	q := grpcsvc.NewQueries(ix, func() *archiverpb.ArchiveOffer { return nil }, true)
	st, err := q.GetArchiveStatus(ctx, &archiverpb.ArchiveStatusRequest{ManifestId: []byte("m"), Sender: common.Address{1}.Bytes()})
	require.NoError(t, err)
	require.Nil(t, st.FeedIndex)
	require.Empty(t, st.FeedManifestReference)
}
