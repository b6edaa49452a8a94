package beetest

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/ethersphere/bee/v2/pkg/cac"
	beepostage "github.com/ethersphere/bee/v2/pkg/postage"
	batchstoremock "github.com/ethersphere/bee/v2/pkg/postage/batchstore/mock"
	"github.com/ethersphere/bee/v2/pkg/soc"
	"github.com/ethersphere/bee/v2/pkg/storage"
	"github.com/ethersphere/bee/v2/pkg/swarm"
)

// StampNode plays the part of a Bee full node for client-stamped uploads,
// which a dev node refuses (it accepts only its own stamps): it serves
// /chunks, checking every stamp with Bee's own postage.ValidStamp, /tags,
// and /batches for the one batch it knows. It records every stamp index it
// accepted, so tests can prove no index was used for two chunks, and keeps
// the chunks, so files can be joined back with Bee's joiner (it is a
// storage.Getter). The local-chain tests run the same uploads against real
// full nodes.
type StampNode struct {
	batch    *beepostage.Batch
	validate beepostage.ValidStampFn

	mu       sync.Mutex
	chunks   map[string]swarm.Chunk
	indexes  map[string]string // batch|index → chunk address
	counters map[uint32]int    // counter → stamps using it, any bucket
	reused   int
	stamps   int
}

// NewStampNode knows one batch.
func NewStampNode(b *beepostage.Batch) *StampNode {
	return &StampNode{
		batch:    b,
		validate: beepostage.ValidStamp(batchstoremock.New(batchstoremock.WithBatch(b))),
		chunks:   map[string]swarm.Chunk{}, indexes: map[string]string{}, counters: map[uint32]int{},
	}
}

// Reused is how many stamps reused a batch index for another chunk.
func (n *StampNode) Reused() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.reused
}

// Counters returns how many accepted stamps used each counter value.
func (n *StampNode) Counters() map[uint32]int {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make(map[uint32]int, len(n.counters))
	for k, v := range n.counters {
		out[k] = v
	}
	return out
}

// Stamps is how many stamped chunks were accepted.
func (n *StampNode) Stamps() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.stamps
}

func (n *StampNode) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/tags":
		fmt.Fprint(w, `{"uid":7}`)
	case r.Method == http.MethodGet && r.URL.Path == "/batches":
		b := n.batch
		_ = json.NewEncoder(w).Encode(map[string]any{"batches": []map[string]any{{
			"batchID": hex.EncodeToString(b.ID), "value": "1", "start": 0, "owner": hex.EncodeToString(b.Owner),
			"depth": b.Depth, "bucketDepth": b.BucketDepth, "immutable": b.Immutable, "batchTTL": 86400,
		}}})
	case r.Method == http.MethodPost && r.URL.Path == "/chunks":
		n.postChunk(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (n *StampNode) postChunk(w http.ResponseWriter, r *http.Request) {
	data, _ := io.ReadAll(r.Body)
	raw, err := hex.DecodeString(r.Header.Get("Swarm-Postage-Stamp"))
	stamp := new(beepostage.Stamp)
	if err != nil || stamp.UnmarshalBinary(raw) != nil {
		http.Error(w, `{"message":"bad stamp"}`, http.StatusBadRequest)
		return
	}
	ch, err := cac.NewWithDataSpan(data)
	if err != nil { // replicas of a root are single-owner chunks
		var s *soc.SOC
		if s, err = soc.FromChunk(swarm.NewChunk(swarm.EmptyAddress, data)); err == nil {
			ch, err = s.Chunk()
		}
	}
	if err == nil {
		_, err = n.validate(ch.WithStamp(stamp))
	}
	if err != nil {
		http.Error(w, fmt.Sprintf(`{"message":%q}`, err.Error()), http.StatusBadRequest)
		return
	}
	n.mu.Lock()
	idx := hex.EncodeToString(stamp.BatchID()) + hex.EncodeToString(stamp.Index())
	if prev, ok := n.indexes[idx]; ok && prev != ch.Address().String() {
		n.reused++
	}
	n.indexes[idx] = ch.Address().String()
	_, counter := beepostage.BucketIndexFromBytes(stamp.Index())
	n.counters[counter]++
	n.chunks[ch.Address().ByteString()] = ch
	n.stamps++
	n.mu.Unlock()
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]string{"reference": ch.Address().String()})
}

// Get serves stored chunks (storage.Getter) for Bee's joiner.
func (n *StampNode) Get(_ context.Context, addr swarm.Address) (swarm.Chunk, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	ch, ok := n.chunks[addr.ByteString()]
	if !ok {
		return nil, storage.ErrNotFound
	}
	return ch, nil
}
