// Package chaintest runs a real, non-dev local Swarm for tests: a geth dev
// chain (a block a second) with Swarm's storage-incentive contracts from
// go-storage-incentives-abi, and two Bee full nodes on it, linked and out of
// warm-up, all on 127.0.0.1.
//
// It exists for what `bee dev` cannot do (see internal/beetest): batches
// owned by an outside key and bought on chain, client-side stamps, bucket
// depth 16, direct uploads pushed between nodes, SOCs and feeds.
//
//	net, err := chaintest.Start(ctx, chaintest.Options{})
//	defer net.Close()
//	id, err := net.BuyBatch(ctx, key, 20, amount, true)
//
// StopNode and StartNode (or RestartNode) take one Bee node down, gracefully
// or by SIGKILL, and bring the same node back: same data, keys, ports and
// URL, linked and out of warm-up again (about 0.5 to 5 s).
//
// Without SWAP the two nodes settle only by time (pseudosettle): past the
// debt the payment threshold allows (set to the highest Bee accepts, some
// 350 chunks), what one node pushes to or fetches from the other is
// throttled to roughly 15 chunks a second. A node that uploaded more than
// that serves what it has already pushed away slowly until it catches up.
//
// DeployLivepeer puts the Livepeer protocol (Controller, LivepeerToken,
// Minter, BondingManager, TicketBroker, RoundsManager, ServiceRegistry,
// faucet; bytecode from the npm package @livepeer/sdk) on the same chain,
// in about 2 s, for go-livepeer v0.7.9 nodes run with -network=devenv
// -ethUrl RPCURL() -ethController Livepeer.Controller. Rounds follow the
// blocks (20 by default, so 20 s). ActivateOrchestrator, FundBroadcaster
// and NextRound give a node an on-chain identity to start with. A
// go-livepeer orchestrator must then run with -initializeRoundMaxDelay=0s:
// its default random delay of up to 30 s outlasts a round, and winning
// tickets fail to redeem ("current round is not initialized", then "ticket
// is expired"). In v0.7.9 -ethKeystorePath must name a directory (given a
// key file, the node still looks in <datadir>/keystore), with -ethAcctAddr.
//
// The geth and Bee binaries are built once per machine by
// scripts/install-deps.sh into a cache outside the repository (GETH_BIN and
// BEE_BIN override them), which also installs the protocol's artifacts
// (LIVEPEER_SDK_DIR overrides them); without them Start and DeployLivepeer
// fail, they never skip.
package chaintest
