package lpwire

import (
	"fmt"
)

// StandardProfile returns lpms' named sample profile, as listed in
// ffmpeg.VideoProfileLookup (lpms ffmpeg/videoprofile.go; lpms
// v0.0.0-20240909171057-fe5aff1fa6a2 is not in the module cache, so the
// values were read from lpms' public source). Bitrates are in bits per
// second ("4000k" there). P144p25fps16x9 is defined by lpms but missing
// from the lookup table, so it is not returned here either: go-livepeer
// cannot decode it from the legacy field.
//
// The table lives in a function so the package keeps no mutable state.
func StandardProfile(name string) (Profile, bool) {
	var w, h, kbps int
	var fps uint32
	switch name {
	case "P720p60fps16x9":
		w, h, kbps, fps = 1280, 720, 6000, 60
	case "P720p30fps16x9":
		w, h, kbps, fps = 1280, 720, 4000, 30
	case "P720p25fps16x9":
		w, h, kbps, fps = 1280, 720, 3500, 25
	case "P720p30fps4x3":
		w, h, kbps, fps = 960, 720, 3500, 30
	case "P576p30fps16x9":
		w, h, kbps, fps = 1024, 576, 1500, 30
	case "P576p25fps16x9":
		w, h, kbps, fps = 1024, 576, 1500, 25
	case "P360p30fps16x9":
		w, h, kbps, fps = 640, 360, 1200, 30
	case "P360p25fps16x9":
		w, h, kbps, fps = 640, 360, 1000, 25
	case "P360p30fps4x3":
		w, h, kbps, fps = 480, 360, 1000, 30
	case "P240p30fps16x9":
		w, h, kbps, fps = 426, 240, 600, 30
	case "P240p25fps16x9":
		w, h, kbps, fps = 426, 240, 600, 25
	case "P240p30fps4x3":
		w, h, kbps, fps = 320, 240, 600, 30
	case "P144p30fps16x9":
		w, h, kbps, fps = 256, 144, 400, 30
	default:
		return Profile{}, false
	}
	return Profile{Name: name, Width: w, Height: h, Bitrate: kbps * 1000, FPS: fps}, true
}

// legacyProfileNames are the names of common.VideoProfileNameLookup
// (common/videoprofile_ids.go:12-27), whose keys are ProfileID(name) in hex.
// The IDs are computed rather than copied; the tests pin them to
// go-livepeer's literal table.
func legacyProfileNames() []string {
	return []string{
		"P720p60fps16x9", "P720p30fps16x9", "P720p25fps16x9", "P720p30fps4x3",
		"P576p30fps16x9", "P576p25fps16x9", "P360p30fps16x9", "P360p25fps16x9",
		"P360p30fps4x3", "P240p30fps16x9", "P240p25fps16x9", "P240p30fps4x3",
		"P144p30fps16x9", "P144p25fps16x9",
	}
}

// ProfilesFromLegacyBytes decodes the pre-FullProfiles SegData.Profiles
// field as common.BytesToVideoProfile does (common/util.go:161-184): 4-byte
// profile IDs of lpms' standard profiles; a trailing partial ID is ignored,
// and input shorter than one ID or an unknown ID is an error. The poison
// value "invalid" that NetSegData always writes therefore fails here.
func ProfilesFromLegacyBytes(b []byte) ([]Profile, error) {
	profiles := make([]Profile, 0, len(b)/4)
	if len(b) == 0 {
		return profiles, nil
	}
	if len(b) < 4 {
		return nil, fmt.Errorf("%w: legacy profiles %q shorter than one ID", ErrInvalidProfile, b)
	}
	for i := 0; i+4 <= len(b); i += 4 {
		var id [4]byte
		copy(id[:], b[i:i+4])
		p, ok := StandardProfile(legacyName(id))
		if !ok {
			return nil, fmt.Errorf("%w: unknown legacy profile ID %x", ErrInvalidProfile, id)
		}
		profiles = append(profiles, p)
	}
	return profiles, nil
}

func legacyName(id [4]byte) string {
	for _, name := range legacyProfileNames() {
		if ProfileID(name) == id {
			return name
		}
	}
	return ""
}
