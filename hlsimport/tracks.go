package hlsimport

import (
	"net/url"
	"path"
	"strconv"
	"strings"

	"github.com/lpswarm/archiver/archive"
	"github.com/lpswarm/archiver/hls"
)

// track is one rendition of the source: a media playlist to archive, and
// how the master lists it.
type track struct {
	name    string
	url     *url.URL
	listing archive.Listing
}

// namer derives unique, safe rendition names from the URIs a master
// playlist lists: the folder of the media playlist ("stream_0 (hi)/index.m3u8"
// → "stream_0_hi"), else its file name ("720p.m3u8" → "720p"), else the
// fallback.
type namer struct{ used map[string]bool }

func (n *namer) name(uri, fallback string) string {
	p := uri
	if u, err := url.Parse(uri); err == nil {
		p = u.Path
	}
	dir, file := path.Split(p)
	base := fallback
	for _, c := range []string{
		hls.SafeName(path.Base(strings.TrimSuffix(dir, "/"))),
		hls.SafeName(strings.TrimSuffix(file, path.Ext(file))),
	} {
		if c != "" && !genericName(c) && hls.ValidName(c) == nil {
			base = c
			break
		}
	}
	if n.used == nil {
		n.used = make(map[string]bool)
	}
	name := base
	for i := 2; n.used[name]; i++ {
		// The suffix must not push a name at the limit past it.
		suffix := "-" + strconv.Itoa(i)
		name = base[:min(len(base), hls.MaxNameLen-len(suffix))] + suffix
	}
	n.used[name] = true
	return name
}

// genericName reports names that say nothing about the rendition.
func genericName(s string) bool {
	switch strings.ToLower(s) {
	case "index", "playlist", "prog_index", "master", "stream", "hls", "live", "media", "chunklist":
		return true
	}
	return false
}
