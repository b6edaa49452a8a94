package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/big"

	"github.com/lpswarm/archiver/bee"
	"github.com/lpswarm/archiver/postage"
)

// runPostage prints what an operator needs to know of a batch the node
// owns: depth, fill, TTL, cost and what it can still hold.
func runPostage(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "status" {
		return fmt.Errorf("%w: postage status -bee URL -batch ID (buy, topup and dilute come with the local-chain support)", errUsage)
	}
	var beeURL, batch string
	fs := postageFlags(&beeURL, &batch, stderr)
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	if batch == "" {
		return fmt.Errorf("%w: -batch is required", errUsage)
	}
	c, err := bee.New(beeURL)
	if err != nil {
		return err
	}
	b, err := c.Batch(ctx, batch)
	if err != nil {
		return unreachable(fmt.Errorf("batch %s: %w", batch, err))
	}
	fmt.Fprint(stdout, describeBatch(b))
	return nil
}

// postageFlags binds the postage status flags.
func postageFlags(beeURL, batch *string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("postage status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(beeURL, "bee", "http://127.0.0.1:1633", "Bee API URL")
	fs.StringVar(batch, "batch", "", "postage batch id the node owns")
	return fs
}

// describeBatch formats a batch's status; the arithmetic is package postage's.
func describeBatch(b bee.Batch) string {
	utilization := postage.Utilization(b.Utilization, b.Depth, b.BucketDepth)
	theoretical := postage.TheoreticalCapacity(b.Depth)
	effective, ok := postage.EffectiveCapacity(b.Depth)
	if !ok {
		effective = theoretical
	}
	left := uint64(float64(effective) * (1 - utilization))
	amount := big.NewInt(0)
	if b.Amount.Int != nil {
		amount = b.Amount.Int
	}
	return fmt.Sprintf(`batch        %s
depth        %d (bucket depth %d), %s
utilization  %.2f %% of the fullest bucket
capacity     %s theoretical, %s effective, about %s left
ttl          %s
cost         %s xBZZ (amount %s PLUR per chunk)
usable       %t
`, b.BatchID, b.Depth, b.BucketDepth, map[bool]string{true: "immutable", false: "mutable"}[b.ImmutableFlag],
		100*utilization, bytesString(theoretical), bytesString(effective), bytesString(left),
		ttlString(b.BatchTTL), postage.FormatBZZ(postage.Cost(b.Depth, amount)), amount, b.Usable)
}

// ttlString writes a TTL in seconds as days and hours; Bee's dev batches
// report TTLs beyond time.Duration's range.
func ttlString(seconds int64) string {
	if seconds <= 0 {
		return "expired"
	}
	return fmt.Sprintf("%d days %d hours", seconds/86400, seconds%86400/3600)
}

func bytesString(n uint64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.2f %cB", float64(n)/float64(div), "kMGTPE"[exp])
}
