package plugin

import (
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/proto/archiverpb"
)

func TestStatusFrom(t *testing.T) {
	manifest, feed := ref(0xab), ref(0xfe)
	tests := []struct {
		name string
		in   *archiverpb.ArchiveStatus
		want *Status
	}{
		{
			name: "empty",
			in:   &archiverpb.ArchiveStatus{ManifestId: []byte("s1"), State: "live"},
			want: &Status{ManifestID: "s1", State: "live", Segments: []SegmentStatus{}, Gaps: []Gap{}},
		},
		{
			name: "nil",
			in:   nil,
			want: &Status{Segments: []SegmentStatus{}, Gaps: []Gap{}},
		},
		{
			name: "published, with feed",
			in: &archiverpb.ArchiveStatus{ManifestId: []byte("s1"), State: "ended", Final: true, ArchivedBytes: 30,
				ManifestReference: manifest, FeedManifestReference: feed, Gaps: 2,
				Segments: []*archiverpb.SegmentStatus{
					{Rendition: "source", Seq: 0, State: "archived", Reference: ref(1), Bytes: 20},
					{Rendition: "P240p30fps16x9", Seq: 0, State: "archived", Reference: ref(2), Bytes: 10},
					{Rendition: "source", Seq: 1, State: "gap", Error: "worker gave up", Bytes: 7},
					{Rendition: "P240p30fps16x9", Seq: 1, State: "gap"},
					{Rendition: "source", Seq: 2, State: "pending", Bytes: 5},
				}},
			want: &Status{ManifestID: "s1", State: "ended", Final: true, ArchivedBytes: 30,
				Reference: hex.EncodeToString(manifest),
				URL:       "http://bee:1633/bzz/" + hex.EncodeToString(manifest) + "/index.m3u8",
				FeedURL:   "http://bee:1633/bzz/" + hex.EncodeToString(feed) + "/index.m3u8",
				Segments: []SegmentStatus{
					{Rendition: "source", Seq: 0, State: "archived", Reference: hex.EncodeToString(ref(1)), Bytes: 20},
					{Rendition: "P240p30fps16x9", Seq: 0, State: "archived", Reference: hex.EncodeToString(ref(2)), Bytes: 10},
					{Rendition: "source", Seq: 2, State: "pending", Bytes: 5},
				},
				Gaps: []Gap{
					{Rendition: "source", Seq: 1, Reason: "worker gave up"},
					{Rendition: "P240p30fps16x9", Seq: 1},
				}},
		},
		{
			name: "feed only",
			in:   &archiverpb.ArchiveStatus{ManifestId: []byte("s1"), State: "live", FeedManifestReference: feed},
			want: &Status{ManifestID: "s1", State: "live", FeedURL: PlayURL("http://bee:1633", hex.EncodeToString(feed)),
				Segments: []SegmentStatus{}, Gaps: []Gap{}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, statusFrom(tc.in, "http://bee:1633/"))
		})
	}
}

// TestStatusJSON: the JSON field names /archive/status documents, and
// empty lists rather than null.
func TestStatusJSON(t *testing.T) {
	b, err := json.Marshal(statusFrom(&archiverpb.ArchiveStatus{ManifestId: []byte("s1"), State: "live"}, "http://bee:1633"))
	require.NoError(t, err)
	assert.JSONEq(t, `{"manifestID":"s1","state":"live","final":false,"archivedBytes":0,"segments":[],"gaps":[]}`, string(b))

	st := &Status{ManifestID: "s1", Sender: "0xA1", Orchestrator: "https://o:8935", State: "ended", Final: true,
		Reference: "ab", URL: "u", FeedURL: "f", ArchivedBytes: 3,
		Segments: []SegmentStatus{{Rendition: "source", Seq: 1, State: "archived", Reference: "cd", Bytes: 3}},
		Gaps:     []Gap{{Rendition: "source", Seq: 2, Reason: "r"}}}
	b, err = json.Marshal(st)
	require.NoError(t, err)
	assert.JSONEq(t, `{"manifestID":"s1","sender":"0xA1","orchestrator":"https://o:8935","state":"ended","final":true,
		"reference":"ab","url":"u","feedUrl":"f","archivedBytes":3,
		"segments":[{"rendition":"source","seq":1,"state":"archived","reference":"cd","bytes":3}],
		"gaps":[{"rendition":"source","seq":2,"reason":"r"}]}`, string(b))
}

func TestPlayURL(t *testing.T) {
	tests := []struct{ gateway, want string }{
		{"http://127.0.0.1:1633", "http://127.0.0.1:1633/bzz/abcd/index.m3u8"},
		{"http://127.0.0.1:1633/", "http://127.0.0.1:1633/bzz/abcd/index.m3u8"},
		{"http://127.0.0.1:1633//", "http://127.0.0.1:1633/bzz/abcd/index.m3u8"},
		{"https://gateway.example/swarm/", "https://gateway.example/swarm/bzz/abcd/index.m3u8"},
		{"", "/bzz/abcd/index.m3u8"},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.want, PlayURL(tc.gateway, "abcd"), "gateway %q", tc.gateway)
	}
	assert.Equal(t, DefaultGateway+"/bzz/abcd/index.m3u8", PlayURL(DefaultGateway, "abcd"))
}

func TestWriteError(t *testing.T) {
	rec := httptest.NewRecorder()
	writeError(rec, http.StatusTeapot, `no "archive"`)
	assert.Equal(t, http.StatusTeapot, rec.Code)
	assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	assert.JSONEq(t, `{"error":"no \"archive\""}`, rec.Body.String())
}
