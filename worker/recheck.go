package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	"github.com/lpswarm/archiver/proto/archiverpb"
)

// errNoLeaseNotice: a lease probe's stream ended without a lease.
var errNoLeaseNotice = errors.New("lease probe: the orchestrator sent no lease")

// leaseProbeTimeout bounds one lease probe.
const leaseProbeTimeout = 30 * time.Second

// registerRequest is what the worker registers (or probes its lease) with.
func (w *Worker) registerRequest() *archiverpb.RegisterRequest {
	return &archiverpb.RegisterRequest{
		Secret: w.cfg.Secret, Capacity: int64(w.cfg.Capacity), Version: w.cfg.Version, WorkerId: w.cfg.ID,
		Capabilities: &archiverpb.WorkerCapabilities{ClientStamping: w.cfg.OnLease != nil},
	}
}

// recheck reports whether a worker out of postage may take jobs again. A
// leased worker's counters in its range only ever grow, so nothing but a
// new lease from the orchestrator (the operator's remedy: another batch)
// gives it room: it asks for its lease without registering, which costs no
// job. Other uploaders ask Bee (Rechecker), or are tried again.
func (w *Worker) recheck(ctx context.Context) (bool, error) {
	if leased := w.leasedNow(); leased != nil {
		l, err := w.probeLease(ctx)
		if err != nil {
			return false, err
		}
		if proto.Equal(l, leased) {
			return false, nil
		}
		w.log.Info("the orchestrator grants a new stamp lease", "batch", fmt.Sprintf("%x", l.GetBatchId()),
			"from", l.GetCounterFrom(), "to", l.GetCounterTo())
		return true, nil
	}
	r, ok := w.uploader().(Rechecker)
	if !ok {
		return true, nil
	}
	return r.Recheck(ctx)
}

// probeLease asks the orchestrator for the lease it would grant now,
// without being admitted (archiverpb.LeaseProbeHeader).
func (w *Worker) probeLease(ctx context.Context) (*archiverpb.StampLease, error) {
	// Ending the stream as soon as the lease is read also makes an
	// orchestrator that ignores the header give its jobs back at once.
	ctx, cancel := context.WithTimeout(ctx, leaseProbeTimeout)
	defer cancel()
	ctx = metadata.AppendToOutgoingContext(ctx, archiverpb.LeaseProbeHeader, "1")
	stream, err := w.rpc.RegisterArchiver(ctx, w.registerRequest())
	if err != nil {
		return nil, classify(err)
	}
	n, err := stream.Recv()
	if err != nil {
		return nil, classify(err)
	}
	if n.GetLease() == nil {
		return nil, errNoLeaseNotice
	}
	return n.GetLease(), nil
}

// leasedNow is the stamp lease the uploader stamps within; nil if none.
func (w *Worker) leasedNow() *archiverpb.StampLease {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return w.leased
}
