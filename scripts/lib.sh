# Shared settings for the scripts; sourced, not run.
# ARCHIVER_CACHE holds tools built once per machine, outside the repository.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BEE_VERSION=v2.7.0
# BEE_BUILD names the build flags: "loopback" reports the node as publicly
# reachable, so two full nodes on 127.0.0.1 accept each other's pushes
# (otherwise every direct upload waits for Bee's 30 s push timeout).
BEE_BUILD=loopback
ARCHIVER_CACHE=${ARCHIVER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lpswarm-archiver}
BEE_BIN=${BEE_BIN:-$ARCHIVER_CACHE/bee-$BEE_VERSION-$BEE_BUILD/bee}
# State of background processes started by bee-dev.sh (pid, port, log).
RUN_DIR=${RUN_DIR:-$ROOT/.cache/run}
export ARCHIVER_CACHE BEE_BIN

log() { printf '%s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# go-livepeer and the FFmpeg fork its lpms pins (scripts/build-livepeer.sh).
LIVEPEER_VERSION=v0.7.9
FFMPEG_COMMIT=d9751c73e714b01b363483db358b1ea8022c9bea
FFMPEG_SHA256=7b82883c03d68a3f8a01e30d6841fb9a9bbacf47dd9043d1447ce2e35bb3163d
# The components lpms's install_ffmpeg.sh enables, minus the GPU and DNN ones
# a CPU build cannot have; static, no programs, nothing autodetected, so the
# build is the same on every machine. The install is keyed by these flags.
FFMPEG_CONFIGURE=(--enable-static --disable-shared --disable-programs --disable-doc --disable-debug
	--disable-autodetect --disable-avdevice
	--disable-sdl2 --disable-iconv --disable-muxers --disable-demuxers --disable-parsers --disable-protocols
	--disable-encoders --disable-decoders --disable-filters --disable-bsfs --disable-postproc --disable-lzma
	--enable-libx264 --enable-gpl --enable-pthreads
	--enable-protocol=rtmp,file,pipe
	--enable-muxer=mp3,wav,flac,mpegts,hls,segment,mp4,hevc,matroska,webm,null
	--enable-demuxer=mp3,wav,flac,flv,mpegts,mp4,mov,webm,matroska,image2
	--enable-bsf=h264_mp4toannexb,aac_adtstoasc,h264_metadata,h264_redundant_pps,hevc_mp4toannexb,extract_extradata
	--enable-parser=mpegaudio,vorbis,opus,flac,aac,aac_latm,h264,hevc,vp8,vp9,png
	--enable-filter=abuffer,buffer,abuffersink,buffersink,afifo,fifo,aformat,format
	--enable-filter=aresample,asetnsamples,fps,scale,hwdownload,select,signature
	--enable-encoder=mp3,vorbis,flac,aac,opus,libx264
	--enable-decoder=mp3,vorbis,flac,aac,opus,h264,png)
FFMPEG_PREFIX=$ARCHIVER_CACHE/livepeer-ffmpeg-${FFMPEG_COMMIT:0:8}-$(printf '%s\n' "${FFMPEG_CONFIGURE[@]}" | sha256sum | cut -c1-8)

livepeer_patch_hash() { sha256sum "$ROOT/golivepeer/go-livepeer.patch" | cut -c1-12; }

# livepeer_env: the environment for go build/vet/test in golivepeer/,
# linking the cached FFmpeg. The cgo build gets its own GOCACHE because
# Go's cache does not key on PKG_CONFIG_PATH or FFmpeg's headers.
livepeer_env() {
	export PKG_CONFIG_PATH="$FFMPEG_PREFIX/lib/pkgconfig"
	export GOCACHE="$ARCHIVER_CACHE/go-build-$(basename "$FFMPEG_PREFIX")"
	export CGO_ENABLED=1
}
