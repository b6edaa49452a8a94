package integration_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ethersphere/bee/v2/pkg/swarm"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver"
	"github.com/lpswarm/archiver/archive"
	"github.com/lpswarm/archiver/bee"
	"github.com/lpswarm/archiver/feed"
	"github.com/lpswarm/archiver/hls"
	"github.com/lpswarm/archiver/internal/catalog"
	"github.com/lpswarm/archiver/internal/dispatch"
	"github.com/lpswarm/archiver/internal/hlstest"
	"github.com/lpswarm/archiver/internal/host"
	"github.com/lpswarm/archiver/internal/rig"
	"github.com/lpswarm/archiver/internal/streams"
	"github.com/lpswarm/archiver/proto/archiverpb"
)

// startFeedOrch is an orchestrator holding the operator's key as its feed
// signer, publishing after every archived segment, leasing the batch to
// client-stamping workers.
func startFeedOrch(t *testing.T, ctx context.Context, key *ecdsa.PrivateKey, batch [32]byte) *rig.Rig {
	t.Helper()
	return startOrch(t, ctx, func(c *host.Config) {
		c.Service.BaseTimeout = 30 * time.Second
		c.Service.Leases = &dispatch.LeaseConfig{Batch: batch, BucketCapacity: 16, Slot: 8, Path: filepath.Join(t.TempDir(), "leases.json")}
		c.Streams = streams.Config{PublishEvery: 1, PublishInterval: time.Hour, IdleTimeout: time.Hour}
		c.FeedSigner, c.PublicStatus = feed.KeySigner(key), true
	})
}

// oneStream turns a 6 s ffmpeg stream into three archive jobs.
func oneStream(t *testing.T, sender [20]byte, manifestID string) []archiver.Job {
	t.Helper()
	dir := generate(t, hlstest.Options{Seconds: 6})
	src := readSource(t, filepath.Join(dir, "hi", "index.m3u8"))
	lo := readSource(t, filepath.Join(dir, "lo", "index.m3u8"))
	audio := readSource(t, filepath.Join(dir, "audio", "index.m3u8"))
	require.GreaterOrEqual(t, len(src.segments), 3)
	var jobs []archiver.Job
	for seq := range 3 {
		jobs = append(jobs, archiver.Job{Sender: sender, ManifestID: archiver.ManifestID(manifestID), Seq: int64(seq),
			Source:     src.segments[seq],
			Renditions: []archiver.Rendition{{Name: "lo", Data: lo.segments[seq]}, {Name: "audio", Data: audio.segments[seq]}}})
	}
	return jobs
}

// requireFeedServes waits until, read from node b, the feed manifest's
// index.m3u8 and media playlist equal the manifest's byte for byte, the
// media playlist lists segments segments, and Bee's latest feed index is
// want.
func requireFeedServes(t *testing.T, ctx context.Context, b *bee.Client, fm, manifest swarm.Address, media string, segments int,
	owner, topic []byte, want uint64) {
	t.Helper()
	var last string
	ok := assertEventually(ctx, time.Minute, func() bool {
		for _, p := range []string{archive.IndexName, media} {
			direct, err := b.Get(ctx, "/bzz/"+manifest.String()+"/"+p, 1<<20)
			if err != nil {
				last = fmt.Sprintf("%s from the manifest: %v", p, err)
				return false
			}
			viaFeed, err := b.Get(ctx, "/bzz/"+fm.String()+"/"+p, 1<<20)
			if err != nil || !bytes.Equal(direct.Data, viaFeed.Data) {
				last = fmt.Sprintf("%s through the feed: %v, %d vs %d bytes", p, err, len(viaFeed.Data), len(direct.Data))
				return false
			}
			if p == media {
				pl, err := hls.ParseMedia(bytes.NewReader(viaFeed.Data))
				if err != nil || len(pl.Segments) != segments {
					last = fmt.Sprintf("%s: %v, want %d segments", p, err, segments)
					return false
				}
			}
		}
		latest, err := b.FeedLatest(ctx, owner, topic)
		if err != nil || latest.Index != want {
			last = fmt.Sprintf("GET /feeds: index %d, %v", latest.Index, err)
			return false
		}
		return true
	})
	require.True(t, ok, "feed update %d not served from the other node: %s", want, last)
}

