package jsonpatch

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"runtime"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/sidecar-injector/sidecar-injector/webhook/internal/nodejson"
	"github.com/sidecar-injector/sidecar-injector/webhook/internal/patchtest"
)

func decode(t testing.TB, s string) *yaml.Node {
	t.Helper()
	n, err := nodejson.Decode([]byte(s))
	if err != nil {
		t.Fatalf("%v: %s", err, s)
	}
	return n
}

func apply(t testing.TB, doc string, patch []byte) string {
	t.Helper()
	return string(patchtest.Apply(t, []byte(doc), patch))
}

func jsonEqual(t testing.TB, a, b string) bool {
	t.Helper()
	return patchtest.Equal(t, []byte(a), []byte(b))
}

func TestDiff(t *testing.T) {
	cases := map[string]struct{ from, to, patch string }{
		"equal":                     {`{"a":[1,{"b":2}]}`, `{"a":[1,{"b":2}]}`, ``},
		"key order does not matter": {`{"a":1,"b":2}`, `{"b":2,"a":1}`, ``},
		"empty keys are keys (found by FuzzAdmit)": {
			`{"a":{"":"x","b":1},"c":[{"name":"n","":""}]}`,
			`{"a":{"b":1,"":{"y":1}},"c":[{"name":"n","image":"i"}],"":2}`,
			`[{"op":"replace","path":"/a/","value":{"y":1}},{"op":"remove","path":"/c/0/"},{"op":"add","path":"/c/0/image","value":"i"},{"op":"add","path":"/","value":2}]`},
		"append to a list": {
			`{"spec":{"containers":[{"name":"app"}]}}`,
			`{"spec":{"containers":[{"name":"app"},{"name":"side"}]}}`,
			`[{"op":"add","path":"/spec/containers/-","value":{"name":"side"}}]`},
		"insert first": {
			`{"c":[{"name":"app"}]}`,
			`{"c":[{"name":"side"},{"name":"app"}]}`,
			`[{"op":"add","path":"/c/0","value":{"name":"side"}}]`},
		"new list": {
			`{"spec":{}}`,
			`{"spec":{"volumes":[{"name":"v"}]}}`,
			`[{"op":"add","path":"/spec/volumes","value":[{"name":"v"}]}]`},
		"annotation keys escaped one by one": {
			`{"metadata":{"annotations":{"keep":"x"}}}`,
			`{"metadata":{"annotations":{"keep":"x","a.io/status":"s","t~":"y"}}}`,
			`[{"op":"add","path":"/metadata/annotations/a.io~1status","value":"s"},{"op":"add","path":"/metadata/annotations/t~0","value":"y"}]`},
		"inside a named item": {
			`{"c":[{"name":"a","env":[{"name":"X","value":"1"}]},{"name":"b"}]}`,
			`{"c":[{"name":"a","env":[{"name":"X","value":"1"},{"name":"Y","value":"2"}]},{"name":"b"},{"name":"s"}]}`,
			`[{"op":"add","path":"/c/0/env/-","value":{"name":"Y","value":"2"}},{"op":"add","path":"/c/-","value":{"name":"s"}}]`},
		"mounts paired by mountPath": {
			`{"m":[{"name":"v","mountPath":"/a"},{"name":"v","mountPath":"/b"}]}`,
			`{"m":[{"name":"v","mountPath":"/a","readOnly":true},{"name":"v","mountPath":"/b"}]}`,
			`[{"op":"add","path":"/m/0/readOnly","value":true}]`},
		"replace an item (onConflict: replace)": {
			`{"c":[{"name":"a"},{"name":"x","image":"old"},{"name":"b"}]}`,
			`{"c":[{"name":"a"},{"name":"b"},{"name":"x","image":"new"}]}`,
			`[{"op":"remove","path":"/c/1"},{"op":"add","path":"/c/-","value":{"name":"x","image":"new"}}]`},
		"scalar change":     {`{"a":"1"}`, `{"a":"2"}`, `[{"op":"replace","path":"/a","value":"2"}]`},
		"null to list":      {`{"v":null}`, `{"v":[1]}`, `[{"op":"replace","path":"/v","value":[1]}]`},
		"empty list filled": {`{"v":[]}`, `{"v":[1]}`, `[{"op":"add","path":"/v/-","value":1}]`},
		"removed key":       {`{"a":1,"b":2}`, `{"a":1}`, `[{"op":"remove","path":"/b"}]`},
		"root type change":  {`[1]`, `{"a":1}`, `[{"op":"replace","path":"","value":{"a":1}}]`},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			patch, err := Diff(decode(t, c.from), decode(t, c.to))
			if err != nil {
				t.Fatal(err)
			}
			if string(patch) != c.patch {
				t.Errorf("patch\n got: %s\nwant: %s", patch, c.patch)
			}
			if got := apply(t, c.from, patch); !jsonEqual(t, got, c.to) {
				t.Errorf("applied: %s, want %s", got, c.to)
			}
		})
	}
}

