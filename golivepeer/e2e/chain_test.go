package e2e

import (
	"context"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethersphere/bee/v2/pkg/cac"
	"github.com/ethersphere/bee/v2/pkg/file/redundancy"
	"github.com/livepeer/go-livepeer/eth/contracts"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/bee"
	"github.com/lpswarm/archiver/feed"
	"github.com/lpswarm/archiver/internal/realnode"
	"github.com/lpswarm/archiver/plugin"
)

const (
	chainStreamName = "chainStream"
	minDeposit      = "100000000000000000" // 0.1 ETH
)

// TestOnChainLoop: the whole loop on one chain. The Livepeer protocol and
// Swarm's contracts run on the same geth dev chain; a real livepeer-archiver
// broadcaster and orchestrator stream 30 s with real tickets; two
// archiver-node workers stamp client-side with the orchestrator's own key
// on the batch that key bought; two real Bee nodes store the archive.
// Afterwards, to the wei:
//   - the broadcaster's deposit fell by the face value of the winning
//     tickets the orchestrator redeemed, and the orchestrator's ETH rose by
//     that much (withdrawn) less the gas of all its transactions;
//   - both sides' archive fees equal price × the bytes of the final archive,
//     and their session balances agree;
//   - one address receives the tickets, owns the batch (Bee accepted every
//     chunk stamped with it, and Bee accepts only the batch owner's
//     stamps) and owns the feed, which the other Bee node resolves to the
//     final archive.
//
// Then the refusals: a broadcaster whose deposit is below the
// orchestrator's -archiveMinDeposit is transcoded and refused archiving,
// charged nothing; tickets made from expired parameters and a
// broadcaster without a deposit are refused as go-livepeer refuses them.
// Last, a stock broadcaster pays it what it pays a stock orchestrator.
func TestOnChainLoop(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	start := time.Now()
	loop, err := realnode.StartChainLoop(ctx, realnode.ChainConfig{Dir: t.TempDir(), Livepeer: bins.archiver,
		Worker: bins.worker, Workers: 2, MinDeposit: minDeposit, StockOrchestrator: true, Logf: t.Logf})
	require.NoError(t, err)
	defer loop.Close()
	net, lp, gateway, orch, oAddr := loop.Net, loop.Livepeer, loop.Gateway, loop.Orch, loop.OrchAddr
	eth := big.NewInt(1e18)
	b, bKey, err := loop.Broadcaster(ctx, "broadcaster", eth, "-archive")
	require.NoError(t, err)
	bAddr := crypto.PubkeyToAddress(bKey.PublicKey)
	dumpOnFailure(t, loop.Nodes()...)
	// Ticket parameters that will have expired when the refusals are
	// checked, at the end.
	staleInfo, err := orchestratorInfo(ctx, orch.Service, bKey)
	require.NoError(t, err)

	client, err := ethclient.DialContext(ctx, net.RPCURL())
	require.NoError(t, err)
	defer client.Close()
	from, err := client.BlockNumber(ctx)
	require.NoError(t, err)
	deposit0, _, err := lp.SenderInfo(ctx, bAddr)
	require.NoError(t, err)
	ethBefore, err := client.BalanceAt(ctx, oAddr, new(big.Int).SetUint64(from))
	require.NoError(t, err)

	streamed := time.Now()
	rec, stop := realnode.Record(ctx, b.HTTP, chainStreamName, 500*time.Millisecond)
	require.NoError(t, realnode.Push(ctx, bins.video, "rtmp://"+b.RTMP+"/stream/"+chainStreamName))
	bst, err := realnode.WaitFinal(ctx, b.CLI, chainStreamName)
	stop()
	require.NoError(t, err)
	require.NoError(t, b.WaitLog(ctx, "stream archived"))
	t.Logf("stream archived %.1f s after it started", time.Since(streamed).Seconds())

	// The archive: complete, byte for byte, and paid for by the byte.
	ost, err := realnode.WaitFinal(ctx, orch.CLI, chainStreamName)
	require.NoError(t, err)
	require.Equal(t, ost.Reference, bst.Reference)
	require.Empty(t, bst.Gaps)
	_, err = realnode.CheckArchive(ctx, gateway, bst.Reference, rec.Segments())
	require.NoError(t, err)
	var archivedBytes uint64
	for _, s := range ost.Segments {
		archivedBytes += s.Bytes
	}
	wantFee := new(big.Int).Mul(big.NewInt(realnode.ArchivePerByte), new(big.Int).SetUint64(archivedBytes))
	oAcct, bAcct := oneSession(t, ost), oneSession(t, settled(ctx, t, b.CLI))
	assert.Equal(t, wantFee.String(), oAcct.ArchiveFeesWei, "the orchestrator's debits: price × archived bytes")
	assert.Equal(t, archivedBytes, oAcct.ArchiveBytes)
	assert.Equal(t, oAcct.ArchiveFeesWei, bAcct.ArchiveFeesWei, "the broadcaster's mirror agrees to the wei")
	assert.Zero(t, bAcct.Disagreements)
	assert.Equal(t, oAcct.BalanceWei, bAcct.BalanceWei, "both sides hold the same session balance")
	t.Logf("archived %d bytes, archive fee %s wei, session balance %s wei", archivedBytes, oAcct.ArchiveFeesWei, oAcct.BalanceWei)

	// The tickets: redeemed on chain; the deposit fell by their face value.
	broker, err := contracts.NewTicketBrokerFilterer(lp.TicketBroker, client)
	require.NoError(t, err)
	won, recipients := redeemed(ctx, t, broker, from, bAddr)
	t.Logf("%d winning tickets redeemed, %s wei", len(recipients), won)
	require.GreaterOrEqual(t, len(recipients), 2, "several tickets won")
	deposit1, _, err := lp.SenderInfo(ctx, bAddr)
	require.NoError(t, err)
	assert.Equal(t, won.String(), new(big.Int).Sub(deposit0, deposit1).String(), "the deposit fell by the redeemed face value")

	// The orchestrator withdraws its fees through its own CLI.
	// At a round's first block the round may not be initialized yet (the
	// orchestrator does it a block or two later), and a withdrawal sent
	// just before reverts when mined there: the operator tries again. A
	// reverted transaction's gas counts below like any other.
	require.Eventually(t, func() bool {
		_, err = realnode.Post(ctx, "http://"+orch.CLI+"/withdrawFees", url.Values{"amount": {won.String()}})
		if err != nil {
			t.Logf("withdrawFees: %v; again", err)
		}
		return err == nil
	}, time.Minute, time.Second)
	require.Eventually(t, func() bool {
		pending, err := lp.PendingFees(ctx, oAddr, 0)
		return err == nil && pending.Sign() == 0
	}, time.Minute, time.Second, "the fees are withdrawn")
	to, err := client.BlockNumber(ctx)
	require.NoError(t, err)
	ethAfter, err := client.BalanceAt(ctx, oAddr, new(big.Int).SetUint64(to))
	require.NoError(t, err)
	gas := gasSpent(ctx, t, client, oAddr, from+1, to)
	want := new(big.Int).Sub(new(big.Int).Add(ethBefore, won), gas)
	assert.Equal(t, want.String(), ethAfter.String(), "ETH rose by the winnings less the gas of every transaction (%s wei)", gas)

	// One address.
	owner, err := net.BatchOwner(ctx, loop.Batch)
	require.NoError(t, err)
	assert.Equal(t, oAddr, owner, "the batch owner")
	for _, r := range recipients {
		assert.Equal(t, oAddr, r, "the ticket recipient")
	}
	topic := feed.StreamTopic(bAddr, chainStreamName)
	fm, err := feed.ManifestReference(ctx, oAddr, topic, redundancy.MEDIUM) // -archiveRedundancy's default
	require.NoError(t, err)
	require.NotEmpty(t, ost.FeedURL)
	assert.Contains(t, ost.FeedURL, "/bzz/"+fm.String()+"/", "the feed is the orchestrator's, computed offline")
	other := net.Nodes()[1]
	otherBee, err := bee.New(other)
	require.NoError(t, err)
	// The last update reaches the other node as Swarm syncs it.
	require.Eventually(t, func() bool {
		latest, err := otherBee.FeedLatest(ctx, oAddr.Bytes(), topic[:])
		if err != nil {
			return false
		}
		root, err := cac.NewWithDataSpan(latest.Root)
		if err != nil {
			return false
		}
		return root.Address().String() == ost.Reference
	}, time.Minute, time.Second, "the other Bee node resolves the orchestrator's feed to the final archive")
	dur, err := realnode.Duration(ctx, strings.Replace(ost.FeedURL, gateway, other, 1))
	require.NoError(t, err)
	assert.Greater(t, dur.Seconds(), 15.0, "the feed plays the archive from the other node")

	// A broadcaster whose deposit pays for transcoding (face values up to
	// 5e14 wei), not for archiving.
	poor, _, err := loop.Broadcaster(ctx, "poor", big.NewInt(1e16), "-archive")
	require.NoError(t, err)
	const poorStream = "poorStream"
	prec, pstop := realnode.Record(ctx, poor.HTTP, poorStream, 500*time.Millisecond)
	require.NoError(t, realnode.PushFor(ctx, bins.video, "rtmp://"+poor.RTMP+"/stream/"+poorStream, 12*time.Second))
	time.Sleep(3 * time.Second) // the last replies
	pstop()
	renditions := map[string]int{}
	for _, s := range prec.Segments() {
		renditions[s.Rendition]++
	}
	assert.Len(t, renditions, 3, "it streams and is transcoded: %v", renditions)
	pst, _, err := realnode.Status(ctx, poor.CLI, poorStream)
	require.NoError(t, err)
	require.NotEmpty(t, pst.Gaps)
	for _, g := range pst.Gaps {
		assert.Contains(t, g.Reason, "INSUFFICIENT_DEPOSIT", "seq %d", g.Seq)
		assert.Contains(t, g.Reason, minDeposit, "the refusal names the minimum")
	}
	assert.Empty(t, pst.Segments)
	assert.Equal(t, "0", oneSession(t, pst).ArchiveFeesWei, "nothing charged for archiving")
	_, code, _ := realnode.Status(ctx, orch.CLI, poorStream)
	assert.Equal(t, http.StatusNotFound, code, "nothing stored")
	checkTicketRefusals(ctx, t, orch.Service, orch.CLI, client, bKey, staleInfo)
	checkStockBroadcaster(ctx, t, loop)
	t.Logf("the whole loop took %.1f s", time.Since(start).Seconds())
}

