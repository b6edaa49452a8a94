package main

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/lpswarm/archiver/bee"
	"github.com/lpswarm/archiver/internal/cliflags"
	"github.com/lpswarm/archiver/postage"
	"github.com/lpswarm/archiver/postage/onchain"
)

const postageUsage = `usage: archiver-node postage <buy|topup|dilute|status> [flags]

  buy     buy a batch owned by your key: -depth and -amount (PLUR per chunk) or -ttl
  topup   add -amount or -ttl to your batch
  dilute  deepen your mutable batch to -depth and migrate the issuer state
  status  a batch's depth, fill, TTL, cost and room left: from the contract
          (-postageEthUrl) or, for a batch the Bee node owns, from Bee (-bee)

Run 'archiver-node postage <command> -h' for its flags.`

// postageCommands are the postage subcommands, in help order.
func postageCommands() []string { return []string{"buy", "topup", "dilute", "status"} }

// postageConfig is the postage subcommands' flags.
type postageConfig struct {
	beeURL    string
	batch     string
	ethURL    string
	contract  string
	blockTime time.Duration
	keyFile   string
	password  string
	stateDir  string
	depth     uint
	amount    string
	ttl       time.Duration
	immutable bool
	anyOwner  bool
	dryRun    bool
	timeout   time.Duration
}

// postageFlags binds the flags of one postage subcommand.
func postageFlags(c *postageConfig, sub string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("postage "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: archiver-node postage %s [flags]\n\n%s\n", sub, cliflags.EnvHelp("postageEthUrl"))
		fs.PrintDefaults()
	}
	chain := func() {
		fs.StringVar(&c.ethURL, "postageEthUrl", "", "JSON-RPC URL of the chain that holds postage (Gnosis Chain); go-livepeer's -ethUrl stays Arbitrum")
		fs.StringVar(&c.contract, "postageContract", onchain.GnosisPostageStampAddress, "PostageStamp contract address; the default is Swarm mainnet's on Gnosis, and then the chain id must be 100")
		fs.DurationVar(&c.blockTime, "postageBlockTime", postage.GnosisBlockTime, "block time of that chain, for TTLs")
	}
	key := func() {
		fs.StringVar(&c.keyFile, "ethKeystorePath", "", "go-ethereum keystore file of your key (the one that stamps client-side)")
		fs.StringVar(&c.password, "ethPassword", "", "keystore password, or a file holding it")
		fs.DurationVar(&c.timeout, "txTimeout", 10*time.Minute, "give up waiting for the transactions after this long (they may still be mined: check the printed hashes)")
		fs.BoolVar(&c.dryRun, "dryRun", false, "print what it would cost and do, send nothing")
	}
	funding := func() {
		fs.StringVar(&c.amount, "amount", "", "PLUR per chunk (1 xBZZ = 1e16 PLUR); or use -ttl")
		fs.DurationVar(&c.ttl, "ttl", 0, "time to pay for at the current price, e.g. 720h; instead of -amount")
	}
	switch sub {
	case "buy":
		chain()
		key()
		funding()
		fs.UintVar(&c.depth, "depth", 0, "batch depth: 2^depth chunks; 17 or more (20 ≈ 0.69 GB effective, 24 ≈ 47 GB)")
		fs.BoolVar(&c.immutable, "immutable", false, "buy an immutable batch (cannot be diluted; client-side stamping never overwrites either kind)")
	case "topup":
		fs.StringVar(&c.batch, "postageBatch", "", "batch id")
		chain()
		key()
		funding()
		fs.BoolVar(&c.anyOwner, "anyOwner", false, "pay for a batch another key owns (refused by default: usually a mistyped id)")
	case "dilute":
		fs.StringVar(&c.batch, "postageBatch", "", "batch id (a mutable batch your key owns)")
		chain()
		key()
		fs.UintVar(&c.depth, "depth", 0, "new depth, above the batch's")
		fs.StringVar(&c.stateDir, "issuerState", defaultStateDir(), "client stamping's issuer state to migrate to the new depth (as given to import)")
	case "status":
		fs.StringVar(&c.batch, "postageBatch", "", "batch id")
		fs.StringVar(&c.beeURL, "bee", "http://127.0.0.1:1633", "Bee API URL, for a batch the node owns (without -postageEthUrl)")
		chain()
		fs.StringVar(&c.stateDir, "issuerState", defaultStateDir(), "with -postageEthUrl: client stamping's issuer state, for the batch's fill")
	}
	return fs
}

