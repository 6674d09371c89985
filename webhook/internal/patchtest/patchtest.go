// Package patchtest holds test helpers for JSON Patches: applying one the
// way the API server does, and checking that one is minimal.
package patchtest

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"

	evanphx "gopkg.in/evanphx/json-patch.v4"
)

// Apply applies a patch with the library the API server uses
// (gopkg.in/evanphx/json-patch.v4). A nil patch leaves doc as it is.
func Apply(t testing.TB, doc, patch []byte) []byte {
	t.Helper()
	if patch == nil {
		return doc
	}
	p, err := evanphx.DecodePatch(patch)
	if err != nil {
		t.Fatalf("decoding patch %s: %v", patch, err)
	}
	out, err := p.Apply(doc)
	if err != nil {
		t.Fatalf("applying patch %s to %s: %v", patch, doc, err)
	}
	return out
}

// Equal compares two JSON documents by value.
func Equal(t testing.TB, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("%v: %s", err, a)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	return reflect.DeepEqual(x, y)
}

// Wholesale returns a description of the first operation that rewrites a
// non-empty list or map of the document (a replace, or an add onto an
// existing key), or "" when there is none. Operations that change a value's
// type are reported with "type changed" in the text, for callers that allow
// them. Removing what the new document no longer has is not a rewrite.
func Wholesale(t testing.TB, doc, patch []byte) string {
	t.Helper()
	if patch == nil {
		return ""
	}
	var ops []struct {
		Op    string          `json:"op"`
		Path  string          `json:"path"`
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(patch, &ops); err != nil {
		t.Fatal(err)
	}
	cur := doc
	for i, op := range ops {
		var root any
		if err := json.Unmarshal(cur, &root); err != nil {
			t.Fatal(err)
		}
		target, found := pointer(root, op.Path)
		if op.Op == "add" && found && isIndex(op.Path) {
			found = false // an insertion into a list
		}
		if found && (op.Op == "replace" || op.Op == "add") {
			var kind string
			switch v := target.(type) {
			case map[string]any:
				if len(v) > 0 {
					kind = "map"
				}
			case []any:
				if len(v) > 0 {
					kind = "list"
				}
			}
			if kind != "" {
				if typeChanged(target, op.Value) {
					return fmt.Sprintf("op %d (%s %s): type changed from a %s", i, op.Op, op.Path, kind)
				}
				return fmt.Sprintf("op %d (%s %s) rewrites a %s", i, op.Op, op.Path, kind)
			}
		}
		one, err := json.Marshal([]any{op})
		if err != nil {
			t.Fatal(err)
		}
		cur = Apply(t, cur, one)
	}
	return ""
}

func typeChanged(old any, raw json.RawMessage) bool {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return false
	}
	return reflect.TypeOf(v) != reflect.TypeOf(old)
}

func isIndex(path string) bool {
	_, err := strconv.Atoi(path[strings.LastIndexByte(path, '/')+1:])
	return err == nil
}

func pointer(doc any, path string) (any, bool) {
	if path == "" {
		return doc, true
	}
	cur := doc
	for _, tok := range strings.Split(path[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[tok]
			if !ok {
				return nil, false
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			cur = c[i]
		default:
			return nil, false
		}
	}
	return cur, true
}
