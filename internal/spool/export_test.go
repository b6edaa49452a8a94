package spool

import (
	"os"
	"path/filepath"
)

// SetSync replaces the fsync of files and directories, so a test can stall
// or fail the writer. Call it before Start.
func SetSync(s *Spool, fn func(*os.File) error) { s.sync = fn }

// JobPath is where the job with id lives on disk.
func JobPath(s *Spool, id ID) string { return filepath.Join(s.path, id.fileName()) }

// ResolveReserve is the reserve Config.MinFreeBytes cfg gives on a file
// system of total bytes.
func ResolveReserve(cfg, total int64) int64 { return resolveReserve(cfg, total) }
