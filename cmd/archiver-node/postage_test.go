package main

import (
	"context"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts/keystore"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/bee"
	"github.com/lpswarm/archiver/postage"
	"github.com/lpswarm/archiver/postage/onchain"
)

func TestDescribeBatch(t *testing.T) {
	b := bee.Batch{BatchID: "ab", Depth: 24, BucketDepth: 16, ImmutableFlag: true, Utilization: 128,
		Amount: bee.BigInt{Int: big.NewInt(414_720_000)}, BatchTTL: 86400*3 + 7200, Usable: true}
	got := describeBatch(b)
	require.Contains(t, got, "depth        24 (bucket depth 16), immutable")
	require.Contains(t, got, "utilization  50.00 % of the fullest bucket") // 128 of 2^(24-16)
	// 2^24 × 4 KiB = 68.72 GB; the docs' effective volume at depth 24 is 47.06 GB, half of it left.
	require.Contains(t, got, "capacity     68.72 GB theoretical, 47.06 GB effective, about 23.53 GB left")
	require.Contains(t, got, "ttl          3 days 2 hours")
	// 414,720,000 × 2^24 PLUR = 6,957,847,019,520,000 PLUR = 0.695784701952 xBZZ
	require.Contains(t, got, "cost         0.695784701952 xBZZ")
}

func TestDescribeChainBatch(t *testing.T) {
	b := onchain.Batch{ID: [32]byte{0xab}, Owner: common.HexToAddress("0x00000000000000000000000000000000000000aa"),
		Depth: 19, BucketDepth: 16, RemainingBalance: big.NewInt(1_000_000_000), Price: big.NewInt(24000),
		Block: 77, TTL: 41666*time.Second + 666*time.Millisecond}
	got := describeChainBatch(b, "/state", postage.BatchUsage{Depth: 17, MaxBucketCount: 3, Issued: 9000}, true)
	require.Contains(t, got, "depth        19 (bucket depth 16), mutable\n")
	require.Contains(t, got, "block        77\n")
	// 1e9 × 2^19 PLUR = 5.24288e14 PLUR.
	require.Contains(t, got, "balance      1000000000 PLUR per chunk left, 0.0524288 xBZZ in all\n")
	require.Contains(t, got, "ttl          11 hours 34 minutes\n")
	// The chain's depth counts, not the state's: 3 of 8 slots.
	require.Contains(t, got, "utilization  37.50 % of the fullest bucket (3 in 8; 9000 stamps issued, issuer state /state)\n")
	// 2^19 × 4 KiB; the docs' effective volume at depth 19 is 112.06 MB, 5/8 of it left.
	require.Contains(t, got, "capacity     2.15 GB theoretical, 112.06 MB effective, about 70.04 MB left\n")

	got = describeChainBatch(b, "/state", postage.BatchUsage{}, false)
	require.Contains(t, got, "utilization  unknown: no issuer state for this batch in /state\n")
}

// TestPostageUsageErrors: flag mistakes are usage errors (exit 2), found
// before any key is decrypted or any chain is dialled; a wrong password
// fails before the chain is dialled.
func TestPostageUsageErrors(t *testing.T) {
	key := filepath.Join(t.TempDir(), "key.json")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "postage needs one of buy, topup, dilute, status"},
		{[]string{"sell"}, "postage needs one of"},
		{[]string{"buy", "-depth", "20", "-amount", "1"}, "-postageEthUrl is required"},
		{[]string{"buy", "-postageEthUrl", "http://127.0.0.1:1", "-depth", "20", "-amount", "1"}, "-ethKeystorePath is required"},
		{[]string{"buy", "-postageEthUrl", "http://127.0.0.1:1", "-ethKeystorePath", key, "-amount", "1"}, "-depth is required"},
		{[]string{"buy", "-postageEthUrl", "http://127.0.0.1:1", "-ethKeystorePath", key, "-depth", "20"}, "give one of -amount and -ttl"},
		{[]string{"buy", "-postageEthUrl", "http://127.0.0.1:1", "-ethKeystorePath", key, "-depth", "20", "-amount", "1", "-ttl", "1h"}, "give one of -amount and -ttl"},
		{[]string{"topup", "-postageEthUrl", "http://127.0.0.1:1", "-ethKeystorePath", key, "-amount", "1"}, "-postageBatch is required"},
		{[]string{"dilute", "-postageEthUrl", "http://127.0.0.1:1", "-ethKeystorePath", key, "-postageBatch", "ab"}, "-depth is required"},
		{[]string{"status"}, "-postageBatch is required"},
		{[]string{"status", "-postageBatch", "ab", "extra"}, "unexpected arguments"},
	} {
		err := run(context.Background(), nil, append([]string{"postage"}, tc.args...), io.Discard, io.Discard)
		require.ErrorIs(t, err, errUsage, "%v", tc.args)
		require.ErrorContains(t, err, tc.want, "%v", tc.args)
	}
}

func TestPostageWrongPasswordSendsNothing(t *testing.T) {
	dir := t.TempDir()
	priv, err := crypto.GenerateKey()
	require.NoError(t, err)
	id, err := uuid.NewRandom()
	require.NoError(t, err)
	blob, err := keystore.EncryptKey(&keystore.Key{Id: id, Address: crypto.PubkeyToAddress(priv.PublicKey), PrivateKey: priv},
		"right", keystore.LightScryptN, keystore.LightScryptP)
	require.NoError(t, err)
	key := filepath.Join(dir, "key.json")
	require.NoError(t, os.WriteFile(key, blob, 0o600))

	// Nothing listens on the URL: the password is checked before dialling.
	var stdout strings.Builder
	err = run(context.Background(), nil, []string{"postage", "topup", "-postageEthUrl", "http://127.0.0.1:1", "-ethKeystorePath", key,
		"-ethPassword", "wrong", "-postageBatch", strings.Repeat("ab", 32), "-amount", "1"}, &stdout, io.Discard)
	require.ErrorIs(t, err, postage.ErrWrongPassword)
	require.NotErrorIs(t, err, errUsage)
	require.Empty(t, stdout.String())
}
