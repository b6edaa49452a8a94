package capability

import (
	"encoding/base64"
	"github.com/lpswarm/archiver/internal/lpcaps"
	"net/http"
	"testing"

	lpnet "github.com/livepeer/go-livepeer/net"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/proto"
)

// TestOrchestratorInfoRoundTrip sends the advertised bit the way an
// orchestrator does: inside OrchestratorInfo, protobuf-encoded.
func TestOrchestratorInfoRoundTrip(t *testing.T) {
	for _, id := range []ID{DefaultArchiveID, 64, MaxID} {
		caps := Advertise(&lpnet.Capabilities{Bitstring: bits(0, 1, 12), Mandatories: bits(12)}, id)
		buf, err := proto.Marshal(&lpnet.OrchestratorInfo{Transcoder: "https://o:8935", Capabilities: caps})
		require.NoError(t, err)

		var got lpnet.OrchestratorInfo
		require.NoError(t, proto.Unmarshal(buf, &got))
		require.True(t, proto.Equal(caps, got.Capabilities), "id %d", id)
		require.True(t, Offers(got.Capabilities, id), "id %d", id)
		require.False(t, hasBit(got.Capabilities.Mandatories, id), "id %d", id)
	}
}

// TestSegmentHeaderRoundTrip sends the requested bit the way a broadcaster
// does: SegData, protobuf-encoded, base64 in the Livepeer-Segment header
// (server/segment_rpc.go:622-663 genSegCreds), decoded as verifySegCreds
// does (server/segment_rpc.go:342-353).
func TestSegmentHeaderRoundTrip(t *testing.T) {
	orch := Advertise(&lpnet.Capabilities{Bitstring: bits(0, 1, 12), Mandatories: bits(12)}, DefaultArchiveID)
	tests := []struct {
		name          string
		caps          *lpnet.Capabilities
		wantRequested bool
	}{
		{"requested", Request(&lpnet.Capabilities{Bitstring: bits(0, 1, 12)}, DefaultArchiveID), true},
		{"requested on empty caps", Request(nil, DefaultArchiveID), true},
		{"stripped", Strip(Request(&lpnet.Capabilities{Bitstring: bits(0, 1, 12)}, DefaultArchiveID), DefaultArchiveID), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			buf, err := proto.Marshal(&lpnet.SegData{ManifestId: []byte("stream"), Seq: 7, Capabilities: tt.caps})
			require.NoError(t, err)
			h := http.Header{}
			h.Set("Livepeer-Segment", base64.StdEncoding.EncodeToString(buf))

			raw, err := base64.StdEncoding.DecodeString(h.Get("Livepeer-Segment"))
			require.NoError(t, err)
			var seg lpnet.SegData
			require.NoError(t, proto.Unmarshal(raw, &seg))
			require.True(t, proto.Equal(tt.caps, seg.Capabilities))
			require.Equal(t, tt.wantRequested, Requested(seg.Capabilities, DefaultArchiveID))
			if tt.wantRequested {
				require.Equal(t, bit63, seg.Capabilities.Bitstring[0]&bit63, "top bit of a varint survives")
			}
		})
	}
	// The decoded segment passes the orchestrator's check only when it
	// carries AuthToken, which this orchestrator makes mandatory.
	buf, err := proto.Marshal(&lpnet.SegData{Capabilities: tests[0].caps})
	require.NoError(t, err)
	var seg lpnet.SegData
	require.NoError(t, proto.Unmarshal(buf, &seg))
	require.True(t, lpcaps.Compatible(orch, seg.Capabilities))
	require.False(t, lpcaps.Compatible(orch, tests[1].caps))
}
