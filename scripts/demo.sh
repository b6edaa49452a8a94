#!/usr/bin/env bash
# The main job, end to end on this machine: start a Bee dev node, make a
# 20-second HLS clip with ffmpeg (two video renditions and audio), archive
# it to Swarm with `archiver-node import`, check it plays back from Bee,
# and print where to watch it.
#   --keep   keep Bee running (until Ctrl-C) so the URL can be opened
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$ROOT"

keep=false
[ "${1:-}" = "--keep" ] && keep=true

"$ROOT/scripts/install-deps.sh"
mkdir -p "$ROOT/.cache/bin"
go build -o "$ROOT/.cache/bin/archiver-node" ./cmd/archiver-node

work=$ROOT/.cache/demo
rm -rf "$work" && mkdir -p "$work"
log "making a 20 s test clip in $work/src"
go run ./internal/hlstest/mkhls -o "$work/src" -seconds 20 >/dev/null

"$ROOT/scripts/bee-dev.sh" stop
bee_url=$("$ROOT/scripts/bee-dev.sh" start)
if ! $keep; then trap '"$ROOT/scripts/bee-dev.sh" stop' EXIT; fi
batch=$("$ROOT/scripts/bee-dev.sh" batch 22)
log "bee dev at $bee_url, batch $batch"

start_ms=$(date +%s%3N)
"$ROOT/.cache/bin/archiver-node" import --bee "$bee_url" --batch "$batch" "$work/src" | tee "$work/result"
url=$(sed -n 's/^url: //p' "$work/result")

# Watching means playing: remux the archived VOD from Bee and measure it.
ffmpeg -hide_banner -loglevel error -nostdin -y -i "$url" -map 0 -c copy "$work/played-back.ts"
secs=$(ffprobe -v error -show_entries format=duration -of default=noprint_wrappers=1:nokey=1 "$work/played-back.ts")
elapsed_ms=$(($(date +%s%3N) - start_ms))

cat <<MSG

Archived to Swarm. Played back from Bee: ${secs%.*} s of video.
  watch:   ffplay '$url'
           (or open it in Safari, or any hls.js page, while Bee runs)
  archive: $(sed -n 's/^reference: //p' "$work/result")
  time:    $((elapsed_ms / 1000)).$(printf %03d $((elapsed_ms % 1000))) s for import and playback check
MSG
if $keep; then
	log "Bee keeps running at $bee_url; stop it with scripts/bee-dev.sh stop"
else
	log "Bee dev stops now (its storage is in memory); run with --keep to keep watching"
fi
