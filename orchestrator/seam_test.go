package orchestrator_test

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/lpswarm/archiver/orchestrator"
)

// goLivepeerDir finds go-livepeer v0.7.9's sources in the module cache.
func goLivepeerDir(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-json", "github.com/livepeer/go-livepeer").Output()
	require.NoError(t, err)
	var m struct{ Version, Dir string }
	require.NoError(t, json.Unmarshal(out, &m))
	require.Equal(t, "v0.7.9", m.Version)
	require.NotEmpty(t, m.Dir, "run go mod download")
	return m.Dir
}

func parseFile(t *testing.T, path string) *ast.File {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	require.NoError(t, err)
	return f
}

// astKind names a type expression the way reflectKind names a Go type:
// package qualifiers dropped, pointers and slices kept.
func astKind(e ast.Expr) string {
	switch x := e.(type) {
	case *ast.StarExpr:
		return "*" + astKind(x.X)
	case *ast.SelectorExpr:
		return x.Sel.Name
	case *ast.Ident:
		if x.Name == "byte" { // reflect knows byte only as uint8
			return "uint8"
		}
		return x.Name
	case *ast.ArrayType:
		return "[]" + astKind(x.Elt)
	case *ast.InterfaceType:
		return "interface"
	}
	return "?"
}

func reflectKind(t reflect.Type) string {
	switch {
	case t.Name() != "":
		return t.Name()
	case t.Kind() == reflect.Pointer:
		return "*" + reflectKind(t.Elem())
	case t.Kind() == reflect.Slice:
		return "[]" + reflectKind(t.Elem())
	}
	return t.String()
}

func fieldKinds(fl *ast.FieldList) []string {
	var out []string
	if fl == nil {
		return out
	}
	for _, f := range fl.List {
		n := max(len(f.Names), 1)
		for range n {
			out = append(out, astKind(f.Type))
		}
	}
	return out
}

// interfaceMethods lists an interface's methods from source.
func interfaceMethods(t *testing.T, f *ast.File, name string) map[string][2][]string {
	t.Helper()
	methods := map[string][2][]string{}
	ast.Inspect(f, func(n ast.Node) bool {
		ts, ok := n.(*ast.TypeSpec)
		if !ok || ts.Name.Name != name {
			return true
		}
		for _, m := range ts.Type.(*ast.InterfaceType).Methods.List {
			ft := m.Type.(*ast.FuncType)
			methods[m.Names[0].Name] = [2][]string{fieldKinds(ft.Params), fieldKinds(ft.Results)}
		}
		return false
	})
	require.NotEmpty(t, methods, "interface %s not found", name)
	return methods
}

// receiverMethods lists the methods declared on a type from source.
func receiverMethods(t *testing.T, f *ast.File, recv string) map[string][2][]string {
	t.Helper()
	methods := map[string][2][]string{}
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Recv == nil || strings.TrimPrefix(astKind(fd.Recv.List[0].Type), "*") != recv {
			continue
		}
		methods[fd.Name.Name] = [2][]string{fieldKinds(fd.Type.Params), fieldKinds(fd.Type.Results)}
	}
	require.NotEmpty(t, methods, "no methods on %s", recv)
	return methods
}

func ourMethods(iface reflect.Type) map[string][2][]string {
	methods := map[string][2][]string{}
	for i := range iface.NumMethod() {
		m := iface.Method(i)
		var in, out []string
		for j := range m.Type.NumIn() {
			in = append(in, reflectKind(m.Type.In(j)))
		}
		for j := range m.Type.NumOut() {
			out = append(out, reflectKind(m.Type.Out(j)))
		}
		methods[m.Name] = [2][]string{in, out}
	}
	return methods
}

// TestSeamMatchesGoLivepeer: every method of our Orchestrator interface
// exists in go-livepeer v0.7.9's server.Orchestrator with the same name,
// parameter kinds and results, so the decorator cannot drift from
// go-livepeer. The one allowed difference is documented on the interface.
func TestSeamMatchesGoLivepeer(t *testing.T) {
	dir := goLivepeerDir(t)
	theirs := interfaceMethods(t, parseFile(t, filepath.Join(dir, "server", "rpc.go")), "Orchestrator")
	allowed := map[string]string{"ProcessPayment/1": "*Payment"} // go-livepeer: Payment by value
	for name, sig := range ourMethods(reflect.TypeOf((*orchestrator.Orchestrator)(nil)).Elem()) {
		want, ok := theirs[name]
		require.True(t, ok, "go-livepeer's Orchestrator has no method %s", name)
		require.Len(t, sig[0], len(want[0]), "%s parameters", name)
		for i := range want[0] {
			got := sig[0][i]
			if a, ok := allowed[name+"/"+string(rune('0'+i))]; ok && got == a {
				got = strings.TrimPrefix(got, "*")
			}
			require.Equal(t, want[0][i], got, "%s parameter %d", name, i)
		}
		require.Equal(t, want[1], sig[1], "%s results", name)
	}

	balances := receiverMethods(t, parseFile(t, filepath.Join(dir, "core", "accounting.go")), "AddressBalances")
	for name, sig := range ourMethods(reflect.TypeOf((*orchestrator.BalanceReader)(nil)).Elem()) {
		require.Equal(t, balances[name], sig, "core.AddressBalances.%s", name)
	}
}

// TestMirroredTypesMatchGoLivepeer: the result types are go-livepeer's
// field for field; the metadata mirror keeps go-livepeer's field names.
func TestMirroredTypesMatchGoLivepeer(t *testing.T) {
	dir := goLivepeerDir(t)
	structs := map[string]map[string]string{}
	for _, file := range []string{"orchestrator.go", "streamdata.go"} {
		ast.Inspect(parseFile(t, filepath.Join(dir, "core", file)), func(n ast.Node) bool {
			ts, ok := n.(*ast.TypeSpec)
			if !ok {
				return true
			}
			st, ok := ts.Type.(*ast.StructType)
			if !ok {
				return true
			}
			fields := map[string]string{}
			for _, f := range st.Fields.List {
				for _, n := range f.Names {
					fields[n.Name] = astKind(f.Type)
				}
			}
			structs[ts.Name.Name] = fields
			return true
		})
	}
	exact := map[string]any{
		"TranscodeResult":       orchestrator.TranscodeResult{},
		"TranscodeData":         orchestrator.TranscodeData{},
		"TranscodedSegmentData": orchestrator.TranscodedSegmentData{},
	}
	for name, v := range exact {
		typ := reflect.TypeOf(v)
		for i := range typ.NumField() {
			f := typ.Field(i)
			require.Equal(t, structs[name][f.Name], reflectKind(f.Type), "%s.%s", name, f.Name)
		}
	}
	// Converted in the patch: Caps (core.Capabilities → net.Capabilities)
	// and Profiles (ffmpeg.VideoProfile → names).
	md := reflect.TypeOf(orchestrator.SegTranscodingMetadata{})
	for i := range md.NumField() {
		f := md.Field(i)
		theirs, ok := structs["SegTranscodingMetadata"][f.Name]
		require.True(t, ok, "core.SegTranscodingMetadata has no field %s", f.Name)
		if f.Name != "Caps" && f.Name != "Profiles" {
			require.Equal(t, theirs, reflectKind(f.Type), "SegTranscodingMetadata.%s", f.Name)
		}
	}
}
