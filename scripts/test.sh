#!/usr/bin/env bash
# The project's checks, as CI runs them: install what is missing, then
# gofmt, go vet, every test against a real Bee dev node, and every fuzz
# target for a few seconds (scripts/fuzz.sh; FUZZTIME sets how long).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$ROOT"

"$ROOT/scripts/install-deps.sh"

log "generated code is current"
"$ROOT/scripts/gen-proto.sh"
stale=$(git status --porcelain -- proto)
[ -z "$stale" ] || die "generated code is stale; run scripts/gen-proto.sh and commit: $stale"

log "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' | grep -v '^tools/') 2>&1 || true)
[ -z "$unformatted" ] || die "gofmt needed on: $unformatted"

log "go vet"
go vet ./...

log "go test"
go test -count=1 -timeout 20m "$@" ./...

log "fuzz"
"$ROOT/scripts/fuzz.sh"
