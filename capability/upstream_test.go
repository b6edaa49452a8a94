package capability

import (
	"encoding/json"
	"errors"
	"go/ast"
	"go/constant"
	"go/parser"
	"go/token"
	"go/types"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	lpnet "github.com/livepeer/go-livepeer/net"
	"github.com/stretchr/testify/require"
)

// upstream is what go-livepeer's core/capabilities.go, as pinned in go.mod,
// says about capabilities. Tests derive stock capability sets from it instead
// of from a hand-written list, so they follow go-livepeer when it changes.
type upstream struct {
	version string
	consts  map[string]int64   // Capability_* name -> value
	lists   map[string][]int64 // DefaultCapabilities, legacyCapabilities, ...
}

// noImports makes type-checking core/capabilities.go self-contained: its
// imports (lpms/ffmpeg needs cgo) are unavailable, but the Capability
// constants and lists depend only on the file itself.
type noImports struct{}

func (noImports) Import(path string) (*types.Package, error) {
	return nil, errors.New("not imported in tests: " + path)
}

func loadUpstream(t *testing.T) upstream {
	t.Helper()
	cmd := exec.Command("go", "list", "-m", "-json", "github.com/livepeer/go-livepeer")
	out, err := cmd.Output()
	require.NoError(t, err, "locating go-livepeer in the module cache")
	var mod struct{ Dir, Version string }
	require.NoError(t, json.Unmarshal(out, &mod))
	require.NotEmpty(t, mod.Dir, "go-livepeer is not in the module cache; run go mod download")

	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, filepath.Join(mod.Dir, "core", "capabilities.go"), nil, 0)
	require.NoError(t, err)

	// go/types evaluates the iota arithmetic exactly as the compiler does;
	// the only errors are the unavailable imports, which are ignored.
	info := &types.Info{
		Defs:  map[*ast.Ident]types.Object{},
		Types: map[ast.Expr]types.TypeAndValue{},
	}
	conf := types.Config{Importer: noImports{}, Error: func(error) {}}
	_, _ = conf.Check("core", fset, []*ast.File{file}, info)

	up := upstream{version: mod.Version, consts: map[string]int64{}, lists: map[string][]int64{}}
	for ident, obj := range info.Defs {
		c, ok := obj.(*types.Const)
		if !ok || !strings.HasPrefix(ident.Name, "Capability_") {
			continue
		}
		v, exact := constant.Int64Val(c.Val())
		require.True(t, exact, ident.Name)
		up.consts[ident.Name] = v
	}
	listOf := func(name string, lit ast.Expr) {
		cl, ok := lit.(*ast.CompositeLit)
		require.True(t, ok, "%s is not a []Capability literal", name)
		ids := []int64{}
		for _, elt := range cl.Elts {
			tv, ok := info.Types[elt]
			require.True(t, ok && tv.Value != nil, "%s: element is not a constant", name)
			v, _ := constant.Int64Val(tv.Value)
			ids = append(ids, v)
		}
		up.lists[name] = ids
	}
	for _, decl := range file.Decls {
		switch d := decl.(type) {
		case *ast.FuncDecl: // func DefaultCapabilities() []Capability { return []Capability{...} }
			if d.Recv != nil || d.Body == nil || len(d.Body.List) == 0 {
				continue
			}
			if ret, ok := d.Body.List[len(d.Body.List)-1].(*ast.ReturnStmt); ok && len(ret.Results) == 1 {
				if _, ok := ret.Results[0].(*ast.CompositeLit); ok {
					listOf(d.Name.Name, ret.Results[0])
				}
			}
		case *ast.GenDecl: // var legacyCapabilities = []Capability{...}
			for _, spec := range d.Specs {
				vs, ok := spec.(*ast.ValueSpec)
				if ok && d.Tok == token.VAR && len(vs.Names) == 1 && len(vs.Values) == 1 {
					if cl, ok := vs.Values[0].(*ast.CompositeLit); ok {
						if at, ok := cl.Type.(*ast.ArrayType); ok {
							if id, ok := at.Elt.(*ast.Ident); ok && id.Name == "Capability" {
								listOf(vs.Names[0].Name, cl)
							}
						}
					}
				}
			}
		}
	}
	for _, name := range []string{"DefaultCapabilities", "MandatoryOCapabilities", "legacyCapabilities"} {
		require.NotEmpty(t, up.lists[name], "%s not found in go-livepeer %s", name, mod.Version)
	}
	return up
}

// bits is go-livepeer's NewCapabilityString (core/capabilities.go:205-214,
// 495-503): negative ids are skipped, the string grows to the highest id.
func bits(ids ...int64) []uint64 {
	var words []uint64
	for _, c := range ids {
		if c < 0 {
			continue
		}
		for int64(len(words)) <= c/64 {
			words = append(words, 0)
		}
		words[c/64] |= 1 << (c % 64)
	}
	return words
}

func (up upstream) id(t *testing.T, name string) int64 {
	t.Helper()
	v, ok := up.consts[name]
	require.True(t, ok, "%s not defined in go-livepeer %s", name, up.version)
	return v
}

// stockTranscoder is the capability set a stock v0.7.9 transcoder (or
// combined orchestrator+transcoder) holds: NewCapabilities(transcoderCaps,
// MandatoryOCapabilities()) (cmd/livepeer/starter/starter.go:1219) with
// transcoderCaps = DefaultCapabilities() (starter.go:493), sent as
// ToNetCapabilities (core/capabilities.go:392-403).
func (up upstream) stockTranscoder() *lpnet.Capabilities {
	caps := &lpnet.Capabilities{
		Bitstring:   bits(up.lists["DefaultCapabilities"]...),
		Mandatories: bits(up.lists["MandatoryOCapabilities"]...),
		Capacities:  map[uint32]uint32{},
		Version:     strings.TrimPrefix(up.version, "v"),
		Constraints: &lpnet.Capabilities_Constraints{},
	}
	for _, c := range up.lists["DefaultCapabilities"] {
		caps.Capacities[uint32(c)] = 1
	}
	return caps
}

// stockSegment is what a stock broadcaster requests for an ordinary H.264
// stream: the fixed legacy set plus Capability_AuthToken, which
// JobCapabilities always sets (core/capabilities.go:245).
func (up upstream) stockSegment(t *testing.T) *lpnet.Capabilities {
	ids := append([]int64{up.id(t, "Capability_AuthToken")}, up.lists["legacyCapabilities"]...)
	return &lpnet.Capabilities{Bitstring: bits(ids...)}
}
