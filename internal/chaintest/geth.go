package chaintest

import (
	"context"
	"crypto/ecdsa"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
	"github.com/ethereum/go-ethereum/rpc"

	"github.com/lpswarm/archiver/internal/beetest"
	"github.com/lpswarm/archiver/internal/freeport"
)

// GethVersion is the geth release scripts/build-geth.sh builds.
const GethVersion = "v1.17.3"

// ErrNoGeth: the geth binary has not been built on this machine.
var ErrNoGeth = errors.New("geth binary not found: run scripts/install-deps.sh (or set GETH_BIN)")

// devKeyHex is the key `geth --dev` imports into an empty keystore and
// prefunds (cmd/utils.DeveloperKey). Signing with it locally, instead of
// eth_sendTransaction, lets us pipeline many transactions per block.
// startGeth checks that the node really uses it.
const devKeyHex = "b71c71a67e1177ad4e901695e1b4b9ee17ae16c6668d313eac2f96dbcda3f291"

// devChainID is the chain id geth --dev always uses.
const devChainID = 1337

// GethBinary returns the path of the geth binary built by
// scripts/build-geth.sh; GETH_BIN overrides it.
func GethBinary() (string, error) {
	p, err := beetest.CachedTool("GETH_BIN", "geth-"+GethVersion, "geth")
	if err != nil {
		return "", fmt.Errorf("chaintest: %w: %w", ErrNoGeth, err)
	}
	return p, nil
}

// chain is a running geth dev node.
type chain struct {
	proc    *process
	url     string // JSON-RPC over HTTP
	eth     *ethclient.Client
	chainID *big.Int
	devKey  *ecdsa.PrivateKey
}

// startGeth starts a dev chain with a block every second in dir and waits
// until it answers JSON-RPC. A free port can be taken between probe and
// bind, so a geth that exits while starting is tried again on another port.
func startGeth(ctx context.Context, bin, dir string, out io.Writer) (*chain, error) {
	var last error
	for attempt := range 3 {
		c, err := startGethOnce(ctx, bin, filepath.Join(dir, "geth-"+strconv.Itoa(attempt)), out)
		if err == nil || !errors.Is(err, errExited) {
			return c, err
		}
		last = err
	}
	return nil, last
}

func startGethOnce(ctx context.Context, bin, datadir string, out io.Writer) (*chain, error) {
	port, err := freeport.Port()
	if err != nil {
		return nil, err
	}
	p, err := startProcess("geth", bin, []string{
		"--dev", "--dev.period", "1",
		"--http", "--http.addr", "127.0.0.1", "--http.port", strconv.Itoa(port), "--http.api", "eth,net,web3",
		"--ipcdisable", "--port", "0", "--nodiscover", "--maxpeers", "0",
		"--datadir", datadir,
	}, out)
	if err != nil {
		return nil, err
	}
	c := &chain{proc: p, url: "http://127.0.0.1:" + strconv.Itoa(port)}
	if err := c.connect(ctx); err != nil {
		c.close()
		return nil, err
	}
	return c, nil
}

// connect waits for the RPC endpoint and checks that it is the dev chain
// this package expects: chain id 1337 and the well-known dev account.
func (c *chain) connect(ctx context.Context) error {
	rc, err := rpc.DialOptions(ctx, c.url)
	if err != nil {
		return fmt.Errorf("chaintest: dial geth: %w", err)
	}
	c.eth = ethclient.NewClient(rc)
	err = c.proc.waitUntil(ctx, 30*time.Second, 100*time.Millisecond, "geth JSON-RPC",
		func(ctx context.Context) (bool, error) {
			id, err := c.eth.ChainID(ctx)
			c.chainID = id
			return err == nil, err
		})
	if err != nil {
		return err
	}
	if c.chainID.Cmp(big.NewInt(devChainID)) != 0 {
		return c.proc.failure(fmt.Errorf("chain id %s, want %d (not a dev chain?)", c.chainID, devChainID))
	}
	c.devKey, err = crypto.HexToECDSA(devKeyHex)
	if err != nil {
		return fmt.Errorf("chaintest: dev key: %w", err)
	}
	var accounts []common.Address
	if err := rc.CallContext(ctx, &accounts, "eth_accounts"); err != nil {
		return c.proc.failure(fmt.Errorf("eth_accounts: %w", err))
	}
	dev := crypto.PubkeyToAddress(c.devKey.PublicKey)
	if len(accounts) == 0 || accounts[0] != dev {
		return c.proc.failure(fmt.Errorf("dev account is %v, want %s: geth no longer uses its well-known dev key", accounts, dev))
	}
	return nil
}

// close stops geth; a dev chain keeps nothing worth flushing, but SIGINT
// first lets it release its datadir cleanly.
func (c *chain) close() {
	if c.eth != nil {
		c.eth.Close()
	}
	c.proc.stop(10 * time.Second)
}

// hostPort returns "127.0.0.1:<port>".
func hostPort(port int) string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
}

// trim0x strips an optional 0x prefix from a hex string.
func trim0x(s string) string {
	return strings.TrimPrefix(strings.TrimPrefix(s, "0x"), "0X")
}
