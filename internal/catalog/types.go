package catalog

import (
	"strconv"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethersphere/bee/v2/pkg/swarm"
)

// State is where a record stands. The zero value is not a state, so a
// record that was never filled in cannot pass for Pending.
type State uint8

const (
	// Pending: the spool accepted the segment; no worker reported yet.
	Pending State = iota + 1
	// Archived: a worker reported the segment's Swarm reference.
	Archived
	// Gap: the segment could not be archived; the playlist keeps its
	// place with EXT-X-GAP.
	Gap
)

func (s State) String() string {
	switch s {
	case Pending:
		return "pending"
	case Archived:
		return "archived"
	case Gap:
		return "gap"
	}
	return "state(" + strconv.Itoa(int(s)) + ")"
}

func (s State) valid() bool { return s >= Pending && s <= Gap }

// Record is the index's knowledge of one segment of one rendition.
type Record struct {
	Rendition   string
	Seq         uint64
	State       State
	Reference   swarm.Address // zero unless Archived
	Bytes       int64         // segment size as accepted
	Duration    string        // EXTINF duration exactly as the source wrote it
	Ext         string        // file extension, e.g. ".ts"
	ContentHash [32]byte      // sha256 of the segment: tells a duplicate from a conflict
	Attempts    int           // failed attempts reported by Fail
	Error       string        // last failure reason
	UpdatedAt   time.Time
}

// StreamState is a stream's life cycle.
type StreamState uint8

const (
	// Live: the stream takes new segments.
	Live StreamState = iota + 1
	// Ended: the stream was declared over; its records may still complete.
	Ended
)

func (s StreamState) String() string {
	switch s {
	case Live:
		return "live"
	case Ended:
		return "ended"
	}
	return "stream-state(" + strconv.Itoa(int(s)) + ")"
}

// RenditionInfo is a registered rendition.
type RenditionInfo struct {
	Name    string
	Listing []byte // opaque to the index: how the master playlist lists it
}

// Publish is the last manifest published for a stream.
type Publish struct {
	Reference swarm.Address // zero before the first publish
	Segments  int           // segments the manifest lists, all renditions
	At        time.Time
	// Final: recorded after End, so it is the finished VOD unless records
	// changed since (compare Segments with Records).
	Final bool
}

// Feed is a stream's feed as of its last recorded update.
type Feed struct {
	Owner    common.Address
	Topic    [32]byte
	Manifest swarm.Address // the feed manifest: the stream's stable address
	// Updates counts the updates recorded: the latest has index Updates-1
	// and the next one gets Updates. Zero: no feed yet.
	Updates uint64
}

// StreamInfo is a stream's metadata.
type StreamInfo struct {
	ID         StreamID
	State      StreamState
	Renditions []RenditionInfo // first-seen order
	Created    time.Time
	Ended      time.Time // zero while Live
	Published  Publish
	Feed       Feed
}

// meta is the stored part of StreamInfo.
type meta struct {
	State     StreamState
	Created   time.Time
	Ended     time.Time
	Published Publish
}
