package orchestrator_test

import (
	"context"
	"errors"
	"math/big"
	"testing"
	"time"

	lpnet "github.com/livepeer/go-livepeer/net"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver"
	"github.com/lpswarm/archiver/orchestrator"
	"github.com/lpswarm/archiver/proto/archiverpb"
)

// checkingArchiver is a fakeArchiver that refuses names as the streams
// intake does (archiver.Checker).
type checkingArchiver struct {
	*fakeArchiver
	refuse error
}

func (a checkingArchiver) Check(archiver.Job) error { return a.refuse }

// TestCheckerRefusesBeforeCharging: a job the archiver's Check refuses is
// REFUSED INVALID_NAME with the archiver's reason, never submitted and
// never charged; one it passes is archived as usual.
func TestCheckerRefusesBeforeCharging(t *testing.T) {
	for _, tc := range []struct {
		name   string
		refuse error
		status archiverpb.ArchiveReceipt_Status
		reason archiverpb.ArchiveReceipt_Reason
		jobs   int
	}{
		{"refused", errors.New(`manifest id "a/b": path separator`), archiverpb.ArchiveReceipt_REFUSED, archiverpb.ArchiveReceipt_INVALID_NAME, 0},
		{"passed", nil, archiverpb.ArchiveReceipt_ACCEPTED, archiverpb.ArchiveReceipt_REASON_UNSPECIFIED, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			orch, arch := newFakeOrch(300, 200), checkingArchiver{fakeArchiver: &fakeArchiver{}, refuse: tc.refuse}
			dec, err := orchestrator.New(orch, orch, arch, orchestrator.Config{CapabilityID: archiveBit, Price: price, AcceptWait: time.Minute})
			require.NoError(t, err)
			require.NoError(t, dec.ProcessPayment(context.Background(), &lpnet.Payment{Sender: broadcaster.Bytes()}, session))
			orch.credit(broadcaster, session, big.NewRat(10, 1))
			md, seg := segment(1, true)
			res, err := dec.TranscodeSeg(context.Background(), md, seg)
			require.NoError(t, err)
			require.NotNil(t, res.TranscodeData, "a refused archive never fails the transcode")
			r := onlyReceipt(t, dec)
			require.Equal(t, tc.status, r.Status)
			require.Equal(t, tc.reason, r.Reason)
			require.Len(t, arch.submitted(), tc.jobs)
			if tc.refuse != nil {
				require.Equal(t, tc.refuse.Error(), r.Detail)
				require.Zero(t, r.BytesCharged)
				require.Empty(t, r.FeeWei)
				require.Equal(t, big.NewRat(10, 1), orch.Balance(broadcaster, session), "nothing debited")
			}
		})
	}
}
