package chaintest

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/accounts/abi/bind/v2"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// LivepeerSDKVersion is the @livepeer/sdk release whose contract artifacts
// scripts/install-livepeer-protocol.sh installs (tools/livepeer-protocol
// pins it).
const LivepeerSDKVersion = "1.0.1-alpha.10"

// ErrNoLivepeerProtocol: the Livepeer protocol's contract artifacts have not
// been installed on this machine.
var ErrNoLivepeerProtocol = errors.New("livepeer protocol artifacts not found: run scripts/install-deps.sh (or set LIVEPEER_SDK_DIR)")

// LivepeerArtifacts returns the directory of the protocol's hardhat
// artifacts (<dir>/Controller.sol/Controller.json, ...) that
// scripts/install-livepeer-protocol.sh installed into the cache.
// LIVEPEER_SDK_DIR overrides it: the @livepeer/sdk package directory or its
// abis directory.
func LivepeerArtifacts() (string, error) {
	if d := os.Getenv("LIVEPEER_SDK_DIR"); d != "" {
		for _, abis := range []string{filepath.Join(d, "abis"), d} {
			if complete(abis) {
				return abis, nil
			}
		}
		return "", fmt.Errorf("chaintest: %w: LIVEPEER_SDK_DIR=%s has no Controller.sol/Controller.json", ErrNoLivepeerProtocol, d)
	}
	cache, err := cacheDir()
	if err != nil {
		return "", fmt.Errorf("chaintest: %w: %w", ErrNoLivepeerProtocol, err)
	}
	// The script keys the directory by the hash of the lock file, which the
	// binary cannot see; any install of this version has the same artifacts
	// (the lock pins the package's integrity hash), so take the newest.
	dirs, err := filepath.Glob(filepath.Join(cache, "livepeer-sdk-"+LivepeerSDKVersion+"-*"))
	if err != nil {
		return "", fmt.Errorf("chaintest: %w: %w", ErrNoLivepeerProtocol, err)
	}
	type found struct {
		dir string
		mod time.Time
	}
	var installs []found
	for _, d := range dirs {
		abis := filepath.Join(d, "node_modules", "@livepeer", "sdk", "abis")
		fi, err := os.Stat(d)
		// Skips the script's temporary directories (<dir>.tmp.XXXXXX), which
		// lack the marker until they are renamed into place.
		if err != nil || !fi.IsDir() || !complete(abis) {
			continue
		}
		installs = append(installs, found{abis, fi.ModTime()})
	}
	if len(installs) == 0 {
		return "", fmt.Errorf("chaintest: %w (looked for %s)", ErrNoLivepeerProtocol,
			filepath.Join(cache, "livepeer-sdk-"+LivepeerSDKVersion+"-*"))
	}
	slices.SortFunc(installs, func(a, b found) int { return b.mod.Compare(a.mod) })
	return installs[0].dir, nil
}

// complete reports whether abis looks like a finished install.
func complete(abis string) bool {
	_, err := os.Stat(filepath.Join(abis, "Controller.sol", "Controller.json"))
	return err == nil
}

// cacheDir is $ARCHIVER_CACHE, by default the user cache directory's
// lpswarm-archiver, as scripts/lib.sh has it.
func cacheDir() (string, error) {
	if c := os.Getenv("ARCHIVER_CACHE"); c != "" {
		return c, nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "lpswarm-archiver"), nil
}

// livepeerArtifactPaths are the artifacts deployed, by contract name,
// relative to LivepeerArtifacts().
var livepeerArtifactPaths = map[string]string{
	"Controller":          "Controller.sol/Controller.json",
	"ManagerProxy":        "ManagerProxy.sol/ManagerProxy.json",
	"LivepeerToken":       "token/LivepeerToken.sol/LivepeerToken.json",
	"Minter":              "token/Minter.sol/Minter.json",
	"TicketBroker":        "pm/TicketBroker.sol/TicketBroker.json",
	"SortedDoublyLL":      "libraries/SortedDoublyLL.sol/SortedDoublyLL.json",
	"BondingManager":      "bonding/BondingManager.sol/BondingManager.json",
	"RoundsManager":       "rounds/RoundsManager.sol/RoundsManager.json",
	"ServiceRegistry":     "ServiceRegistry.sol/ServiceRegistry.json",
	"LivepeerTokenFaucet": "token/LivepeerTokenFaucet.sol/LivepeerTokenFaucet.json",
}

