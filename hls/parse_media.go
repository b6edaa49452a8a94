package hls

import (
	"math"
	"strings"
)

func mediaHandler(name string) func(*parser, tag) error {
	switch name {
	case "EXTINF":
		return (*parser).extinf
	case "EXT-X-TARGETDURATION":
		return (*parser).targetDuration
	case "EXT-X-MEDIA-SEQUENCE":
		return (*parser).mediaSequence
	case "EXT-X-DISCONTINUITY-SEQUENCE":
		return (*parser).discontinuitySequence
	case "EXT-X-PLAYLIST-TYPE":
		return (*parser).playlistType
	case "EXT-X-ENDLIST":
		return (*parser).endList
	case "EXT-X-DISCONTINUITY":
		return (*parser).discontinuity
	case "EXT-X-GAP":
		return (*parser).gap
	case "EXT-X-PROGRAM-DATE-TIME":
		return (*parser).programDateTime
	case "EXT-X-MAP":
		return (*parser).xmap
	case "EXT-X-KEY":
		return (*parser).key
	case "EXT-X-BYTERANGE":
		return (*parser).byteRange
	}
	return nil
}

func (p *parser) extinf(t tag) error {
	if p.infLine != 0 {
		return p.errAt(p.infLine, "EXTINF is not followed by a URI line")
	}
	// The title may contain commas; only the first one ends the duration.
	// The comma is required by RFC 8216 but old writers omit it.
	dur, title, _ := strings.Cut(t.value, ",")
	if _, err := parseDuration(dur); err != nil {
		return p.errorf("EXTINF %v", err)
	}
	p.seg.Duration, p.seg.Title = dur, title
	p.infLine = p.n
	return nil
}

func (p *parser) segmentURI(uri string) error {
	p.seg.URI = uri
	p.seg.Map = p.curMap
	p.media.Segments = append(p.media.Segments, p.seg)
	p.seg = Segment{}
	p.infLine = 0
	return nil
}

func (p *parser) targetDuration(t tag) error {
	n, err := p.integerTag(t, 31)
	p.media.TargetDuration = int(n)
	return err
}

// beforeSegments enforces that a sequence tag comes before the first
// segment: the numbering of earlier segments would be undefined.
func (p *parser) beforeSegments(t tag) error {
	if len(p.media.Segments) > 0 || p.infLine != 0 {
		return p.errorf("%s must appear before the first segment", t.name)
	}
	return nil
}

func (p *parser) mediaSequence(t tag) error {
	if err := p.beforeSegments(t); err != nil {
		return err
	}
	n, err := p.integerTag(t, 64)
	p.media.MediaSequence = n
	return err
}

func (p *parser) discontinuitySequence(t tag) error {
	if err := p.beforeSegments(t); err != nil {
		return err
	}
	n, err := p.integerTag(t, 64)
	p.media.DiscontinuitySequence = n
	return err
}

func (p *parser) playlistType(t tag) error {
	if err := p.once(t); err != nil {
		return err
	}
	if t.value != PlaylistEvent && t.value != PlaylistVOD {
		return p.errorf("EXT-X-PLAYLIST-TYPE must be EVENT or VOD, not %q", clip(t.value))
	}
	p.media.PlaylistType = t.value
	return nil
}

func (p *parser) endList(t tag) error {
	p.media.EndList = true
	return p.flag(t)
}

func (p *parser) discontinuity(t tag) error {
	p.seg.Discontinuity = true
	return p.flag(t)
}

func (p *parser) gap(t tag) error {
	p.seg.Gap = true
	return p.flag(t)
}

func (p *parser) programDateTime(t tag) error {
	if t.value == "" {
		return p.errorf("EXT-X-PROGRAM-DATE-TIME without a date")
	}
	p.seg.ProgramDateTime = t.value
	return nil
}

func (p *parser) xmap(t tag) error {
	r, err := p.attrs(t)
	if err != nil {
		return err
	}
	if r.has("BYTERANGE") {
		return p.refuse(ErrByteRange, "EXT-X-MAP with BYTERANGE")
	}
	r.require("URI")
	m := &Map{URI: r.uri("URI")}
	if r.err != nil {
		return p.errorf("EXT-X-MAP: %v", r.err)
	}
	p.curMap = m
	return nil
}

func (p *parser) key(t tag) error {
	r, err := p.attrs(t)
	if err != nil {
		return err
	}
	return p.checkKey(t, r)
}

// checkKey accepts only METHOD=NONE, which explicitly turns encryption off.
func (p *parser) checkKey(t tag, r *attrReader) error {
	r.require("METHOD")
	method := r.enum("METHOD")
	if r.err != nil {
		return p.errorf("%s: %v", t.name, r.err)
	}
	if method != "NONE" {
		return p.refuse(ErrEncrypted, t.name+" METHOD="+method)
	}
	return nil
}

func (p *parser) byteRange(t tag) error {
	return p.refuse(ErrByteRange, "EXT-X-BYTERANGE "+clip(t.value))
}

func (p *parser) finishMedia() (*Media, error) {
	if p.infLine != 0 {
		return nil, p.errAt(p.infLine, "EXTINF is not followed by a URI line")
	}
	if !p.seen["EXT-X-TARGETDURATION"] {
		return nil, p.errAt(0, "media playlist without EXT-X-TARGETDURATION")
	}
	m := &p.media
	m.Version, m.IndependentSegments = p.version, p.independent
	if n := uint64(len(m.Segments)); n > 0 && m.MediaSequence > math.MaxUint64-(n-1) {
		return nil, p.errAt(0, "media sequence numbers overflow")
	}
	for i := range m.Segments {
		m.Segments[i].Seq = m.MediaSequence + uint64(i)
	}
	// Tags after the last URI (a DISCONTINUITY or MAP announced before the
	// next segment exists) are dropped: they describe nothing yet.
	return m, nil
}
