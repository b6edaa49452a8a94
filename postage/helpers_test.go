package postage

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"math/big"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	ethcrypto "github.com/ethereum/go-ethereum/crypto"
	"github.com/ethersphere/bee/v2/pkg/swarm"
	"github.com/stretchr/testify/require"
)

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ethcrypto.GenerateKey()
	require.NoError(t, err)
	return key
}

func ownerOf(key *ecdsa.PrivateKey) common.Address {
	return ethcrypto.PubkeyToAddress(key.PublicKey)
}

// idFromSeed derives a stable, non-zero batch ID.
func idFromSeed(seed string) [32]byte {
	return sha256.Sum256([]byte(seed))
}

func testBatch(owner common.Address, seed string, depth, bucketDepth uint8, immutable bool) Batch {
	return Batch{
		ID:          idFromSeed(seed),
		Owner:       owner,
		Depth:       depth,
		BucketDepth: bucketDepth,
		Amount:      big.NewInt(414_720_000),
		Immutable:   immutable,
	}
}

func randomAddress(t testing.TB) swarm.Address {
	t.Helper()
	b := make([]byte, swarm.HashSize)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return swarm.NewAddress(b)
}

// addressInBucket crafts an address whose top bucketDepth bits are bucket.
func addressInBucket(t testing.TB, bucket uint32, bucketDepth uint8) swarm.Address {
	t.Helper()
	a := randomAddress(t).Bytes()
	low := binary.BigEndian.Uint32(a[:4]) & (1<<(32-bucketDepth) - 1)
	binary.BigEndian.PutUint32(a[:4], bucket<<(32-bucketDepth)|low)
	return swarm.NewAddress(a)
}

func openIssuer(t testing.TB, dir string, key *ecdsa.PrivateKey, batches ...Batch) *Issuer {
	t.Helper()
	is, err := OpenIssuer(dir, key, batches)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, is.Close()) })
	return is
}
