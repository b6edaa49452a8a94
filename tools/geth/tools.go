//go:build tools

// Package tools pins the geth command for `go build`.
package tools

import _ "github.com/ethereum/go-ethereum/cmd/geth"
