package postage

import (
	"crypto/rand"
	"testing"

	"github.com/ethersphere/bee/v2/pkg/crypto"
	"github.com/stretchr/testify/require"
)

// TestSignMatchesBee pins signPrefixed to Bee's own signer byte for byte
// (both use deterministic RFC 6979 nonces), so stamps are what Bee would
// have produced with the same key.
func TestSignMatchesBee(t *testing.T) {
	key := newKey(t)
	bee := crypto.NewDefaultSigner(key)
	for range 100 {
		digest := make([]byte, 32)
		_, err := rand.Read(digest)
		require.NoError(t, err)
		want, err := bee.Sign(digest)
		require.NoError(t, err)
		got, err := signPrefixed(digest, key)
		require.NoError(t, err)
		require.Equal(t, want, got)
	}
}
