#!/usr/bin/env bash
# Installs what the tests and the demo need on a fresh Debian machine:
# ffmpeg (test video), protoc (generated code) and npm (the Livepeer protocol
# contracts), then builds Bee and geth and installs the contracts.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

need=()
command -v ffmpeg >/dev/null || need+=(ffmpeg)
command -v protoc >/dev/null || need+=(protobuf-compiler)
command -v npm >/dev/null || need+=(npm)
if [ ${#need[@]} -gt 0 ]; then
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	log "installing ${need[*]}"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
command -v go >/dev/null || die "Go is not installed (need Go 1.26)"
"$ROOT/scripts/build-bee.sh"
"$ROOT/scripts/build-geth.sh"
"$ROOT/scripts/install-livepeer-protocol.sh"
