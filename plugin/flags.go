package plugin

import (
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"math"
	"math/big"
	"path/filepath"
	"strings"
	"time"

	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	lpnet "github.com/livepeer/go-livepeer/net"

	"github.com/lpswarm/archiver/capability"
	"github.com/lpswarm/archiver/grpcsvc"
	"github.com/lpswarm/archiver/internal/dispatch"
	"github.com/lpswarm/archiver/internal/host"
	"github.com/lpswarm/archiver/internal/spool"
	"github.com/lpswarm/archiver/internal/streams"
	"github.com/lpswarm/archiver/orchestrator"
	"github.com/lpswarm/archiver/payments"
	"github.com/lpswarm/archiver/postage"
)

// Defaults of the flags an operator is most likely to ask about.
const (
	DefaultSpoolMaxBytes   = 10 << 30 // 10 GiB of segments waiting for a worker
	DefaultMaxSegmentBytes = 64 << 20
	DefaultRetention       = 30 * 24 * time.Hour
	DefaultGateway         = "http://127.0.0.1:1633"
	// DefaultEndGrace is how long a session's end waits for segments still
	// on their way: go-livepeer's broadcaster tears a session down while its
	// last segments may still be in flight.
	DefaultEndGrace = 3 * time.Second
)

// ErrPaidOffchain refuses an archive price on a node without tickets.
var ErrPaidOffchain = errors.New("archive price > 0 needs tickets, which -network offchain does not have")

// Flags are the archiver's settings on a go-livepeer node, defined once here
// and registered on go-livepeer's own flag set (Register). Every flag has a
// working default: -archiver and -archiverSecret are all an orchestrator
// needs, -archive all a broadcaster needs.
type Flags struct {
	// Orchestrator.
	Archiver          bool
	Secret            string
	CapabilityID      uint
	PricePerUnit      int64
	BytesPerUnit      int64
	Retention         time.Duration
	Redundancy        uint
	MaxSegmentBytes   int64
	AcceptWait        time.Duration
	Allow, Deny       string
	TrustWorkers      bool
	IntakeMaxBytes    int64
	SpoolMaxBytes     int64
	SpoolMinFreeBytes int64
	IdleTimeout       time.Duration
	EndGrace          time.Duration
	WorkerMaxUnacked  int
	WorkerAckTimeout  time.Duration
	// PostageBatch and PostageDepth name the operator's batch that workers
	// stamping client-side share: each gets its own range of every
	// bucket's counters (LeaseSlot of them; 0: a quarter).
	PostageBatch string
	PostageDepth uint
	LeaseSlot    uint
	// MinDeposit is the TicketBroker deposit, in wei, a broadcaster needs
	// for its segments to be archived (empty or 0: none).
	MinDeposit string

	// Broadcaster.
	Archive bool

	// Both: the Bee gateway that status answers and logs build URLs with.
	Gateway string
}

