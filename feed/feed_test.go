package feed_test

import (
	"context"
	"crypto/ecdsa"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethersphere/bee/v2/pkg/cac"
	beecrypto "github.com/ethersphere/bee/v2/pkg/crypto"
	"github.com/ethersphere/bee/v2/pkg/feeds"
	"github.com/ethersphere/bee/v2/pkg/feeds/sequence"
	"github.com/ethersphere/bee/v2/pkg/file/loadsave"
	"github.com/ethersphere/bee/v2/pkg/file/pipeline"
	"github.com/ethersphere/bee/v2/pkg/file/pipeline/builder"
	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	"github.com/ethersphere/bee/v2/pkg/manifest"
	"github.com/ethersphere/bee/v2/pkg/soc"
	"github.com/ethersphere/bee/v2/pkg/storage/inmemchunkstore"
	"github.com/ethersphere/bee/v2/pkg/swarm"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/feed"
	"github.com/lpswarm/archiver/internal/memstore"
)

// seqIndex is a sequence-feed index as bee's (unexported) sequence index
// marshals it.
type seqIndex uint64

func (i seqIndex) MarshalBinary() ([]byte, error) {
	return binary.BigEndian.AppendUint64(nil, uint64(i)), nil
}
func (i seqIndex) Next(int64, uint64) feeds.Index { return i + 1 }
func (i seqIndex) String() string                 { return fmt.Sprint(uint64(i)) }

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := crypto.GenerateKey()
	require.NoError(t, err)
	return k
}

func ref(b byte) swarm.Address {
	a := make([]byte, swarm.HashSize)
	a[0], a[31] = b, b
	return swarm.NewAddress(a)
}

// TestIDsAndAddressesAreBees: topic, id and address agree with bee's feeds
// package for several indices.
func TestIDsAndAddressesAreBees(t *testing.T) {
	owner := crypto.PubkeyToAddress(newKey(t).PublicKey)
	topic := feed.StreamTopic(common.Address{7}, "stream-1")
	require.NotEqual(t, topic, feed.StreamTopic(common.Address{8}, "stream-1"), "the sender is part of the topic")
	require.NotEqual(t, topic, feed.StreamTopic(common.Address{7}, "stream-2"))
	for _, i := range []uint64{0, 1, 2, 255, 1 << 40} {
		want, err := feeds.Id(topic[:], seqIndex(i))
		require.NoError(t, err)
		id := feed.ID(topic, i)
		require.Equal(t, want, id[:], "id of %d", i)
		addr, err := feeds.New(topic[:], owner).Update(seqIndex(i)).Address()
		require.NoError(t, err)
		require.Equal(t, addr, feed.Address(owner, topic, i), "address of %d", i)
	}
}

// TestUpdateIsWhatBeeWouldSign: an update is a valid single-owner chunk,
// recovers to its owner with bee's soc.FromChunk, carries the v1 payload,
// and is byte-identical to the update bee's own feed putter writes.
func TestUpdateIsWhatBeeWouldSign(t *testing.T) {
	key := newKey(t)
	s := feed.KeySigner(key)
	topic := feed.StreamTopic(common.Address{1}, "m")
	at := time.Unix(1_700_000_000, 0)
	u, err := feed.NewUpdate(s, topic, 3, ref(9), at)
	require.NoError(t, err)
	require.NoError(t, u.Verify())
	ch, err := u.Chunk()
	require.NoError(t, err)
	require.True(t, soc.Valid(ch))
	require.Equal(t, u.Address(), ch.Address())
	parsed, err := soc.FromChunk(ch)
	require.NoError(t, err)
	require.Equal(t, s.Address().Bytes(), parsed.OwnerAddress())
	v1, err := feeds.IsV1Payload(ch)
	require.NoError(t, err)
	require.True(t, v1, "bee must read the legacy (v1) payload")
	got, err := u.Reference()
	require.NoError(t, err)
	require.Equal(t, ref(9), got)

	// bee's putter with bee's signer writes the same chunk.
	store := inmemchunkstore.New()
	p, err := feeds.NewPutter(store, beecrypto.NewDefaultSigner(key), topic[:])
	require.NoError(t, err)
	require.NoError(t, p.Put(context.Background(), seqIndex(3), u.Payload))
	theirs, err := store.Get(context.Background(), ch.Address())
	require.NoError(t, err)
	require.Equal(t, theirs.Data(), ch.Data())
}

// liar claims one address and signs with another key.
type liar struct {
	feed.Signer
	claimed common.Address
}

func (l liar) Address() common.Address { return l.claimed }

func TestWrongSignerRefused(t *testing.T) {
	topic := feed.StreamTopic(common.Address{1}, "m")
	honest := feed.KeySigner(newKey(t))
	other := feed.KeySigner(newKey(t))

	_, err := feed.NewUpdate(liar{Signer: other, claimed: honest.Address()}, topic, 0, ref(1), time.Now())
	require.ErrorIs(t, err, feed.ErrWrongSigner)
	require.ErrorContains(t, err, "signed by "+other.Address().Hex())

	good, err := feed.NewUpdate(honest, topic, 0, ref(1), time.Now())
	require.NoError(t, err)
	tests := []struct {
		name   string
		mutate func(*feed.Update)
		want   error
	}{
		{"another owner", func(u *feed.Update) { u.Owner = other.Address() }, feed.ErrWrongSigner},
		{"another index", func(u *feed.Update) { u.Index = 1 }, feed.ErrWrongSigner},
		{"another topic", func(u *feed.Update) { u.Topic[0] ^= 1 }, feed.ErrWrongSigner},
		{"another manifest", func(u *feed.Update) { u.Payload[20] ^= 1 }, feed.ErrWrongSigner},
		{"short payload", func(u *feed.Update) { u.Payload = u.Payload[:39] }, feed.ErrMalformed},
		{"short signature", func(u *feed.Update) { u.Signature = u.Signature[:64] }, feed.ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := good
			u.Payload, u.Signature = append([]byte(nil), good.Payload...), append([]byte(nil), good.Signature...)
			tc.mutate(&u)
			require.ErrorIs(t, u.Verify(), tc.want)
		})
	}
}

