package dispatch

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzLeaseTable: the lease table is read back from disk at startup. A
// table is refused, or every worker it names and every worker admitted
// after it gets a range of its own inside the buckets: two workers with
// one range would stamp the same indices, and Bee keeps only the newer
// chunk.
func FuzzLeaseTable(f *testing.F) {
	batch := [32]byte{1}
	good, err := json.Marshal(leaseDoc{Batch: "01" + string(bytes.Repeat([]byte("0"), 62)), Slot: 256, Workers: map[string]int{"a": 0, "b": 1}})
	require.NoError(f, err)
	for _, doc := range []string{string(good), `{}`, `{"batch":"x"}`, `null`, `{"workers":{"a":1}}`, `{"workers":{"a":0,"b":0}}`, `{"workers":{"a":-1}}`} {
		f.Add([]byte(doc), "c", "d")
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, doc []byte, w1, w2 string) {
		// Batch and slot as the file names them, so the fuzzer reaches the
		// worker map without guessing 64 hex digits.
		var d map[string]any
		if json.Unmarshal(doc, &d) == nil && d != nil {
			d["batch"], d["slot"] = "01"+string(bytes.Repeat([]byte("0"), 62)), 256
			doc, _ = json.Marshal(d)
		}
		path := filepath.Join(dir, "leases.json")
		require.NoError(t, os.WriteFile(path, doc, 0o600))
		table, err := OpenLeases(LeaseConfig{Batch: batch, BucketCapacity: 1 << 10, Slot: 256, Path: path})
		if err != nil {
			return
		}
		ranges := map[uint32]string{}
		names := []string{w1, w2}
		for name := range table.doc.Workers {
			names = append(names, name)
		}
		for _, name := range names {
			l, err := table.Lease(name)
			if err != nil {
				require.ErrorIs(t, err, ErrNoLease)
				continue
			}
			require.Less(t, l.From, l.To)
			require.LessOrEqual(t, l.To, uint32(1<<10))
			if other, ok := ranges[l.From]; ok {
				require.Equal(t, other, name, "workers %q and %q share the range at %d", other, name, l.From)
			}
			ranges[l.From] = name
		}
	})
}

// TestLeaseTableRefusesDamage: a table that still parses but whose slots
// are not the 0, 1, 2, … lease hands out is refused at startup, as a
// damaged issuer state is, instead of giving two workers one range.
func TestLeaseTableRefusesDamage(t *testing.T) {
	batch := `"batch":"01` + string(bytes.Repeat([]byte("0"), 62)) + `","slot":256`
	tests := []struct {
		name, doc string
		ok        bool
	}{
		{"written by lease", `{` + batch + `,"workers":{"a":0,"b":1}}`, true},
		{"no workers yet", `{` + batch + `}`, true},
		{"a flipped digit: one range twice", `{` + batch + `,"workers":{"a":0,"b":0}}`, false},
		{"a gap: the next worker gets a's range", `{` + batch + `,"workers":{"a":1}}`, false},
		{"negative slot", `{` + batch + `,"workers":{"a":-1}}`, false},
		{"more ranges than the buckets hold", `{` + batch + `,"workers":{"a":0,"b":1,"c":2,"d":3,"e":4}}`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "leases.json")
			require.NoError(t, os.WriteFile(path, []byte(tc.doc), 0o600))
			_, err := OpenLeases(LeaseConfig{Batch: [32]byte{1}, BucketCapacity: 1 << 10, Slot: 256, Path: path})
			if tc.ok {
				require.NoError(t, err)
				return
			}
			require.ErrorContains(t, err, "damaged")
		})
	}
}
