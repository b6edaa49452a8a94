#!/usr/bin/env bash
# Builds geth (the local dev chain under internal/chaintest) from the Go module
# proxy into $ARCHIVER_CACHE; reuses the binary when it is already there.
# tools/geth/go.mod pins the version; GETH_VERSION must name the same one
# because internal/chaintest looks for the binary under geth-<version>.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

GETH_VERSION=v1.17.3
GETH_BIN=${GETH_BIN:-$ARCHIVER_CACHE/geth-$GETH_VERSION/geth}

if [ -x "$GETH_BIN" ]; then
	log "geth $GETH_VERSION: $GETH_BIN (cached)"
	exit 0
fi
grep -q "github.com/ethereum/go-ethereum $GETH_VERSION\$" "$ROOT/tools/geth/go.mod" ||
	die "tools/geth/go.mod does not require go-ethereum $GETH_VERSION"
log "building geth $GETH_VERSION into $GETH_BIN (about a minute, once per machine)"
mkdir -p "$(dirname "$GETH_BIN")"
tmp="$GETH_BIN.tmp.$$"
trap 'rm -f "$tmp"' EXIT
(
	cd "$ROOT/tools/geth"
	go build -trimpath -o "$tmp" -ldflags "-s -w" github.com/ethereum/go-ethereum/cmd/geth
)
mv "$tmp" "$GETH_BIN" # atomic: an interrupted build leaves no half binary
"$GETH_BIN" version >&2
