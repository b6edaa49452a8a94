package tickets

import (
	"crypto/ecdsa"
	"fmt"

	"github.com/ethereum/go-ethereum/accounts"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/livepeer/go-livepeer/pm"
)

// KeySigner is a pm.Signer over an in-memory secp256k1 key.
//
// pm verifies tickets with DefaultSigVerifier → go-livepeer crypto.VerifySig,
// which recovers the signer from accounts.TextHash(ticketHash) (the
// "\x19Ethereum Signed Message:\n32" prefix), needs a 65-byte [R||S||V]
// signature with V in {27, 28} and rejects high-S values. KeySigner produces
// exactly that, like go-livepeer's eth accountManager.Sign: go-ethereum's
// crypto.Sign emits low-S signatures with V in {0, 1}, so V is shifted by 27.
type KeySigner struct {
	key     *ecdsa.PrivateKey
	account accounts.Account
}

var _ pm.Signer = (*KeySigner)(nil)

// NewKeySigner wraps key; it fails on a key that cannot sign.
func NewKeySigner(key *ecdsa.PrivateKey) (*KeySigner, error) {
	if key == nil || key.D == nil || key.Curve != crypto.S256() {
		return nil, fmt.Errorf("%w: signing key must be a secp256k1 private key", ErrInvalidConfig)
	}
	return &KeySigner{key: key, account: accounts.Account{Address: crypto.PubkeyToAddress(key.PublicKey)}}, nil
}

// Account implements pm.Signer.
func (k *KeySigner) Account() accounts.Account { return k.account }

// Sign implements pm.Signer with an Ethereum signed-message signature.
func (k *KeySigner) Sign(msg []byte) ([]byte, error) {
	sig, err := crypto.Sign(accounts.TextHash(msg), k.key)
	if err != nil {
		return nil, err // pm wraps it with the session ID
	}
	sig[crypto.RecoveryIDOffset] += 27
	return sig, nil
}
