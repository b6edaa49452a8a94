#!/usr/bin/env bash
# Installs the Livepeer protocol contracts' build artifacts (npm package
# @livepeer/sdk, MIT: hardhat artifacts with ABI and bytecode) that
# internal/chaintest deploys on its dev chain, into $ARCHIVER_CACHE; reuses
# the install when it is already there. tools/livepeer-protocol pins the
# package and its lock; the install directory is keyed by the lock's hash,
# and internal/chaintest looks for livepeer-sdk-<version>-*.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

LIVEPEER_SDK_VERSION=1.0.1-alpha.10
src=$ROOT/tools/livepeer-protocol
dir=$ARCHIVER_CACHE/livepeer-sdk-$LIVEPEER_SDK_VERSION-$(sha256sum "$src/package-lock.json" | cut -c1-12)
marker=node_modules/@livepeer/sdk/abis/Controller.sol/Controller.json

if [ -f "$dir/$marker" ]; then
	log "livepeer protocol $LIVEPEER_SDK_VERSION: $dir (cached)"
	exit 0
fi
grep -q "\"@livepeer/sdk\": \"$LIVEPEER_SDK_VERSION\"" "$src/package.json" ||
	die "tools/livepeer-protocol/package.json does not pin @livepeer/sdk $LIVEPEER_SDK_VERSION"
command -v npm >/dev/null || die "npm is not installed (scripts/install-deps.sh installs it)"
log "installing @livepeer/sdk $LIVEPEER_SDK_VERSION into $dir (once per machine)"
mkdir -p "$ARCHIVER_CACHE"
tmp=$(mktemp -d "$dir.tmp.XXXXXX")
chmod 755 "$tmp"
trap 'rm -rf "$tmp"' EXIT
cp "$src/package.json" "$src/package-lock.json" "$tmp/"
# No install scripts: only the artifacts' JSON is used, nothing is run.
(cd "$tmp" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
[ -f "$tmp/$marker" ] || die "npm ci did not install $marker"
# Atomic: an interrupted install leaves no half directory. A directory
# without the marker can only be a leftover, and mv -T refuses to replace
# a complete one that a concurrent run renamed into place first.
[ -e "$dir" ] && rm -rf "$dir"
mv -T "$tmp" "$dir" 2>/dev/null || [ -f "$dir/$marker" ] || die "cannot move the install to $dir"
log "livepeer protocol $LIVEPEER_SDK_VERSION: $dir"
