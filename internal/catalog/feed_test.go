package catalog

import (
	"context"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/stretchr/testify/require"
)

// TestFeedRecordedWithThePublish: a feed update is recorded with its
// publish, only moves forward for one feed, and starts over for another
// owner; a stream without a feed reads as the zero Feed.
func TestFeedRecordedWithThePublish(t *testing.T) {
	ctx := context.Background()
	ix, _ := openTest(t)
	s := testStream(1)
	run(t, ix, twoRenditions()...)
	info, err := ix.StreamInfo(s)
	require.NoError(t, err)
	require.Equal(t, Feed{}, info.Feed)

	f := Feed{Owner: common.Address{9}, Topic: [32]byte{7}, Manifest: ref("feed"), Updates: 1}
	require.NoError(t, ix.SetPublishedFeed(ctx, s, ref("m1"), 2, f))
	f.Updates = 2
	require.NoError(t, ix.SetPublishedFeed(ctx, s, ref("m2"), 3, f))
	info, err = ix.StreamInfo(s)
	require.NoError(t, err)
	require.Equal(t, f, info.Feed)
	require.True(t, ref("m2").Equal(info.Published.Reference))

	tests := []struct {
		name string
		feed Feed
		want error
	}{
		{"an update again", Feed{Owner: f.Owner, Topic: f.Topic, Manifest: f.Manifest, Updates: 2}, ErrStalePublish},
		{"an older update", Feed{Owner: f.Owner, Topic: f.Topic, Manifest: f.Manifest, Updates: 1}, ErrStalePublish},
		{"no update", Feed{Owner: f.Owner, Topic: f.Topic, Manifest: f.Manifest}, ErrInvalid},
		{"no feed manifest", Feed{Owner: f.Owner, Topic: f.Topic, Updates: 3}, ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.ErrorIs(t, ix.SetPublishedFeed(ctx, s, ref("m3"), 4, tc.feed), tc.want)
			info, err := ix.StreamInfo(s)
			require.NoError(t, err)
			require.Equal(t, f, info.Feed, "unchanged")
			require.True(t, ref("m2").Equal(info.Published.Reference), "the publish is not recorded either")
		})
	}

	other := Feed{Owner: common.Address{8}, Topic: f.Topic, Manifest: ref("feed2"), Updates: 1}
	require.NoError(t, ix.SetPublishedFeed(ctx, s, ref("m3"), 4, other))
	info, err = ix.StreamInfo(s)
	require.NoError(t, err)
	require.Equal(t, other, info.Feed)
}

func TestFeedCodec(t *testing.T) {
	f := Feed{Owner: common.Address{1, 2}, Topic: [32]byte{3}, Manifest: ref("x"), Updates: 1 << 40}
	got, err := decodeFeed(f.encode())
	require.NoError(t, err)
	require.Equal(t, f, got)
	for _, bad := range [][]byte{nil, append([]byte{9}, f.encode()[1:]...), f.encode()[:30], append(f.encode(), 0)} {
		_, err := decodeFeed(bad)
		require.ErrorIs(t, err, ErrCorrupt)
	}
}
