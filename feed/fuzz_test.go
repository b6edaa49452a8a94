package feed_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	"github.com/ethersphere/bee/v2/pkg/soc"
	"github.com/ethersphere/bee/v2/pkg/swarm"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/feed"
	"github.com/lpswarm/archiver/internal/memstore"
)

// chunks counts what st holds.
func chunks(t *testing.T, st *memstore.Store) int {
	n := 0
	require.NoError(t, st.Chunks.Iterate(context.Background(), func(swarm.Chunk) (bool, error) { n++; return false, nil }))
	return n
}

// FuzzVerifyUpdate: a worker checks the feed update a publish job carries
// before storing anything. An update is refused as ErrMalformed or
// ErrWrongSigner and then nothing is stored; an accepted one is a
// single-owner chunk Bee's own validator accepts, stored only beside the
// manifest it points at.
func FuzzVerifyUpdate(f *testing.F) {
	key, err := crypto.HexToECDSA("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
	require.NoError(f, err)
	signer := feed.KeySigner(key)
	topic := feed.StreamTopic(common.Address{7}, "stream")
	for _, index := range []uint64{0, 5, 1 << 63} {
		u, err := feed.NewUpdate(signer, topic, index, ref(byte(index)), time.Unix(1_700_000_000, 0))
		require.NoError(f, err)
		f.Add(u.Owner.Bytes(), u.Topic[:], u.Index, u.Signature, u.Payload)
	}
	f.Add([]byte{}, []byte{}, uint64(0), []byte{}, []byte{})
	f.Fuzz(func(t *testing.T, owner, topicBytes []byte, index uint64, sig, payload []byte) {
		u := feed.Update{Owner: common.BytesToAddress(owner), Index: index, Signature: sig, Payload: payload}
		copy(u.Topic[:], topicBytes)
		ctx := context.Background()
		st := memstore.New(redundancy.NONE)
		if err := u.Verify(); err != nil {
			require.True(t, errors.Is(err, feed.ErrMalformed) || errors.Is(err, feed.ErrWrongSigner), "unexpected error kind: %v", err)
			_, err := feed.Store(ctx, st, u, ref(1), redundancy.NONE)
			require.Error(t, err)
			require.Zero(t, chunks(t, st), "a refused update stored something")
			return
		}
		ch, err := u.Chunk()
		require.NoError(t, err)
		require.True(t, soc.Valid(ch), "Bee would refuse an update we accept")
		require.True(t, ch.Address().Equal(u.Address()))

		manifest, err := u.Reference()
		require.NoError(t, err)
		other := ref(manifest.Bytes()[0] + 1)
		_, err = feed.Store(ctx, st, u, other, redundancy.NONE)
		require.ErrorIs(t, err, feed.ErrWrongReference)
		require.Zero(t, chunks(t, st), "an update for another manifest stored something")
		stored, err := feed.Store(ctx, st, u, manifest, redundancy.NONE)
		require.NoError(t, err)
		require.True(t, stored.Update.Equal(u.Address()))
		has, err := st.Chunks.Has(ctx, u.Address())
		require.NoError(t, err)
		require.True(t, has)
	})
}
