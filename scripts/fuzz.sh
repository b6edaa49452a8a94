#!/usr/bin/env bash
# Runs every fuzz target of the module for a short while; CI calls it from
# scripts/test.sh after the unit tests. The targets are listed by the test
# binary of every package whose tests declare a func Fuzz…, so a new
# target is never forgotten. A fuzzing run takes one target; FUZZJOBS run
# at once, sharing the cores, so one target's start-up overlaps another's
# fuzzing.
#
#   scripts/fuzz.sh                          # CI: every target for FUZZTIME (4s)
#   FUZZTIME=5m scripts/fuzz.sh ./grpcsvc    # some packages' targets, as RELIABILITY.md reports
#   FUZZTIME=1h FUZZJOBS=1 scripts/fuzz.sh   # one target at a time, on every core
#
# A failing input is written to <package>/testdata/fuzz/<Target>/. Fix the
# bug and commit the file: go test then runs it as a regression seed.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$ROOT"

FUZZTIME=${FUZZTIME:-4s}
cores=$(nproc)
FUZZJOBS=${FUZZJOBS:-$cores}
# Fuzzing workers per target, so that the jobs together use every core.
workers=$(((cores + FUZZJOBS - 1) / FUZZJOBS))
# Minimizing each new interesting input counts against FUZZTIME; go's
# default (60s) would spend a short run minimizing.
FUZZMINIMIZETIME=${FUZZMINIMIZETIME:-2s}

if [ $# -gt 0 ]; then
	pkgs=("$@")
else
	mapfile -t pkgs < <(grep -rlE --include='*_test.go' '^func Fuzz[A-Z0-9_]' --exclude-dir=.git --exclude-dir=tools . |
		xargs -r -n1 dirname | sort -u)
fi
[ ${#pkgs[@]} -gt 0 ] || die "no fuzz targets found"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Where go test keeps the inputs a target found interesting, per package.
corpora=$(go env GOCACHE)/fuzz
mod=$(go list -m)
start=$SECONDS

# One instrumented test binary per package, built in turn: go test -fuzz
# would relink it for every target, and builds running side by side would
# each compile the shared dependencies with fuzzing instrumentation.
mapfile -t listed < <(go list -f '{{.ImportPath}} {{.Dir}}' "${pkgs[@]}")
targets=()
declare -A dirs
for line in "${listed[@]}"; do
	path=${line%% *} dir=${line#* }
	dirs[$path]=$dir
	bin=$work/${path//\//_}.test
	go test -c -fuzz=. -o "$bin" "$path"
	# The binary runs in the package's directory, as go test runs it.
	while read -r name; do
		case $name in Fuzz*) targets+=("$path:$name") ;; esac
	done < <(cd "$dir" && "$bin" -test.list '^Fuzz' </dev/null)
done
[ ${#targets[@]} -gt 0 ] || die "no fuzz targets in ${pkgs[*]}"
log "built ${#listed[@]} test binaries in $((SECONDS - start))s"

# inputs counts the files in a corpus directory (0 when there is none).
inputs() { if [ -d "$1" ]; then find "$1" -type f | wc -l; else echo 0; fi; }

# fuzz runs target number $1 ("<import path>:<name>"), prints a summary line
# and leaves ok, flake or FAIL in $work/$1.result.
fuzz() {
	local i=$1 pkg=${2%%:*} name=${2#*:} result stats
	local dir=${dirs[$pkg]} out=$work/$1.out t0=$SECONDS before
	before=$(inputs "$dir/testdata/fuzz/$name")
	if (cd "$dir" && "$work/${pkg//\//_}.test" -test.run='^$' -test.fuzz="^$name\$" -test.fuzztime="$FUZZTIME" \
		-test.fuzzminimizetime="$FUZZMINIMIZETIME" -test.parallel="$workers" -test.fuzzcachedir="$corpora/$pkg" \
		-test.paniconexit0) </dev/null >"$out" 2>&1; then
		result=ok
	elif [ "$(inputs "$dir/testdata/fuzz/$name")" -eq "$before" ] && grep -q '^    context deadline exceeded$' "$out"; then
		# Go 1.26's coordinator can fail a target as -fuzztime ends, under
		# load, with no failing input (go.dev/issue/75804, fixed in 1.27).
		result=flake
	else
		result=FAIL
	fi
	echo "$result" >"$work/$i.result"
	# The last progress line has the totals: execs and new interesting inputs.
	stats=$(grep -E '^fuzz: elapsed' "$out" | tail -1 | sed -E 's/^fuzz: elapsed: [^,]*, //' || true)
	printf '%-5s %3ss  %s  %s\n' "$result" $((SECONDS - t0)) "${pkg#"$mod"/}.$name" "$stats" >&2
}

log "fuzzing ${#targets[@]} targets for $FUZZTIME each, $FUZZJOBS at a time"
for i in "${!targets[@]}"; do
	while [ "$(jobs -rp | wc -l)" -ge "$FUZZJOBS" ]; do wait -n || true; done
	fuzz "$i" "${targets[$i]}" &
done
wait

failed=()
flaky=()
for i in "${!targets[@]}"; do
	case $(cat "$work/$i.result" 2>/dev/null || echo FAIL) in
	ok) ;;
	flake) flaky+=("${targets[$i]}") ;;
	*)
		failed+=("${targets[$i]}")
		cat "$work/$i.out" >&2
		;;
	esac
done
log "fuzzing took $((SECONDS - start))s"
[ ${#flaky[@]} -eq 0 ] || log "warning: stopped by go.dev/issue/75804, not by an input: ${flaky[*]}"
[ ${#failed[@]} -eq 0 ] || die "fuzz targets failed (failing inputs in testdata/fuzz): ${failed[*]}"
