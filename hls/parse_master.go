package hls

func masterHandler(name string) func(*parser, tag) error {
	switch name {
	case "EXT-X-STREAM-INF":
		return (*parser).streamInf
	case "EXT-X-MEDIA":
		return (*parser).rendition
	case "EXT-X-SESSION-KEY":
		return (*parser).key
	case "EXT-X-I-FRAME-STREAM-INF", "EXT-X-SESSION-DATA":
		// Known master tags that the archiver does not copy; they still
		// decide that the playlist is a master.
		return (*parser).ignore
	}
	return nil
}

func (p *parser) ignore(tag) error { return nil }

func (p *parser) streamInf(t tag) error {
	r, err := p.attrs(t)
	if err != nil {
		return err
	}
	r.require("BANDWIDTH")
	p.variant = Variant{
		Bandwidth:        int64(r.integer("BANDWIDTH", 63)),
		AverageBandwidth: int64(r.integer("AVERAGE-BANDWIDTH", 63)),
		Resolution:       r.enum("RESOLUTION"),
		Codecs:           r.str("CODECS"),
		FrameRate:        r.enum("FRAME-RATE"),
		Audio:            r.str("AUDIO"),
		Video:            r.str("VIDEO"),
		Subtitles:        r.str("SUBTITLES"),
		ClosedCaptions:   closedCaptions(r),
	}
	if r.err != nil {
		return p.errorf("EXT-X-STREAM-INF: %v", r.err)
	}
	p.variantLine = p.n
	return nil
}

// closedCaptions reads CLOSED-CAPTIONS, the one attribute that is either a
// quoted group id or the enumerated NONE.
func closedCaptions(r *attrReader) string {
	v, ok := r.attrs["CLOSED-CAPTIONS"]
	if ok && !v.quoted && v.text != ClosedCaptionsNone {
		r.failf("CLOSED-CAPTIONS must be a quoted group id or NONE")
		return ""
	}
	return v.text
}

func (p *parser) variantURI(uri string) error {
	p.variant.URI = uri
	if err := p.variant.validate(); err != nil {
		return p.errAt(p.variantLine, "EXT-X-STREAM-INF: %v", err)
	}
	p.master.Variants = append(p.master.Variants, p.variant)
	p.variant = Variant{}
	p.variantLine = 0
	return nil
}

func (p *parser) rendition(t tag) error {
	r, err := p.attrs(t)
	if err != nil {
		return err
	}
	r.require("TYPE", "GROUP-ID", "NAME")
	rd := Rendition{
		Type:            r.enum("TYPE"),
		GroupID:         r.str("GROUP-ID"),
		Name:            r.str("NAME"),
		Language:        r.str("LANGUAGE"),
		AssocLanguage:   r.str("ASSOC-LANGUAGE"),
		Default:         r.yesNo("DEFAULT"),
		Autoselect:      r.yesNo("AUTOSELECT"),
		Forced:          r.yesNo("FORCED"),
		InstreamID:      r.str("INSTREAM-ID"),
		Characteristics: r.str("CHARACTERISTICS"),
		Channels:        r.str("CHANNELS"),
		URI:             r.uri("URI"),
	}
	if rd.Default && r.has("AUTOSELECT") && !rd.Autoselect {
		r.failf("DEFAULT=YES requires AUTOSELECT=YES")
	}
	if r.err == nil {
		r.err = rd.validate()
	}
	if r.err != nil {
		return p.errorf("EXT-X-MEDIA: %v", r.err)
	}
	p.master.Renditions = append(p.master.Renditions, rd)
	return nil
}

func (p *parser) finishMaster() (*Master, error) {
	if p.variantLine != 0 {
		return nil, p.errAt(p.variantLine, "EXT-X-STREAM-INF is not followed by a URI line")
	}
	m := &p.master
	m.Version, m.IndependentSegments = p.version, p.independent
	if len(m.Variants) == 0 {
		return nil, p.errAt(0, "master playlist without EXT-X-STREAM-INF")
	}
	if err := m.checkGroups(); err != nil {
		return nil, p.errAt(0, "%v", err)
	}
	return m, nil
}