func TestDiffYAMLValues(t *testing.T) {
	from := decode(t, `{"spec":{"containers":[{"name":"app"}]}}`)
	var cfg yaml.Node
	if err := yaml.Unmarshal([]byte("name: side\nports: [{containerPort: 0x50}]\nstdin: yes\ntty: true\n"), &cfg); err != nil {
		t.Fatal(err)
	}
	to := decode(t, `{"spec":{"containers":[{"name":"app"}]}}`)
	c := yaml.NewRNode(to).Field("spec").Value.Field("containers").Value.YNode()
	c.Content = append(c.Content, cfg.Content[0])
	patch, err := Diff(from, to)
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"op":"add","path":"/spec/containers/-","value":{"name":"side","ports":[{"containerPort":80}],"stdin":"yes","tty":true}}]`
	if string(patch) != want {
		t.Errorf("patch\n got: %s\nwant: %s", patch, want)
	}
}

// TestDiffRandom edits random documents the way the engine does (items
// inserted or removed, keys added, scalars changed, nested changes) and
// checks that the patch, applied as the API server applies it, gives the
// edited document, and never replaces or removes a list or a map.
func TestDiffRandom(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 3000; i++ {
		from := map[string]any{"root": randomValue(rng, 0)} // a pod is an object
		to := mutate(rng, cloneValue(from), 0)
		fromJSON, _ := json.Marshal(from)
		toJSON, _ := json.Marshal(to)
		patch, err := Diff(decode(t, string(fromJSON)), decode(t, string(toJSON)))
		if err != nil {
			t.Fatal(err)
		}
		if got := apply(t, string(fromJSON), patch); !jsonEqual(t, got, string(toJSON)) {
			t.Fatalf("from %s\nto %s\npatch %s\ngives %s", fromJSON, toJSON, patch, got)
		}
		if msg := patchtest.Wholesale(t, fromJSON, patch); msg != "" && !strings.Contains(msg, "type changed") {
			t.Fatalf("from %s\nto %s\npatch %s: %s", fromJSON, toJSON, patch, msg)
		}
	}
}

var names = []string{"a", "b", "c", "d/e", "f~g", "name"}

func randomValue(rng *rand.Rand, depth int) any {
	switch k := rng.Intn(8); {
	case depth > 3 || k < 3:
		switch rng.Intn(4) {
		case 0:
			return fmt.Sprint("s", rng.Intn(3))
		case 1:
			return float64(rng.Intn(3))
		case 2:
			return rng.Intn(2) == 0
		}
		return nil
	case k < 5:
		m := map[string]any{}
		for i := rng.Intn(4); i > 0; i-- {
			m[names[rng.Intn(len(names))]] = randomValue(rng, depth+1)
		}
		return m
	default:
		var l []any
		for i := rng.Intn(5); i > 0; i-- {
			if rng.Intn(2) == 0 {
				l = append(l, map[string]any{"name": fmt.Sprint("n", rng.Intn(4)), "v": randomValue(rng, depth+1)})
			} else {
				l = append(l, randomValue(rng, depth+1))
			}
		}
		if l == nil {
			l = []any{}
		}
		return l
	}
}

func mustJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

func cloneValue(v any) any {
	b, _ := json.Marshal(v)
	var out any
	json.Unmarshal(b, &out)
	return out
}

func mutate(rng *rand.Rand, v any, depth int) any {
	switch x := v.(type) {
	case map[string]any:
		for k, child := range x {
			if rng.Intn(3) == 0 {
				x[k] = mutate(rng, child, depth+1)
			}
		}
		if rng.Intn(3) == 0 {
			x[names[rng.Intn(len(names))]] = randomValue(rng, depth+1)
		}
		if rng.Intn(8) == 0 && len(x) > 0 {
			for k := range x {
				delete(x, k)
				break
			}
		}
		return x
	case []any:
		for i := range x {
			if rng.Intn(3) == 0 {
				x[i] = mutate(rng, x[i], depth+1)
			}
		}
		switch rng.Intn(5) {
		case 0:
			x = append(x, randomValue(rng, depth+1))
		case 1:
			x = append([]any{randomValue(rng, depth+1)}, x...)
		case 2:
			if len(x) > 0 {
				i := rng.Intn(len(x))
				x = append(x[:i], x[i+1:]...)
			}
		case 3:
			i := rng.Intn(len(x) + 1)
			x = append(x[:i], append([]any{map[string]any{"name": "new"}}, x[i:]...)...)
		}
		return x
	}
	if rng.Intn(2) == 0 {
		return randomValue(rng, depth+1)
	}
	return v
}

func TestAlignGreedyFallback(t *testing.T) {
	// Past the quadratic bound the pairing is greedy but still correct.
	var a, b []any
	for i := 0; i < 2100; i++ {
		a = append(a, map[string]any{"name": fmt.Sprint(i)})
	}
	b = append(b, map[string]any{"name": "first"})
	b = append(b, a[:1000]...)
	b = append(b, map[string]any{"name": "mid"})
	b = append(b, a[1000:]...)
	b = append(b, map[string]any{"name": "end"})
	from, to := mustJSON(map[string]any{"l": a}), mustJSON(map[string]any{"l": b})
	// Both ends differ, so the whole lists are aligned: 2100 x 2103 cells.
	patch, err := Diff(decode(t, from), decode(t, to))
	if err != nil {
		t.Fatal(err)
	}
	if got := apply(t, from, patch); !jsonEqual(t, got, to) {
		t.Fatal("greedy alignment gave a wrong patch")
	}
	if n := strings.Count(string(patch), `"op"`); n != 3 {
		t.Errorf("%d operations, want 3: %s", n, patch)
	}
}

// TestAlignMemory: aligning two lists whose items all changed takes a
// table of at most 4 MB (the webhook weighs it with AlignBytes).
func TestAlignMemory(t *testing.T) {
	var a, b []any
	for i := 0; i < 1000; i++ {
		a = append(a, map[string]any{"name": fmt.Sprint(i)})
		b = append(b, map[string]any{"name": fmt.Sprint(i), "env": 1})
	}
	b = append(b, map[string]any{"name": "sidecar"})
	from, to := decode(t, mustJSON(map[string]any{"l": a})), decode(t, mustJSON(map[string]any{"l": b}))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if _, err := Diff(from, to); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	table := AlignBytes(len(a), len(b))
	if table == 0 || table > 4<<20+1<<16 {
		t.Fatalf("AlignBytes(%d, %d) = %d", len(a), len(b), table)
	}
	// The table, and the patch of 1,000 operations (well under 1 MB).
	if got := int64(after.TotalAlloc - before.TotalAlloc); got > table+1<<20 {
		t.Errorf("Diff allocated %d bytes; the table is %d", got, table)
	}
	if AlignBytes(1100, 1100) != 0 {
		t.Error("lists past the bound must be paired greedily, with no table")
	}
}
