#!/usr/bin/env bash
# Builds livepeer-archiver: go-livepeer's own `livepeer` command with the
# archiver's hooks, and prints its path as the last line of stdout.
#
#   1. Livepeer's FFmpeg fork at the commit lpms pins, static, cached in
#      $ARCHIVER_CACHE (from ../shared/third_party when that tarball is
#      there and its sha256 matches, otherwise a git clone as lpms does).
#   2. A copy of go-livepeer v0.7.9's module source with
#      golivepeer/go-livepeer.patch applied, cached under the patch's hash
#      and linked from .cache/go-livepeer (golivepeer/go.mod replaces the
#      module with that path). The module cache itself is never touched.
#   3. go build of golivepeer/cmd/livepeer-archiver with its own GOCACHE:
#      Go's build cache does not key on PKG_CONFIG_PATH.
#
# Other scripts source lib.sh and call livepeer_env to build or test the
# golivepeer module against the same FFmpeg.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$ROOT"

install_build_deps() {
	local need=()
	for p in libx264-dev nasm pkg-config xz-utils; do
		dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
	done
	[ ${#need[@]} -eq 0 ] && return 0
	local sudo=""
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	log "installing ${need[*]}"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
}

# fetch_ffmpeg_source DIR: the fork's source tree at FFMPEG_COMMIT in DIR.
fetch_ffmpeg_source() {
	local dir=$1 tarball="$ROOT/../shared/third_party/livepeer-ffmpeg-${FFMPEG_COMMIT:0:8}.tar.xz"
	if [ -f "$tarball" ]; then
		local sum
		sum=$(sha256sum "$tarball" | cut -d' ' -f1)
		[ "$sum" = "$FFMPEG_SHA256" ] || die "$tarball: sha256 $sum, want $FFMPEG_SHA256"
		log "ffmpeg: source from $tarball"
		mkdir -p "$dir"
		tar -xJf "$tarball" -C "$dir" --strip-components=1
		return
	fi
	log "ffmpeg: cloning github.com/livepeer/FFmpeg at $FFMPEG_COMMIT"
	git clone -q https://github.com/livepeer/FFmpeg.git "$dir"
	git -C "$dir" checkout -q "$FFMPEG_COMMIT"
}

build_ffmpeg() {
	if [ -f "$FFMPEG_PREFIX/.built" ]; then
		log "ffmpeg ${FFMPEG_COMMIT:0:8}: $FFMPEG_PREFIX (cached)"
		return
	fi
	log "building Livepeer's FFmpeg ${FFMPEG_COMMIT:0:8} into $FFMPEG_PREFIX (about 3 minutes, once per machine)"
	local src="$FFMPEG_PREFIX.src.$$"
	rm -rf "$src" "$FFMPEG_PREFIX"
	fetch_ffmpeg_source "$src"
	(
		cd "$src"
		./configure --prefix="$FFMPEG_PREFIX" "${FFMPEG_CONFIGURE[@]}" >"$src.configure.log" 2>&1 ||
			{ tail -40 "$src.configure.log" >&2; tail -60 ffbuild/config.log >&2; exit 1; }
		make -j"$(nproc)" >"$src.make.log" 2>&1 || { tail -60 "$src.make.log" >&2; exit 1; }
		# FFmpeg's .pc files embed the prefix, so it installs in place and
		# .built marks a finished install.
		make install >"$src.install.log" 2>&1 || { tail -60 "$src.install.log" >&2; exit 1; }
	)
	rm -rf "$src" "$src".*.log
	[ -f "$FFMPEG_PREFIX/lib/pkgconfig/libavcodec.pc" ] || die "ffmpeg install incomplete in $FFMPEG_PREFIX"
	touch "$FFMPEG_PREFIX/.built"
}

# patch_livepeer: the patched go-livepeer source, keyed by the patch's hash.
patch_livepeer() {
	local dir="$ARCHIVER_CACHE/go-livepeer-$LIVEPEER_VERSION-$(livepeer_patch_hash)"
	if [ ! -f "$dir/.patched" ]; then
		log "go-livepeer $LIVEPEER_VERSION: applying golivepeer/go-livepeer.patch into $dir"
		local src
		src=$(cd "$ROOT/golivepeer" && go mod download -json "github.com/livepeer/go-livepeer@$LIVEPEER_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
		[ -d "$src" ] || die "go mod download of go-livepeer $LIVEPEER_VERSION gave no source directory"
		rm -rf "$dir.tmp"
		mkdir -p "$ARCHIVER_CACHE"
		cp -R "$src" "$dir.tmp"
		chmod -R u+w "$dir.tmp" # the module cache is read-only
		# git apply understands the patch's rename; a repository of its own
		# keeps it from applying relative to any repository around the cache.
		(cd "$dir.tmp" && git init -q && git apply --whitespace=nowarn "$ROOT/golivepeer/go-livepeer.patch" && rm -rf .git) ||
			die "golivepeer/go-livepeer.patch does not apply to go-livepeer $LIVEPEER_VERSION"
		touch "$dir.tmp/.patched"
		rm -rf "$dir"
		mv "$dir.tmp" "$dir"
	fi
	mkdir -p "$ROOT/.cache"
	ln -sfn "$dir" "$ROOT/.cache/go-livepeer"
}

install_build_deps
build_ffmpeg
patch_livepeer
livepeer_env
out="$ROOT/.cache/bin/livepeer-archiver"
mkdir -p "$(dirname "$out")"
log "building $out"
(cd "$ROOT/golivepeer" && go build -o "$out.tmp.$$" ./cmd/livepeer-archiver)
mv "$out.tmp.$$" "$out"
if [ "${1:-}" = "--stock" ]; then
	# Stock `livepeer` from the same patched tree: the hooks stay nil.
	(cd "$ROOT/golivepeer" && go build -o "$ROOT/.cache/bin/livepeer.tmp.$$" github.com/livepeer/go-livepeer/cmd/livepeer)
	mv "$ROOT/.cache/bin/livepeer.tmp.$$" "$ROOT/.cache/bin/livepeer"
fi
echo "$out"
