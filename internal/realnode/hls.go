package realnode

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math/big"
	"net/http"
	neturl "net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Segment is one media segment a broadcaster listed.
type Segment struct {
	Rendition string
	Seq       int64
	Duration  float64
	Data      []byte
}

// Recorder polls a go-livepeer broadcaster's HLS output for one stream
// (GET /stream/<manifestID>.m3u8 and its media playlists) and keeps every
// segment it ever lists. The broadcaster keeps a short sliding window, so
// polling throughout the stream is the only way to see them all.
type Recorder struct {
	base       string // http://host:port
	manifestID string

	mu     sync.Mutex
	segs   map[string]*Segment // rendition/seq
	errors []error
}

// Record starts polling every interval until ctx ends; Stop waits for the
// last poll.
func Record(ctx context.Context, httpAddr, manifestID string, interval time.Duration) (*Recorder, func()) {
	r := &Recorder{base: "http://" + httpAddr, manifestID: manifestID, segs: map[string]*Segment{}}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			r.poll(ctx)
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return r, func() { cancel(); <-done }
}

// Segments returns every segment seen, sorted by rendition then seq.
func (r *Recorder) Segments() []Segment {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Segment, 0, len(r.segs))
	for _, s := range r.segs {
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b Segment) int {
		if c := strings.Compare(a.Rendition, b.Rendition); c != 0 {
			return c
		}
		return int(a.Seq - b.Seq)
	})
	return out
}

// Errors are the fetch failures of listed segments (a listed segment that
// could not be read is a failure of the oracle, not of the archive).
func (r *Recorder) Errors() []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.errors)
}

func (r *Recorder) poll(ctx context.Context) {
	master, err := get(ctx, r.base+"/stream/"+r.manifestID+".m3u8")
	if err != nil {
		return // not live yet, or over
	}
	for _, uri := range uris(master) {
		rendition := strings.TrimSuffix(path.Base(uri), ".m3u8")
		media, err := get(ctx, r.base+"/stream/"+strings.TrimPrefix(uri, "/stream/"))
		if err != nil {
			continue
		}
		durations := extinfs(media)
		for i, seg := range uris(media) {
			seq, err := strconv.ParseInt(strings.TrimSuffix(path.Base(seg), path.Ext(seg)), 10, 64)
			if err != nil {
				continue
			}
			key := rendition + "/" + strconv.FormatInt(seq, 10)
			r.mu.Lock()
			_, seen := r.segs[key]
			r.mu.Unlock()
			if seen {
				continue
			}
			data, err := get(ctx, r.base+seg)
			r.mu.Lock()
			if err != nil {
				if ctx.Err() == nil {
					r.errors = append(r.errors, fmt.Errorf("%s: %w", key, err))
				}
			} else {
				d := 0.0
				if i < len(durations) {
					d = durations[i]
				}
				r.segs[key] = &Segment{Rendition: rendition, Seq: seq, Duration: d, Data: data}
			}
			r.mu.Unlock()
		}
	}
}

// uris are a playlist's non-comment lines.
func uris(pl []byte) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(pl))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

// extinfs are a media playlist's segment durations, in order.
func extinfs(pl []byte) []float64 {
	var out []float64
	sc := bufio.NewScanner(bytes.NewReader(pl))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "#EXTINF:"); ok {
			d, _ := strconv.ParseFloat(strings.TrimSuffix(strings.SplitN(v, ",", 2)[0], ","), 64)
			out = append(out, d)
		}
	}
	return out
}

// get fetches url, bounded to 64 MiB and 10 s.
func get(ctx context.Context, url string) ([]byte, error) { return getWithin(ctx, url, 10*time.Second) }

// getWithin fetches url, bounded to 64 MiB and d.
func getWithin(ctx context.Context, url string, d time.Duration) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return io.ReadAll(io.LimitReader(resp.Body, 64<<20))
}

// Get fetches url (a playlist or a segment from Bee or a node).
func Get(ctx context.Context, url string) ([]byte, error) { return get(ctx, url) }

// Post sends a form to url (a go-livepeer CLI endpoint, as livepeer_cli
// does), bounded to 30 s: on chain the endpoint waits for its transaction.
func Post(ctx context.Context, url string, form neturl.Values) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("POST %s: %s: %s", url, resp.Status, body)
	}
	return body, nil
}

// Metric is the value of a go-livepeer metric (a node started with
// -monitor) as its CLI's /metrics states it, summed over its label sets;
// "" when the node has not recorded it.
func Metric(ctx context.Context, cliAddr, name string) (string, error) {
	body, err := get(ctx, "http://"+cliAddr+"/metrics")
	if err != nil {
		return "", err
	}
	var sum *big.Rat
	for _, line := range strings.Split(string(body), "\n") {
		rest, ok := strings.CutPrefix(line, name)
		if !ok || (rest != "" && rest[0] != ' ' && rest[0] != '{') {
			continue
		}
		fields := strings.Fields(rest[strings.LastIndexByte(rest, '}')+1:])
		if len(fields) == 0 {
			continue
		}
		v, ok := new(big.Rat).SetString(fields[0])
		if !ok {
			return "", fmt.Errorf("realnode: metric %s: %q is not a number", name, fields[0])
		}
		if sum == nil {
			sum = new(big.Rat)
		}
		sum.Add(sum, v)
	}
	if sum == nil {
		return "", nil
	}
	return sum.RatString(), nil
}
