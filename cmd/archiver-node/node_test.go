package main

import (
	"io"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNodeRequiredFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-archiverSecret", "s", "-postageBatch", "ab"}, "-orchAddr is required"},
		{[]string{"-orchAddr", "a:1", "-postageBatch", "ab"}, "-archiverSecret is required"},
		{[]string{"-orchAddr", "a:1", "-archiverSecret", "s", "-capacity", "0", "-postageBatch", "ab"}, "-capacity must be at least 1"},
		{[]string{"-orchAddr", "a:1", "-archiverSecret", "s"}, "a postage batch is required"},
		{[]string{"-orchAddr", "a:1", "-archiverSecret", "s", "-stamping", "client"}, "needs -ethKeystorePath"},
		{[]string{"-orchAddr", "a:1", "-archiverSecret", "s", "-postageBatch", "ab", "-postageTopupTTL", "24h"}, "-postageTopupCap"},
		{[]string{"-orchAddr", "a:1", "-archiverSecret", "s", "-postageBatch", "ab", "-postageTopupTTL", "24h", "-postageTopupCap", "-5"}, "positive number of PLUR"},
		{[]string{"-orchAddr", "a:1", "-archiverSecret", "s", "-postageBatch", "ab", "-postageTopupCap", "5"}, "-postageTopupCap needs -postageTopupTTL"},
		{[]string{"-orchAddr", "a:1", "-archiverSecret", "s", "-postageBatch", "ab", "-postageBlockTime", "0s"}, "must be positive"},
		{[]string{"-orchAddr", "a:1", "-archiverSecret", "s", "-stamping", "client", "-ethKeystorePath", "k", "-postageTopupTTL", "24h",
			"-postageTopupCap", "5"}, "needs -postageEthUrl"},
	} {
		_, err := parseNode(tc.args, io.Discard)
		require.ErrorContains(t, err, tc.want)
		require.ErrorIs(t, err, errUsage)
	}
}
