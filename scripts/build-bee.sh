#!/usr/bin/env bash
# Builds Bee v2.7.0 (the last release with `bee dev`) from the Go module
# proxy into $ARCHIVER_CACHE; reuses the binary when it is already there.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

if [ -x "$BEE_BIN" ]; then
	log "bee $BEE_VERSION: $BEE_BIN (cached)"
	exit 0
fi
log "building bee $BEE_VERSION into $BEE_BIN (about 2 minutes, once per machine)"
mkdir -p "$(dirname "$BEE_BIN")"
tmp="$BEE_BIN.tmp.$$"
(
	cd "$ROOT/tools/bee"
	go build -trimpath -o "$tmp" \
		-ldflags "-s -w -X github.com/ethersphere/bee/v2.version=${BEE_VERSION#v} -X github.com/ethersphere/bee/v2.commitHash=module-proxy \
			-X github.com/ethersphere/bee/v2/pkg/p2p/libp2p.reachabilityOverridePublic=true" \
		github.com/ethersphere/bee/v2/cmd/bee
)
mv "$tmp" "$BEE_BIN" # atomic: an interrupted build leaves no half binary
"$BEE_BIN" version >&2