// Register defines the flags on fs, in go-livepeer's camelCase style.
func (f *Flags) Register(fs *flag.FlagSet) {
	fs.BoolVar(&f.Archiver, "archiver", false, "Orchestrator: offer the Archive capability (archive streams to Swarm through archiver-node workers)")
	fs.StringVar(&f.Secret, "archiverSecret", "", "Orchestrator: shared secret archiver-node workers register with")
	fs.UintVar(&f.CapabilityID, "archiverCapability", uint(capability.DefaultArchiveID), "Capability id of Archive (ids of go-livepeer's own capabilities and ids > 127 are refused)")
	fs.Int64Var(&f.PricePerUnit, "archivePricePerUnit", 0, "Orchestrator: archive price in wei per -archiveBytesPerUnit bytes of source and renditions (0: free)")
	fs.Int64Var(&f.BytesPerUnit, "archiveBytesPerUnit", 1, "Orchestrator: bytes per unit of -archivePricePerUnit")
	fs.DurationVar(&f.Retention, "archiveRetention", DefaultRetention, "Orchestrator: how long the offer promises to keep archives (postage TTL floor)")
	fs.UintVar(&f.Redundancy, "archiveRedundancy", uint(redundancy.MEDIUM), "Orchestrator: Swarm redundancy level of archives, 0 (none) to 4 (paranoid)")
	fs.Int64Var(&f.MaxSegmentBytes, "archiveMaxSegmentBytes", DefaultMaxSegmentBytes, "Orchestrator: refuse to archive segments larger than this (source plus renditions)")
	fs.DurationVar(&f.AcceptWait, "archiveAcceptWait", 0, "Orchestrator: how long a segment's reply may wait for the archive's durable write (0: never; the next reply carries the outcome)")
	fs.StringVar(&f.Allow, "archiveAllow", "", "Orchestrator: comma-separated broadcaster addresses allowed to archive (empty: all)")
	fs.StringVar(&f.Deny, "archiveDeny", "", "Orchestrator: comma-separated broadcaster addresses refused archiving")
	fs.BoolVar(&f.TrustWorkers, "archiveTrustWorkers", false, "Orchestrator: do not re-check the references workers report (only for workers on the operator's own machines)")
	fs.Int64Var(&f.IntakeMaxBytes, "archiveIntakeMaxBytes", streams.DefaultMaxIntakeBytes, "Orchestrator: bytes of segments handed over and not yet spooled; past it segments are refused SPOOL_FULL")
	fs.Int64Var(&f.SpoolMaxBytes, "archiveSpoolMaxBytes", DefaultSpoolMaxBytes, "Orchestrator: disk space of segments waiting for a worker, under -dataDir/archiver")
	fs.Int64Var(&f.SpoolMinFreeBytes, "archiveSpoolMinFreeBytes", 0, "Orchestrator: free space the spool leaves on its disk (0: 64 MiB or an eighth of the disk; -1: none)")
	fs.DurationVar(&f.IdleTimeout, "archiveIdleTimeout", streams.DefaultIdleTimeout, "Orchestrator: a stream without segments for this long is ended and its final manifest published")
	fs.DurationVar(&f.EndGrace, "archiveEndGrace", DefaultEndGrace, "Orchestrator: after a broadcaster ends a session, wait this long for its last segments before publishing the final manifest")
	fs.IntVar(&f.WorkerMaxUnacked, "archiveWorkerMaxUnacked", grpcsvc.DefaultMaxUnacked, "Orchestrator: jobs a worker may hold before it fetches them, whatever capacity it declares")
	fs.DurationVar(&f.WorkerAckTimeout, "archiveWorkerAckTimeout", grpcsvc.DefaultAckTimeout, "Orchestrator: a worker that does not fetch a job within this long loses its unfetched jobs and gets no more until it does")
	fs.StringVar(&f.PostageBatch, "archivePostageBatch", "", "Orchestrator: postage batch id (hex) that workers stamping client-side share, each with a range of counters of its own (empty: workers stamp with their own batches)")
	fs.UintVar(&f.PostageDepth, "archivePostageDepth", 0, "Orchestrator: depth of -archivePostageBatch")
	fs.UintVar(&f.LeaseSlot, "archiveLeaseSlot", 0, "Orchestrator: counters of each bucket of -archivePostageBatch leased to one worker (0: a quarter of the bucket)")
	fs.StringVar(&f.MinDeposit, "archiveMinDeposit", "", "Orchestrator: archive only for broadcasters whose TicketBroker deposit is at least this many wei (postage is paid at once and cannot be taken back; transcoding is not affected; empty: no minimum)")
	fs.BoolVar(&f.Archive, "archive", false, "Broadcaster: ask orchestrators to archive every stream (the auth webhook's \"archive\" field decides per stream)")
	fs.StringVar(&f.Gateway, "archiveGateway", DefaultGateway, "Bee gateway that archive URLs in logs and /archive/status point at")
}

// capabilityID is -archiverCapability, checked.
func (f *Flags) capabilityID() (capability.ID, error) {
	if f.CapabilityID > math.MaxUint32 {
		return 0, fmt.Errorf("-archiverCapability %d: %w", f.CapabilityID, capability.ErrIDTooLarge)
	}
	id := capability.ID(f.CapabilityID)
	if err := id.Validate(); err != nil {
		return 0, fmt.Errorf("-archiverCapability: %w", err)
	}
	return id, nil
}

// price is the archive price the flags set.
func (f *Flags) price() *lpnet.PriceInfo {
	return &lpnet.PriceInfo{PricePerUnit: f.PricePerUnit, PixelsPerUnit: f.BytesPerUnit}
}

