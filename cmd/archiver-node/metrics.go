package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/lpswarm/archiver/bee"
	"github.com/lpswarm/archiver/worker"
)

// serveMetrics serves reg on addr; the returned func stops the server.
func serveMetrics(addr string, reg *prometheus.Registry, log *slog.Logger) (func(), error) {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("-metricsAddr: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server", "error", err)
		}
	}()
	log.Info("serving metrics", "addr", lis.Addr().String())
	return func() { _ = srv.Close() }, nil
}

// watchBatches samples the postage batches the worker stamps with every
// minute: utilization (node-side stamping, from the node) and TTL.
func watchBatches(ctx context.Context, c *bee.Client, s stampingConfig, m *worker.Metrics, log *slog.Logger) {
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for {
		for _, id := range strings.Split(s.batches, ",") {
			if id = strings.TrimSpace(id); id != "" {
				sampleBatch(ctx, c, s.mode, id, m, log)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func sampleBatch(ctx context.Context, c *bee.Client, mode, id string, m *worker.Metrics, log *slog.Logger) {
	if mode == "node" {
		b, err := c.Batch(ctx, id)
		if err != nil {
			log.Warn("batch status", "batch", id, "error", err)
			return
		}
		capacity := float64(uint64(1) << (b.Depth - b.BucketDepth))
		m.BatchUtilization(id, float64(b.Utilization)/capacity)
		m.BatchTTL(id, time.Duration(b.BatchTTL)*time.Second)
		return
	}
	b, err := c.ChainBatch(ctx, id)
	if err != nil {
		log.Warn("batch status", "batch", id, "error", err)
		return
	}
	m.BatchTTL(id, time.Duration(b.BatchTTL)*time.Second) // the issuer's state knows utilization; Bee does not

}
