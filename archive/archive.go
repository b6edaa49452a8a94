package archive

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/ethersphere/bee/v2/pkg/swarm"

	"github.com/lpswarm/archiver/hls"
	"github.com/lpswarm/archiver/upload"
)

// Sentinel errors callers can test with errors.Is.
var (
	// ErrUnknownRendition: a segment names a rendition not added before.
	ErrUnknownRendition = errors.New("unknown rendition")
	// ErrDuplicateRendition: a rendition name is used twice.
	ErrDuplicateRendition = errors.New("rendition already exists")
	// ErrConflict: a sequence number arrived again with different bytes.
	// The first archived version stays; archives are append-only.
	ErrConflict = errors.New("segment already archived with different content")
	// ErrBadSegment: a segment's extension or duration is not acceptable.
	ErrBadSegment = errors.New("bad segment")
)

// Uploader stores one file on Swarm; *upload.Uploader implements it.
type Uploader interface {
	Upload(ctx context.Context, data []byte) (upload.Receipt, error)
}

// Segment describes one media segment to archive.
type Segment struct {
	Seq           uint64 // media sequence number; names the file
	Duration      string // EXTINF duration exactly as the source wrote it
	Discontinuity bool   // the source marked a discontinuity before it
	Ext           string // file extension from hls.SegmentExt, e.g. ".ts"
	Init          string // name returned by AddInit for fMP4, "" for MPEG-TS
}

// Entry is the archive's record of one segment.
type Entry struct {
	Segment
	Name      string        // path inside the rendition, e.g. "12.ts"
	Reference swarm.Address // zero for a gap
	Bytes     int64
	Gap       string // why the segment is missing; "" when archived
}

// Listing is how the master playlist lists a rendition: as variant streams
// (EXT-X-STREAM-INF), as alternative renditions (EXT-X-MEDIA, e.g. an audio
// track), or both, as ffmpeg does for audio. URIs are replaced on publish.
type Listing struct {
	Variants []hls.Variant
	Media    []hls.Rendition
}

// Archive is one stream being archived. It is safe for concurrent use:
// uploads of different segments run in parallel, bookkeeping serialises.
// It keeps references, never media: memory grows with the segment count,
// not with the bytes archived.
type Archive struct {
	up    Uploader
	nodes *nodeStore

	mu         sync.Mutex
	renditions []*rendition // master playlist order
	byName     map[string]*rendition
}

// New starts an empty archive whose files are stored by up.
func New(up Uploader) *Archive {
	return &Archive{up: up, nodes: newNodeStore(up), byName: make(map[string]*rendition)}
}

// AddRendition adds a rendition: one media playlist of the stream.
func (a *Archive) AddRendition(name string, l Listing) error {
	if err := hls.ValidName(name); err != nil {
		return fmt.Errorf("archive: rendition %q: %w", name, err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, dup := a.byName[name]; dup {
		return fmt.Errorf("archive: rendition %q: %w", name, ErrDuplicateRendition)
	}
	r := &rendition{name: name, listing: l, entries: make(map[uint64]*Entry)}
	a.renditions = append(a.renditions, r)
	a.byName[name] = r
	return nil
}

// AddInit archives an fMP4 initialisation section and returns its name for
// Segment.Init. The same bytes added twice get the same name.
func (a *Archive) AddInit(ctx context.Context, rendition string, data []byte) (string, error) {
	rec, err := a.up.Upload(ctx, data)
	if err != nil {
		return "", fmt.Errorf("archive: init section of %s: %w", rendition, err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	r, err := a.rendition(rendition)
	if err != nil {
		return "", err
	}
	for i, ref := range r.inits {
		if ref.Equal(rec.Reference) {
			return initName(i), nil
		}
	}
	r.inits = append(r.inits, rec.Reference)
	return initName(len(r.inits) - 1), nil
}

func initName(i int) string { return "init-" + strconv.Itoa(i) + ".mp4" }

// AddSegment uploads one segment and records it. A sequence number archived
// before with the same bytes is a no-op; with other bytes it is ErrConflict.
func (a *Archive) AddSegment(ctx context.Context, rendition string, s Segment, data []byte) (Entry, error) {
	if err := checkSegment(s); err != nil {
		return Entry{}, err
	}
	rec, err := a.up.Upload(ctx, data)
	if err != nil {
		return Entry{}, fmt.Errorf("archive: %s segment %d: %w", rendition, s.Seq, err)
	}
	return a.record(rendition, &Entry{Segment: s, Name: segmentName(s), Reference: rec.Reference, Bytes: rec.Bytes})
}

// record adds an archived segment's entry. The same reference again is a
// no-op; another reference for an archived seq is ErrConflict.
func (a *Archive) record(rendition string, e *Entry) (Entry, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	r, err := a.rendition(rendition)
	if err != nil {
		return Entry{}, err
	}
	if old, ok := r.entries[e.Seq]; ok && old.Gap == "" {
		if !old.Reference.Equal(e.Reference) {
			return *old, fmt.Errorf("archive: %s segment %d: %w", rendition, e.Seq, ErrConflict)
		}
		return *old, nil
	}
	r.entries[e.Seq] = e
	return *e, nil
}

// AddRecord records a segment already stored on Swarm, by its reference,
// without uploading anything: how a worker rebuilds a stream's manifest
// from the orchestrator's index. The rules of AddSegment apply.
func (a *Archive) AddRecord(rendition string, s Segment, ref swarm.Address, size int64) error {
	if err := checkSegment(s); err != nil {
		return err
	}
	_, err := a.record(rendition, &Entry{Segment: s, Name: segmentName(s), Reference: ref, Bytes: size})
	return err
}

// AddGap records a segment the source listed but that could not be
// archived; the playlist keeps its place with EXT-X-GAP.
func (a *Archive) AddGap(rendition string, s Segment, reason error) error {
	if err := checkSegment(s); err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	r, err := a.rendition(rendition)
	if err != nil {
		return err
	}
	if old, ok := r.entries[s.Seq]; ok && old.Gap == "" {
		return nil // archived already: keep it
	}
	r.entries[s.Seq] = &Entry{Segment: s, Name: segmentName(s), Gap: reason.Error()}
	return nil
}

func checkSegment(s Segment) error {
	if _, err := strconv.ParseFloat(s.Duration, 64); err != nil || s.Duration == "" {
		return fmt.Errorf("archive: segment %d: %w: duration %q", s.Seq, ErrBadSegment, s.Duration)
	}
	if hls.SegmentExt("x"+s.Ext) != s.Ext {
		return fmt.Errorf("archive: segment %d: %w: extension %q", s.Seq, ErrBadSegment, s.Ext)
	}
	return nil
}

func segmentName(s Segment) string { return strconv.FormatUint(s.Seq, 10) + s.Ext }

// rendition looks a rendition up; a.mu must be held.
func (a *Archive) rendition(name string) (*rendition, error) {
	r, ok := a.byName[name]
	if !ok {
		return nil, fmt.Errorf("archive: %q: %w", name, ErrUnknownRendition)
	}
	return r, nil
}
