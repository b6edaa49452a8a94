package plugin

import (
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/lpswarm/archiver/proto/archiverpb"
)

// Status is a stream's archive as GET /archive/status answers it on the
// CLI port of an orchestrator or a broadcaster.
type Status struct {
	ManifestID string `json:"manifestID"`
	// Sender is the broadcaster's address (the zero address offchain).
	Sender string `json:"sender,omitempty"`
	// Orchestrator is the service URI that archived the stream (on a
	// broadcaster).
	Orchestrator string `json:"orchestrator,omitempty"`
	// State is "live" or "ended"; Final is true once the final manifest
	// (ENDLIST) is published.
	State string `json:"state"`
	Final bool   `json:"final"`
	// Reference is the latest published manifest; URL plays it.
	Reference string `json:"reference,omitempty"`
	URL       string `json:"url,omitempty"`
	// FeedURL always plays the stream's latest manifest, when the
	// orchestrator keeps a feed.
	FeedURL       string          `json:"feedUrl,omitempty"`
	ArchivedBytes uint64          `json:"archivedBytes"`
	Segments      []SegmentStatus `json:"segments"`
	Gaps          []Gap           `json:"gaps"`
	// Sessions are the go-livepeer sessions that carried the stream and
	// what each paid for archiving (on chain; empty offchain).
	Sessions []SessionAccount `json:"sessions,omitempty"`
}

// SegmentStatus is one archived file: a segment of one rendition ("source"
// is the broadcaster's own).
type SegmentStatus struct {
	Rendition string `json:"rendition"`
	Seq       int64  `json:"seq"`
	State     string `json:"state"`
	Reference string `json:"reference,omitempty"`
	Bytes     uint64 `json:"bytes"`
}

// Gap is a segment that is not archived, and why.
type Gap struct {
	Rendition string `json:"rendition,omitempty"`
	Seq       int64  `json:"seq"`
	Reason    string `json:"reason"`
}

// statusFrom converts the orchestrator's status to the JSON form, with URLs
// on gateway.
func statusFrom(st *archiverpb.ArchiveStatus, gateway string) *Status {
	out := &Status{ManifestID: string(st.GetManifestId()), State: st.GetState(), Final: st.GetFinal(),
		ArchivedBytes: st.GetArchivedBytes(), Segments: []SegmentStatus{}, Gaps: []Gap{}}
	if ref := st.GetManifestReference(); len(ref) > 0 {
		out.Reference = hex.EncodeToString(ref)
		out.URL = PlayURL(gateway, out.Reference)
	}
	if ref := st.GetFeedManifestReference(); len(ref) > 0 {
		out.FeedURL = PlayURL(gateway, hex.EncodeToString(ref))
	}
	for _, s := range st.GetSegments() {
		if s.GetState() == "gap" {
			out.Gaps = append(out.Gaps, Gap{Rendition: s.GetRendition(), Seq: s.GetSeq(), Reason: s.GetError()})
			continue
		}
		seg := SegmentStatus{Rendition: s.GetRendition(), Seq: s.GetSeq(), State: s.GetState(), Bytes: s.GetBytes()}
		if ref := s.GetReference(); len(ref) > 0 {
			seg.Reference = hex.EncodeToString(ref)
		}
		out.Segments = append(out.Segments, seg)
	}
	return out
}

// PlayURL is where a manifest plays: <gateway>/bzz/<ref>/index.m3u8.
func PlayURL(gateway, ref string) string {
	return strings.TrimRight(gateway, "/") + "/bzz/" + ref + "/index.m3u8"
}

// writeJSON answers v as JSON with code.
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers {"error": msg} with code.
func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}
