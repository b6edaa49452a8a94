package feed

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	"github.com/ethersphere/bee/v2/pkg/swarm"

	"github.com/lpswarm/archiver/bee"
	"github.com/lpswarm/archiver/upload"
)

// Storer stores files and single-owner chunks, stamped; *upload.Uploader
// implements it.
type Storer interface {
	Uploader
	UploadSOC(ctx context.Context, ch swarm.Chunk) (upload.Receipt, error)
}

// Stored is where an update went.
type Stored struct {
	// Manifest is the feed manifest: /bzz/<Manifest>/index.m3u8 plays the
	// manifest of the latest update.
	Manifest swarm.Address
	Update   swarm.Address // the update's chunk
	Index    uint64
}

// Store checks u (its owner's signature, and that it points at manifest)
// and stores it at the given redundancy level. The caller stores the
// manifest u points at first, so an update never resolves to nothing. The
// feed manifest is stored with update 0 only: every later update finds it,
// and it is content addressed, so storing it again (update 0 retried) is
// harmless.
func Store(ctx context.Context, st Storer, u Update, manifest swarm.Address, level redundancy.Level) (Stored, error) {
	if err := u.Verify(); err != nil {
		return Stored{}, err
	}
	if ref, err := u.Reference(); err != nil {
		return Stored{}, err
	} else if !ref.Equal(manifest) {
		return Stored{}, fmt.Errorf("feed: update %d: %w: %s, not %s", u.Index, ErrWrongReference, ref, manifest)
	}
	up := Uploader(upload.Offline{Level: level})
	if u.Index == 0 {
		up = st
	}
	fm, err := Manifest(ctx, up, u.Owner, u.Topic)
	if err != nil {
		return Stored{}, err
	}
	ch, err := u.Chunk()
	if err != nil {
		return Stored{}, err
	}
	if _, err := st.UploadSOC(ctx, ch); err != nil {
		return Stored{}, fmt.Errorf("feed: store update %d: %w", u.Index, err)
	}
	return Stored{Manifest: fm, Update: ch.Address(), Index: u.Index}, nil
}

// Updater keeps one feed for a process that publishes a stream repeatedly
// (an import): each Update signs and stores the next index. It is safe for
// concurrent use; updates are serialised.
type Updater struct {
	st       Storer
	signer   Signer
	topic    Topic
	level    redundancy.Level
	manifest swarm.Address
	now      func() time.Time

	mu   sync.Mutex
	next uint64
}

// NewUpdater continues the feed (signer's address, topic) at index next,
// storing through st at the given redundancy level.
func NewUpdater(ctx context.Context, st Storer, s Signer, topic Topic, level redundancy.Level, next uint64) (*Updater, error) {
	fm, err := ManifestReference(ctx, s.Address(), topic, level)
	if err != nil {
		return nil, err
	}
	return &Updater{st: st, signer: s, topic: topic, level: level, manifest: fm, now: time.Now, next: next}, nil
}

// Resume continues the feed after its latest update as Bee resolves it
// (GET /feeds), or at 0 when Bee finds none. A feed whose update Bee found
// but cannot resolve is an error, not taken for an empty one: rewriting
// update 0 would leave the older later updates in front of the new ones
// until the counter passes them. Bee's "found none" is only as good as its
// lookup (bee.ErrNoFeedUpdate): a node that cannot reach the update's
// neighbourhood says the same.
func Resume(ctx context.Context, c *bee.Client, st Storer, s Signer, topic Topic, level redundancy.Level) (*Updater, error) {
	var next uint64
	latest, err := c.FeedLatest(ctx, s.Address().Bytes(), topic[:])
	switch {
	case errors.Is(err, bee.ErrNoFeedUpdate):
	case err != nil:
		return nil, fmt.Errorf("feed: latest update of %s/%s: %w", s.Address().Hex(), topic, err)
	default:
		next = latest.Index + 1
	}
	return NewUpdater(ctx, st, s, topic, level, next)
}

// Manifest is the feed manifest's reference: the stable address.
func (u *Updater) Manifest() swarm.Address { return u.manifest }

// Next is the index the next update gets.
func (u *Updater) Next() uint64 {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.next
}

// Update points the feed at manifest (already stored) with the next
// index, which advances only once the update is stored.
func (u *Updater) Update(ctx context.Context, manifest swarm.Address) (Stored, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	up, err := NewUpdate(u.signer, u.topic, u.next, manifest, u.now())
	if err != nil {
		return Stored{}, err
	}
	st, err := Store(ctx, u.st, up, manifest, u.level)
	if err != nil {
		return Stored{}, err
	}
	u.next++
	return st, nil
}
