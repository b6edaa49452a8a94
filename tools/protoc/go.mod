// Pins the protoc plugins that generate proto/*.pb.go; see scripts/gen-proto.sh.
module github.com/lpswarm/archiver/tools/protoc

go 1.26

require (
	google.golang.org/grpc/cmd/protoc-gen-go-grpc v1.5.1
	google.golang.org/protobuf v1.36.12
)
