package postage

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/ethereum/go-ethereum/accounts/keystore"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

func writeKeystore(t *testing.T, password string) (path string, want *keystore.Key) {
	t.Helper()
	priv := newKey(t)
	key := &keystore.Key{Id: uuid.New(), Address: ownerOf(priv), PrivateKey: priv}
	data, err := keystore.EncryptKey(key, password, keystore.LightScryptN, keystore.LightScryptP)
	require.NoError(t, err)
	path = filepath.Join(t.TempDir(), "key.json")
	require.NoError(t, os.WriteFile(path, data, 0o600))
	return path, key
}

func TestLoadKey(t *testing.T) {
	path, want := writeKeystore(t, "hunter2")
	garbage := filepath.Join(t.TempDir(), "garbage.json")
	require.NoError(t, os.WriteFile(garbage, []byte("{not json"), 0o600))

	tests := []struct {
		name     string
		path     string
		password string
		ok       bool
		is       []error // targets errors.Is must match; none for a generic failure
	}{
		{"right password", path, "hunter2", true, nil},
		{"wrong password", path, "hunter3", false, []error{ErrWrongPassword, keystore.ErrDecrypt}},
		{"missing file", filepath.Join(t.TempDir(), "absent.json"), "hunter2", false, []error{fs.ErrNotExist}},
		{"not a keystore", garbage, "hunter2", false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := LoadKey(tt.path, tt.password)
			if tt.ok {
				require.NoError(t, err)
				require.Equal(t, want.PrivateKey.D, got.D)
				require.Equal(t, want.Address, ownerOf(got))
				return
			}
			require.Error(t, err)
			require.Contains(t, err.Error(), filepath.Base(tt.path))
			for _, target := range tt.is {
				require.ErrorIs(t, err, target)
			}
			if len(tt.is) == 0 {
				require.NotErrorIs(t, err, ErrWrongPassword)
			}
		})
	}
}