// runPostage runs a postage subcommand.
func runPostage(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || !slices.Contains(postageCommands(), args[0]) {
		fmt.Fprintln(stderr, postageUsage)
		if len(args) > 0 && isHelp(args[0]) {
			fmt.Fprintln(stderr, "\n"+cliflags.EnvHelp("postageEthUrl"))
			return nil
		}
		return fmt.Errorf("%w: postage needs one of %s", errUsage, strings.Join(postageCommands(), ", "))
	}
	sub := args[0]
	c, err := parsePostage(sub, args[1:], stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	if sub == "status" {
		return runPostageStatus(ctx, c, stdout)
	}
	if c.ethURL == "" {
		return fmt.Errorf("%w: -postageEthUrl is required (JSON-RPC of Gnosis Chain)", errUsage)
	}
	if c.keyFile == "" {
		return fmt.Errorf("%w: -ethKeystorePath is required", errUsage)
	}
	op := map[string]func(context.Context, postageConfig, *onchain.Client, io.Writer) error{
		"buy": postageBuy, "topup": postageTopUp, "dilute": postageDilute,
	}[sub]
	if err := c.checkOp(sub); err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	// The key first: a wrong password must fail before anything is read or sent.
	key, err := loadKey(c.keyFile, c.password)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	client, err := c.client(ctx, key, stderr)
	if err != nil {
		return err
	}
	defer client.Close()
	return op(ctx, c, client, stdout)
}

// parsePostage parses the flags of postage subcommand sub.
func parsePostage(sub string, args []string, stderr io.Writer) (postageConfig, error) {
	var c postageConfig
	fs := postageFlags(&c, sub, stderr)
	if err := flagSurface(fs, stderr, "").Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, err
		}
		return c, fmt.Errorf("%w: %w", errUsage, err)
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
	}
	return c, nil
}

// checkOp checks the flags of buy, topup and dilute.
func (c postageConfig) checkOp(sub string) error {
	if sub != "buy" && c.batch == "" {
		return errors.New("-postageBatch is required")
	}
	if sub != "dilute" && (c.amount == "") == (c.ttl <= 0) {
		return errors.New("give one of -amount and -ttl")
	}
	if sub != "topup" && (c.depth == 0 || c.depth > 255) {
		return errors.New("-depth is required (17 or more)")
	}
	if c.blockTime <= 0 {
		return errors.New("-postageBlockTime must be positive")
	}
	return nil
}

