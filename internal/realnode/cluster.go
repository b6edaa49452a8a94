package realnode

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/lpswarm/archiver/internal/beetest"
	"github.com/lpswarm/archiver/plugin"
)

// Profiles are the renditions the clusters' broadcasters ask for: small,
// so that two cores transcode them in real time.
const Profiles = "P240p30fps16x9,P144p30fps16x9"

// ClusterConfig is a Bee dev node, an orchestrator+transcoder and its
// archiver workers.
type ClusterConfig struct {
	Dir      string
	Livepeer string // the orchestrator's binary
	Worker   string // archiver-node
	// Archiver runs the orchestrator with -archiver and starts Workers
	// workers; otherwise it is a stock orchestrator.
	Archiver bool
	Workers  int
	OrchArgs []string
}

// Cluster is a running ClusterConfig.
type Cluster struct {
	Dir     string
	Bee     *beetest.Dev
	Batch   string
	Secret  string
	Orch    *Node
	Workers []*Node
	nodes   []*Node
}

// StartCluster starts Bee, the orchestrator and the workers, and waits
// until every worker is registered.
func StartCluster(ctx context.Context, cfg ClusterConfig) (c *Cluster, err error) {
	c = &Cluster{Dir: cfg.Dir, Secret: "archiver-secret"}
	defer func() {
		if err != nil {
			c.Close()
		}
	}()
	if c.Bee, err = beetest.StartDev(ctx, nil); err != nil {
		return nil, err
	}
	if c.Batch, err = c.Bee.BuyBatch(ctx, 22); err != nil {
		return nil, err
	}
	args := slicesConcat(cfg.OrchArgs)
	if cfg.Archiver {
		args = append(args, "-archiver", "-archiverSecret", c.Secret, "-archiveGateway", c.Bee.URL)
	}
	if c.Orch, err = StartLivepeer(ctx, LivepeerConfig{Name: "orchestrator", Bin: cfg.Livepeer,
		Dir: filepath.Join(cfg.Dir, "orchestrator"), Orchestrator: true, Args: args}); err != nil {
		return nil, err
	}
	c.nodes = append(c.nodes, c.Orch)
	if !cfg.Archiver {
		return c, nil
	}
	for i := range cfg.Workers {
		name := "worker" + strconv.Itoa(i+1)
		w, err := StartWorker(ctx, cfg.Worker, name, filepath.Join(cfg.Dir, name), c.Orch.Service, c.Secret, c.Bee.URL, c.Batch, 2)
		if err != nil {
			return nil, err
		}
		c.Workers = append(c.Workers, w)
		c.nodes = append(c.nodes, w)
	}
	for range cfg.Workers {
		if err := c.Orch.WaitLog(ctx, "worker registered"); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func slicesConcat(s []string) []string { return append([]string(nil), s...) }

// Broadcaster starts a broadcaster of the cluster's orchestrator.
func (c *Cluster) Broadcaster(ctx context.Context, name, bin string, args ...string) (*Node, error) {
	b, err := StartLivepeer(ctx, LivepeerConfig{Name: name, Bin: bin, Dir: filepath.Join(c.Dir, name),
		OrchAddr: c.Orch.Service, Args: append([]string{"-transcodingOptions", Profiles, "-archiveGateway", c.Bee.URL}, args...)})
	if err != nil {
		return nil, err
	}
	c.nodes = append(c.nodes, b)
	return b, nil
}

// Close stops every process.
func (c *Cluster) Close() {
	for i := len(c.nodes) - 1; i >= 0; i-- {
		c.nodes[i].Stop(5 * time.Second)
	}
	if c.Bee != nil {
		_ = c.Bee.Close()
	}
}

// Status reads GET /archive/status on a node's CLI port; the status code
// is returned with it (404 for a stream the node does not know).
func Status(ctx context.Context, cliAddr, manifestID string) (*plugin.Status, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+cliAddr+"/archive/status?manifestID="+manifestID, nil)
	if err != nil {
		return nil, 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, resp.StatusCode, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, resp.StatusCode, fmt.Errorf("GET /archive/status on %s: %s: %s", cliAddr, resp.Status, body)
	}
	var st plugin.Status
	if err := json.Unmarshal(body, &st); err != nil {
		return nil, resp.StatusCode, fmt.Errorf("status on %s: %w: %s", cliAddr, err, body)
	}
	return &st, resp.StatusCode, nil
}

// WaitFinal polls a node's status until the stream's final manifest is
// published.
func WaitFinal(ctx context.Context, cliAddr, manifestID string) (*plugin.Status, error) {
	var last error
	for {
		st, _, err := Status(ctx, cliAddr, manifestID)
		if err == nil && st.Final {
			return st, nil
		}
		if err == nil {
			err = fmt.Errorf("state %s, final %v, %d segments", st.State, st.Final, len(st.Segments))
		}
		last = err
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("stream %q on %s not final: %w (last: %v)", manifestID, cliAddr, ctx.Err(), last)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// getBee reads a file from Bee, a minute an attempt, three attempts: on a
// network of Bee nodes a file's chunks may have been pushed to a peer that
// serves them back slowly, and a retrieval that fails mid-file cuts the
// response short.
func getBee(ctx context.Context, url string) ([]byte, error) {
	var err error
	for range 3 {
		var b []byte
		if b, err = getWithin(ctx, url, time.Minute); err == nil || ctx.Err() != nil {
			return b, err
		}
	}
	return nil, err
}

// CheckArchive checks that every segment a broadcaster listed is in the
// published manifest at beeURL, byte for byte, and that every media
// playlist is finished (ENDLIST). It returns what the manifest lists, as
// "rendition/seq": the manifest may hold more than the broadcaster listed,
// since go-livepeer stops serving a stream's playlists when it ends, before
// its last segments come back transcoded.
func CheckArchive(ctx context.Context, beeURL, reference string, listed []Segment) (map[string]bool, error) {
	base := strings.TrimRight(beeURL, "/") + "/bzz/" + reference + "/"
	var errs []error
	manifest := map[string]bool{}
	master, err := getBee(ctx, base+"index.m3u8")
	if err != nil {
		return nil, err
	}
	for _, u := range uris(master) {
		rendition := path.Dir(u)
		pl, err := getBee(ctx, base+u)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !bytes.Contains(pl, []byte("#EXT-X-ENDLIST")) {
			errs = append(errs, fmt.Errorf("%s has no ENDLIST", u))
		}
		for _, seg := range uris(pl) {
			manifest[rendition+"/"+strings.TrimSuffix(seg, ".ts")] = true
		}
	}
	for _, s := range listed {
		key := s.Rendition + "/" + strconv.FormatInt(s.Seq, 10)
		if !manifest[key] {
			errs = append(errs, fmt.Errorf("%s: listed by the broadcaster, not in the manifest", key))
			continue
		}
		got, err := getBee(ctx, base+key+".ts")
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("%s: %w", key, err))
		case !bytes.Equal(got, s.Data):
			errs = append(errs, fmt.Errorf("%s: %d bytes archived, %d listed, not equal", key, len(got), len(s.Data)))
		}
	}
	return manifest, errors.Join(errs...)
}
