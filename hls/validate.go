package hls

import (
	"errors"
	"fmt"
)

// The validate methods hold the rules shared by the parser and Encode, so
// that everything Parse returns can be encoded and everything Encode
// writes parses back. They return plain errors; callers wrap them in
// ErrMalformed or ErrInvalid.

func (v Variant) validate() error {
	if err := checkURI(v.URI); err != nil {
		return err
	}
	if v.Bandwidth < 0 || v.AverageBandwidth < 0 {
		return errors.New("negative bandwidth")
	}
	if v.Resolution != "" && !isResolution(v.Resolution) {
		return fmt.Errorf("RESOLUTION %q is not WIDTHxHEIGHT", clip(v.Resolution))
	}
	if v.FrameRate != "" && !isDecimal(v.FrameRate) {
		return fmt.Errorf("FRAME-RATE %q is not a decimal number", clip(v.FrameRate))
	}
	return checkAllQuoted([]field{
		{"CODECS", v.Codecs}, {"AUDIO", v.Audio}, {"VIDEO", v.Video},
		{"SUBTITLES", v.Subtitles}, {"CLOSED-CAPTIONS", v.ClosedCaptions},
	})
}

func (r Rendition) validate() error {
	switch r.Type {
	case RenditionAudio, RenditionVideo, RenditionSubtitles, RenditionClosedCaptions:
	default:
		return fmt.Errorf("TYPE %q is not AUDIO, VIDEO, SUBTITLES or CLOSED-CAPTIONS", clip(r.Type))
	}
	if r.GroupID == "" || r.Name == "" {
		return errors.New("GROUP-ID and NAME must not be empty")
	}
	err := checkAllQuoted([]field{
		{"GROUP-ID", r.GroupID}, {"NAME", r.Name}, {"LANGUAGE", r.Language},
		{"ASSOC-LANGUAGE", r.AssocLanguage}, {"INSTREAM-ID", r.InstreamID},
		{"CHARACTERISTICS", r.Characteristics}, {"CHANNELS", r.Channels}, {"URI", r.URI},
	})
	if err != nil {
		return err
	}
	if r.URI != "" {
		if err := checkURI(r.URI); err != nil {
			return err
		}
	}
	return r.validateType()
}

// validateType checks the RFC 8216 §4.3.4.1 rules that depend on TYPE.
func (r Rendition) validateType() error {
	cc := r.Type == RenditionClosedCaptions
	switch {
	case cc && r.URI != "":
		return errors.New("a CLOSED-CAPTIONS rendition must not have a URI")
	case cc && r.InstreamID == "":
		return errors.New("a CLOSED-CAPTIONS rendition requires INSTREAM-ID")
	case !cc && r.InstreamID != "":
		return errors.New("INSTREAM-ID is only allowed for CLOSED-CAPTIONS")
	case r.Type == RenditionSubtitles && r.URI == "":
		return errors.New("a SUBTITLES rendition requires a URI")
	case r.Forced && r.Type != RenditionSubtitles:
		return errors.New("FORCED is only allowed for SUBTITLES")
	}
	return nil
}

// field is a named attribute value, for checks that report the name.
type field struct{ name, value string }

func checkAllQuoted(fields []field) error {
	for _, f := range fields {
		if err := checkQuoted(f.value); err != nil {
			return fmt.Errorf("%s: %w", f.name, err)
		}
	}
	return nil
}

// checkGroups enforces that every group a variant names exists with the
// right TYPE, and that names are unique within a group: players select
// renditions by group and name, and the archiver derives folders from them.
func (m *Master) checkGroups() error {
	type group struct{ typ, id string }
	groups := map[group]bool{}
	names := map[[3]string]bool{}
	for _, r := range m.Renditions {
		key := [3]string{r.Type, r.GroupID, r.Name}
		if names[key] {
			return fmt.Errorf("NAME %q appears twice in %s group %q", clip(r.Name), r.Type, clip(r.GroupID))
		}
		names[key] = true
		groups[group{r.Type, r.GroupID}] = true
	}
	for _, v := range m.Variants {
		cc := v.ClosedCaptions
		if cc == ClosedCaptionsNone {
			cc = ""
		}
		for _, ref := range []group{
			{RenditionAudio, v.Audio}, {RenditionVideo, v.Video},
			{RenditionSubtitles, v.Subtitles}, {RenditionClosedCaptions, cc},
		} {
			if ref.id != "" && !groups[ref] {
				return fmt.Errorf("variant %q refers to %s group %q, which no EXT-X-MEDIA defines", clip(v.URI), ref.typ, clip(ref.id))
			}
		}
	}
	return nil
}

func (m *Master) validate() error {
	if m.Version < 0 {
		return invalidf("negative version")
	}
	if len(m.Variants) == 0 {
		return invalidf("master playlist without variants")
	}
	for i, r := range m.Renditions {
		if err := r.validate(); err != nil {
			return invalidf("rendition %d: %v", i, err)
		}
	}
	for i, v := range m.Variants {
		if err := v.validate(); err != nil {
			return invalidf("variant %d: %v", i, err)
		}
	}
	if err := m.checkGroups(); err != nil {
		return invalidf("%v", err)
	}
	return nil
}

func (s Segment) validate() error {
	if err := checkURI(s.URI); err != nil {
		return err
	}
	if _, err := parseDuration(s.Duration); err != nil {
		return err
	}
	if err := checkText(s.Title); err != nil {
		return fmt.Errorf("title: %w", err)
	}
	if err := checkText(s.ProgramDateTime); err != nil {
		return fmt.Errorf("program date time: %w", err)
	}
	if s.Map != nil {
		if err := checkQuoted(s.Map.URI); err != nil {
			return fmt.Errorf("map: %w", err)
		}
		if err := checkURI(s.Map.URI); err != nil {
			return fmt.Errorf("map: %w", err)
		}
	}
	return nil
}

func (p *Media) validate() error {
	switch {
	case p.Version < 0 || p.TargetDuration < 0:
		return invalidf("negative version or target duration")
	case p.PlaylistType != "" && p.PlaylistType != PlaylistEvent && p.PlaylistType != PlaylistVOD:
		return invalidf("playlist type %q is not EVENT or VOD", clip(p.PlaylistType))
	}
	for i, s := range p.Segments {
		if err := s.validate(); err != nil {
			return invalidf("segment %d (seq %d): %v", i, s.Seq, err)
		}
		if i == 0 {
			continue
		}
		prev := p.Segments[i-1]
		if s.Seq <= prev.Seq {
			return invalidf("segment %d: seq %d does not follow %d", i, s.Seq, prev.Seq)
		}
		// An EXT-X-MAP stays in effect to the end of the playlist.
		if prev.Map != nil && s.Map == nil {
			return invalidf("segment %d (seq %d) has no map after segments with one; HLS cannot unset EXT-X-MAP", i, s.Seq)
		}
	}
	return nil
}