// checkStockBroadcaster: a stock broadcaster (go-livepeer's own livepeer
// binary) pays the archiving orchestrator exactly what it pays a stock
// one. The same 12 s of video goes from a stock broadcaster to each, one
// after the other (a segment's tickets depend on the credit its
// predecessor left, so the two must not compete for the cores); both
// orchestrators ask the same price and ticket parameters. The tickets each
// broadcaster sent, counted and valued by go-livepeer itself
// (TicketsSent, TicketValueSent), are the same, and the archiving
// orchestrator archived nothing of a stream that never asked for it.
func checkStockBroadcaster(ctx context.Context, t *testing.T, loop *realnode.ChainLoop) {
	t.Helper()
	const stream = "stockStream"
	stock, err := loop.StockOrchestrator(ctx, bins.stock, "stock-orchestrator")
	require.NoError(t, err)
	dumpOnFailure(t, stock)
	type paid struct {
		tickets, gwei string
		segments      map[string]int
	}
	var got []paid
	for _, o := range []struct{ name, service string }{{"archiving", loop.Orch.Service}, {"stock", stock.Service}} {
		b, _, err := loop.StockBroadcaster(ctx, bins.stock, "stock-broadcaster-of-"+o.name, o.service, big.NewInt(1e17))
		require.NoError(t, err)
		dumpOnFailure(t, b)
		rec, stop := realnode.Record(ctx, b.HTTP, stream, 500*time.Millisecond)
		require.NoError(t, realnode.PushFor(ctx, bins.video, "rtmp://"+b.RTMP+"/stream/"+stream, 12*time.Second))
		time.Sleep(3 * time.Second) // the last replies
		stop()
		p := paid{segments: map[string]int{}}
		for _, s := range rec.Segments() {
			p.segments[s.Rendition]++
		}
		p.tickets, err = realnode.Metric(ctx, b.CLI, "livepeer_tickets_sent")
		require.NoError(t, err)
		p.gwei, err = realnode.Metric(ctx, b.CLI, "livepeer_ticket_value_sent")
		require.NoError(t, err)
		t.Logf("stock broadcaster of the %s orchestrator: %v segments, %s tickets sent, worth %s gwei", o.name, p.segments, p.tickets, p.gwei)
		b.Stop(5 * time.Second)
		got = append(got, p)
	}
	require.Len(t, got[0].segments, 3, "the stream is transcoded: %v", got[0].segments)
	assert.Equal(t, got[1].segments, got[0].segments, "both orchestrators transcoded the same segments")
	assert.NotEmpty(t, got[0].tickets, "the stock broadcaster paid nothing")
	assert.Equal(t, got[1].tickets, got[0].tickets, "tickets sent")
	assert.Equal(t, got[1].gwei, got[0].gwei, "value of the tickets sent")
	_, code, _ := realnode.Status(ctx, loop.Orch.CLI, stream)
	assert.Equal(t, http.StatusNotFound, code, "the archiving orchestrator archived a stream that did not ask for it")
}

