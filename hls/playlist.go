package hls

import (
	"fmt"
	"io"
)

// Playlist is a parsed playlist: *Master or *Media. The unexported method
// closes the set, so a type switch over the two is exhaustive.
type Playlist interface {
	Encode(w io.Writer) error
	isPlaylist()
}

// EXT-X-PLAYLIST-TYPE values.
const (
	PlaylistEvent = "EVENT"
	PlaylistVOD   = "VOD"
)

// EXT-X-MEDIA TYPE values.
const (
	RenditionAudio          = "AUDIO"
	RenditionVideo          = "VIDEO"
	RenditionSubtitles      = "SUBTITLES"
	RenditionClosedCaptions = "CLOSED-CAPTIONS"
)

// ClosedCaptionsNone is the enumerated CLOSED-CAPTIONS=NONE of a variant:
// the stream carries no captions. Any other Variant.ClosedCaptions value is
// a group id and is written quoted.
const ClosedCaptionsNone = "NONE"

// Master is a master (multivariant) playlist.
type Master struct {
	Version             int // 0: not written unless the content needs it
	IndependentSegments bool
	Variants            []Variant   // EXT-X-STREAM-INF + following URI line
	Renditions          []Rendition // EXT-X-MEDIA
}

// Variant is one EXT-X-STREAM-INF and the URI line that follows it. Text
// fields hold the value as written, unquoted; "" means absent.
type Variant struct {
	URI              string // as written: relative, absolute, with query
	Bandwidth        int64  // required by RFC 8216
	AverageBandwidth int64  // 0: absent
	Resolution       string // "1280x720"
	Codecs           string
	FrameRate        string // decimal text as written, "29.970"
	Audio            string // group ids of the EXT-X-MEDIA renditions
	Video            string
	Subtitles        string
	ClosedCaptions   string // group id or ClosedCaptionsNone
}

// Rendition is an EXT-X-MEDIA alternative rendition. Text fields are
// unquoted; "" means absent.
type Rendition struct {
	Type            string // RenditionAudio, ...
	GroupID         string
	Name            string
	Language        string
	AssocLanguage   string
	Default         bool
	Autoselect      bool
	Forced          bool   // SUBTITLES only
	InstreamID      string // CLOSED-CAPTIONS only, and required there
	Characteristics string
	Channels        string
	URI             string // "": carried in the variant stream
}

// Media is a media playlist: the segments of one rendition.
type Media struct {
	Version               int // 0: not written unless the content needs it
	TargetDuration        int // 0 on Encode: computed from the segments
	MediaSequence         uint64
	DiscontinuitySequence uint64
	PlaylistType          string // "", PlaylistEvent or PlaylistVOD
	EndList               bool
	IndependentSegments   bool
	Segments              []Segment
}

// Segment is one media segment.
type Segment struct {
	// Seq is the media sequence number. Parse sets it to MediaSequence plus
	// the position. Encode does not write it (HLS numbers segments
	// implicitly) but requires it to increase and documents jumps; see
	// Media.Gaps.
	Seq uint64
	URI string // as written
	// Duration is the EXTINF duration text exactly as in the source,
	// "2.000000" or "4", so a regenerated playlist reproduces it byte for
	// byte; a float would turn "2.002000" into "2.002".
	Duration        string
	Title           string
	Discontinuity   bool   // EXT-X-DISCONTINUITY precedes this segment
	Gap             bool   // EXT-X-GAP: the segment has no media data
	ProgramDateTime string // verbatim; sources disagree on the date format
	// Map is the fMP4 initialization section in effect (EXT-X-MAP), nil for
	// MPEG-TS. Consecutive segments share one *Map.
	Map *Map
}

// Map is an EXT-X-MAP media initialization section.
type Map struct {
	URI string
}

// SeqRange is an inclusive range of media sequence numbers.
type SeqRange struct {
	First, Last uint64
}

func (*Master) isPlaylist() {}
func (*Media) isPlaylist()  {}

// Seconds parses Duration. It rejects what RFC 8216 rejects even though
// strconv.ParseFloat would accept it ("1e3", "Inf", "-1").
func (s Segment) Seconds() (float64, error) {
	d, err := parseDuration(s.Duration)
	if err != nil {
		return 0, fmt.Errorf("%w: EXTINF %v", ErrMalformed, err)
	}
	return d, nil
}

// String formats the range as "19" or "19-21".
func (r SeqRange) String() string {
	if r.First == r.Last {
		return fmt.Sprint(r.First)
	}
	return fmt.Sprintf("%d-%d", r.First, r.Last)
}

// Gaps returns the media sequence numbers missing between consecutive
// segments, in order: what the archiver failed to fetch. It is meaningful
// when Seq increases, which Encode enforces and Parse guarantees (a parsed
// playlist has no gaps).
func (p *Media) Gaps() []SeqRange {
	var gaps []SeqRange
	for i := 1; i < len(p.Segments); i++ {
		if g, ok := gapBetween(p.Segments[i-1].Seq, p.Segments[i].Seq); ok {
			gaps = append(gaps, g)
		}
	}
	return gaps
}

// gapBetween reports the numbers strictly between prev and cur. It is
// written without prev+1 so that prev = MaxUint64 cannot wrap around.
func gapBetween(prev, cur uint64) (SeqRange, bool) {
	if cur <= prev || cur-prev < 2 {
		return SeqRange{}, false
	}
	return SeqRange{First: prev + 1, Last: cur - 1}, true
}
