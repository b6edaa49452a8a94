package transcode

import "fmt"

// Limits on profiles. They keep one call's work and file descriptors
// bounded and refuse sizes no testbed stream has.
const (
	// MaxProfiles is the most profiles one Transcode call accepts.
	MaxProfiles = 8
	// MaxDimension bounds Profile.Width and Profile.Height.
	MaxDimension = 4096
	// MaxFPS bounds Profile.FPS.
	MaxFPS = 120
)

// Profile describes one output rendition.
type Profile struct {
	Name          string // label, e.g. "P360p"; not interpreted
	Width, Height int    // output size in pixels; both even (4:2:0 chroma)
	Bitrate       int    // target video bitrate in bits per second
	FPS           int    // output frame rate; 0 keeps the source's frames
}

// P360p is the testbed's 640x360 rendition at 600 kbps, source frame rate.
func P360p() Profile {
	return Profile{Name: "P360p", Width: 640, Height: 360, Bitrate: 600_000}
}

// P240p is the testbed's 426x240 rendition at 300 kbps, source frame rate.
func P240p() Profile {
	return Profile{Name: "P240p", Width: 426, Height: 240, Bitrate: 300_000}
}

// Validate reports whether libx264 can encode p, wrapping ErrInvalidProfile.
func (p Profile) Validate() error {
	switch {
	case p.Width <= 0 || p.Height <= 0 || p.Width > MaxDimension || p.Height > MaxDimension:
		return fmt.Errorf("%w: %q: size %dx%d outside 2..%d", ErrInvalidProfile, p.Name, p.Width, p.Height, MaxDimension)
	case p.Width%2 != 0 || p.Height%2 != 0:
		return fmt.Errorf("%w: %q: size %dx%d not even", ErrInvalidProfile, p.Name, p.Width, p.Height)
	case p.Bitrate <= 0:
		return fmt.Errorf("%w: %q: bitrate %d, want > 0", ErrInvalidProfile, p.Name, p.Bitrate)
	case p.FPS < 0 || p.FPS > MaxFPS:
		return fmt.Errorf("%w: %q: fps %d outside 0..%d", ErrInvalidProfile, p.Name, p.FPS, MaxFPS)
	}
	return nil
}

func validateProfiles(profiles []Profile) error {
	if len(profiles) == 0 || len(profiles) > MaxProfiles {
		return fmt.Errorf("%w: %d profiles, want 1..%d", ErrInvalidProfile, len(profiles), MaxProfiles)
	}
	for _, p := range profiles {
		if err := p.Validate(); err != nil {
			return err
		}
	}
	return nil
}
