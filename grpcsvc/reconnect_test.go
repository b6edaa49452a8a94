package grpcsvc_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/lpswarm/archiver/grpcsvc"
	"github.com/lpswarm/archiver/proto/archiverpb"
	"github.com/lpswarm/archiver/worker"
)

// TestWorkerRejoinsARestartedOrchestratorAtOnce: a worker that was
// admitted reconnects after the orchestrator restarts with its minimum
// backoff. It used to keep doubling the backoff over sessions shorter than
// MaxBackoff, so an orchestrator restarted a few times within half a
// minute waited 30 s for its workers while its spool filled
// (integration/faults_test.go, TestOrchestratorRestartWithWorkersConnected).
func TestWorkerRejoinsARestartedOrchestratorAtOnce(t *testing.T) {
	srv, err := grpcsvc.New(newMemQueue(), grpcsvc.Config{Secret: "s3cret"})
	require.NoError(t, err)
	serve := func(addr string) *grpc.Server {
		t.Helper()
		lis, err := net.Listen("tcp", addr)
		require.NoError(t, err)
		g := grpc.NewServer()
		archiverpb.RegisterArchiverServiceServer(g, srv)
		go func() { _ = g.Serve(lis) }()
		return g
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := lis.Addr().String()
	require.NoError(t, lis.Close())
	g := serve(addr)
	t.Cleanup(func() { g.Stop() })

	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	const minBackoff = 100 * time.Millisecond
	w, err := worker.New(conn, offlineUploader{}, worker.Config{ID: "w", Secret: "s3cret", Capacity: 1, MinBackoff: minBackoff})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, nil) }()
	t.Cleanup(func() { cancel(); <-done })

	// Without the reset the eighth reconnect waits 2^7 × 100 ms = 12.8 s.
	for restart := range 8 {
		require.Eventually(t, func() bool { return srv.Held().Workers == 1 }, 5*time.Second, 5*time.Millisecond,
			"restart %d: the worker did not come back", restart)
		g.Stop()
		require.Eventually(t, func() bool { return srv.Held().Workers == 0 }, 5*time.Second, 5*time.Millisecond)
		g = serve(addr)
	}
	require.Eventually(t, func() bool { return srv.Held().Workers == 1 }, 5*time.Second, 5*time.Millisecond)
}