// orchestratorConfig checks the orchestrator's flags and turns them into
// the archiver's configurations. offchain nodes have no tickets, so a price
// cannot be charged there.
func (f *Flags) orchestratorConfig(dataDir string, offchain bool) (host.Config, orchestrator.Config, error) {
	var zero host.Config
	if f.Secret == "" {
		return zero, orchestrator.Config{}, errors.New("-archiver needs -archiverSecret, the secret archiver-node workers register with")
	}
	id, err := f.capabilityID()
	if err != nil {
		return zero, orchestrator.Config{}, err
	}
	if _, err := payments.PerByte(f.price()); err != nil {
		return zero, orchestrator.Config{}, fmt.Errorf("-archivePricePerUnit/-archiveBytesPerUnit: %w", err)
	}
	if offchain && f.PricePerUnit > 0 {
		return zero, orchestrator.Config{}, fmt.Errorf("-archivePricePerUnit %d: %w; use 0 (free) or run on chain", f.PricePerUnit, ErrPaidOffchain)
	}
	if f.Redundancy > uint(redundancy.PARANOID) {
		return zero, orchestrator.Config{}, fmt.Errorf("-archiveRedundancy %d: want 0 to %d", f.Redundancy, redundancy.PARANOID)
	}
	if f.MaxSegmentBytes < 0 {
		return zero, orchestrator.Config{}, fmt.Errorf("-archiveMaxSegmentBytes %d: cannot be negative", f.MaxSegmentBytes)
	}
	if f.SpoolMaxBytes <= 0 {
		return zero, orchestrator.Config{}, fmt.Errorf("-archiveSpoolMaxBytes %d: must be positive", f.SpoolMaxBytes)
	}
	if f.Retention < 0 || f.EndGrace < 0 || f.IdleTimeout < 0 || f.WorkerAckTimeout < 0 {
		return zero, orchestrator.Config{}, errors.New("-archiveRetention, -archiveEndGrace, -archiveIdleTimeout and -archiveWorkerAckTimeout cannot be negative")
	}
	if f.WorkerMaxUnacked < 1 {
		return zero, orchestrator.Config{}, fmt.Errorf("-archiveWorkerMaxUnacked %d: at least 1", f.WorkerMaxUnacked)
	}
	policy, err := payments.ParsePolicy(f.Allow, f.Deny)
	if err != nil {
		return zero, orchestrator.Config{}, fmt.Errorf("-archiveAllow/-archiveDeny: %w", err)
	}
	minDeposit, err := f.minDeposit(offchain)
	if err != nil {
		return zero, orchestrator.Config{}, err
	}
	price := f.price()
	oc := orchestrator.Config{
		MinDeposit:       minDeposit,
		CapabilityID:     id,
		Price:            func() *lpnet.PriceInfo { return price },
		RetentionSeconds: uint64(f.Retention / time.Second),
		RedundancyLevel:  uint32(f.Redundancy),
		MaxSegmentBytes:  f.MaxSegmentBytes,
		Policy:           policy,
		AcceptWait:       f.AcceptWait,
	}
	hc := host.Config{
		DataDir: filepath.Join(dataDir, "archiver"),
		Spool:   spool.Config{MaxBytes: f.SpoolMaxBytes, MinFreeBytes: f.SpoolMinFreeBytes},
		Service: grpcsvc.Config{Secret: f.Secret, Redundancy: redundancy.Level(f.Redundancy), TrustReferences: f.TrustWorkers,
			MaxUnacked: f.WorkerMaxUnacked, AckTimeout: f.WorkerAckTimeout},
		Streams: streams.Config{IdleTimeout: f.IdleTimeout, MaxIntakeBytes: f.IntakeMaxBytes},
		// Offchain there are no keys to sign status queries with.
		PublicStatus: offchain,
	}
	if hc.Service.Leases, err = f.leases(hc.DataDir); err != nil {
		return zero, orchestrator.Config{}, err
	}
	return hc, oc, nil
}

// minDeposit is -archiveMinDeposit, nil when not set.
func (f *Flags) minDeposit(offchain bool) (*big.Int, error) {
	if f.MinDeposit == "" {
		return nil, nil
	}
	v, ok := new(big.Int).SetString(f.MinDeposit, 10)
	switch {
	case !ok || v.Sign() < 0:
		return nil, fmt.Errorf("-archiveMinDeposit %q: want a whole number of wei", f.MinDeposit)
	case v.Sign() == 0:
		return nil, nil
	case offchain:
		return nil, fmt.Errorf("-archiveMinDeposit %s: offchain there are no deposits", v)
	}
	return v, nil
}

// leases is -archivePostageBatch's lease table, nil without a batch.
func (f *Flags) leases(dataDir string) (*dispatch.LeaseConfig, error) {
	if f.PostageBatch == "" {
		return nil, nil
	}
	id, err := hex.DecodeString(strings.TrimPrefix(f.PostageBatch, "0x"))
	if err != nil || len(id) != 32 {
		return nil, fmt.Errorf("-archivePostageBatch %q: want 32 bytes in hex", f.PostageBatch)
	}
	if f.PostageDepth <= postage.MainnetBucketDepth || f.PostageDepth > postage.MainnetBucketDepth+31 {
		return nil, fmt.Errorf("-archivePostageDepth %d: the batch's depth, %d to %d", f.PostageDepth, postage.MainnetBucketDepth+1, postage.MainnetBucketDepth+31)
	}
	capacity := uint32(1) << (f.PostageDepth - postage.MainnetBucketDepth)
	slot := uint32(f.LeaseSlot)
	if slot == 0 {
		slot = max(capacity/4, 1)
	}
	if f.LeaseSlot > uint(capacity) {
		return nil, fmt.Errorf("-archiveLeaseSlot %d: a bucket of depth %d has %d counters", f.LeaseSlot, f.PostageDepth, capacity)
	}
	return &dispatch.LeaseConfig{Batch: [32]byte(id), BucketCapacity: capacity, Slot: slot, Path: filepath.Join(dataDir, "leases.json")}, nil
}
