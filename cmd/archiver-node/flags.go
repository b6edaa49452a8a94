package main

import (
	"flag"
	"io"

	"github.com/lpswarm/archiver/internal/cliflags"
)

// renamed maps every flag name retired when archiver-node took
// go-livepeer's camelCase style to its current name. The old names work,
// with a warning, for one release; a command uses the entries whose new
// name it has.
func renamed() map[string]string {
	return map[string]string{
		"batch":             "postageBatch",
		"key":               "ethKeystorePath",
		"password-file":     "ethPassword",
		"feed-name":         "feedName",
		"idle-timeout":      "idleTimeout",
		"issuer-state":      "issuerState",
		"max-segment-bytes": "maxSegmentBytes",
		"publish-every":     "publishEvery",
		"publish-interval":  "publishInterval",
		"wait-synced":       "waitSynced",
		"datadir":           "dataDir",
		"orchSecret":        "archiverSecret", // the orchestrator's name for the same secret
		"dry-run":           "dryRun",
	}
}

// flagSurface is how a command reads fs: arguments, then environment,
// then (with a configFlag) config file, with warnings about deprecated
// names on stderr.
func flagSurface(fs *flag.FlagSet, stderr io.Writer, configFlag string) cliflags.Command {
	return cliflags.Command{
		Flags:   fs,
		Renames: renamed(),
		// The password's variable before every flag had one.
		EnvAliases: map[string][]string{"ethPassword": {"ARCHIVER_KEY_PASSWORD"}},
		ConfigFlag: configFlag,
		Warnings:   stderr,
		Program:    "archiver-node",
	}
}

// commandFlags builds every command's FlagSet as the commands do, in help
// order.
func commandFlags(stderr io.Writer) []*flag.FlagSet {
	sets := []*flag.FlagSet{importFlags(&importConfig{}, stderr), nodeFlags(&nodeConfig{}, stderr)}
	for _, sub := range postageCommands() {
		sets = append(sets, postageFlags(&postageConfig{}, sub, stderr))
	}
	return sets
}