// beeFeedManifest builds a feed manifest exactly as bee's POST /feeds does
// (pkg/api/feed.go), at the given pipeline level.
func beeFeedManifest(t *testing.T, store *inmemchunkstore.ChunkStore, owner common.Address, topic feed.Topic, level redundancy.Level) swarm.Address {
	t.Helper()
	ctx := context.Background()
	ls := loadsave.New(store, store, func() pipeline.Interface { return builder.NewPipelineBuilder(ctx, store, false, level) }, redundancy.DefaultLevel)
	m, err := manifest.NewDefaultManifest(ls, false)
	require.NoError(t, err)
	meta := map[string]string{
		"swarm-feed-owner": hex.EncodeToString(owner.Bytes()),
		"swarm-feed-topic": hex.EncodeToString(topic[:]),
		"swarm-feed-type":  feeds.Sequence.String(),
	}
	require.NoError(t, m.Add(ctx, "/", manifest.NewEntry(swarm.NewAddress(make([]byte, 32)), meta)))
	r, err := m.Store(ctx)
	require.NoError(t, err)
	return r
}

// TestFeedManifestIsBees: the offline feed manifest is the one bee's own
// manifest code builds, at every redundancy level, and bee reads its feed
// metadata back.
func TestFeedManifestIsBees(t *testing.T) {
	ctx := context.Background()
	owner := crypto.PubkeyToAddress(newKey(t).PublicKey)
	topic := feed.StreamTopic(common.Address{3}, "stream")
	for _, level := range []redundancy.Level{redundancy.NONE, redundancy.MEDIUM, redundancy.PARANOID} {
		t.Run(fmt.Sprintf("level %d", level), func(t *testing.T) {
			store := inmemchunkstore.New()
			want := beeFeedManifest(t, store, owner, topic, level)
			got, err := feed.ManifestReference(ctx, owner, topic, level)
			require.NoError(t, err)
			require.Equal(t, want, got)

			m, err := manifest.NewDefaultManifestReference(got, loadsave.NewReadonly(store, store, redundancy.DefaultLevel))
			require.NoError(t, err)
			e, err := m.Lookup(ctx, "/")
			require.NoError(t, err)
			require.Equal(t, map[string]string{feed.MetaOwner: hex.EncodeToString(owner.Bytes()),
				feed.MetaTopic: topic.String(), feed.MetaType: "Sequence"}, e.Metadata())
		})
	}
}

// TestUpdaterResolvesToTheNewest: three updates through an Updater, read
// back with bee's sequence lookup and legacy resolution: the latest index
// is the last update and resolves to the newest manifest; the feed
// manifest was stored once, with update 0.
func TestUpdaterResolvesToTheNewest(t *testing.T) {
	ctx := context.Background()
	st := memstore.New(redundancy.MEDIUM)
	s := feed.KeySigner(newKey(t))
	topic := feed.StreamTopic(s.Address(), "import")
	u, err := feed.NewUpdater(ctx, st, s, topic, redundancy.MEDIUM, 0)
	require.NoError(t, err)
	lookup := sequence.NewFinder(st.Chunks, feeds.New(topic[:], s.Address()))
	for i := range 3 {
		manifestRoot, err := cac.New([]byte(fmt.Sprintf("manifest %d", i)))
		require.NoError(t, err)
		require.NoError(t, st.Chunks.Put(ctx, manifestRoot))
		stored, err := u.Update(ctx, manifestRoot.Address())
		require.NoError(t, err)
		require.Equal(t, uint64(i), stored.Index)
		require.Equal(t, u.Manifest(), stored.Manifest)
		require.Equal(t, uint64(i+1), u.Next())

		ch, cur, _, err := lookup.At(ctx, time.Now().Unix(), 0)
		require.NoError(t, err)
		require.Equal(t, fmt.Sprint(i), cur.String())
		wrapped, err := feeds.GetWrappedChunk(ctx, st.Chunks, ch, true)
		require.NoError(t, err)
		require.Equal(t, manifestRoot.Address(), wrapped.Address(), "update %d resolves to the newest manifest", i)
	}
	require.Equal(t, 1, st.Uploads(u.Manifest()), "the feed manifest is stored once")
	require.Equal(t, 3, st.SOCs())
	has, err := st.Chunks.Has(ctx, u.Manifest())
	require.NoError(t, err)
	require.True(t, has)
}

// TestStoreRefusesBadUpdates: a worker stores an update
// only next to the manifest it points at, and only if the owner signed it.
func TestStoreRefusesBadUpdates(t *testing.T) {
	ctx := context.Background()
	s := feed.KeySigner(newKey(t))
	topic := feed.StreamTopic(common.Address{1}, "m")
	u, err := feed.NewUpdate(s, topic, 0, ref(1), time.Now())
	require.NoError(t, err)

	st := memstore.New(redundancy.NONE)
	_, err = feed.Store(ctx, st, u, ref(2), redundancy.NONE)
	require.ErrorIs(t, err, feed.ErrWrongReference)

	forged := u
	forged.Owner = feed.KeySigner(newKey(t)).Address()
	_, err = feed.Store(ctx, st, forged, ref(1), redundancy.NONE)
	require.ErrorIs(t, err, feed.ErrWrongSigner)
	require.Zero(t, st.SOCs(), "nothing stored")
	require.Zero(t, st.Files())
}
