package lpwire

import (
	"crypto/ecdsa"
	"fmt"

	"github.com/ethereum/go-ethereum/accounts"
	ethcommon "github.com/ethereum/go-ethereum/common"
	ethcrypto "github.com/ethereum/go-ethereum/crypto"
	lpcrypto "github.com/livepeer/go-livepeer/crypto"
)

// ethSign is go-livepeer's accountManager.Sign (eth/accountmanager.go:
// 159-161) and signHash (eth/accountmanager.go:179-193): the EIP-191
// personal-message hash of msg, signed, with V moved from 0/1 to 27/28.
// A nil key is an off-chain node, which signs nothing and returns an empty
// signature (core/broadcaster.go:15-16).
func ethSign(key *ecdsa.PrivateKey, msg []byte) ([]byte, error) {
	if key == nil {
		return []byte{}, nil
	}
	sig, err := ethcrypto.Sign(accounts.TextHash(msg), key)
	if err != nil {
		return nil, fmt.Errorf("lpwire: sign: %w", err)
	}
	if v := sig[64]; v == 0 || v == 1 {
		sig[64] = v + 27
	}
	return sig, nil
}

// ethVerify is go-livepeer's own crypto.VerifySig (crypto/verify.go:19-26):
// it applies accounts.TextHash to msg itself, and rejects signatures whose
// length is not 65, whose S is in the upper half of the curve order or whose
// V is not 27/28 (crypto/verify.go:28-55). It is imported rather than
// re-implemented because that package builds without cgo.
func ethVerify(addr ethcommon.Address, msg, sig []byte) bool {
	return lpcrypto.VerifySig(addr, msg, sig)
}

// SignMessage signs msg as a go-livepeer node's Ethereum account does
// (eth/accountmanager.go Sign): the broadcaster's GetOrchestrator request
// signs its own address in hex this way (server/rpc.go verifyOrchestratorReq).
func SignMessage(key *ecdsa.PrivateKey, msg []byte) ([]byte, error) { return ethSign(key, msg) }

// VerifyMessage checks a SignMessage signature as go-livepeer's
// crypto.VerifySig does.
func VerifyMessage(addr ethcommon.Address, msg, sig []byte) bool { return ethVerify(addr, msg, sig) }
