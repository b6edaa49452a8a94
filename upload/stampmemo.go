package upload

import (
	"container/list"
	"context"
	"fmt"
	"sync"

	beepostage "github.com/ethersphere/bee/v2/pkg/postage"
	"github.com/ethersphere/bee/v2/pkg/swarm"
)

// stampMemory is how many chunks' stamps an uploader remembers: about
// 256 MiB of chunks, some 20 MB of memory. The chunks uploaded again are a
// stream's unchanged manifest nodes and playlists, touched on every publish,
// and the chunks of a retried upload, so recently used is what matters.
const stampMemory = 1 << 16

// stamp returns a stamp for every address: the one a chunk already got
// from this uploader, else a fresh one (one Stamp call for all of those).
//
// Without it every publish of a stream re-stamps its unchanged manifest
// nodes and playlists, and every retry after Bee was unreachable re-stamps
// the whole file: each time one more index of the same buckets is used up,
// until a bucket is full and the stream cannot be published any more.
// Sending a chunk again with the very stamp it was stored with is a no-op
// for Bee (its upload store has seen it, its reserve has that stamp).
// Only chunks whose address fixes their content come through here
// (content-addressed chunks and the root's replicas, not feed updates), so
// an old stamp can never vouch for other bytes.
func (u *Uploader) stamp(ctx context.Context, addrs []swarm.Address) ([]*beepostage.Stamp, error) {
	out := make([]*beepostage.Stamp, len(addrs))
	var fresh []swarm.Address
	var at []int
	for i, a := range addrs {
		if st, ok := u.memo.get(a); ok {
			out[i] = st
			continue
		}
		fresh, at = append(fresh, a), append(at, i)
	}
	if len(fresh) == 0 {
		return out, nil
	}
	stamps, err := u.stamper.Stamp(ctx, fresh)
	if err != nil {
		return nil, err
	}
	if len(stamps) != len(fresh) {
		return nil, fmt.Errorf("upload: stamper returned %d stamps for %d chunks", len(stamps), len(fresh))
	}
	for k, st := range stamps {
		out[at[k]] = st
		u.memo.put(fresh[k], st)
	}
	return out, nil
}

// stampMemo is a bounded map from chunk address to stamp that forgets the
// least recently used entry first.
type stampMemo struct {
	mu    sync.Mutex
	max   int
	order *list.List // of *memoEntry, most recently used first
	items map[[swarm.HashSize]byte]*list.Element
}

type memoEntry struct {
	key   [swarm.HashSize]byte
	stamp *beepostage.Stamp
}

func newStampMemo(max int) *stampMemo {
	return &stampMemo{max: max, order: list.New(), items: make(map[[swarm.HashSize]byte]*list.Element)}
}

func (m *stampMemo) get(a swarm.Address) (*beepostage.Stamp, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.items[[swarm.HashSize]byte(a.Bytes())]
	if !ok {
		return nil, false
	}
	m.order.MoveToFront(e)
	return e.Value.(*memoEntry).stamp, true
}

func (m *stampMemo) put(a swarm.Address, st *beepostage.Stamp) {
	m.mu.Lock()
	defer m.mu.Unlock()
	key := [swarm.HashSize]byte(a.Bytes())
	if e, ok := m.items[key]; ok {
		e.Value.(*memoEntry).stamp = st
		m.order.MoveToFront(e)
		return
	}
	m.items[key] = m.order.PushFront(&memoEntry{key: key, stamp: st})
	if m.order.Len() > m.max {
		last := m.order.Back()
		m.order.Remove(last)
		delete(m.items, last.Value.(*memoEntry).key)
	}
}
