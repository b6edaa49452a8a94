package postage

import (
	"crypto/ecdsa"
	"errors"
	"fmt"
	"os"

	"github.com/ethereum/go-ethereum/accounts/keystore"
)

// ErrWrongPassword reports a keystore file that does not decrypt with the
// given password. It also matches keystore.ErrDecrypt.
var ErrWrongPassword = fmt.Errorf("wrong keystore password: %w", keystore.ErrDecrypt)

// LoadKey decrypts an Ethereum v3 keystore JSON file, such as go-ethereum's
// keystore files or Bee's keys/swarm.key. A missing file yields an error
// matching fs.ErrNotExist; a bad password one matching ErrWrongPassword.
func LoadKey(path, password string) (*ecdsa.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load key: %w", err)
	}
	key, err := keystore.DecryptKey(data, password)
	if errors.Is(err, keystore.ErrDecrypt) {
		return nil, fmt.Errorf("load key %s: %w", path, ErrWrongPassword)
	}
	if err != nil {
		return nil, fmt.Errorf("load key %s: %w", path, err)
	}
	return key.PrivateKey, nil
}
