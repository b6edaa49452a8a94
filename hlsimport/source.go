package hlsimport

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/lpswarm/archiver/hls"
)

// ErrNoPlaylist: the input names no playlist the import can use.
var ErrNoPlaylist = errors.New("no playlist found")

// preferred names when a folder holds several master playlists.
func preferredPlaylist(name string) bool {
	switch name {
	case "index.m3u8", "master.m3u8", "playlist.m3u8":
		return true
	}
	return false
}

// locate turns the command-line input (a folder, a playlist file or an
// http(s) URL) into the URL of the top playlist and the local root that
// segment files must stay in.
func locate(input string) (*url.URL, string, error) {
	if strings.HasPrefix(input, "http://") || strings.HasPrefix(input, "https://") {
		u, err := url.Parse(input)
		if err != nil {
			return nil, "", fmt.Errorf("hlsimport: %q: %w", input, err)
		}
		return u, "", nil
	}
	abs, err := filepath.Abs(input)
	if err != nil {
		return nil, "", fmt.Errorf("hlsimport: %q: %w", input, err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return nil, "", fmt.Errorf("hlsimport: %w", err)
	}
	root, file := filepath.Dir(abs), abs
	if st.IsDir() {
		root = abs
		if file, err = findPlaylist(abs); err != nil {
			return nil, "", err
		}
	}
	return &url.URL{Scheme: "file", Path: filepath.ToSlash(file)}, root, nil
}

// findPlaylist picks the top playlist of a folder: its only master playlist
// (or the conventionally named one among several), else its only playlist.
func findPlaylist(dir string) (string, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.m3u8"))
	if err != nil || len(names) == 0 {
		return "", fmt.Errorf("hlsimport: %s: %w (no .m3u8 file)", dir, ErrNoPlaylist)
	}
	var masters []string
	for _, n := range names {
		data, err := os.ReadFile(n)
		if err != nil {
			return "", fmt.Errorf("hlsimport: %w", err)
		}
		if _, err := hls.ParseMaster(bytes.NewReader(data)); err == nil {
			masters = append(masters, n)
		}
	}
	switch {
	case len(masters) == 1:
		return masters[0], nil
	case len(masters) > 1:
		if i := slices.IndexFunc(masters, func(n string) bool { return preferredPlaylist(filepath.Base(n)) }); i >= 0 {
			return masters[i], nil
		}
		return "", fmt.Errorf("hlsimport: %s: %w: several master playlists, name one: %s", dir, ErrNoPlaylist, strings.Join(masters, ", "))
	case len(names) == 1:
		return names[0], nil
	}
	return "", fmt.Errorf("hlsimport: %s: %w: several media playlists and no master, name one", dir, ErrNoPlaylist)
}
