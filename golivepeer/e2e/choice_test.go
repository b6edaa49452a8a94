package e2e

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"path"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/internal/realnode"
	"github.com/lpswarm/archiver/plugin"
)

// shortVideo is the first seconds of the test video: enough segments to
// tell archived from not archived.
const shortVideo = 12 * time.Second

// push streams the first d of the test video to a broadcaster under id and
// records what it lists.
func push(ctx context.Context, t *testing.T, b *realnode.Node, id string, d time.Duration) []realnode.Segment {
	t.Helper()
	rec, stop := realnode.Record(ctx, b.HTTP, id, 500*time.Millisecond)
	err := realnode.PushFor(ctx, bins.video, "rtmp://"+b.RTMP+"/stream/"+id, d)
	// The broadcaster lists its last segments once they are transcoded,
	// seconds after the push ends.
	time.Sleep(6 * time.Second)
	stop()
	require.NoError(t, err)
	require.Empty(t, rec.Errors())
	return rec.Segments()
}

// renditions counts the segments listed per rendition.
func renditions(segs []realnode.Segment) map[string]int {
	out := map[string]int{}
	for _, s := range segs {
		out[s.Rendition]++
	}
	return out
}

// TestWebhookChoosesPerStream: one broadcaster without -archive, its auth
// webhook answering "archive": true for one stream and false for another.
// Both are transcoded; only the first is archived. Beside it, a stock
// go-livepeer broadcaster on the same archiving orchestrator is transcoded
// as before and nothing of it is archived.
func TestWebhookChoosesPerStream(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	c, err := realnode.StartCluster(ctx, realnode.ClusterConfig{Dir: t.TempDir(), Livepeer: bins.archiver,
		Worker: bins.worker, Archiver: true, Workers: 2})
	require.NoError(t, err)
	defer c.Close()

	hook := webhook(t, map[string]bool{"keepMe": true, "dropMe": false})
	b, err := c.Broadcaster(ctx, "broadcaster", bins.archiver, "-authWebhookUrl", hook)
	require.NoError(t, err)
	stock, err := realnode.StartLivepeer(ctx, realnode.LivepeerConfig{Name: "stock", Bin: bins.stock,
		Dir: t.TempDir() + "/stock", OrchAddr: c.Orch.Service, Args: []string{"-transcodingOptions", realnode.Profiles}})
	require.NoError(t, err)
	defer stock.Stop(5 * time.Second)

	type run struct {
		node *realnode.Node
		id   string
		segs []realnode.Segment
	}
	runs := []*run{{node: b, id: "keepMe"}, {node: b, id: "dropMe"}, {node: stock, id: "stockStream"}}
	done := make(chan struct{})
	for _, r := range runs {
		go func() {
			defer func() { done <- struct{}{} }()
			r.segs = push(ctx, t, r.node, r.id, shortVideo)
		}()
	}
	for range runs {
		<-done
	}
	for _, r := range runs {
		assert.Len(t, renditions(r.segs), 3, "%s is transcoded into two renditions beside its source", r.id)
	}

	st, err := realnode.WaitFinal(ctx, b.CLI, "keepMe")
	require.NoError(t, err)
	_, err = realnode.CheckArchive(ctx, c.Bee.URL, st.Reference, runs[0].segs)
	require.NoError(t, err)
	for _, id := range []string{"dropMe", "stockStream"} {
		_, code, _ := realnode.Status(ctx, c.Orch.CLI, id)
		assert.Equal(t, http.StatusNotFound, code, "the orchestrator archived nothing of %s", id)
	}
	_, code, _ := realnode.Status(ctx, b.CLI, "dropMe")
	assert.Equal(t, http.StatusNotFound, code, "the broadcaster asked nothing of dropMe")
	assert.NotContains(t, c.Orch.Log(), `"dropMe"`, "no archive stream for dropMe on the orchestrator")
}

// TestStockOrchestrator: an archiving broadcaster against a stock
// go-livepeer orchestrator streams and transcodes normally; every segment
// is a gap because no orchestrator offers archiving.
func TestStockOrchestrator(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	c, err := realnode.StartCluster(ctx, realnode.ClusterConfig{Dir: t.TempDir(), Livepeer: bins.stock})
	require.NoError(t, err)
	defer c.Close()
	b, err := c.Broadcaster(ctx, "broadcaster", bins.archiver, "-archive")
	require.NoError(t, err)

	segs := push(ctx, t, b, "toStock", shortVideo)
	perRendition := renditions(segs)
	require.Len(t, perRendition, 3, "transcoded as with any orchestrator")

	st, _, err := realnode.Status(ctx, b.CLI, "toStock")
	require.NoError(t, err)
	assert.Empty(t, st.URL)
	assert.Empty(t, st.Segments)
	require.GreaterOrEqual(t, len(st.Gaps), perRendition["source"], "every segment sent is a gap")
	for _, g := range st.Gaps {
		assert.Equal(t, plugin.ReasonNotOffered, g.Reason)
	}
}

// webhook serves go-livepeer's auth webhook: every stream is allowed under
// its own name, with "archive" from archive when listed there.
func webhook(t *testing.T, archive map[string]bool) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			URL string `json:"url"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		id := path.Base(req.URL)
		answer := map[string]any{"manifestID": id}
		if a, ok := archive[id]; ok {
			answer["archive"] = a
		}
		_ = json.NewEncoder(w).Encode(answer)
	})}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + l.Addr().String() + "/auth"
}
