package main

import (
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/hlsimport"
)

// TestImportReadFlags: -maxConcurrentReads and -allowOrigins reach the
// import parsed, and bad values are usage errors.
func TestImportReadFlags(t *testing.T) {
	base := []string{"-postageBatch", "ab"}
	tests := []struct {
		name    string
		args    []string
		reads   int
		origins []string
		wantErr string // "" means parsed
	}{
		{"defaults", nil, hlsimport.DefaultMaxConcurrentReads, nil, ""},
		{"set", []string{"-maxConcurrentReads", "2", "-allowOrigins", "https://CDN.example, http://10.0.0.5:8080"},
			2, []string{"https://cdn.example:443", "http://10.0.0.5:8080"}, ""},
		{"no reads", []string{"-maxConcurrentReads", "0"}, 0, nil, "-maxConcurrentReads must be at least 1"},
		{"origin with a path", []string{"-allowOrigins", "https://cdn.example/live"}, 0, nil, "-allowOrigins"},
		{"origin without scheme", []string{"-allowOrigins", "cdn.example:443"}, 0, nil, "-allowOrigins"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parseImport(append(append(append([]string(nil), base...), tc.args...), "https://media.example/master.m3u8"), io.Discard)
			if tc.wantErr != "" {
				require.ErrorIs(t, err, errUsage)
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.reads, c.maxReads)
			require.Equal(t, tc.origins, c.origins)
		})
	}
}
