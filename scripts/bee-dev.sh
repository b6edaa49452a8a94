#!/usr/bin/env bash
# Runs a Bee dev node on loopback for demos and manual tests.
#   bee-dev.sh start        start on a free port, wait for /health, print the API URL
#   bee-dev.sh batch [D]    buy a batch of depth D (default 22), print its id
#   bee-dev.sh url          print the API URL of the running node
#   bee-dev.sh stop         stop it
# Dev mode keeps everything in memory: data is gone when it stops.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

pidf=$RUN_DIR/bee-dev.pid
urlf=$RUN_DIR/bee-dev.url

running() { [ -f "$pidf" ] && kill -0 "$(cat "$pidf")" 2>/dev/null; }

free_port() {
	local p
	for _ in $(seq 50); do
		p=$((20000 + RANDOM % 20000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return
		fi
	done
	die "no free port found"
}

start() {
	if running; then cat "$urlf"; return; fi
	[ -x "$BEE_BIN" ] || die "bee not built: run scripts/install-deps.sh"
	mkdir -p "$RUN_DIR"
	local port url
	port=$(free_port)
	url="http://127.0.0.1:$port"
	"$BEE_BIN" dev --api-addr "127.0.0.1:$port" --verbosity 2 --cors-allowed-origins '*' \
		>"$RUN_DIR/bee-dev.log" 2>&1 &
	echo $! >"$pidf"
	echo "$url" >"$urlf"
	for _ in $(seq 300); do
		if curl -fsS "$url/health" >/dev/null 2>&1; then
			echo "$url"
			return
		fi
		running || die "bee dev exited; see $RUN_DIR/bee-dev.log"
		sleep 0.1
	done
	die "bee dev not healthy after 30 s; see $RUN_DIR/bee-dev.log"
}

batch() {
	running || die "bee dev is not running"
	local depth=${1:-22}
	curl -fsS -X POST -H 'Immutable: true' "$(cat "$urlf")/stamps/1000000000/$depth" |
		sed -n 's/.*"batchID":"\([0-9a-f]*\)".*/\1/p'
}

stop() {
	if running; then
		kill "$(cat "$pidf")"
		for _ in $(seq 50); do running || break; sleep 0.1; done
		running && kill -9 "$(cat "$pidf")"
	fi
	rm -f "$pidf" "$urlf"
}

case "${1:-}" in
start) start ;;
batch) shift; batch "$@" ;;
url) running && cat "$urlf" || die "bee dev is not running" ;;
stop) stop ;;
*) die "usage: $0 start|batch [depth]|url|stop" ;;
esac
