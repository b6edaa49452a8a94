package lpwire

import (
	"crypto/ecdsa"
	"testing"

	"github.com/ethereum/go-ethereum/accounts"
	ethcommon "github.com/ethereum/go-ethereum/common"
	ethcrypto "github.com/ethereum/go-ethereum/crypto"
	"github.com/stretchr/testify/require"
)

// Vectors of crypto/verify_test.go:10-54 (TestEcrecover, TestVerifySig):
// the message is handed to VerifySig, which applies TextHash itself.
func TestEthVerify_GoLivepeerVectors(t *testing.T) {
	addr := ethcommon.HexToAddress("3BadDb1eeE2105893136A3F96c8a963E9C6309d6")
	msg := ethcommon.FromHex("b7da355477356fc4c47fcabcf232dc77a6db9b07b7e48b76261cc55cc8fbabb3")
	sig := ethcommon.FromHex("206443228e8f784bc3a122de0d85eb3ebff82d6a79cca26c7eeb907099a6404f6dff57bc6828f28bd6cd073c89d94cf3364204679ed8365fa45b5ee6af19a9841c")
	sigHighS := ethcommon.FromHex("e742ff452d41413616a5bf43fe15dd88294e983d3d36206c2712f39083d638bde0a0fc89be718fbc1033e1d30d78be1c68081562ed2e97af876f286f3453231d1b")
	vZeroOne := append([]byte{}, sig...)
	vZeroOne[64] -= 27

	tests := []struct {
		name string
		msg  []byte
		sig  []byte
		want bool
	}{
		{"valid", msg, sig, true},
		{"other message", ethcommon.FromHex("foo"), sig, false},
		{"short signature", msg, sig[:64], false},
		{"high S", msg, sigHighS, false},
		{"V 0/1 instead of 27/28", msg, vZeroOne, false},
		{"all zero", msg, make([]byte, 65), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, ethVerify(addr, tc.msg, tc.sig))
		})
	}
}

// stubSign is server/rpc_test.go:88-107 (stubOrchestrator.Sign) ported
// literally: go-livepeer's own test model of broadcaster/orchestrator Sign,
// i.e. keccak256, TextHash, secp256k1, V+27.
func stubSign(t *testing.T, priv *ecdsa.PrivateKey, msg []byte) []byte {
	t.Helper()
	ethMsg := accounts.TextHash(ethcrypto.Keccak256(msg))
	sig, err := ethcrypto.Sign(ethMsg, priv)
	require.NoError(t, err)
	v := sig[64]
	if v == byte(0) || v == byte(1) {
		v += 27
	}
	return append(sig[:64], v)
}

// accountManagerSign is eth/accountmanager.go:159-161 (Sign) and 179-193
// (signHash) ported literally, with keyStore.SignHash as crypto.Sign.
func accountManagerSign(t *testing.T, priv *ecdsa.PrivateKey, msg []byte) []byte {
	t.Helper()
	sig, err := ethcrypto.Sign(accounts.TextHash(msg), priv)
	require.NoError(t, err)
	v := sig[64]
	if v == byte(0) || v == byte(1) {
		v += 27
	}
	return append(sig[:64], v)
}

func TestEthSign_MatchesGoLivepeer(t *testing.T) {
	key, addr := testKey(t, bKeyHex)
	for _, msg := range [][]byte{
		[]byte("foo"),
		{},
		Flatten("abcdef", 1234, HashSegment([]byte("foo")), mustStandard(t, "P720p30fps16x9")),
	} {
		// Segment signing: Broadcaster.Sign = Eth.Sign(keccak256(msg)).
		got, err := ethSign(key, ethcrypto.Keccak256(msg))
		require.NoError(t, err)
		require.Equal(t, stubSign(t, key, msg), got)
		// The orchestrator's check, core/orchestrator.go:66-71.
		require.True(t, ethVerify(addr, ethcrypto.Keccak256(msg), got))
	}

	// eth/accountmanager_test.go:139-161 (TestSign): Eth.Sign("foo")
	// verifies with crypto.VerifySig(addr, "foo", sig).
	sig, err := ethSign(key, []byte("foo"))
	require.NoError(t, err)
	require.Equal(t, accountManagerSign(t, key, []byte("foo")), sig)
	require.True(t, ethVerify(addr, []byte("foo"), sig))
}

func TestEthSign_NilKeyIsOffChain(t *testing.T) {
	sig, err := ethSign(nil, []byte("foo"))
	require.NoError(t, err)
	require.Equal(t, []byte{}, sig)
}
