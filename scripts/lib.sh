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

# go-livepeer and the FFmpeg fork its lpms pins (scripts/build-livepeer.sh).
LIVEPEER_VERSION=v0.7.9
FFMPEG_COMMIT=d9751c73e714b01b363483db358b1ea8022c9bea
FFMPEG_SHA256=7b82883c03d68a3f8a01e30d6841fb9a9bbacf47dd9043d1447ce2e35bb3163d
FFMPEG_PREFIX=$ARCHIVER_CACHE/livepeer-ffmpeg-${FFMPEG_COMMIT:0:8}

livepeer_patch_hash() { sha256sum "$ROOT/golivepeer/go-livepeer.patch" | cut -c1-12; }

# livepeer_env: the environment for go build/vet/test in golivepeer/,
# linking the cached FFmpeg. The cgo build gets its own GOCACHE because
# Go's cache does not key on PKG_CONFIG_PATH or FFmpeg's headers.
livepeer_env() {
	export PKG_CONFIG_PATH="$FFMPEG_PREFIX/lib/pkgconfig"
	export GOCACHE="$ARCHIVER_CACHE/go-build-livepeer-${FFMPEG_COMMIT:0:8}"
	export CGO_ENABLED=1
}