// artifact is the part of a hardhat artifact that deploying needs.
type artifact struct {
	name     string
	abi      *abi.ABI
	bytecode string // hex, with __$…$__ placeholders where libraries go
	// linkReferences: source file -> library name -> byte ranges.
	linkReferences map[string]map[string][]struct{ Start, Length int }
}

// loadArtifact reads the artifact of a contract in livepeerArtifactPaths.
func loadArtifact(dir, name string) (*artifact, error) {
	b, err := os.ReadFile(filepath.Join(dir, livepeerArtifactPaths[name]))
	if err != nil {
		return nil, fmt.Errorf("chaintest: %s artifact: %w", name, err)
	}
	var raw struct {
		ABI            json.RawMessage                                     `json:"abi"`
		Bytecode       string                                              `json:"bytecode"`
		LinkReferences map[string]map[string][]struct{ Start, Length int } `json:"linkReferences"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("chaintest: %s artifact: %w", name, err)
	}
	a, err := parseABI(name, string(raw.ABI))
	if err != nil {
		return nil, err
	}
	return &artifact{name: name, abi: a, bytecode: strings.TrimPrefix(raw.Bytecode, "0x"), linkReferences: raw.LinkReferences}, nil
}

// link returns the creation code with every library placeholder replaced
// by that library's address; a library not in libs is an error.
func (a *artifact) link(libs map[string]common.Address) ([]byte, error) {
	code := []byte(a.bytecode)
	for _, byLib := range a.linkReferences {
		for lib, refs := range byLib {
			addr, ok := libs[lib]
			if !ok {
				return nil, fmt.Errorf("chaintest: %s needs library %s", a.name, lib)
			}
			for _, r := range refs {
				if r.Length != common.AddressLength || 2*(r.Start+r.Length) > len(code) {
					return nil, fmt.Errorf("chaintest: %s: bad link reference %+v to %s", a.name, r, lib)
				}
				copy(code[2*r.Start:], hex.EncodeToString(addr[:]))
			}
		}
	}
	out, err := hex.DecodeString(string(code))
	if err != nil {
		return nil, fmt.Errorf("chaintest: %s bytecode (unlinked library?): %w", a.name, err)
	}
	return out, nil
}

// Protocol parameters the options do not cover: the protocol's own
// deployment defaults (deploy/migrations.config.ts).
const (
	lptDecimals = 18
	// Minter: inflation and its change per round, and the target bonding
	// rate, as fractions of percDivisor.
	minterInflation         = 137
	minterInflationChange   = 3
	minterTargetBondingRate = 500_000
	// faucetRequestLPT is what LivepeerTokenFaucet.request gives, at most
	// once per faucetRequestWaitHours per address; faucetSupplyLPT is what
	// the deployer mints it.
	faucetRequestLPT       = 10
	faucetRequestWaitHours = 1
	faucetSupplyLPT        = 1_000_000
	// percDivisor is the protocol's 100% (MathUtils.PERC_DIVISOR).
	percDivisor = 1_000_000
)

// protocolCommit is the livepeer/protocol commit @livepeer/sdk
// 1.0.1-alpha.10 names as the source of its artifacts; the Controller
// records it with every contract, as the protocol's deployer does.
var protocolCommit = common.HexToAddress("c6733bb35cc6b95ece9a59368888075365dce56d")

// l2LPTDataCacheCode creates a contract that answers every call with 32
// zero bytes. The Minter asks the L2LPTDataCache for the LPT circulating
// on L1 to compute the global supply when a round is initialized; the
// contract belongs to the Arbitrum bridge, not to @livepeer/sdk, and a
// dev chain has no L1, so none circulates there. Without it registered
// initializeRound reverts. Runtime code: PUSH1 32 PUSH1 0 RETURN.
var l2LPTDataCacheCode = common.FromHex("6460206000f3600052600560" + "1bf3")

// Gas limits for protocol transactions sent before the ones they depend on
// are mined, a few times what each was seen to use.
const (
	// setContractInfo, setters through a proxy, grantRole, mint, approve
	// (46k), setServiceURI (47k).
	gasProtocolCall = 300_000
	// bond (430k into an empty pool) and transcoder (140k): inserting into
	// the sorted transcoder pool walks it, so they grow with it.
	gasBond = 1_500_000
	// initializeRound (183k), fundDepositAndReserve (108k).
	gasRound = 1_000_000
)

// LivepeerOptions are the protocol parameters DeployLivepeer sets; the
// zero value gives the defaults. Rounds are counted in blocks, and a block
// comes every second.
type LivepeerOptions struct {
	// RoundLength is a round in blocks; 0 means 20: long enough that an
	// orchestrator can register outside the lock at the end of the round
	// (bond and transcoder need a few blocks), short enough that waiting for
	// the next round, which activation and tickets do, takes at most 20 s.
	// Shorter than go-livepeer's default -initializeRoundMaxDelay (30 s),
	// so orchestrators must run with that set to 0s.
	RoundLength uint64
	// RoundLockAmount is the locked end of each round, in millionths of it,
	// when orchestrators cannot change their terms; 0 means 100000 (10%,
	// the protocol's default): 2 blocks of a 20-block round.
	RoundLockAmount uint64
	// NumActiveTranscoders is the size of the active set; 0 means 10.
	NumActiveTranscoders uint64
	// UnbondingPeriod is how many rounds unbonded stake stays locked; 0
	// means 2, so a test can withdraw within a minute.
	UnbondingPeriod uint64
	// TicketValidityPeriod is how many rounds a winning ticket can be
	// redeemed in; 0 means 2, the protocol's value.
	TicketValidityPeriod uint64
	// UnlockPeriod is how many rounds a broadcaster waits between unlock and
	// withdraw; 0 means 3: one more than the ticket validity, so tickets sent
	// before an unlock can still be redeemed, and still short for a test.
	UnlockPeriod uint64
}

func (o LivepeerOptions) withDefaults() (LivepeerOptions, error) {
	def := func(v *uint64, d uint64) {
		if *v == 0 {
			*v = d
		}
	}
	def(&o.RoundLength, 20)
	def(&o.RoundLockAmount, 100_000)
	def(&o.NumActiveTranscoders, 10)
	def(&o.UnbondingPeriod, 2)
	def(&o.TicketValidityPeriod, 2)
	def(&o.UnlockPeriod, 3)
	if o.RoundLockAmount >= percDivisor {
		return o, fmt.Errorf("chaintest: round lock amount %d: must be below %d (the whole round)", o.RoundLockAmount, percDivisor)
	}
	if o.RoundLength*o.RoundLockAmount/percDivisor >= o.RoundLength-1 {
		return o, fmt.Errorf("chaintest: a %d-block round locked at %d/%d leaves no block to register in", o.RoundLength, o.RoundLockAmount, percDivisor)
	}
	return o, nil
}

// Livepeer is the Livepeer protocol deployed on the chain of a Net, with
// the dev account as the Controller's owner and the token's admin. The
// address fields are what go-livepeer resolves through the Controller;
// BondingManager, TicketBroker and RoundsManager are proxies. Its methods
// are safe for concurrent use.
type Livepeer struct {
	// Controller is the registry go-livepeer's -ethController wants.
	Controller          common.Address
	LivepeerToken       common.Address
	Minter              common.Address
	BondingManager      common.Address
	TicketBroker        common.Address
	RoundsManager       common.Address
	ServiceRegistry     common.Address
	LivepeerTokenFaucet common.Address
	// Options are the parameters in effect, defaults filled in; changing
	// them changes nothing on chain.
	Options LivepeerOptions

	net                                                  *Net
	opts                                                 LivepeerOptions // what the helpers go by
	controller, token, bonding, broker, rounds, registry *contract
}

// DeployLivepeer deploys the Livepeer protocol as its own deployer does
// (livepeer/protocol deploy/deploy_contracts.ts) and configures it for
// go-livepeer's -network=devenv: a paused Controller; every contract
// registered under keccak256 of its name; BondingManager, TicketBroker and
// RoundsManager behind ManagerProxy with their targets under
// "<name>Target"; TicketBroker also as "JobsManager", which the Minter
// trusts; a stand-in L2LPTDataCache (see l2LPTDataCacheCode); the Minter
// allowed to mint and burn LPT; the faucet stocked with 1,000,000 LPT; the
// parameters of o set; then the Controller unpaused and the current round
// initialized (round 0 counts as initialized already). Everything goes out
// from the dev account in one pipeline: the whole takes a few blocks.
//
// RoundsManager is the protocol's plain one, whose rounds follow
// block.number, not AdjustableRoundsManager (what the protocol deploys on
// its test networks): that one counts blocks only when told to, so rounds
// would never advance for go-livepeer, which reads the chain's blocks.
func (n *Net) DeployLivepeer(ctx context.Context, o LivepeerOptions) (*Livepeer, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	dir, err := LivepeerArtifacts()
	if err != nil {
		return nil, err
	}
	arts := map[string]*artifact{}
	for name := range livepeerArtifactPaths {
		if arts[name], err = loadArtifact(dir, name); err != nil {
			return nil, err
		}
	}
	began := time.Now()
	lp := &Livepeer{net: n, Options: o, opts: o}
	dev := n.dev
	var pending []pendingTx
	bound := func(name string, a *abi.ABI, addr common.Address) *contract {
		return &contract{name: name, addr: addr, abi: a, bound: bind.NewBoundContract(addr, *a, n.chain.eth, n.chain.eth, n.chain.eth)}
	}
	// Creations first: no constructor calls another contract, so their
	// gas estimates hold before anything is mined, and the addresses follow
	// from the dev account's nonces.
	deploy := func(label string, code []byte, a *abi.ABI, args ...any) (common.Address, error) {
		var input []byte
		if a != nil {
			var err error
			if input, err = a.Pack("", args...); err != nil {
				return common.Address{}, fmt.Errorf("chaintest: %s constructor arguments: %w", label, err)
			}
		}
		addr, tx, err := dev.deploy(ctx, code, input)
		if err != nil {
			return common.Address{}, fmt.Errorf("chaintest: deploy %s: %w", label, err)
		}
		pending = append(pending, pendingTx{label: "deploy " + label, hash: tx})
		return addr, nil
	}
	deployArtifact := func(name string, libs map[string]common.Address, args ...any) (common.Address, error) {
		code, err := arts[name].link(libs)
		if err != nil {
			return common.Address{}, err
		}
		return deploy(name, code, arts[name].abi, args...)
	}

	sorted, err := deployArtifact("SortedDoublyLL", nil)
	if err != nil {
		return nil, err
	}
	if lp.Controller, err = deployArtifact("Controller", nil); err != nil {
		return nil, err
	}
	lp.controller = bound("Controller", arts["Controller"].abi, lp.Controller)
	if lp.LivepeerToken, err = deployArtifact("LivepeerToken", nil); err != nil {
		return nil, err
	}
	if lp.Minter, err = deployArtifact("Minter", nil, lp.Controller,
		big.NewInt(minterInflation), big.NewInt(minterInflationChange), big.NewInt(minterTargetBondingRate)); err != nil {
		return nil, err
	}
	// registry is what setContractInfo will record, in order.
	type entry struct {
		name string
		addr common.Address
	}
	registry := []entry{{"LivepeerToken", lp.LivepeerToken}, {"Minter", lp.Minter}}
	proxyCode, err := arts["ManagerProxy"].link(nil)
	if err != nil {
		return nil, err
	}
	proxied := func(name string, libs map[string]common.Address) (common.Address, error) {
		target, err := deployArtifact(name, libs, lp.Controller)
		if err != nil {
			return common.Address{}, err
		}
		id := crypto.Keccak256Hash([]byte(name + "Target"))
		proxy, err := deploy(name+" proxy", proxyCode, arts["ManagerProxy"].abi, lp.Controller, id)
		if err != nil {
			return common.Address{}, err
		}
		registry = append(registry, entry{name + "Target", target}, entry{name, proxy})
		return proxy, nil
	}
	if lp.BondingManager, err = proxied("BondingManager", map[string]common.Address{"SortedDoublyLL": sorted}); err != nil {
		return nil, err
	}
	if lp.TicketBroker, err = proxied("TicketBroker", nil); err != nil {
		return nil, err
	}
	registry = append(registry, entry{"JobsManager", lp.TicketBroker})
	if lp.RoundsManager, err = proxied("RoundsManager", nil); err != nil {
		return nil, err
	}
	if lp.ServiceRegistry, err = deployArtifact("ServiceRegistry", nil, lp.Controller); err != nil {
		return nil, err
	}
	if lp.LivepeerTokenFaucet, err = deployArtifact("LivepeerTokenFaucet", nil, lp.LivepeerToken,
		lpt(faucetRequestLPT), big.NewInt(faucetRequestWaitHours)); err != nil {
		return nil, err
	}
	dataCache, err := deploy("L2LPTDataCache stub", l2LPTDataCacheCode, nil)
	if err != nil {
		return nil, err
	}
	registry = append(registry,
		entry{"ServiceRegistry", lp.ServiceRegistry}, entry{"LivepeerTokenFaucet", lp.LivepeerTokenFaucet},
		entry{"L2LPTDataCache", dataCache})

	lp.token = bound("LivepeerToken", arts["LivepeerToken"].abi, lp.LivepeerToken)
	lp.bonding = bound("BondingManager", arts["BondingManager"].abi, lp.BondingManager)
	lp.broker = bound("TicketBroker", arts["TicketBroker"].abi, lp.TicketBroker)
	lp.rounds = bound("RoundsManager", arts["RoundsManager"].abi, lp.RoundsManager)
	lp.registry = bound("ServiceRegistry", arts["ServiceRegistry"].abi, lp.ServiceRegistry)

	// Then everything else, each sent after what it needs, so mined after
	// it (same sender, higher nonce), with explicit gas: estimating would
	// run against a state that lacks the contracts.
	send := func(c *contract, method string, args ...any) error {
		tx, err := dev.transact(ctx, c, gasProtocolCall, method, args...)
		if err != nil {
			return err
		}
		pending = append(pending, pendingTx{label: fmt.Sprintf("%s.%s%v", c.name, method, args), hash: tx})
		return nil
	}
	for _, e := range registry {
		if err := send(lp.controller, "setContractInfo", crypto.Keccak256Hash([]byte(e.name)), e.addr, protocolCommit); err != nil {
			return nil, err
		}
	}
	// Setters go through the proxies, which look their targets up in the
	// Controller: hence after the registrations.
	params := []struct {
		c      *contract
		method string
		arg    any
	}{
		{lp.bonding, "setUnbondingPeriod", o.UnbondingPeriod},
		{lp.bonding, "setNumActiveTranscoders", new(big.Int).SetUint64(o.NumActiveTranscoders)},
		{lp.rounds, "setRoundLength", new(big.Int).SetUint64(o.RoundLength)},
		{lp.rounds, "setRoundLockAmount", new(big.Int).SetUint64(o.RoundLockAmount)},
		{lp.broker, "setUnlockPeriod", new(big.Int).SetUint64(o.UnlockPeriod)},
		{lp.broker, "setTicketValidityPeriod", new(big.Int).SetUint64(o.TicketValidityPeriod)},
	}
	for _, p := range params {
		if err := send(p.c, p.method, p.arg); err != nil {
			return nil, err
		}
	}
	// The token's roles are private constants: no getter to read them from.
	minterRole, burnerRole := crypto.Keccak256Hash([]byte("MINTER_ROLE")), crypto.Keccak256Hash([]byte("BURNER_ROLE"))
	for _, g := range []struct {
		role common.Hash
		to   common.Address
	}{{minterRole, lp.Minter}, {burnerRole, lp.Minter}, {minterRole, dev.address()}} {
		if err := send(lp.token, "grantRole", g.role, g.to); err != nil {
			return nil, err
		}
	}
	if err := send(lp.token, "mint", lp.LivepeerTokenFaucet, lpt(faucetSupplyLPT)); err != nil {
		return nil, err
	}
	if err := send(lp.controller, "unpause"); err != nil {
		return nil, err
	}
	if _, err := n.chain.waitMined(ctx, pending...); err != nil {
		return nil, err
	}

	if err := lp.checkDeployment(ctx, minterRole, burnerRole); err != nil {
		return nil, err
	}
	if err := lp.InitializeRound(ctx, nil); err != nil {
		return nil, err
	}
	n.log.Info("livepeer protocol deployed", "controller", lp.Controller, "transactions", len(pending),
		"roundLength", o.RoundLength, "elapsed", time.Since(began))
	return lp, nil
}

// checkDeployment reads back what a silently ignored transaction would
// leave wrong: the Controller unpaused, the Minter's roles, the round length.
func (lp *Livepeer) checkDeployment(ctx context.Context, minterRole, burnerRole common.Hash) error {
	var paused bool
	if err := call(ctx, lp.controller, &paused, "paused"); err != nil {
		return err
	}
	if paused {
		return errors.New("chaintest: the Controller is still paused after unpause")
	}
	for _, role := range []common.Hash{minterRole, burnerRole} {
		var has bool
		if err := call(ctx, lp.token, &has, "hasRole", role, lp.Minter); err != nil {
			return err
		}
		if !has {
			return fmt.Errorf("chaintest: the Minter lacks LivepeerToken role %s after grantRole", role)
		}
	}
	var length *big.Int
	if err := call(ctx, lp.rounds, &length, "roundLength"); err != nil {
		return err
	}
	if !length.IsUint64() || length.Uint64() != lp.opts.RoundLength {
		return fmt.Errorf("chaintest: RoundsManager.roundLength is %s after setRoundLength(%d)", length, lp.opts.RoundLength)
	}
	return nil
}

// lpt converts whole LPT to its base unit (18 decimals).
func lpt(n int64) *big.Int {
	return new(big.Int).Mul(big.NewInt(n), new(big.Int).Exp(big.NewInt(10), big.NewInt(lptDecimals), nil))
}
