package payments

import (
	"fmt"
	"math"
	"math/big"

	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	"github.com/ethersphere/bee/v2/pkg/swarm"
)

// StoredChunks is the number of chunks Bee stores, and a postage batch
// must stamp, for a file of fileBytes bytes at the given redundancy level:
// data chunks (the last one stamped whole even if short), the intermediate
// chunks of the Swarm tree, the parity chunks of every level and, with
// redundancy, the dispersed replicas of the root. It equals
// len(chunker.Split(ctx, data, level).Chunks) for data without repeated
// chunks (tests check this against Bee's pipeline).
//
// It follows bee v2.7's hashtrie writer: each level is cut into groups of
// level.GetMaxShards() chunks, each full group gets GetParities(maxShards)
// parity chunks and one parent chunk; a final group of two or more chunks
// gets GetParities(size) parities and a parent; a final lone chunk gets no
// parity and is carried up to be a member of the next level instead.
func StoredChunks(level redundancy.Level, fileBytes int64) (int64, error) {
	if !level.Validate() {
		return 0, fmt.Errorf("%w: redundancy level %d", ErrInvalidParams, level)
	}
	if fileBytes <= 0 {
		return 0, fmt.Errorf("%w: %d bytes, want > 0", ErrInvalidSize, fileBytes)
	}
	m := int64(level.GetMaxShards())
	p := int64(level.GetParities(int(m)))
	members := (fileBytes-1)/swarm.ChunkSize + 1 // data chunks
	total := members
	for members > 1 {
		groups, rest := members/m, members%m
		parents := groups
		total += groups * p
		if rest >= 2 {
			parents++
			total += int64(level.GetParities(int(rest)))
		}
		total += parents
		members = parents
		if rest == 1 {
			members++ // the carried chunk is already counted
		}
	}
	return total + int64(level.GetReplicaCount()), nil
}

// RedundancyFactor is the number of stamped bytes (chunks × 4096) per
// payload byte at the given redundancy level. It is above 1 even at NONE,
// because the Swarm tree's intermediate chunks need stamps too.
//
// With fileBytes > 0 it is exact for a file of that size; segments are
// archived as separate files, so a typical segment size prices small
// segments correctly (their partial groups, partial last chunk and root
// replicas weigh more). With fileBytes == 0 it is the large-file limit
// derived from Bee's erasure tables: every level stores
// (maxShards+parities)/maxShards chunks per member and has 1/maxShards as
// many members as the level below, so the total tends to
// 128/maxShards × maxShards/(maxShards-1) = 128/(maxShards-1) chunks per
// data chunk: 128/127 at NONE, 128/118 at MEDIUM (maxShards 119).
func RedundancyFactor(level redundancy.Level, fileBytes int64) (*big.Rat, error) {
	if !level.Validate() {
		return nil, fmt.Errorf("%w: redundancy level %d", ErrInvalidParams, level)
	}
	switch {
	case fileBytes < 0:
		return nil, fmt.Errorf("%w: %d bytes", ErrInvalidSize, fileBytes)
	case fileBytes == 0:
		m := int64(level.GetMaxShards())
		return big.NewRat(swarm.Branches, m-1), nil
	}
	chunks, err := StoredChunks(level, fileBytes)
	if err != nil {
		return nil, err
	}
	if chunks > math.MaxInt64/swarm.ChunkSize {
		return nil, fmt.Errorf("%w: %d chunks", ErrOverflow, chunks)
	}
	return big.NewRat(chunks*swarm.ChunkSize, fileBytes), nil
}
