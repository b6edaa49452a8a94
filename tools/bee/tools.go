//go:build tools

// Package tools pins the Bee command for `go build`.
package tools

import _ "github.com/ethersphere/bee/v2/cmd/bee"
