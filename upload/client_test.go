package upload_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethersphere/bee/v2/pkg/cac"
	"github.com/ethersphere/bee/v2/pkg/file"
	"github.com/ethersphere/bee/v2/pkg/file/joiner"
	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	beepostage "github.com/ethersphere/bee/v2/pkg/postage"
	batchstoremock "github.com/ethersphere/bee/v2/pkg/postage/batchstore/mock"
	"github.com/ethersphere/bee/v2/pkg/soc"
	"github.com/ethersphere/bee/v2/pkg/storage"
	"github.com/ethersphere/bee/v2/pkg/swarm"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/bee"
	"github.com/lpswarm/archiver/postage"
	"github.com/lpswarm/archiver/upload"
)

// chunkEndpoint stands in for a full Bee node's /chunks endpoint, which
// dev nodes cannot play for an outside key (they accept only their own
// stamps; the local-chain tests use real full nodes). It checks every stamp
// with Bee's own postage.ValidStamp, as Bee does, and keeps the chunks so
// the file can be joined back with Bee's own joiner.
type chunkEndpoint struct {
	validate beepostage.ValidStampFn
	mu       sync.Mutex
	chunks   map[string]swarm.Chunk
	indexes  map[string]string // batch|index → chunk address
	reuse    int
}

func newChunkEndpoint(b *beepostage.Batch) *chunkEndpoint {
	return &chunkEndpoint{
		validate: beepostage.ValidStamp(batchstoremock.New(batchstoremock.WithBatch(b))),
		chunks:   map[string]swarm.Chunk{},
		indexes:  map[string]string{},
	}
}

func (e *chunkEndpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/tags":
		fmt.Fprint(w, `{"uid":7}`)
	case r.Method == http.MethodPost && r.URL.Path == "/chunks":
		e.postChunk(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (e *chunkEndpoint) postChunk(w http.ResponseWriter, r *http.Request) {
	data, _ := io.ReadAll(r.Body)
	raw, err := hex.DecodeString(r.Header.Get(bee.HeaderStamp))
	stamp := new(beepostage.Stamp)
	if err != nil || stamp.UnmarshalBinary(raw) != nil || r.Header.Get(bee.HeaderTag) != "7" {
		http.Error(w, `{"message":"bad stamp or tag"}`, http.StatusBadRequest)
		return
	}
	ch, err := cac.NewWithDataSpan(data)
	if err != nil { // replicas of the root are single-owner chunks
		var s *soc.SOC
		if s, err = soc.FromChunk(swarm.NewChunk(swarm.EmptyAddress, data)); err == nil {
			ch, err = s.Chunk()
		}
	}
	if err == nil {
		_, err = e.validate(ch.WithStamp(stamp))
	}
	if err != nil {
		http.Error(w, `{"message":"`+err.Error()+`"}`, http.StatusBadRequest)
		return
	}
	e.mu.Lock()
	idx := hex.EncodeToString(stamp.BatchID()) + hex.EncodeToString(stamp.Index())
	if prev, ok := e.indexes[idx]; ok && prev != ch.Address().String() {
		e.reuse++
	}
	e.indexes[idx] = ch.Address().String()
	e.chunks[ch.Address().ByteString()] = ch
	e.mu.Unlock()
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]string{"reference": ch.Address().String()})
}

func (e *chunkEndpoint) Get(_ context.Context, addr swarm.Address) (swarm.Chunk, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	ch, ok := e.chunks[addr.ByteString()]
	if !ok {
		return nil, storage.ErrNotFound
	}
	return ch, nil
}

// TestClientStampedUploadPassesBeeValidation uploads files with the
// operator's own stamps: every chunk (data, intermediate, parity, root
// replicas) carries a stamp Bee's validation accepts, no batch index is used
// twice, and Bee's joiner rebuilds the exact bytes from the stored chunks.
func TestClientStampedUploadPassesBeeValidation(t *testing.T) {
	ctx := testContext(t)
	key, err := crypto.GenerateKey()
	require.NoError(t, err)
	batch := postage.Batch{
		ID: [32]byte{1, 2, 3}, Owner: crypto.PubkeyToAddress(key.PublicKey),
		Depth: 20, BucketDepth: 16, Immutable: true, Amount: big.NewInt(1),
	}
	issuer, err := postage.OpenIssuer(t.TempDir(), key, []postage.Batch{batch})
	require.NoError(t, err)
	t.Cleanup(func() { _ = issuer.Close() })

	endpoint := newChunkEndpoint(&beepostage.Batch{
		ID: batch.ID[:], Value: big.NewInt(1), Owner: batch.Owner.Bytes(),
		Depth: batch.Depth, BucketDepth: batch.BucketDepth, Immutable: batch.Immutable,
	})
	srv := httptest.NewServer(endpoint)
	t.Cleanup(srv.Close)
	client, err := bee.New(srv.URL)
	require.NoError(t, err)

	for _, level := range []redundancy.Level{redundancy.NONE, redundancy.MEDIUM} {
		up := upload.ClientStamped(client, issuer, upload.Config{Redundancy: level})
		for i, n := range []int{10, 4096, 300_000} {
			data := randomBytes(byte(40+i), n)
			rec, err := up.Upload(ctx, data)
			require.NoError(t, err, "level %d size %d", level, n)
			require.Equal(t, []string{hex.EncodeToString(batch.ID[:])}, rec.Batches)

			j, size, err := joiner.New(ctx, endpoint, nil, rec.Reference, level)
			require.NoError(t, err)
			require.Equal(t, int64(n), size)
			var got bytes.Buffer
			_, err = file.JoinReadAll(ctx, j, &got)
			require.NoError(t, err)
			require.Equal(t, data, got.Bytes(), "level %d size %d", level, n)
		}
	}
	require.Zero(t, endpoint.reuse, "a batch index was used for two different chunks")
}

// TestClientStampedRefusedByDevNode: a dev node accepts only stamps signed
// by its own key, so an outside key's upload fails with Bee's refusal.
func TestClientStampedRefusedByDevNode(t *testing.T) {
	ctx := testContext(t)
	key, err := crypto.GenerateKey()
	require.NoError(t, err)
	batch := postage.Batch{ID: [32]byte{9}, Owner: crypto.PubkeyToAddress(key.PublicKey), Depth: 20, BucketDepth: 16, Immutable: true}
	issuer, err := postage.OpenIssuer(t.TempDir(), key, []postage.Batch{batch})
	require.NoError(t, err)
	t.Cleanup(func() { _ = issuer.Close() })

	_, err = upload.ClientStamped(dev.Client, issuer, upload.Config{}).Upload(ctx, []byte("refused"))
	var apiErr *bee.APIError
	require.ErrorAs(t, err, &apiErr)
	require.True(t, strings.Contains(apiErr.Message, "batch") || strings.Contains(apiErr.Message, "stamp"), apiErr.Message)
}