// oneSession is the only session account of a status.
func oneSession(t *testing.T, st *plugin.Status) plugin.SessionAccount {
	t.Helper()
	require.Len(t, st.Sessions, 1, "%+v", st.Sessions)
	return st.Sessions[0]
}

// settled waits until the broadcaster has settled the stream's last
// segments (the ones whose replies said PENDING).
func settled(ctx context.Context, t *testing.T, cli string) *plugin.Status {
	t.Helper()
	var st *plugin.Status
	require.Eventually(t, func() bool {
		s, _, err := realnode.Status(ctx, cli, chainStreamName)
		if err != nil || len(s.Sessions) != 1 {
			return false
		}
		st = s
		return true
	}, 30*time.Second, 250*time.Millisecond)
	return st
}

// redeemed sums the face value of the tickets sender's tickets redeemed
// since block from, and lists their recipients.
func redeemed(ctx context.Context, t *testing.T, broker *contracts.TicketBrokerFilterer, from uint64, sender common.Address) (*big.Int, []common.Address) {
	t.Helper()
	it, err := broker.FilterWinningTicketRedeemed(&bind.FilterOpts{Start: from, Context: ctx}, []common.Address{sender}, nil)
	require.NoError(t, err)
	defer it.Close()
	sum := new(big.Int)
	var recipients []common.Address
	for it.Next() {
		sum.Add(sum, it.Event.FaceValue)
		recipients = append(recipients, it.Event.Recipient)
	}
	require.NoError(t, it.Error())
	return sum, recipients
}

// gasSpent is what addr paid for gas in blocks from..to.
func gasSpent(ctx context.Context, t *testing.T, c *ethclient.Client, addr common.Address, from, to uint64) *big.Int {
	t.Helper()
	total := new(big.Int)
	for n := from; n <= to; n++ {
		blk, err := c.BlockByNumber(ctx, new(big.Int).SetUint64(n))
		require.NoError(t, err)
		for _, tx := range blk.Transactions() {
			sender, err := types.Sender(types.LatestSignerForChainID(tx.ChainId()), tx)
			if err != nil || sender != addr {
				continue
			}
			r, err := c.TransactionReceipt(ctx, tx.Hash())
			require.NoError(t, err)
			total.Add(total, new(big.Int).Mul(new(big.Int).SetUint64(r.GasUsed), r.EffectiveGasPrice))
		}
	}
	return total
}