// client connects to the postage chain.
func (c postageConfig) client(ctx context.Context, key *ecdsa.PrivateKey, stderr io.Writer) (*onchain.Client, error) {
	return postageChain(ctx, c.ethURL, c.contract, c.blockTime, key, slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
}

// postageChain connects to the postage chain; the chain id is checked when
// the contract is Swarm mainnet's, which lives only on Gnosis.
func postageChain(ctx context.Context, ethURL, contract string, blockTime time.Duration, key *ecdsa.PrivateKey,
	log *slog.Logger) (*onchain.Client, error) {
	if !common.IsHexAddress(contract) {
		return nil, fmt.Errorf("%w: -postageContract %q is not an address", errUsage, contract)
	}
	addr := common.HexToAddress(contract)
	// Receipts are polled five times a block: 1 s on Gnosis.
	o := onchain.Options{BlockTime: blockTime, PollInterval: blockTime / 5, Logger: log}
	if addr == common.HexToAddress(onchain.GnosisPostageStampAddress) {
		o.ChainID = big.NewInt(onchain.GnosisChainID)
	}
	client, err := onchain.New(ctx, ethURL, addr, key, o)
	if err != nil {
		return nil, fmt.Errorf("postage chain %s: %w", ethURL, err)
	}
	return client, nil
}

// perChunk is -amount, or the amount -ttl costs at the current price.
func (c postageConfig) perChunk(ctx context.Context, client *onchain.Client) (*big.Int, error) {
	if c.amount != "" {
		a, ok := new(big.Int).SetString(c.amount, 10)
		if !ok || a.Sign() <= 0 {
			return nil, fmt.Errorf("%w: -amount %q is not a positive number of PLUR", errUsage, c.amount)
		}
		return a, nil
	}
	price, err := client.Price(ctx)
	if err != nil {
		return nil, err
	}
	return postage.AmountForTTL(c.ttl, price, client.BlockTime())
}

func postageBuy(ctx context.Context, c postageConfig, client *onchain.Client, stdout io.Writer) error {
	amount, err := c.perChunk(ctx, client)
	if err != nil {
		return err
	}
	depth := uint8(c.depth)
	kind := map[bool]string{true: "immutable", false: "mutable"}[c.immutable]
	fmt.Fprintf(stdout, "buy          depth %d, %s, %d chunks\n", depth, kind, uint64(1)<<min(depth, 63))
	if err := printAmount(ctx, stdout, client, amount); err != nil {
		return err
	}
	cost := postage.Cost(depth, amount)
	fmt.Fprintf(stdout, "cost         %s xBZZ (%s PLUR)\n", postage.FormatBZZ(cost), cost)
	if err := printFrom(ctx, stdout, client); err != nil {
		return err
	}
	if c.dryRun {
		fmt.Fprintln(stdout, "dry run: nothing sent")
		return nil
	}
	id, txs, err := client.Buy(ctx, depth, amount, c.immutable)
	printTxs(stdout, txs)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "batch: %x\n", id)
	return nil
}

func postageTopUp(ctx context.Context, c postageConfig, client *onchain.Client, stdout io.Writer) error {
	id, err := postage.ParseBatchID(c.batch)
	if err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	b, err := client.Batch(ctx, id)
	if err != nil {
		return err
	}
	amount, err := c.perChunk(ctx, client)
	if err != nil {
		return err
	}
	cost := postage.Cost(b.Depth, amount)
	fmt.Fprintf(stdout, "batch        %x, depth %d, owned by %s\n", id, b.Depth, b.Owner)
	if err := printAmount(ctx, stdout, client, amount); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "cost         %s xBZZ (%s PLUR)\n", postage.FormatBZZ(cost), cost)
	fmt.Fprintf(stdout, "ttl          %s now\n", ttlString(int64(b.TTL/time.Second)))
	if err := printFrom(ctx, stdout, client); err != nil {
		return err
	}
	if c.dryRun {
		fmt.Fprintln(stdout, "dry run: nothing sent")
		return nil
	}
	topUp := client.TopUp
	if c.anyOwner {
		topUp = client.TopUpAnyOwner
	}
	txs, err := topUp(ctx, id, amount)
	printTxs(stdout, txs)
	if err != nil {
		return err
	}
	if b, err = client.Batch(ctx, id); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "ttl          %s after the top up\n", ttlString(int64(b.TTL/time.Second)))
	return nil
}

