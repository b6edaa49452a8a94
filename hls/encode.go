package hls

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// Encode writes the master playlist. It validates first and writes nothing
// on error; errors other than write failures wrap ErrInvalid.
func (m *Master) Encode(w io.Writer) error {
	if err := m.validate(); err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString("#EXTM3U\n")
	writeVersion(&b, m.Version, m.minVersion())
	if m.IndependentSegments {
		b.WriteString("#EXT-X-INDEPENDENT-SEGMENTS\n")
	}
	for _, r := range m.Renditions {
		writeRendition(&b, r)
	}
	for _, v := range m.Variants {
		writeVariant(&b, v)
	}
	return write(w, b.String())
}

// minVersion is the lowest EXT-X-VERSION the content requires (RFC 8216
// §7): 7 for INSTREAM-ID="SERVICEn", otherwise 1.
func (m *Master) minVersion() int {
	for _, r := range m.Renditions {
		if strings.HasPrefix(r.InstreamID, "SERVICE") {
			return 7
		}
	}
	return 1
}

func writeRendition(b *strings.Builder, r Rendition) {
	b.WriteString("#EXT-X-MEDIA:")
	a := attrBuilder{b: b}
	a.enum("TYPE", r.Type)
	a.quoted("GROUP-ID", r.GroupID)
	a.quoted("NAME", r.Name)
	a.quoted("LANGUAGE", r.Language)
	a.quoted("ASSOC-LANGUAGE", r.AssocLanguage)
	a.yes("DEFAULT", r.Default)
	a.yes("AUTOSELECT", r.Autoselect)
	a.yes("FORCED", r.Forced)
	a.quoted("INSTREAM-ID", r.InstreamID)
	a.quoted("CHARACTERISTICS", r.Characteristics)
	a.quoted("CHANNELS", r.Channels)
	a.quoted("URI", r.URI)
	b.WriteByte('\n')
}

func writeVariant(b *strings.Builder, v Variant) {
	b.WriteString("#EXT-X-STREAM-INF:")
	a := attrBuilder{b: b}
	a.enum("BANDWIDTH", strconv.FormatInt(v.Bandwidth, 10))
	if v.AverageBandwidth > 0 {
		a.enum("AVERAGE-BANDWIDTH", strconv.FormatInt(v.AverageBandwidth, 10))
	}
	a.enum("RESOLUTION", v.Resolution)
	a.quoted("CODECS", v.Codecs)
	a.enum("FRAME-RATE", v.FrameRate)
	a.quoted("AUDIO", v.Audio)
	a.quoted("VIDEO", v.Video)
	a.quoted("SUBTITLES", v.Subtitles)
	if v.ClosedCaptions == ClosedCaptionsNone {
		a.enum("CLOSED-CAPTIONS", v.ClosedCaptions)
	} else {
		a.quoted("CLOSED-CAPTIONS", v.ClosedCaptions)
	}
	b.WriteByte('\n')
	b.WriteString(v.URI)
	b.WriteByte('\n')
}

// Encode writes the media playlist. It validates first and writes nothing
// on error; errors other than write failures wrap ErrInvalid.
//
// EXT-X-MEDIA-SEQUENCE is MediaSequence; Segment.Seq is not written, but
// where it jumps a comment line records the missing numbers.
func (p *Media) Encode(w io.Writer) error {
	if err := p.validate(); err != nil {
		return err
	}
	var b strings.Builder
	p.writeHeader(&b)
	var prev *Segment
	for i := range p.Segments {
		s := &p.Segments[i]
		writeSegment(&b, prev, s)
		prev = s
	}
	if p.EndList {
		b.WriteString("#EXT-X-ENDLIST\n")
	}
	return write(w, b.String())
}

func (p *Media) writeHeader(b *strings.Builder) {
	b.WriteString("#EXTM3U\n")
	writeVersion(b, p.Version, p.minVersion())
	fmt.Fprintf(b, "#EXT-X-TARGETDURATION:%d\n", p.targetDuration())
	fmt.Fprintf(b, "#EXT-X-MEDIA-SEQUENCE:%d\n", p.MediaSequence)
	if p.DiscontinuitySequence != 0 {
		fmt.Fprintf(b, "#EXT-X-DISCONTINUITY-SEQUENCE:%d\n", p.DiscontinuitySequence)
	}
	if p.PlaylistType != "" {
		fmt.Fprintf(b, "#EXT-X-PLAYLIST-TYPE:%s\n", p.PlaylistType)
	}
	if p.IndependentSegments {
		b.WriteString("#EXT-X-INDEPENDENT-SEGMENTS\n")
	}
}

// minVersion is the lowest EXT-X-VERSION the content requires (RFC 8216
// §7): 6 for EXT-X-MAP, 3 for decimal EXTINF durations, otherwise 1.
func (p *Media) minVersion() int {
	v := 1
	for _, s := range p.Segments {
		if s.Map != nil {
			return 6
		}
		if strings.Contains(s.Duration, ".") {
			v = 3
		}
	}
	return v
}

// targetDuration never goes below what RFC 8216 §4.3.3.1 requires: every
// EXTINF rounded to the nearest integer. Players use it to time reloads,
// and some reject playlists that break it.
func (p *Media) targetDuration() int {
	t := p.TargetDuration
	for _, s := range p.Segments {
		d, _ := parseDuration(s.Duration) // validated
		t = max(t, int(math.Round(d)))
	}
	return t
}

// writeVersion writes the larger of the declared and the required version;
// it omits the tag when neither asks for more than version 1.
func writeVersion(b *strings.Builder, declared, required int) {
	if v := max(declared, required); declared > 0 || v > 1 {
		fmt.Fprintf(b, "#EXT-X-VERSION:%d\n", v)
	}
}

func writeSegment(b *strings.Builder, prev, s *Segment) {
	if prev != nil {
		if g, ok := gapBetween(prev.Seq, s.Seq); ok {
			fmt.Fprintf(b, "# missing media sequence %s\n", g)
		}
	}
	if s.Discontinuity {
		b.WriteString("#EXT-X-DISCONTINUITY\n")
	}
	// The map is restated after a discontinuity as well: players reset
	// their demuxer there, and repeating it costs one line.
	if s.Map != nil && (prev == nil || prev.Map == nil || prev.Map.URI != s.Map.URI || s.Discontinuity) {
		b.WriteString("#EXT-X-MAP:")
		a := attrBuilder{b: b}
		a.quoted("URI", s.Map.URI)
		b.WriteByte('\n')
	}
	if s.ProgramDateTime != "" {
		fmt.Fprintf(b, "#EXT-X-PROGRAM-DATE-TIME:%s\n", s.ProgramDateTime)
	}
	if s.Gap {
		b.WriteString("#EXT-X-GAP\n")
	}
	fmt.Fprintf(b, "#EXTINF:%s,%s\n%s\n", s.Duration, s.Title, s.URI)
}

func write(w io.Writer, s string) error {
	if _, err := io.WriteString(w, s); err != nil {
		return fmt.Errorf("hls: write playlist: %w", err)
	}
	return nil
}
