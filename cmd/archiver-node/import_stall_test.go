package main

import (
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/bee"
	"github.com/lpswarm/archiver/hlsimport"
)

// TestImportStallFlags: -sourceStallTimeout and -beeStallTimeout reach the
// import, with their defaults, and non-positive values are usage errors.
func TestImportStallFlags(t *testing.T) {
	tests := []struct {
		name          string
		args          []string
		source, beeTO time.Duration
		wantErr       bool
	}{
		{"defaults", nil, hlsimport.DefaultSourceStallTimeout, bee.DefaultStallTimeout, false},
		{"set", []string{"-sourceStallTimeout", "5s", "-beeStallTimeout", "2m"}, 5 * time.Second, 2 * time.Minute, false},
		{"zero source", []string{"-sourceStallTimeout", "0"}, 0, 0, true},
		{"negative bee", []string{"-beeStallTimeout", "-1s"}, 0, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append([]string{"-postageBatch", "ab"}, tc.args...), "https://media.example/master.m3u8")
			c, err := parseImport(args, io.Discard)
			if tc.wantErr {
				require.ErrorIs(t, err, errUsage)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.source, c.sourceStall)
			require.Equal(t, tc.beeTO, c.beeStall)
		})
	}
}