func postageDilute(ctx context.Context, c postageConfig, client *onchain.Client, stdout io.Writer) error {
	id, err := postage.ParseBatchID(c.batch)
	if err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	b, err := client.Batch(ctx, id)
	if err != nil {
		return err
	}
	depth := uint8(c.depth)
	// The issuer state is checked before anything is sent: a state that
	// cannot follow the new depth must be dealt with first.
	usage, err := postage.ReadUsage(c.stateDir, id)
	hasState := err == nil
	switch {
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("issuer state: %w (nothing sent)", err)
	case hasState && usage.Depth > depth:
		return fmt.Errorf("issuer state %s is at depth %d, above %d (nothing sent)", c.stateDir, usage.Depth, depth)
	}
	if depth > b.Depth {
		after := b.TTL >> (depth - b.Depth)
		fmt.Fprintf(stdout, "dilute       batch %x from depth %d to %d: %d times the chunks, no BZZ, only gas\n",
			id, b.Depth, depth, uint64(1)<<min(depth-b.Depth, 63))
		fmt.Fprintf(stdout, "ttl          %s now, about %s after\n", ttlString(int64(b.TTL/time.Second)), ttlString(int64(after/time.Second)))
	}
	if c.dryRun {
		fmt.Fprintln(stdout, "dry run: nothing sent")
		return nil
	}
	txs, err := client.Dilute(ctx, id, depth)
	printTxs(stdout, txs)
	if err != nil {
		return err
	}
	if !hasState {
		fmt.Fprintf(stdout, "issuer state %s has no state for this batch: nothing to migrate\n", c.stateDir)
		return nil
	}
	n, err := postage.MigrateDepth(c.stateDir, id, depth)
	switch {
	case errors.Is(err, postage.ErrLocked):
		fmt.Fprintf(stdout, "issuer state %s is in use: it migrates when the importer or worker opens it again at depth %d\n", c.stateDir, depth)
	case err != nil:
		return fmt.Errorf("the batch is diluted, but its issuer state was not migrated: %w", err)
	default:
		fmt.Fprintf(stdout, "issuer state %s migrated to depth %d (%d file(s)); new stamps continue after the old bound of %d per bucket\n",
			c.stateDir, depth, n, uint64(1)<<(b.Depth-b.BucketDepth))
	}
	return nil
}

func runPostageStatus(ctx context.Context, c postageConfig, stdout io.Writer) error {
	if c.batch == "" {
		return fmt.Errorf("%w: -postageBatch is required", errUsage)
	}
	if c.ethURL == "" {
		return nodeBatchStatus(ctx, c, stdout)
	}
	id, err := postage.ParseBatchID(c.batch)
	if err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	client, err := c.client(ctx, nil, io.Discard)
	if err != nil {
		return err
	}
	defer client.Close()
	b, err := client.Batch(ctx, id)
	if err != nil {
		return err
	}
	// Read without the issuer's lock: status works beside a running import.
	usage, err := postage.ReadUsage(c.stateDir, id)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	fmt.Fprint(stdout, describeChainBatch(b, c.stateDir, usage, err == nil))
	return nil
}

// nodeBatchStatus is the status of a batch the Bee node owns, from Bee.
func nodeBatchStatus(ctx context.Context, c postageConfig, stdout io.Writer) error {
	cl, err := bee.New(c.beeURL)
	if err != nil {
		return err
	}
	b, err := cl.Batch(ctx, c.batch)
	if errors.Is(err, bee.ErrNotFound) {
		return fmt.Errorf("batch %s: the Bee node does not own it (for a batch your key owns, use -postageEthUrl): %w", c.batch, err)
	}
	if err != nil {
		return unreachable(fmt.Errorf("batch %s: %w", c.batch, err))
	}
	fmt.Fprint(stdout, describeBatch(b))
	return nil
}

