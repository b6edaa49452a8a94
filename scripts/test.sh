#!/usr/bin/env bash
# The project's checks, as CI runs them: install what is missing and build
# livepeer-archiver, then gofmt, go vet, every test of both modules against
# a real Bee dev node and real go-livepeer processes, and every fuzz target
# for a few seconds (scripts/fuzz.sh; FUZZTIME sets how long).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$ROOT"

"$ROOT/scripts/install-deps.sh"
timed() { local t=$SECONDS; "$@"; log "($* took $((SECONDS - t)) s)"; }
timed "$ROOT/scripts/build-livepeer.sh" >/dev/null

log "generated code is current"
"$ROOT/scripts/generate.sh"
stale=$(git status --porcelain -- proto internal/keccak)
[ -z "$stale" ] || die "generated code is stale; run scripts/generate.sh and commit: $stale"

log "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' | grep -v '^tools/') 2>&1 || true)
[ -z "$unformatted" ] || die "gofmt needed on: $unformatted"

log "go vet"
go vet ./...
log "go vet (golivepeer)"
# go-livepeer's server.Orchestrator takes net.Payment by value, which the
# copylocks check reports where our wrapper implements it; nothing else may.
vet=$(cd golivepeer && livepeer_env && go vet ./... 2>&1 | grep -v '^#' |
	grep -Ev '^hooks/orchestrator.go:[0-9]+:[0-9]+: (ProcessPayment passes lock by value|call of o.Orchestrator.ProcessPayment copies lock value): github.com/livepeer/go-livepeer/net.Payment contains' || true)
[ -z "$vet" ] || die "go vet in golivepeer: $vet"

log "go test"
timed go test -count=1 -timeout 20m "$@" ./...
log "go test (golivepeer: real go-livepeer processes)"
(cd golivepeer && livepeer_env && timed go test -count=1 -timeout 20m "$@" ./...)

log "demo (not a terminal: it checks end to end and exits)"
timed "$ROOT/scripts/demo.sh" | tail -n 30

log "fuzz"
"$ROOT/scripts/fuzz.sh"
