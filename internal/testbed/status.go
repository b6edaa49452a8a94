package testbed

import (
	"context"
	"crypto/tls"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/lpswarm/archiver/grpcsvc"
	"github.com/lpswarm/archiver/proto/archiverpb"
)

// archiveStatus asks the orchestrator, over its gRPC port, for the
// broadcaster's archive status with a signed request.
func archiveStatus(ctx context.Context, o *Orchestrator, b *Broadcaster) (*archiverpb.ArchiveStatus, error) {
	conn, err := grpc.NewClient(o.RPCAddr, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{InsecureSkipVerify: true})))
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	req, err := grpcsvc.SignStatusRequest(b.key, "archived-stream", time.Now())
	if err != nil {
		return nil, err
	}
	return archiverpb.NewArchiveQueriesClient(conn).GetArchiveStatus(ctx, req)
}
