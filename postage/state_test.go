package postage

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	beepostage "github.com/ethersphere/bee/v2/pkg/postage"
	"github.com/ethersphere/bee/v2/pkg/swarm"
	"github.com/stretchr/testify/require"
)

// issueInto stamps n addresses of bucket (bucket depth 6) and returns the
// highest counter issued.
func issueInto(t *testing.T, is *Issuer, bucket uint32, n int) uint32 {
	t.Helper()
	addrs := make([]swarm.Address, n)
	for i := range addrs {
		addrs[i] = addressInBucket(t, bucket, 6)
	}
	stamps, err := is.Stamp(context.Background(), addrs)
	require.NoError(t, err)
	_, counter := beepostage.BucketIndexFromBytes(stamps[n-1].Index())
	return counter
}

func TestStateSurvivesReopen(t *testing.T) {
	key := newKey(t)
	batch := testBatch(ownerOf(key), "reopen", 14, 6, false)
	dir := t.TempDir()

	is, err := OpenIssuer(dir, key, []Batch{batch})
	require.NoError(t, err)
	last := issueInto(t, is, 5, 10)
	require.Equal(t, uint32(9), last)
	before, err := is.BucketCounters(batch.ID)
	require.NoError(t, err)
	require.NoError(t, is.Close())

	is = openIssuer(t, dir, key, batch)
	after, err := is.BucketCounters(batch.ID)
	require.NoError(t, err)
	require.Equal(t, before, after)
	require.Equal(t, uint32(10), issueInto(t, is, 5, 1))
}

func TestCorruptStateRefused(t *testing.T) {
	key := newKey(t)
	batch := testBatch(ownerOf(key), "corrupt", 14, 6, true)
	dir := t.TempDir()
	path := filepath.Join(dir, stateFileName(batch))

	is, err := OpenIssuer(dir, key, []Batch{batch})
	require.NoError(t, err)
	highest := issueInto(t, is, 33, 40)
	require.NoError(t, is.Close())
	good, err := os.ReadFile(path)
	require.NoError(t, err)

	rng := rand.New(rand.NewPCG(1, uint64(len(good))))
	var damaged [][]byte
	for _, n := range []int{0, 1, stateHeaderLen - 1, stateHeaderLen + 7, len(good) - sha256.Size, len(good) - 1} {
		damaged = append(damaged, good[:n])
	}
	for range 20 {
		damaged = append(damaged, good[:rng.IntN(len(good))])
		flipped := append([]byte(nil), good...)
		flipped[rng.IntN(len(flipped))] ^= byte(1 + rng.IntN(255))
		damaged = append(damaged, flipped)
	}
	damaged = append(damaged, append(append([]byte(nil), good...), 0))

	for i, data := range damaged {
		require.NoError(t, os.WriteFile(path, data, 0o600))
		_, err := OpenIssuer(dir, key, []Batch{batch})
		require.ErrorIs(t, err, ErrStateCorrupt, "case %d (%d bytes)", i, len(data))
		// The refused file is left for the operator, not overwritten.
		onDisk, err := os.ReadFile(path)
		require.NoError(t, err)
		require.Equal(t, data, onDisk, "case %d", i)
	}

	require.NoError(t, os.WriteFile(path, good, 0o600))
	is = openIssuer(t, dir, key, batch)
	require.Equal(t, highest+1, issueInto(t, is, 33, 1))
}

func TestStateVersionRefused(t *testing.T) {
	key := newKey(t)
	batch := testBatch(ownerOf(key), "version", 14, 6, true)
	dir := t.TempDir()
	// A well-formed file from a future format: valid checksum, version 2.
	data := encodeState(batch, make([]uint32, 1<<batch.BucketDepth), nil)
	binary.BigEndian.PutUint16(data[len(stateMagic):], stateVersion+1)
	sum := sha256.Sum256(data[:len(data)-sha256.Size])
	copy(data[len(data)-sha256.Size:], sum[:])
	require.NoError(t, os.WriteFile(filepath.Join(dir, stateFileName(batch)), data, 0o600))

	_, err := OpenIssuer(dir, key, []Batch{batch})
	require.ErrorIs(t, err, ErrStateVersion)
	require.NotErrorIs(t, err, ErrStateCorrupt)
}

func TestStateBatchMismatch(t *testing.T) {
	key := newKey(t)
	owner := ownerOf(key)
	cfg := testBatch(owner, "cfg", 14, 6, true)
	tests := []struct {
		name   string
		stored func(b Batch) Batch
		cfg    func(b Batch) Batch
	}{
		{"other batch id", func(b Batch) Batch { b.ID = idFromSeed("other"); return b }, nil},
		{"other owner", func(b Batch) Batch { b.Owner = common.Address{1}; return b }, nil},
		{"bucket depth", func(b Batch) Batch { b.BucketDepth = 5; return b }, nil},
		{"immutability", func(b Batch) Batch { b.Immutable = false; return b }, nil},
		{"shallower config", func(b Batch) Batch { b.Depth = 15; return b }, nil},
		{"immutable deepened", nil, func(b Batch) Batch { b.Depth = 15; return b }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stored, configured := cfg, cfg
			if tt.stored != nil {
				stored = tt.stored(cfg)
			}
			if tt.cfg != nil {
				configured = tt.cfg(cfg)
			}
			dir := t.TempDir()
			data := encodeState(stored, make([]uint32, 1<<stored.BucketDepth), nil)
			require.NoError(t, os.WriteFile(filepath.Join(dir, stateFileName(cfg)), data, 0o600))
			_, err := OpenIssuer(dir, key, []Batch{configured})
			require.ErrorIs(t, err, ErrBatchMismatch)
		})
	}
}

func TestStateAcceptsDilution(t *testing.T) {
	key := newKey(t)
	batch := testBatch(ownerOf(key), "dilute", 12, 6, false) // 64 per bucket
	dir := t.TempDir()
	is, err := OpenIssuer(dir, key, []Batch{batch})
	require.NoError(t, err)
	require.Equal(t, uint32(63), issueInto(t, is, 2, 64))
	_, err = is.Stamp(context.Background(), []swarm.Address{addressInBucket(t, 2, 6)})
	require.ErrorIs(t, err, ErrBucketFull)
	require.NoError(t, is.Close())

	// Bee's dilution (increaseDepth) doubles every bucket; old counters
	// stay, new indices continue after them.
	batch.Depth = 13
	is, err = OpenIssuer(dir, key, []Batch{batch})
	require.NoError(t, err)
	require.Equal(t, uint32(64), issueInto(t, is, 2, 1))
	require.NoError(t, is.Close())

	// Going back to the old depth would hand out invalid indices.
	batch.Depth = 12
	_, err = OpenIssuer(dir, key, []Batch{batch})
	require.ErrorIs(t, err, ErrBatchMismatch)
}

func TestOpenIssuerClearsTempFiles(t *testing.T) {
	key := newKey(t)
	batch := testBatch(ownerOf(key), "temps", 14, 6, true)
	dir := filepath.Join(t.TempDir(), "nested", "state")

	is, err := OpenIssuer(dir, key, []Batch{batch})
	require.NoError(t, err)
	issueInto(t, is, 1, 3)
	require.NoError(t, is.Close())

	// A crash between writing the temp file and the rename leaves this.
	temp := filepath.Join(dir, stateFileName(batch)+tempSuffix)
	require.NoError(t, os.WriteFile(temp, []byte("half a state"), 0o600))

	is = openIssuer(t, dir, key, batch)
	require.NoFileExists(t, temp)
	require.Equal(t, uint32(3), issueInto(t, is, 1, 1))
}
