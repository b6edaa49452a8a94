package main

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/lpswarm/archiver/internal/realnode"
)

func addressOf(key *ecdsa.PrivateKey) common.Address { return crypto.PubkeyToAddress(key.PublicKey) }

// runChain is the paid loop on one local chain (-chain): the Livepeer
// protocol and Swarm's contracts on a geth dev chain, two Bee full nodes,
// real livepeer-archiver nodes paying with real tickets, workers stamping
// with the orchestrator's key. It returns the loop running, for the caller
// to close.
func runChain(ctx context.Context, c config, out io.Writer) (*realnode.ChainLoop, error) {
	start := time.Now()
	if err := isLivepeer(ctx, c.livepeer); err != nil {
		return nil, err
	}
	dir := filepath.Join(c.workDir, "chain")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	video := filepath.Join(dir, "video.mp4")
	if err := realnode.MakeVideo(ctx, video, c.seconds); err != nil {
		return nil, err
	}
	fmt.Fprintln(out, "one chain: starting geth, two Bee full nodes, the Livepeer protocol, the orchestrator and its workers")
	loop, err := realnode.StartChainLoop(ctx, realnode.ChainConfig{Dir: dir, Livepeer: c.livepeer, Worker: c.archiverNode,
		Workers: c.workers, Logf: func(f string, a ...any) { fmt.Fprintf(out, "  "+f+"\n", a...) }})
	if err != nil {
		return nil, err
	}
	if err := streamOnChain(ctx, c, out, loop, video, start); err != nil {
		loop.Close()
		return nil, err
	}
	return loop, nil
}

func streamOnChain(ctx context.Context, c config, out io.Writer, loop *realnode.ChainLoop, video string, start time.Time) error {
	deposit := new(big.Int).Exp(big.NewInt(10), big.NewInt(18), nil) // 1 ETH, and as much reserve
	b, bKey, err := loop.Broadcaster(ctx, "broadcaster", deposit, "-archive")
	if err != nil {
		return err
	}
	bAddr := addressOf(bKey)
	fmt.Fprintf(out, "  broadcaster %s: deposit and reserve 1 ETH each; streaming %d s\n", bAddr.Hex(), c.seconds)
	const id = "chainDemo"
	before, _, err := loop.Livepeer.SenderInfo(ctx, bAddr)
	if err != nil {
		return err
	}
	if err := realnode.Push(ctx, video, "rtmp://"+b.RTMP+"/stream/"+id); err != nil {
		return err
	}
	wait, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	bst, err := realnode.WaitFinal(wait, b.CLI, id)
	if err != nil {
		return fmt.Errorf("%w; broadcaster log: %s; orchestrator log: %s", err, b.LogPath, loop.Orch.LogPath)
	}
	ost, err := realnode.WaitFinal(wait, loop.Orch.CLI, id)
	if err != nil {
		return err
	}
	if ost.Reference != bst.Reference || len(ost.Sessions) != 1 {
		return fmt.Errorf("broadcaster reports manifest %s, orchestrator %s (%d sessions)", bst.Reference, ost.Reference, len(ost.Sessions))
	}
	after, _, err := loop.Livepeer.SenderInfo(ctx, bAddr)
	if err != nil {
		return err
	}
	acct := ost.Sessions[0]
	fmt.Fprintf(out, `
One-chain run: paid with real tickets, archived with the orchestrator's own key.
  watch:        ffplay '%s'
  stable URL:   %s (the orchestrator's feed)
  archive       %d files, %d bytes
  archive fee   %s wei (%d wei a byte), debited on both sides
  tickets       the broadcaster's deposit fell by %s wei: the winning tickets the orchestrator redeemed
  one address   %s receives the tickets, owns the batch, signs every stamp and the feed
  wall time     %s, chain start included
`, bst.URL, ost.FeedURL, len(ost.Segments), ost.ArchivedBytes, acct.ArchiveFeesWei, realnode.ArchivePerByte,
		new(big.Int).Sub(before, after), loop.OrchAddr.Hex(), time.Since(start).Round(100*time.Millisecond))
	return nil
}
