// Package cliflags gives a command's flag.FlagSet one operator surface:
// camelCase flags (go-livepeer's style), each also settable as an
// environment variable ARCHIVER_<UPPER_SNAKE>, and deprecated flag and
// environment names still accepted, with a warning, for one release.
//
// Deprecated flags are rewritten to their new names before parsing rather
// than registered as aliases, so -h lists only the current names.
package cliflags

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"unicode"
)

// EnvPrefix starts every environment variable a flag is read from.
const EnvPrefix = "ARCHIVER_"

// EnvName is the environment variable that sets flag: EnvPrefix and the
// name in upper snake case, an acronym kept whole (postageBatch →
// ARCHIVER_POSTAGE_BATCH, postageTopupTTL → ARCHIVER_POSTAGE_TOPUP_TTL).
func EnvName(flag string) string {
	var b strings.Builder
	b.WriteString(EnvPrefix)
	r := []rune(flag)
	for i, c := range r {
		if i > 0 && unicode.IsUpper(c) {
			prev := r[i-1]
			acronymEnd := unicode.IsUpper(prev) && i+1 < len(r) && unicode.IsLower(r[i+1])
			if unicode.IsLower(prev) || unicode.IsDigit(prev) || acronymEnd {
				b.WriteByte('_')
			}
		}
		b.WriteRune(unicode.ToUpper(c))
	}
	return b.String()
}

// EnvHelp is the line of a command's -h that says how to set its flags
// from the environment, with example, one of its flags.
func EnvHelp(example string) string {
	return fmt.Sprintf("Every flag can also be set as an environment variable %s<UPPER_SNAKE>, e.g. -%s as %s.",
		EnvPrefix, example, EnvName(example))
}

// Command is one command's flags and the names they used to have.
type Command struct {
	// Flags holds the current flags.
	Flags *flag.FlagSet
	// Renames maps a deprecated flag name to its current one. It may
	// name flags the FlagSet lacks: such entries are ignored, so one
	// table can serve several commands.
	Renames map[string]string
	// EnvAliases lists, per current flag name, deprecated environment
	// variables besides those derived from Renames.
	EnvAliases map[string][]string
	// ConfigFlag names the flag, if any, whose value is a file of
	// "flag value" lines (go-livepeer's -config format).
	ConfigFlag string
	// Warnings receives one line per deprecated name used, prefixed
	// with Program.
	Warnings io.Writer
	Program  string
	// LookupEnv reads the environment; nil means os.LookupEnv.
	LookupEnv func(string) (string, bool)
}

// Parse sets c.Flags from args, then the flags still unset from the
// environment, then those still unset from the config file: the command
// line wins over the environment, which wins over the file.
func (c Command) Parse(args []string) error {
	if err := c.Flags.Parse(c.rewrite(args)); err != nil {
		return err
	}
	if err := c.fromEnv(); err != nil {
		return err
	}
	if c.ConfigFlag == "" {
		return nil
	}
	f := c.Flags.Lookup(c.ConfigFlag)
	if f == nil || f.Value.String() == "" {
		return nil
	}
	return c.fromFile(f.Value.String())
}

// rename is the current name of a deprecated flag that this command has.
func (c Command) rename(name string) (string, bool) {
	to, ok := c.Renames[name]
	if !ok || c.Flags.Lookup(name) != nil || c.Flags.Lookup(to) == nil {
		return "", false
	}
	return to, true
}

// rewrite renames deprecated flags in args, in every form the flag
// package accepts (-old, --old, -old=v, --old=v), and warns once per
// name. It walks args as FlagSet.Parse will, skipping the value of a
// non-boolean flag given as a separate argument: that value may itself
// start with "-" and must not be rewritten.
func (c Command) rewrite(args []string) []string {
	out := slices.Clone(args)
	warned := map[string]bool{}
	for i := 0; i < len(out); i++ {
		a := out[i]
		if len(a) < 2 || a[0] != '-' || a == "--" {
			break // the flag package stops here too
		}
		dashes, name := "-", a[1:]
		if name[0] == '-' {
			dashes, name = "--", name[1:]
		}
		if name == "" || name[0] == '-' || name[0] == '=' {
			break // bad syntax: left for Parse to report
		}
		name, value, hasValue := strings.Cut(name, "=")
		if to, ok := c.rename(name); ok {
			if !warned[name] {
				c.warnf("-%s is deprecated; use -%s", name, to)
				warned[name] = true
			}
			out[i] = dashes + to
			if hasValue {
				out[i] += "=" + value
			}
			name = to
		}
		if f := c.Flags.Lookup(name); f != nil && !hasValue && !isBool(f) {
			i++
		}
	}
	return out
}

