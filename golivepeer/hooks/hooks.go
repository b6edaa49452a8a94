// Package hooks installs the archiver into go-livepeer through the hook
// variables go-livepeer.patch adds. It converts go-livepeer's types to the
// archiver's and calls package plugin; it keeps no archiver state itself.
package hooks

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"math/big"
	"net/http"
	"os"
	"runtime/trace"
	"time"

	ethcommon "github.com/ethereum/go-ethereum/common"
	"github.com/livepeer/go-livepeer/cmd/livepeer/cli"
	"github.com/livepeer/go-livepeer/cmd/livepeer/starter"
	"github.com/livepeer/go-livepeer/core"
	"github.com/livepeer/go-livepeer/eth"
	"github.com/livepeer/go-livepeer/net"
	"github.com/livepeer/go-livepeer/server"
	"github.com/livepeer/lpms/stream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc"

	"github.com/lpswarm/archiver"
	"github.com/lpswarm/archiver/plugin"
)

// StatusPath and MetricsPath are served on the node's CLI port.
const (
	StatusPath  = "/archive/status"
	MetricsPath = "/archive/metrics"
)

// Install registers the archiver's flags on go-livepeer's flag set and its
// hooks on go-livepeer's node. Call it before cli.Main.
func Install(f *plugin.Flags, log *slog.Logger) {
	cli.FlagsHook = func(fs *flag.FlagSet) { f.Register(fs) }
	starter.StartHook = func(ctx context.Context, n *core.LivepeerNode) error {
		switch n.NodeType {
		case core.OrchestratorNode:
			if f.Archiver {
				return startOrchestrator(ctx, f, n, log)
			}
		case core.BroadcasterNode:
			if f.Archiver {
				return errors.New("-archiver is for orchestrators; a broadcaster asks for archiving with -archive")
			}
			return startBroadcaster(ctx, f, n, log)
		}
		if f.Archiver {
			return errors.New("-archiver needs -orchestrator")
		}
		return nil
	}
}

