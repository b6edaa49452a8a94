package streams_test

import (
	"context"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/lpswarm/archiver/grpcsvc"
	"github.com/lpswarm/archiver/internal/streams"
	"github.com/lpswarm/archiver/proto/archiverpb"
)

func TestArchiveStatusOnlyForTheBroadcaster(t *testing.T) {
	ctx := context.Background()
	s, ix, _ := setup(t, streams.Config{})
	key, err := crypto.GenerateKey()
	require.NoError(t, err)
	sender := crypto.PubkeyToAddress(key.PublicKey)
	j := job(3)
	j.Sender = sender
	require.NoError(t, (<-s.Intake(spoolNow{}).Submit(j)).Err)
	require.NoError(t, s.Archived(ctx, j, results(t, j)))
	offer := &archiverpb.ArchiveOffer{CapabilityId: 63}
	q := grpcsvc.NewQueries(ix, func() *archiverpb.ArchiveOffer { return offer }, false)

	info, err := q.GetArchiveInfo(ctx, &archiverpb.ArchiveInfoRequest{})
	require.NoError(t, err)
	require.Equal(t, uint32(63), info.CapabilityId)

	req, err := grpcsvc.SignStatusRequest(key, "m", time.Now())
	require.NoError(t, err)
	st, err := q.GetArchiveStatus(ctx, req)
	require.NoError(t, err)
	require.Equal(t, "live", st.State)
	require.Len(t, st.Segments, 2) // source and 360p of seq 3
	require.Equal(t, "archived", st.Segments[0].State)
	require.Equal(t, results(t, j)[0].Reference, st.Segments[0].Reference)

	stranger, err := crypto.GenerateKey()
	require.NoError(t, err)
	forged, err := grpcsvc.SignStatusRequest(stranger, "m", time.Now())
	require.NoError(t, err)
	forged.Sender = sender.Bytes()
	stale, err := grpcsvc.SignStatusRequest(key, "m", time.Now().Add(-time.Hour))
	require.NoError(t, err)
	other, err := grpcsvc.SignStatusRequest(stranger, "m", time.Now()) // asks about its own (absent) stream
	require.NoError(t, err)
	for name, tc := range map[string]struct {
		req  *archiverpb.ArchiveStatusRequest
		code codes.Code
	}{
		"signed by another key": {forged, codes.PermissionDenied},
		"stale":                 {stale, codes.PermissionDenied},
		"no such stream":        {other, codes.NotFound},
		"bad sender":            {&archiverpb.ArchiveStatusRequest{ManifestId: []byte("m"), Sender: []byte{1}}, codes.InvalidArgument},
	} {
		_, err := q.GetArchiveStatus(ctx, tc.req)
		require.Equal(t, tc.code, status.Code(err), name)
	}

	public := grpcsvc.NewQueries(ix, func() *archiverpb.ArchiveOffer { return offer }, true)
	st, err = public.GetArchiveStatus(ctx, &archiverpb.ArchiveStatusRequest{ManifestId: []byte("m"), Sender: sender.Bytes()})
	require.NoError(t, err)
	require.Len(t, st.Segments, 2)
}
