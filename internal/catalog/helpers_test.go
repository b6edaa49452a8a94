package catalog

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethersphere/bee/v2/pkg/swarm"
	"github.com/stretchr/testify/require"
)

// testClock advances one second per reading, so any write that happened
// shows in UpdatedAt and an unchanged record proves no write happened.
func testClock() func() time.Time {
	var n atomic.Int64
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	return func() time.Time { return start.Add(time.Duration(n.Add(1)) * time.Second) }
}

func openTest(t testing.TB) (*Index, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "index.db")
	ix, err := Open(path, WithClock(testClock()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = ix.Close() })
	return ix, path
}

func testStream(n int) StreamID {
	return StreamID{ManifestID: fmt.Sprintf("manifest-%d", n), Sender: common.BigToAddress(common.Big1)}
}

// content names test content: the hash carries the name in clear, so
// failures print readable summaries.
func content(name string) [32]byte {
	var h [32]byte
	copy(h[:], name)
	return h
}

func ref(name string) swarm.Address {
	h := content("ref:" + name)
	return swarm.NewAddress(h[:])
}

func swarmZero() swarm.Address { return swarm.ZeroAddress }

const segBytes = 1000

// op is one call on the index; changed is Complete's result, false for
// the others.
type op func(ctx context.Context, ix *Index) (changed bool, err error)

func rendition(id StreamID, name, listing string) op {
	return func(ctx context.Context, ix *Index) (bool, error) {
		return false, ix.Rendition(ctx, id, name, []byte(listing))
	}
}

func accept(id StreamID, rend string, seq uint64, c string) op {
	return func(ctx context.Context, ix *Index) (bool, error) {
		return false, ix.Accept(ctx, id, rend, seq, content(c), segBytes, "2.000", ".ts")
	}
}

func complete(id StreamID, rend string, seq uint64, c, r string) op {
	return func(ctx context.Context, ix *Index) (bool, error) {
		return ix.Complete(ctx, id, rend, seq, content(c), ref(r), segBytes)
	}
}

func fail(id StreamID, rend string, seq uint64, reason string, final bool) op {
	return func(ctx context.Context, ix *Index) (bool, error) {
		return false, ix.Fail(ctx, id, rend, seq, reason, final)
	}
}

func end(id StreamID) op {
	return func(ctx context.Context, ix *Index) (bool, error) { return false, ix.End(ctx, id) }
}

func publish(id StreamID, r string, segments int) op {
	return func(ctx context.Context, ix *Index) (bool, error) {
		return false, ix.SetPublished(ctx, id, ref(r), segments)
	}
}

// twoRenditions registers "source" then "720p" on stream 1.
func twoRenditions() []op {
	return []op{rendition(testStream(1), "source", "src"), rendition(testStream(1), "720p", "hd")}
}

func run(t *testing.T, ix *Index, ops ...op) {
	t.Helper()
	for i, o := range ops {
		_, err := o(context.Background(), ix)
		require.NoError(t, err, "setup step %d", i)
	}
}

// summary renders a record compactly: "source/10 archived a ref:a".
func summary(r Record) string {
	s := fmt.Sprintf("%s/%d %s %s", r.Rendition, r.Seq, r.State, plain(r.ContentHash[:]))
	if !r.Reference.IsZero() {
		s += " " + plain(r.Reference.Bytes())
	}
	if r.Attempts > 0 {
		s += fmt.Sprintf(" attempts:%d", r.Attempts)
	}
	if r.Error != "" {
		s += " err:" + r.Error
	}
	return s
}

func plain(b []byte) string { return strings.TrimRight(string(b), "\x00") }

func summaries(t *testing.T, ix *Index, id StreamID) []string {
	t.Helper()
	recs, err := ix.Records(id)
	require.NoError(t, err)
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = summary(r)
	}
	return out
}

// policyCase is one row of the policy tables: setup must succeed, then act
// runs and its outcome and the stream's records are checked.
type policyCase struct {
	name        string
	setup       []op
	act         op
	wantErr     error // nil: act must succeed
	wantChanged bool
	unchanged   bool     // records must be identical, UpdatedAt included
	want        []string // summaries of stream 1's records after act
}

func runPolicy(t *testing.T, cases []policyCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ix, _ := openTest(t)
			run(t, ix, tc.setup...)
			before, _ := ix.Records(testStream(1))
			changed, err := tc.act(context.Background(), ix)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
			} else {
				require.NoError(t, err)
			}
			require.Equal(t, tc.wantChanged, changed)
			after, _ := ix.Records(testStream(1))
			if tc.unchanged {
				require.Equal(t, before, after)
			}
			if tc.want != nil {
				require.Equal(t, tc.want, summaries(t, ix, testStream(1)))
			}
		})
	}
}
