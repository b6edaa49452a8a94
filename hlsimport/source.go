package hlsimport

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
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

// source is where an import reads: the top playlist and, for a local
// import, the folder every file must stay in.
type source struct {
	top  *url.URL
	root string   // local: the imported folder, symlinks resolved
	dir  *os.Root // local: opened on root; the caller closes it
	// named is the top playlist's path as the operator named it, links
	// unresolved: a lone media playlist's rendition is named after it, as
	// before links were resolved.
	named string
}

// locate turns the command-line input (a folder, a playlist file or an
// http(s) URL) into the URL of the top playlist and, for a local input, the
// folder that segment files must stay in. The path the operator named is
// trusted, links included: it is resolved once, and from then on nothing
// reached through a link may leave the resolved folder.
func locate(input string) (source, error) {
	if strings.HasPrefix(input, "http://") || strings.HasPrefix(input, "https://") {
		u, err := url.Parse(input)
		if err != nil {
			return source{}, fmt.Errorf("hlsimport: %q: %w", input, err)
		}
		return source{top: u, named: u.Path}, nil
	}
	abs, err := filepath.Abs(input)
	if err != nil {
		return source{}, fmt.Errorf("hlsimport: %q: %w", input, err)
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return source{}, fmt.Errorf("hlsimport: %w", err)
	}
	st, err := os.Stat(real)
	if err != nil {
		return source{}, fmt.Errorf("hlsimport: %w", err)
	}
	root, file := filepath.Dir(real), real
	if st.IsDir() {
		root = real
	}
	dir, err := os.OpenRoot(root)
	if err != nil {
		return source{}, fmt.Errorf("hlsimport: %w", err)
	}
	if st.IsDir() {
		if file, err = findPlaylistIn(dir, root); err != nil {
			dir.Close()
			return source{}, err
		}
	}
	named := abs
	if st.IsDir() {
		named = filepath.Join(abs, filepath.Base(file))
	}
	return source{top: &url.URL{Scheme: "file", Path: filepath.ToSlash(file)}, root: root, dir: dir,
		named: filepath.ToSlash(named)}, nil
}

// findPlaylist picks the top playlist of a folder: see findPlaylistIn.
func findPlaylist(dir string) (string, error) {
	r, err := os.OpenRoot(dir)
	if err != nil {
		return "", fmt.Errorf("hlsimport: %w", err)
	}
	defer r.Close()
	return findPlaylistIn(r, dir)
}

// findPlaylistIn picks the top playlist of the folder r is opened on (dir):
// its only master playlist (or the conventionally named one among several),
// else its only playlist. Candidates are read through r, so a playlist
// linked from outside the folder is refused, not read.
func findPlaylistIn(r *os.Root, dir string) (string, error) {
	names, err := fs.Glob(r.FS(), "*.m3u8")
	if err != nil || len(names) == 0 {
		return "", fmt.Errorf("hlsimport: %s: %w (no .m3u8 file)", dir, ErrNoPlaylist)
	}
	var masters []string
	for i, n := range names {
		names[i] = filepath.Join(dir, n)
		data, err := readIn(r, dir, n)
		if errors.Is(err, ErrTooLarge) {
			continue // not a master the import could read; fetching it as the only playlist says so
		}
		if err != nil {
			return "", err
		}
		if _, err := hls.ParseMaster(bytes.NewReader(data)); err == nil {
			masters = append(masters, names[i])
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

// readIn reads a candidate playlist below r, at most maxPlaylistBytes.
func readIn(r *os.Root, dir, name string) ([]byte, error) {
	f, err := openIn(r, dir, name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxPlaylistBytes+1))
	if err != nil {
		return nil, fmt.Errorf("hlsimport: %w: %w", ErrFetch, err)
	}
	if len(data) > maxPlaylistBytes {
		return nil, fmt.Errorf("hlsimport: %s: %w (limit %d bytes)", filepath.Join(dir, name), ErrTooLarge, maxPlaylistBytes)
	}
	return data, nil
}
