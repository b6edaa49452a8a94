package streams_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/lpswarm/archiver"
	"github.com/lpswarm/archiver/grpcsvc"
	"github.com/lpswarm/archiver/internal/catalog"
	"github.com/lpswarm/archiver/internal/dispatch"
	"github.com/lpswarm/archiver/internal/streams"
	"github.com/lpswarm/archiver/proto/archiverpb"
)

// noPublisher never publishes; the fuzz targets stop before a publish.
type noPublisher struct{}

func (noPublisher) Publish(context.Context, dispatch.PublishRequest) (dispatch.Published, error) {
	return dispatch.Published{}, fmt.Errorf("not in this test")
}
func (noPublisher) FeedOwner() (common.Address, bool) { return common.Address{}, false }
func (noPublisher) StreamEnded(string)                {}

func fuzzIndex(tb testing.TB) *catalog.Index {
	ix, err := catalog.Open(filepath.Join(tb.TempDir(), "index.db"))
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = ix.Close() })
	return ix
}

// FuzzGetArchiveStatus: the status of a stream goes to its broadcaster
// only (a fresh request signed by the sender it names), or to anyone when
// the operator made statuses public; a request is refused with
// InvalidArgument, PermissionDenied or NotFound, never an internal error.
func FuzzGetArchiveStatus(f *testing.F) {
	key, err := crypto.HexToECDSA("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
	require.NoError(f, err)
	sender := crypto.PubkeyToAddress(key.PublicKey)
	ix := fuzzIndex(f)
	s := streams.New(ix, noPublisher{}, streams.Config{})
	j := job(3)
	j.Sender = sender
	require.NoError(f, (<-s.Intake(spoolNow{}).Submit(j)).Err)

	signed, err := grpcsvc.SignStatusRequest(key, "m", time.Now())
	require.NoError(f, err)
	for _, r := range []*archiverpb.ArchiveStatusRequest{signed, {ManifestId: []byte("m"), Sender: sender.Bytes()},
		{ManifestId: []byte("m"), Sender: []byte{1}}, {}} {
		raw, err := proto.Marshal(r)
		require.NoError(f, err)
		f.Add(raw, false)
		f.Add(raw, true)
	}
	offer := func() *archiverpb.ArchiveOffer { return &archiverpb.ArchiveOffer{} }
	private, public := grpcsvc.NewQueries(ix, offer, false), grpcsvc.NewQueries(ix, offer, true)
	f.Fuzz(func(t *testing.T, raw []byte, open bool) {
		var req archiverpb.ArchiveStatusRequest
		if proto.Unmarshal(raw, &req) != nil {
			return
		}
		q := private
		if open {
			q = public
		}
		st, err := q.GetArchiveStatus(context.Background(), &req)
		if err != nil {
			require.Contains(t, []codes.Code{codes.InvalidArgument, codes.PermissionDenied, codes.NotFound}, status.Code(err), "%v", err)
			require.Nil(t, st)
			return
		}
		require.Equal(t, sender.Bytes(), req.GetSender(), "the only stream is this sender's")
		require.Equal(t, "m", string(req.GetManifestId()))
		require.Equal(t, req.GetManifestId(), st.GetManifestId())
		if open {
			return
		}
		// Checked without the package's verifier: fresh, and signed by the
		// sender over this manifest id and timestamp.
		require.LessOrEqual(t, time.Since(time.Unix(req.GetTimestampUnix(), 0)).Abs(), grpcsvc.StatusFreshness+time.Second)
		sig := bytes.Clone(req.GetSig())
		require.Len(t, sig, 65)
		if sig[64] >= 27 {
			sig[64] -= 27
		}
		pub, err := crypto.SigToPub(accounts.TextHash(grpcsvc.StatusMessage(req.GetManifestId(), req.GetTimestampUnix())), sig)
		require.NoError(t, err)
		require.Equal(t, sender, crypto.PubkeyToAddress(*pub), "status given for a request the sender did not sign")
	})
}

// FuzzIntake: the decorator hands every archived segment to the intake,
// rendition names being the broadcaster's profile names. A job is either
// recorded pending in every file, or refused leaving nothing pending: a
// pending record nobody will archive would keep its stream from ever
// finishing.
func FuzzIntake(f *testing.F) {
	for _, names := range [][2]string{{"P720p30fps16x9", "P360p30fps16x9"}, {"720p", "720p"}, {"source", "a"},
		{"720p high", "b"}, {"../x", "c"}, {"", "d"}} {
		f.Add(names[0], names[1], int64(1))
	}
	ix := fuzzIndex(f)
	s := streams.New(ix, noPublisher{}, streams.Config{})
	in := s.Intake(spoolNow{})
	var n atomic.Int64
	f.Fuzz(func(t *testing.T, a, b string, seq int64) {
		// A stream of its own per input: earlier inputs' records do not
		// matter here.
		id := catalog.StreamID{ManifestID: fmt.Sprintf("fuzz-%d", n.Add(1)), Sender: common.Address{1}}
		j := archiver.Job{Sender: id.Sender, ManifestID: archiver.ManifestID(id.ManifestID), Seq: seq, Duration: 2 * time.Second,
			Source: []byte("source"), Renditions: []archiver.Rendition{{Name: a, Data: []byte("a")}, {Name: b, Data: []byte("b")}}}
		err := (<-in.Submit(j)).Err
		pending, perr := ix.Pending(id)
		if err != nil {
			if perr == nil {
				require.Empty(t, pending, "a refused job left records pending: %v", err)
			}
			return
		}
		require.NoError(t, perr)
		require.Len(t, pending, 3, "every file of an accepted job is pending")
	})
}

// TestIntakeRefusesBadNamesWhole is the regression test of the fuzzer's
// find (testdata/fuzz/FuzzIntake): a profile name the index refuses left
// the job's source pending for good.
func TestIntakeRefusesBadNamesWhole(t *testing.T) {
	tests := []struct {
		name  string
		names []string
		ok    bool
	}{
		{"profile names", []string{"P720p30fps16x9", "P360p30fps16x9"}, true},
		{"no renditions", nil, true},
		{"a space", []string{"720p high"}, false},
		{"a path", []string{"ok", "../x"}, false},
		{"empty", []string{""}, false},
		{"one name twice", []string{"720p", "720p"}, false},
		{"the source's name", []string{"source"}, false},
	}
	ix := fuzzIndex(t)
	in := streams.New(ix, noPublisher{}, streams.Config{}).Intake(spoolNow{})
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id := catalog.StreamID{ManifestID: fmt.Sprintf("s%d", i), Sender: common.Address{1}}
			j := archiver.Job{Sender: id.Sender, ManifestID: archiver.ManifestID(id.ManifestID), Seq: 1, Source: []byte("s")}
			for k, n := range tc.names {
				j.Renditions = append(j.Renditions, archiver.Rendition{Name: n, Data: []byte{byte(k)}})
			}
			err := (<-in.Submit(j)).Err
			pending, perr := ix.Pending(id)
			if tc.ok {
				require.NoError(t, err)
				require.NoError(t, perr)
				require.Len(t, pending, 1+len(tc.names))
				return
			}
			require.ErrorIs(t, err, catalog.ErrInvalid)
			if perr == nil {
				require.Empty(t, pending)
			}
		})
	}
}

// TestArchiveStatusBadManifestID is the regression test of the fuzzer's
// find (testdata/fuzz/FuzzGetArchiveStatus): a manifest id no stream can
// have was answered as an internal error.
func TestArchiveStatusBadManifestID(t *testing.T) {
	q := grpcsvc.NewQueries(fuzzIndex(t), func() *archiverpb.ArchiveOffer { return nil }, true)
	for _, id := range [][]byte{nil, bytes.Repeat([]byte("m"), 1025)} {
		_, err := q.GetArchiveStatus(context.Background(), &archiverpb.ArchiveStatusRequest{ManifestId: id, Sender: common.Address{1}.Bytes()})
		require.Equal(t, codes.InvalidArgument, status.Code(err), "%d bytes: %v", len(id), err)
	}
}
