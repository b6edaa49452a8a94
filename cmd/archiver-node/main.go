// Command archiver-node archives live streams to Ethereum Swarm.
//
//	archiver-node import -bee URL -postageBatch ID <folder | playlist file | playlist URL>
//	archiver-node node -orchAddr HOST:PORT -archiverSecret S -bee URL -postageBatch ID
//	archiver-node postage buy|topup|dilute|status -postageEthUrl URL -ethKeystorePath KEY ...
//	archiver-node version
//
// main only wires signals and exit codes; each subcommand parses its flags
// into a config and builds its components.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/lpswarm/archiver/internal/cliflags"
	"github.com/lpswarm/archiver/internal/version"
)

const usage = `usage: archiver-node <command> [flags]

commands:
  import   archive an HLS stream (folder, playlist file or URL) to Swarm
  node     run an archiver worker for an orchestrator
  postage  buy, top up or dilute a batch with your key; status: depth, fill, TTL, cost and room left
  version  print the module version and the VCS revision this binary was built from

Run 'archiver-node <command> -h' for the flags of one command.
`

// errUsage marks command-line mistakes (exit status 2).
var errUsage = errors.New("usage")

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	stop := make(chan struct{})
	go onSignals(stop, cancel)
	err := run(ctx, stop, os.Args[1:], os.Stdout, os.Stderr)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "archiver-node:", err)
		if errors.Is(err, errUsage) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// onSignals closes stop on the first SIGINT/SIGTERM (finish gracefully:
// publish what was archived) and cancels everything on the second.
func onSignals(stop chan<- struct{}, cancel context.CancelFunc) {
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	<-sig
	close(stop)
	<-sig
	cancel()
}

func run(ctx context.Context, stop <-chan struct{}, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("%w: no command", errUsage)
	}
	switch args[0] {
	case "import":
		return runImport(ctx, stop, args[1:], stdout, stderr)
	case "node":
		return runNode(ctx, stop, args[1:], stderr)
	case "postage":
		return runPostage(ctx, args[1:], stdout, stderr)
	case "version", "-version", "--version":
		fmt.Fprintln(stdout, "archiver-node", version.Read())
		return nil
	case "-h", "-help", "--help", "help":
		help(stdout)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("%w: unknown command %q", errUsage, args[0])
}

// help prints the commands and every flag of each.
func help(w io.Writer) {
	fmt.Fprint(w, usage)
	fmt.Fprintln(w, cliflags.EnvHelp("postageBatch"))
	for _, fs := range commandFlags(w) {
		fmt.Fprintf(w, "\n%s flags:\n", fs.Name())
		fs.PrintDefaults()
	}
}
