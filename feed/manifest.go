package feed

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethersphere/bee/v2/pkg/feeds"
	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	"github.com/ethersphere/bee/v2/pkg/manifest"
	"github.com/ethersphere/bee/v2/pkg/swarm"

	"github.com/lpswarm/archiver/upload"
)

// Metadata keys of a feed manifest's root, as bee's api package names them
// (unexported there).
const (
	MetaOwner = "swarm-feed-owner"
	MetaTopic = "swarm-feed-topic"
	MetaType  = "swarm-feed-type"
)

// Uploader stores one file on Swarm; *upload.Uploader implements it, and
// upload.Offline only computes the reference.
type Uploader interface {
	Upload(ctx context.Context, data []byte) (upload.Receipt, error)
}

// Manifest builds the feed manifest of (owner, topic) and stores its nodes
// through up, returning its reference. Bee's POST /feeds builds the same
// manifest (at redundancy none), so the result is deterministic.
func Manifest(ctx context.Context, up Uploader, owner common.Address, topic Topic) (swarm.Address, error) {
	m, err := manifest.NewDefaultManifest(saver{up}, false)
	if err != nil {
		return swarm.ZeroAddress, fmt.Errorf("feed: new manifest: %w", err)
	}
	meta := map[string]string{
		MetaOwner: hex.EncodeToString(owner.Bytes()),
		MetaTopic: hex.EncodeToString(topic[:]),
		MetaType:  feeds.Sequence.String(),
	}
	// A 32-byte zero reference, not swarm.ZeroAddress (no bytes): Bee
	// writes the former, and the encoding differs.
	if err := m.Add(ctx, manifest.RootPath, manifest.NewEntry(swarm.NewAddress(make([]byte, swarm.HashSize)), meta)); err != nil {
		return swarm.ZeroAddress, fmt.Errorf("feed: manifest root: %w", err)
	}
	ref, err := m.Store(ctx)
	if err != nil {
		return swarm.ZeroAddress, fmt.Errorf("feed: store manifest: %w", err)
	}
	return ref, nil
}

// ManifestReference computes the feed manifest's reference offline, at the
// redundancy level it is (or will be) stored with.
func ManifestReference(ctx context.Context, owner common.Address, topic Topic, level redundancy.Level) (swarm.Address, error) {
	return Manifest(ctx, upload.Offline{Level: level}, owner, topic)
}

// saver stores mantaray nodes as Swarm files.
type saver struct{ up Uploader }

func (s saver) Save(ctx context.Context, data []byte) ([]byte, error) {
	rec, err := s.up.Upload(ctx, data)
	if err != nil {
		return nil, err
	}
	return rec.Reference.Bytes(), nil
}

func (saver) Load(context.Context, []byte) ([]byte, error) {
	return nil, errors.New("feed: manifests are built, not loaded")
}