// describeChainBatch formats a batch read from the contract; the fill comes
// from the local issuer state when there is one (the chain does not know
// it, and Bee knows it only for batches it stamps itself).
func describeChainBatch(b onchain.Batch, stateDir string, u postage.BatchUsage, haveUsage bool) string {
	var s strings.Builder
	fmt.Fprintf(&s, "batch        %x\n", b.ID)
	fmt.Fprintf(&s, "owner        %s\n", b.Owner)
	fmt.Fprintf(&s, "depth        %d (bucket depth %d), %s\n", b.Depth, b.BucketDepth,
		map[bool]string{true: "immutable", false: "mutable"}[b.Immutable])
	fmt.Fprintf(&s, "block        %d\n", b.Block)
	fmt.Fprintf(&s, "balance      %s PLUR per chunk left, %s xBZZ in all\n", b.RemainingBalance, postage.FormatBZZ(b.Value()))
	fmt.Fprintf(&s, "price        %s PLUR per chunk per block\n", b.Price)
	fmt.Fprintf(&s, "ttl          %s\n", ttlString(int64(b.TTL/time.Second)))
	theoretical := postage.TheoreticalCapacity(b.Depth)
	effective, ok := postage.EffectiveCapacity(b.Depth)
	if !ok {
		effective = theoretical
	}
	if !haveUsage {
		fmt.Fprintf(&s, "utilization  unknown: no issuer state for this batch in %s\n", stateDir)
		fmt.Fprintf(&s, "capacity     %s theoretical, %s effective\n", bytesString(theoretical), bytesString(effective))
		return s.String()
	}
	// The chain's depth, not the state's: a state not yet migrated after a
	// dilution has the old one.
	utilization := postage.Utilization(u.MaxBucketCount, b.Depth, b.BucketDepth)
	fmt.Fprintf(&s, "utilization  %.2f %% of the fullest bucket (%d in %d; %d stamps issued, issuer state %s)\n",
		100*utilization, u.MaxBucketCount, uint64(1)<<(b.Depth-b.BucketDepth), u.Issued, stateDir)
	left := uint64(float64(effective) * max(0, 1-utilization))
	fmt.Fprintf(&s, "capacity     %s theoretical, %s effective, about %s left\n", bytesString(theoretical), bytesString(effective), bytesString(left))
	return s.String()
}

// printAmount prints the per-chunk amount and what it lasts at today's
// price.
func printAmount(ctx context.Context, w io.Writer, client *onchain.Client, amount *big.Int) error {
	price, err := client.Price(ctx)
	if err != nil {
		return err
	}
	ttl, err := postage.TTL(amount, price, client.BlockTime())
	if err != nil {
		return fmt.Errorf("the postage price on chain is %s: %w", price, err)
	}
	fmt.Fprintf(w, "amount       %s PLUR per chunk: %s at %s PLUR per chunk per block of %s\n",
		amount, ttlString(int64(ttl/time.Second)), price, client.BlockTime())
	return nil
}

// printFrom prints the paying key and what it holds.
func printFrom(ctx context.Context, w io.Writer, client *onchain.Client) error {
	wei, plur, err := client.Balances(ctx, client.Owner())
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "from         %s (holds %s xBZZ and %s wei for gas)\n", client.Owner(), postage.FormatBZZ(plur), wei)
	return nil
}

func printTxs(w io.Writer, txs []onchain.Tx) {
	for _, tx := range txs {
		block := "not mined"
		if tx.Block > 0 {
			block = fmt.Sprintf("block %d", tx.Block)
		}
		fmt.Fprintf(w, "tx: %s %s (%s)\n", tx.Label, tx.Hash.Hex(), block)
	}
}

func isHelp(s string) bool { return s == "-h" || s == "-help" || s == "--help" || s == "help" }

// describeBatch formats a node-owned batch's status from Bee; the
// arithmetic is package postage's.
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

// ttlString writes a TTL in seconds as days and hours, or hours and
// minutes under a day; Bee's dev batches report TTLs beyond
// time.Duration's range.
func ttlString(seconds int64) string {
	switch {
	case seconds <= 0:
		return "expired"
	case seconds < 86400:
		return fmt.Sprintf("%d hours %d minutes", seconds/3600, seconds%3600/60)
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
