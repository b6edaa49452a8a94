// Command livepeer-archiver is go-livepeer's livepeer command with the
// archiver installed: every flag of livepeer, unchanged, plus the
// archiver's (-archiver on an orchestrator, -archive on a broadcaster).
package main

import (
	"log/slog"
	"os"

	"github.com/livepeer/go-livepeer/cmd/livepeer/cli"

	"github.com/lpswarm/archiver/golivepeer/hooks"
	"github.com/lpswarm/archiver/plugin"
)

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("module", "archiver")
	hooks.Install(&plugin.Flags{}, log)
	cli.Main()
}
