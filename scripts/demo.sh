#!/usr/bin/env bash
# The main job, end to end on this machine: a Bee dev node, the testbed
# orchestrator speaking go-livepeer's wire protocol with the archiver
# plugged in, two archiver-node workers, a broadcaster streaming 60 s of
# real video with the Archive bit and paying with PM tickets, and a stock
# broadcaster next to it. Prints where to watch the archive and a summary.
#   --keep   keep Bee running (until Ctrl-C) so the URL can be opened
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$ROOT"

args=()
[ "${1:-}" = "--keep" ] && args+=(-keep)

"$ROOT/scripts/install-deps.sh"
mkdir -p "$ROOT/.cache/bin"
go build -o "$ROOT/.cache/bin/archiver-node" ./cmd/archiver-node
go build -o "$ROOT/.cache/bin/archiver-demo" ./cmd/archiver-demo
exec "$ROOT/.cache/bin/archiver-demo" -archiverNode "$ROOT/.cache/bin/archiver-node" -workdir "$ROOT/.cache/demo" "${args[@]}"