// startOrchestrator opens the archiver and installs the orchestrator's
// hooks. Workers can register and status can be read at once; segments
// arrive once go-livepeer built its orchestrator (OrchestratorHook).
func startOrchestrator(ctx context.Context, f *plugin.Flags, n *core.LivepeerNode, log *slog.Logger) error {
	env := plugin.OrchestratorEnv{DataDir: n.WorkDir, Offchain: n.Eth == nil, Logger: log}
	if n.Balances != nil {
		env.Balances = balances{n.Balances}
	}
	if n.Eth != nil {
		env.Account = account{n.Eth}
		env.Deposit = func(_ context.Context, addr ethcommon.Address) (*big.Int, error) {
			info, err := n.Eth.GetSenderInfo(addr)
			if err != nil {
				return nil, err
			}
			return info.Deposit, nil
		}
	}
	a, err := plugin.OpenOrchestrator(f, env)
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	live := newLiveMetrics()
	for _, c := range live.collectors() {
		reg.MustRegister(c)
	}
	server.CliHandlersHook = func(mux *http.ServeMux) {
		mux.Handle(StatusPath, a.StatusHandler())
		mux.Handle(MetricsPath, promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	}
	server.GRPCServerHook = func(s *grpc.Server) { a.Register(s) }
	server.OrchestratorInfoHook = func(info *net.OrchestratorInfo, sender ethcommon.Address, manifestID core.ManifestID) {
		session := string(manifestID)
		if session == "" { // GetOrchestrator: a new session
			session = info.GetAuthToken().GetSessionId()
		}
		a.AmendInfo(info, sender, session)
	}
	server.SegmentReplyHook = func(ctx context.Context, tr *net.TranscodeResult, _ ethcommon.Address, md *core.SegTranscodingMetadata) {
		defer trace.StartRegion(ctx, "archiver.SegmentReply").End()
		start := time.Now()
		a.AmendReply(tr, md.AuthToken.GetSessionId())
		live.reply(md, time.Since(start))
	}
	server.EndSessionHook = a.EndSession
	starter.OrchestratorHook = func(inner server.Orchestrator) server.Orchestrator {
		// The operator asked for -archiver: a node that cannot archive
		// stops, as go-livepeer stops on its own configuration errors,
		// rather than run without it.
		if err := a.Attach(ledger{inner}); err != nil {
			log.Error("archiver not attached", "error", err)
			os.Exit(1)
		}
		if err := a.Start(ctx); err != nil {
			log.Error("archiver not started", "error", err)
			os.Exit(1)
		}
		for _, c := range a.Collectors() {
			reg.MustRegister(c)
		}
		go func() {
			<-ctx.Done()
			if err := a.Close(); err != nil {
				log.Error("closing the archiver", "error", err)
			}
		}()
		return &orch{Orchestrator: inner, a: a, m: live}
	}
	return nil
}

// startBroadcaster installs the broadcaster's hooks: every stream may ask
// for archiving, by -archive or by the auth webhook's answer.
func startBroadcaster(ctx context.Context, f *plugin.Flags, n *core.LivepeerNode, log *slog.Logger) error {
	env := plugin.BroadcasterEnv{Logger: log}
	if n.Eth != nil {
		env.Address, env.Sign = n.Eth.Account().Address, n.Eth.Sign
	}
	b, err := plugin.NewBroadcaster(f, env)
	if err != nil {
		return err
	}
	server.CliHandlersHook = func(mux *http.ServeMux) { mux.Handle(StatusPath, b.StatusHandler()) }
	server.AuthWebhookHook = func(mid core.ManifestID, body []byte) { b.WebhookAnswer(string(mid), body) }
	server.SegDataHook = func(sess *server.BroadcastSession, seg *stream.HLSSegment, sd *net.SegData) {
		sd.Capabilities = b.Segment(string(sess.Params.ManifestID), session(sess), sd.Seq, len(seg.Data), sd.Capabilities)
	}
	server.SegmentResultHook = func(_ context.Context, sess *server.BroadcastSession, _ *stream.HLSSegment, tr *net.TranscodeResult) {
		b.Reply(string(sess.Params.ManifestID), sessionID(sess), tr)
	}
	server.RenditionsHook = func(_ context.Context, sess *server.BroadcastSession, seg *stream.HLSSegment, data [][]byte) {
		b.Downloaded(string(sess.Params.ManifestID), sessionID(sess), int64(seg.SeqNo), data)
	}
	server.StreamEndHook = func(mid core.ManifestID) { b.StreamEnded(ctx, string(mid)) }
	return nil
}

// sessionID is the orchestrator's id of a broadcaster's session: the key of
// both sides' balances.
func sessionID(sess *server.BroadcastSession) string {
	return sess.OrchestratorInfo.GetAuthToken().GetSessionId()
}

// session is the archiver's view of a broadcaster's session.
func session(sess *server.BroadcastSession) plugin.Session {
	out := plugin.Session{ID: sessionID(sess), Info: sess.OrchestratorInfo}
	if sess.Balance != nil && sess.Balances != nil {
		out.Ledger = sessionLedger{sess}
	}
	return out
}

// sessionLedger is go-livepeer's balance of a broadcaster's session.
type sessionLedger struct{ sess *server.BroadcastSession }

func (l sessionLedger) Credit(amount *big.Rat) { l.sess.Balance.Credit(amount) }

func (l sessionLedger) Balance() *big.Rat {
	recipient := ethcommon.BytesToAddress(l.sess.OrchestratorInfo.GetTicketParams().GetRecipient())
	return l.sess.Balances.Balance(recipient, core.ManifestID(sessionID(l.sess)))
}

// account is the node's Ethereum account as the archiver's feed signer:
// go-livepeer signs EIP-191 messages with v = 27 or 28, as Swarm's single
// owner chunks want.
type account struct{ eth eth.LivepeerEthClient }

func (a account) Address() ethcommon.Address      { return a.eth.Account().Address }
func (a account) Sign(msg []byte) ([]byte, error) { return a.eth.Sign(msg) }

// balances reads go-livepeer's session balances.
type balances struct{ b *core.AddressBalances }

func (b balances) Balance(addr ethcommon.Address, id archiver.ManifestID) *big.Rat {
	return b.b.Balance(addr, core.ManifestID(id))
}

// ledger is go-livepeer's orchestrator as the archive fee's ledger.
type ledger struct{ server.Orchestrator }

func (l ledger) SufficientBalance(addr ethcommon.Address, id archiver.ManifestID) bool {
	return l.Orchestrator.SufficientBalance(addr, core.ManifestID(id))
}

func (l ledger) DebitFees(addr ethcommon.Address, id archiver.ManifestID, price *net.PriceInfo, pixels int64) {
	l.Orchestrator.DebitFees(addr, core.ManifestID(id), price, pixels)
}