// assertEventually polls cond every 500 ms until it holds or d passes.
func assertEventually(ctx context.Context, d time.Duration, cond func() bool) bool {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	for {
		if cond() {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// TestFeedFollowsEveryPublishOnALocalSwarm: the orchestrator holds the
// operator's key and a client-stamping worker archives one live stream
// through node A. After each of three publishes, one stable address,
// /bzz/<feed manifest>/index.m3u8 read from node B, serves exactly the
// newest manifest's playlists, GET /feeds reports index 0, 1, 2, and the
// status query reports the feed; the final VOD is update 3.
func TestFeedFollowsEveryPublishOnALocalSwarm(t *testing.T) {
	ctx := testContext(t, 4*time.Minute)
	net, key, keyFile, passFile, batch := localSwarm(t, ctx, 20)
	nodeA, nodeB := net.Nodes()[0], net.Nodes()[1]
	o := startFeedOrch(t, ctx, key.PrivateKey, batch)
	startNode(t, ctx, o, rig.NodeConfig{Bee: nodeA, Capacity: 2,
		Args: []string{"-stamping", "client", "-ethKeystorePath", keyFile, "-ethPassword", passFile}})

	sender := [20]byte{0x5e}
	jobs := oneStream(t, sender, "live-1")
	id := catalog.StreamID{ManifestID: "live-1", Sender: sender}
	topic := feed.StreamTopic(id.Sender, id.ManifestID)
	b, err := bee.New(nodeB)
	require.NoError(t, err)
	var fm swarm.Address
	for i, j := range jobs {
		require.NoError(t, o.Submit(ctx, j))
		var info catalog.StreamInfo
		require.Eventually(t, func() bool {
			info, err = o.Host().StreamInfo(id)
			return err == nil && info.Feed.Updates == uint64(i+1)
		}, time.Minute, 100*time.Millisecond, "publish %d with its feed update not recorded", i)
		require.Equal(t, 3*(i+1), info.Published.Segments)
		require.Equal(t, key.Address, info.Feed.Owner)
		if i == 0 {
			fm = info.Feed.Manifest
			want, err := feed.ManifestReference(ctx, key.Address, topic, 0)
			require.NoError(t, err)
			require.Equal(t, want, fm, "the feed manifest is the one computed offline")
		}
		require.Equal(t, fm, info.Feed.Manifest, "one stable address")
		requireFeedServes(t, ctx, b, fm, info.Published.Reference, "source/index.m3u8", i+1, key.Address.Bytes(), topic[:], uint64(i))

		st, err := o.Host().Queries().GetArchiveStatus(ctx, &archiverpb.ArchiveStatusRequest{ManifestId: []byte(id.ManifestID), Sender: sender[:]})
		require.NoError(t, err)
		require.Equal(t, fm.Bytes(), st.FeedManifestReference)
		require.NotNil(t, st.FeedIndex)
		require.Equal(t, uint64(i), st.GetFeedIndex())
		require.Equal(t, key.Address.Bytes(), st.FeedOwner)
		require.Equal(t, topic[:], st.FeedTopic)
		require.Equal(t, info.Published.Reference.Bytes(), st.ManifestReference)
	}

	// The stream ends: the stable address now plays the finished VOD.
	final := finish(t, ctx, o, jobs)[id.ManifestID]
	info, err := o.Host().StreamInfo(id)
	require.NoError(t, err)
	require.Equal(t, uint64(4), info.Feed.Updates)
	requireFeedServes(t, ctx, b, fm, final, "source/index.m3u8", 3, key.Address.Bytes(), topic[:], 3)
	pl, err := b.Get(ctx, "/bzz/"+fm.String()+"/source/index.m3u8", 1<<20)
	require.NoError(t, err)
	require.Contains(t, string(pl.Data), "#EXT-X-ENDLIST")
}

var feedLine = regexp.MustCompile(`(?m)^feed: ([0-9a-f]{64})$`)

// TestImportUpdatesTheFeedOnALocalSwarm: three imports of a growing live
// playlist with the operator's key (client stamping through node A) each
// publish a manifest and the next update of the stream's feed, continuing
// from the index Bee reports. Read from node B, the feed serves the newest
// manifest after each, and GET /feeds reports 0, 1, 2.
func TestImportUpdatesTheFeedOnALocalSwarm(t *testing.T) {
	ctx := testContext(t, 4*time.Minute)
	net, key, keyFile, passFile, batch := localSwarm(t, ctx, 20)
	nodeA, nodeB := net.Nodes()[0], net.Nodes()[1]
	dir := generate(t, hlstest.Options{Seconds: 6})
	src := readSource(t, filepath.Join(dir, "hi", "index.m3u8"))
	require.GreaterOrEqual(t, len(src.segments), 3)
	live := filepath.Join(dir, "hi", "live.m3u8")
	topic := feed.StreamTopic(key.Address, live) // the default feed name: the input's absolute path
	b, err := bee.New(nodeB)
	require.NoError(t, err)
	state := t.TempDir() // one issuer state across the runs: never reuse a stamp index

	var fm swarm.Address
	for k := 1; k <= 3; k++ {
		var pl strings.Builder
		fmt.Fprintf(&pl, "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:%d\n#EXT-X-MEDIA-SEQUENCE:0\n", src.playlist.TargetDuration)
		for _, s := range src.playlist.Segments[:k] {
			fmt.Fprintf(&pl, "#EXTINF:%s,\n%s\n", s.Duration, s.URI)
		}
		require.NoError(t, os.WriteFile(live, []byte(pl.String()), 0o644))

		stdout, stderr, err := runCLI(t, ctx, "import", "-bee", nodeA, "-stamping", "client", "-postageBatch", hex.EncodeToString(batch[:]),
			"-ethKeystorePath", keyFile, "-ethPassword", passFile, "-issuerState", state, "-redundancy", "0", live)
		require.NoError(t, err, stderr)
		ref := parseRef(t, stdout)
		m := feedLine.FindStringSubmatch(stdout)
		require.NotNil(t, m, "no feed in output: %q", stdout)
		got, err := swarm.ParseHexAddress(m[1])
		require.NoError(t, err)
		if k == 1 {
			fm = got
		}
		require.Equal(t, fm, got, "one stable address across imports")
		require.Contains(t, stdout, "feed-url: "+nodeA+"/bzz/"+fm.String()+"/index.m3u8")

		var master bee.Content
		require.Eventually(t, func() bool {
			master, err = b.Get(ctx, "/bzz/"+ref.String()+"/index.m3u8", 1<<20)
			return err == nil
		}, time.Minute, 500*time.Millisecond, "manifest %d not readable from node B", k)
		variants := parseMaster(t, master.Data).Variants
		require.Len(t, variants, 1)
		requireFeedServes(t, ctx, b, fm, ref, variants[0].URI, k, key.Address.Bytes(), topic[:], uint64(k-1))
	}
}
