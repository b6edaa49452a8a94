package archive

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/ethersphere/bee/v2/pkg/manifest"
	"github.com/ethersphere/bee/v2/pkg/swarm"

	"github.com/lpswarm/archiver/hls"
)

// IndexName is the master playlist and the manifest's index document.
const IndexName = "index.m3u8"

// rendition is one archived rendition; guarded by Archive.mu.
type rendition struct {
	name    string
	listing Listing
	entries map[uint64]*Entry
	inits   []swarm.Address
}

// sorted returns the rendition's entries in sequence order.
func (r *rendition) sorted() []*Entry {
	out := make([]*Entry, 0, len(r.entries))
	for _, e := range r.entries {
		out = append(out, e)
	}
	slices.SortFunc(out, func(x, y *Entry) int { return cmpUint(x.Seq, y.Seq) })
	return out
}

func cmpUint(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// mediaPlaylist generates the rendition's playlist from what was archived.
// A jump in sequence numbers (segments the source never showed us) becomes a
// discontinuity; a listed but missing segment stays as EXT-X-GAP.
func (r *rendition) mediaPlaylist(final bool) *hls.Media {
	p := &hls.Media{PlaylistType: "EVENT"}
	if final {
		p.PlaylistType, p.EndList = "VOD", true
	}
	entries := r.sorted()
	for i, e := range entries {
		if i == 0 {
			p.MediaSequence = e.Seq
		}
		seg := hls.Segment{
			Seq:           e.Seq,
			URI:           e.Name,
			Duration:      e.Duration,
			Discontinuity: e.Discontinuity || (i > 0 && e.Seq != entries[i-1].Seq+1),
			Gap:           e.Gap != "",
		}
		if e.Init != "" {
			seg.Map = &hls.Map{URI: e.Init}
		}
		p.Segments = append(p.Segments, seg)
	}
	return p
}

// peakBandwidth returns the highest bit rate of the archived segments in
// bits per second; 0 when nothing was archived yet.
func (r *rendition) peakBandwidth() int64 {
	var peak int64
	for _, e := range r.entries {
		d, err := strconv.ParseFloat(e.Duration, 64)
		if e.Gap == "" && err == nil && d > 0 {
			peak = max(peak, int64(math.Ceil(float64(e.Bytes)*8/d)))
		}
	}
	return peak
}

// master generates the master playlist: every rendition as the source
// listed it, pointing at its archived media playlist. BANDWIDTH stays the
// source's (it covers audio groups a variant plays too); when the source had
// none (a media playlist imported alone) it is measured on archived bytes.
func (a *Archive) master() *hls.Master {
	m := &hls.Master{}
	for _, r := range a.renditions {
		uri := r.name + "/" + IndexName
		for _, md := range r.listing.Media {
			md.URI = uri
			m.Renditions = append(m.Renditions, md)
		}
		for _, v := range r.listing.Variants {
			v.URI = uri
			if v.Bandwidth <= 0 {
				v.Bandwidth = max(r.peakBandwidth(), 1)
			}
			m.Variants = append(m.Variants, v)
		}
	}
	return m
}

// Publish stores the current playlists and manifest and returns the
// manifest reference. final marks the archive finished: VOD playlists with
// ENDLIST. Every publish rebuilds the manifest from the records; nodes and
// playlists unchanged since the last publish are not uploaded again.
func (a *Archive) Publish(ctx context.Context, final bool) (swarm.Address, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	m, err := manifest.NewDefaultManifest(a.nodes, false)
	if err != nil {
		return swarm.ZeroAddress, fmt.Errorf("archive: new manifest: %w", err)
	}
	for _, r := range a.renditions {
		if err := a.addRendition(ctx, m, r, final); err != nil {
			return swarm.ZeroAddress, err
		}
	}
	if err := a.addPlaylist(ctx, m, IndexName, a.master()); err != nil {
		return swarm.ZeroAddress, err
	}
	root := manifest.NewEntry(swarm.ZeroAddress, map[string]string{
		manifest.WebsiteIndexDocumentSuffixKey: IndexName,
	})
	if err := m.Add(ctx, manifest.RootPath, root); err != nil {
		return swarm.ZeroAddress, fmt.Errorf("archive: manifest root: %w", err)
	}
	ref, err := m.Store(ctx)
	if err != nil {
		return swarm.ZeroAddress, fmt.Errorf("archive: store manifest: %w", err)
	}
	a.nodes.done()
	return ref, nil
}

// Stored returns the nodes and playlists the last Publish stored (or found
// stored), for RebuildFrom; empty before any Publish.
func (a *Archive) Stored() Stored {
	a.nodes.mu.Lock()
	defer a.nodes.mu.Unlock()
	return Stored{refs: a.nodes.prev}
}

// addRendition adds a rendition's files and playlist to m.
func (a *Archive) addRendition(ctx context.Context, m manifest.Interface, r *rendition, final bool) error {
	for i, ref := range r.inits {
		if err := addFile(ctx, m, r.name+"/"+initName(i), ref); err != nil {
			return err
		}
	}
	for _, e := range r.entries {
		if e.Gap != "" {
			continue
		}
		if err := addFile(ctx, m, r.name+"/"+e.Name, e.Reference); err != nil {
			return err
		}
	}
	return a.addPlaylist(ctx, m, r.name+"/"+IndexName, r.mediaPlaylist(final))
}

// addPlaylist stores a playlist (unless unchanged) and adds it to m.
func (a *Archive) addPlaylist(ctx context.Context, m manifest.Interface, path string, p interface{ Encode(io.Writer) error }) error {
	var buf bytes.Buffer
	if err := p.Encode(&buf); err != nil {
		return fmt.Errorf("archive: encode %s: %w", path, err)
	}
	ref, err := a.nodes.put(ctx, buf.Bytes())
	if err != nil {
		return fmt.Errorf("archive: upload %s: %w", path, err)
	}
	return addFile(ctx, m, path, ref)
}

// addFile adds a manifest entry with the metadata Bee serves.
func addFile(ctx context.Context, m manifest.Interface, path string, ref swarm.Address) error {
	meta := map[string]string{
		manifest.EntryMetadataContentTypeKey: ContentType(path),
		manifest.EntryMetadataFilenameKey:    path[strings.LastIndexByte(path, '/')+1:],
	}
	if err := m.Add(ctx, path, manifest.NewEntry(ref, meta)); err != nil {
		return fmt.Errorf("archive: manifest add %s: %w", path, err)
	}
	return nil
}

// Stats summarises an archive.
type Stats struct {
	Renditions int
	Segments   int   // archived segments, all renditions
	Gaps       int   // listed segments that could not be archived
	Bytes      int64 // archived segment bytes
	Overhead   int64 // playlist and manifest bytes uploaded by all publishes
}

// Stats returns the archive's counters.
func (a *Archive) Stats() Stats {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := Stats{Renditions: len(a.renditions), Overhead: a.nodes.bytes()}
	for _, r := range a.renditions {
		for _, e := range r.entries {
			if e.Gap != "" {
				s.Gaps++
				continue
			}
			s.Segments++
			s.Bytes += e.Bytes
		}
	}
	return s
}

// Entries returns the records of one rendition in sequence order.
func (a *Archive) Entries(rendition string) ([]Entry, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	r, err := a.rendition(rendition)
	if err != nil {
		return nil, err
	}
	sorted := r.sorted()
	out := make([]Entry, len(sorted))
	for i, e := range sorted {
		out[i] = *e
	}
	return out, nil
}
