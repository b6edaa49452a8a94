#!/usr/bin/env bash
# The main job, end to end on this machine, on real go-livepeer: ffmpeg
# pushes 30 s of video over RTMP into a livepeer-archiver broadcaster, a
# livepeer-archiver orchestrator+transcoder hands every segment to two
# archiver-node workers, which store it on a Bee dev node; then the paid
# run (real PM tickets) on the testbed. Prints where to watch the archives.
# In a terminal Bee keeps serving them until Ctrl-C; otherwise the demo
# checks everything and exits, non-zero on any failure.
# The first run builds Bee, Livepeer's FFmpeg and go-livepeer (about 10 min).
#   --keep   keep Bee running even when stdout is not a terminal
#   --chain  the paid loop on one local chain instead: the Livepeer protocol
#            and Swarm on a geth dev chain, real tickets, one key (~2 min)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$ROOT"

args=()
for a in "$@"; do
	case "$a" in
	--keep) args+=(-keep) ;;
	--chain) args+=(-chain) ;;
	*) die "unknown option $a (want --keep, --chain)" ;;
	esac
done

"$ROOT/scripts/install-deps.sh"
livepeer=$("$ROOT/scripts/build-livepeer.sh" | tail -1)
mkdir -p "$ROOT/.cache/bin"
go build -buildvcs=true -o "$ROOT/.cache/bin/archiver-node" ./cmd/archiver-node
go build -o "$ROOT/.cache/bin/archiver-demo" ./cmd/archiver-demo
exec "$ROOT/.cache/bin/archiver-demo" -livepeer "$livepeer" -archiverNode "$ROOT/.cache/bin/archiver-node" \
	-workdir "$ROOT/.cache/demo" "${args[@]}"
