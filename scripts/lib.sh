# Shared settings for the scripts; sourced, not run.
# ARCHIVER_CACHE holds tools built once per machine, outside the repository.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BEE_VERSION=v2.7.0
# BEE_BUILD names the build flags: "loopback" reports the node as publicly
# reachable, so two full nodes on 127.0.0.1 accept each other's pushes
# (otherwise every direct upload waits for Bee's 30 s push timeout).
BEE_BUILD=loopback
ARCHIVER_CACHE=${ARCHIVER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lpswarm-archiver}
BEE_BIN=${BEE_BIN:-$ARCHIVER_CACHE/bee-$BEE_VERSION-$BEE_BUILD/bee}
# State of background processes started by bee-dev.sh (pid, port, log).
RUN_DIR=${RUN_DIR:-$ROOT/.cache/run}
export ARCHIVER_CACHE BEE_BIN

log() { printf '%s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