func isBool(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// DeprecatedEnv lists, in the order they are tried, the environment
// variables that set flag name for one release besides EnvName(name):
// the names read before (EnvPrefix and the upper-cased flag name, current
// or deprecated, as given and without its dashes) and EnvAliases.
func (c Command) DeprecatedEnv(name string) []string {
	candidates := []string{EnvPrefix + strings.ToUpper(name)}
	olds := make([]string, 0, 1)
	for old := range c.Renames {
		if to, ok := c.rename(old); ok && to == name {
			olds = append(olds, old)
		}
	}
	slices.Sort(olds)
	for _, old := range olds {
		candidates = append(candidates, EnvPrefix+strings.ToUpper(old), EnvPrefix+strings.ToUpper(strings.ReplaceAll(old, "-", "")))
	}
	candidates = append(candidates, c.EnvAliases[name]...)
	var out []string
	for _, e := range candidates {
		if e != EnvName(name) && !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	return out
}

// fromEnv sets each flag not given on the command line from its
// environment variable, or else from a deprecated one.
func (c Command) fromEnv() error {
	lookup := c.LookupEnv
	if lookup == nil {
		lookup = os.LookupEnv
	}
	given := c.given()
	var errs []error
	c.Flags.VisitAll(func(f *flag.Flag) {
		if given[f.Name] {
			return
		}
		env := EnvName(f.Name)
		v, ok := lookup(env)
		if !ok {
			for _, old := range c.DeprecatedEnv(f.Name) {
				if v, ok = lookup(old); ok {
					c.warnf("%s is deprecated; use %s", old, env)
					env = old
					break
				}
			}
		}
		if !ok {
			return
		}
		if err := c.Flags.Set(f.Name, v); err != nil {
			errs = append(errs, fmt.Errorf("environment variable %s: invalid value %q for -%s: %w", env, v, f.Name, err))
		}
	})
	return errors.Join(errs...)
}

// fromFile sets the flags still unset from a file of "flag value" lines,
// as go-livepeer's -config reads them; a name may start with "-" and #
// starts a comment line.
func (c Command) fromFile(path string) error {
	file, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("-%s: %w", c.ConfigFlag, err)
	}
	defer file.Close()
	given := c.given()
	sc := bufio.NewScanner(file)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, _ := strings.Cut(line, " ")
		name, value = strings.TrimLeft(name, "-"), strings.TrimSpace(value)
		where := fmt.Sprintf("-%s %s:%d", c.ConfigFlag, path, n)
		if to, ok := c.rename(name); ok {
			c.warnf("%s: -%s is deprecated; use -%s", where, name, to)
			name = to
		}
		if c.Flags.Lookup(name) == nil || name == c.ConfigFlag {
			return fmt.Errorf("%s: unknown flag %q", where, name)
		}
		if given[name] {
			continue
		}
		if err := c.Flags.Set(name, value); err != nil {
			return fmt.Errorf("%s: invalid value %q for -%s: %w", where, value, name, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("-%s %s: %w", c.ConfigFlag, path, err)
	}
	return nil
}

// given is the set of flags set so far (command line, then environment).
func (c Command) given() map[string]bool {
	set := map[string]bool{}
	c.Flags.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
}

func (c Command) warnf(format string, args ...any) {
	if c.Warnings == nil {
		return
	}
	prefix := ""
	if c.Program != "" {
		prefix = c.Program + ": "
	}
	fmt.Fprintf(c.Warnings, "%s%s\n", prefix, fmt.Sprintf(format, args...))
}
