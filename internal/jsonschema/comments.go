package jsonschema

import (
	"fmt"
	"go/ast"
	"go/doc"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ParseComments reads the Go package in dir (tests left out) and returns
// the docs of its types and their fields, keyed for Generator.Comments
// under pkgPath, the package's import path.
func ParseComments(dir, pkgPath string) (map[string]Doc, error) {
	fset := token.NewFileSet()
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var files []*ast.File
	for _, e := range entries {
		if name := e.Name(); strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go") {
			f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.ParseComments)
			if err != nil {
				return nil, err
			}
			files = append(files, f)
		}
	}
	dp, err := doc.NewFromFiles(fset, files, pkgPath, doc.PreserveAST)
	if err != nil {
		return nil, err
	}
	out := map[string]Doc{}
	for _, t := range dp.Types {
		key := pkgPath + "." + t.Name
		d := parseDoc(t.Doc)
		for _, c := range t.Consts {
			vals, err := stringConsts(c.Decl, t.Name)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", key, err)
			}
			d.Enum = append(d.Enum, vals...)
		}
		out[key] = d
		st, ok := t.Decl.Specs[0].(*ast.TypeSpec).Type.(*ast.StructType)
		if !ok {
			continue
		}
		for _, f := range st.Fields.List {
			fd := parseDoc(f.Doc.Text())
			for _, n := range f.Names {
				out[key+"."+n.Name] = fd
			}
			if len(f.Names) == 0 { // embedded: keyed by its type's name
				out[key+"."+embeddedName(f.Type)] = fd
			}
		}
	}
	return out, nil
}

// parseDoc splits a comment into its text, one paragraph, and its markers.
func parseDoc(text string) Doc {
	var d Doc
	var words []string
	for line := range strings.SplitSeq(text, "\n") {
		line = strings.TrimSpace(line)
		if m, ok := strings.CutPrefix(line, "+"); ok {
			d.Markers = append(d.Markers, m)
			continue
		}
		if line != "" {
			words = append(words, line)
		}
	}
	d.Text = strings.Join(words, " ")
	return d
}

// stringConsts returns the values of a const group's constants of type
// typeName, in source order.
func stringConsts(decl *ast.GenDecl, typeName string) ([]string, error) {
	var out []string
	for _, spec := range decl.Specs {
		vs := spec.(*ast.ValueSpec)
		if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != typeName {
			continue
		}
		for _, v := range vs.Values {
			lit, ok := v.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return nil, fmt.Errorf("constant %s: only string literals can be enum values", vs.Names[0].Name)
			}
			s, err := strconv.Unquote(lit.Value)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
	}
	return out, nil
}

func embeddedName(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.StarExpr:
		return embeddedName(e.X)
	case *ast.SelectorExpr:
		return e.Sel.Name
	case *ast.Ident:
		return e.Name
	}
	return ""
}
