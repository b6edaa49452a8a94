#!/usr/bin/env bash
# Regenerates every generated file: proto/archiverpb/*.pb.go from
# proto/*.proto with protoc (Debian's) and the protoc plugins pinned in
# tools/protoc/go.mod, and the AVX-512 Keccak in internal/keccak from its
# generator. CI runs it and fails when the committed code differs.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

command -v protoc >/dev/null || die "protoc not installed: run scripts/install-deps.sh"
bin=$ARCHIVER_CACHE/protoc-plugins
mkdir -p "$bin"
(
	cd "$ROOT/tools/protoc"
	go build -o "$bin/protoc-gen-go" google.golang.org/protobuf/cmd/protoc-gen-go
	go build -o "$bin/protoc-gen-go-grpc" google.golang.org/grpc/cmd/protoc-gen-go-grpc
)
cd "$ROOT/proto"
PATH="$bin:$PATH" protoc --proto_path=. \
	--go_out=archiverpb --go_opt=paths=source_relative \
	--go-grpc_out=archiverpb --go-grpc_opt=paths=source_relative \
	*.proto

cd "$ROOT"
go generate ./internal/keccak
