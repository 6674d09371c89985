package fn_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/sidecar-injector/sidecar-injector/fn"
)

// endless is a stream that never ends, counting what is read from it.
type endless struct{ read int }

func (e *endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = '#'
	}
	e.read += len(p)
	return len(p), nil
}

// Past the limit the function stops reading, fails with a message that
// says how to raise it, and writes nothing.
func TestInputLimit(t *testing.T) {
	t.Setenv(fn.MaxInputEnv, "1")
	var out, stderr bytes.Buffer
	in := &endless{}
	if code := fn.Run(in, &out, &stderr); code != fn.ExitFailed {
		t.Errorf("exit code %d, want %d", code, fn.ExitFailed)
	}
	if in.read != 1<<20+1 {
		t.Errorf("read %d bytes from an endless stream, want the limit and one byte (%d)", in.read, 1<<20+1)
	}
	if out.Len() != 0 {
		t.Errorf("wrote %d bytes", out.Len())
	}
	const want = "sidecar-injector: reading the ResourceList: it is larger than the limit, 1.0 MiB; SIDECAR_INJECTOR_MAX_INPUT_MB=N raises the limit to N MiB"
	if !strings.HasPrefix(stderr.String(), want) {
		t.Errorf("stderr %q, want %q", stderr.String(), want)
	}

	// A list of exactly the limit is read; one byte more is not.
	list := listOfSize(t, 1<<20)
	if code := fn.Run(bytes.NewReader(list), &out, &stderr); code != 0 {
		t.Errorf("a list of exactly the limit: exit code %d; stderr:\n%s", code, stderr.String())
	}
	out.Reset()
	stderr.Reset()
	if code := fn.Run(bytes.NewReader(append(list, '\n')), &out, &stderr); code != fn.ExitFailed || out.Len() != 0 || !strings.HasPrefix(stderr.String(), want) {
		t.Errorf("one byte over the limit: exit code %d, %d bytes out; stderr %q", code, out.Len(), stderr.String())
	}
}

// listOfSize makes a ResourceList of n bytes in kustomize's layout:
// ConfigMaps with 12 KiB of data (the function's limit for one item is
// 1/32 of the input's), the last one padded to size.
func listOfSize(t *testing.T, n int) []byte {
	t.Helper()
	head := "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n"
	tail := "functionConfig:\n" + indentBlock(injectorConfig)
	item := func(i, size int) string {
		return fmt.Sprintf("- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: c%d\n  data:\n    pad: '%s'\n", i, strings.Repeat("x", size))
	}
	var b strings.Builder
	b.WriteString(head)
	for i := 0; b.Len()+len(tail)+2*len(item(i, 12<<10)) < n; i++ {
		b.WriteString(item(i, 12<<10))
	}
	b.WriteString(item(-1, n-b.Len()-len(tail)-len(item(-1, 0))))
	b.WriteString(tail)
	if b.Len() != n {
		t.Fatalf("made %d bytes, want %d", b.Len(), n)
	}
	return []byte(b.String())
}

func TestInputLimitSetting(t *testing.T) {
	for _, v := range []string{"0", "-1", "1.5", "64MiB", "2000000"} {
		t.Setenv(fn.MaxInputEnv, v)
		var out, stderr bytes.Buffer
		code := fn.Run(bytes.NewReader(resourceList(t, injectorConfig)), &out, &stderr)
		want := fmt.Sprintf("sidecar-injector: %s=%q: expected a whole number of MiB", fn.MaxInputEnv, v)
		if code != fn.ExitFailed || out.Len() != 0 || !strings.HasPrefix(stderr.String(), want) {
			t.Errorf("%s=%q: exit code %d, %d bytes out, stderr %q; want %d, nothing and %q", fn.MaxInputEnv, v, code, out.Len(), stderr.String(), fn.ExitFailed, want)
		}
	}
	for v, limit := range map[string]int{"3": 3, "": fn.DefaultMaxInputMB} { // empty: as if unset
		t.Setenv(fn.MaxInputEnv, v)
		var out, stderr bytes.Buffer
		in := &endless{}
		code := fn.Run(in, &out, &stderr)
		want := fmt.Sprintf("it is larger than the limit, %d.0 MiB;", limit)
		if code != fn.ExitFailed || in.read != limit<<20+1 || !strings.Contains(stderr.String(), want) {
			t.Errorf("%s=%q: exit code %d, read %d bytes, stderr %q; want %d, %d bytes and %q", fn.MaxInputEnv, v, code, in.read, stderr.String(), fn.ExitFailed, limit<<20+1, want)
		}
	}
}

// What is read as one document (one item, a list in another layout, the
// list without its items) has a lower limit, 1/32 of the input limit: it
// takes far more memory. 32 KiB here.
func TestDocumentLimit(t *testing.T) {
	t.Setenv(fn.MaxInputEnv, "1")
	bigValue := strings.Repeat("x", 40<<10)
	service := "- apiVersion: v1\n  kind: Service\n  metadata:\n    name: web\n"
	manyItems := strings.Repeat(service, 1000) // 60 KiB, lines 4 to 4003
	cases := map[string]struct{ items, config, want string }{
		"an item": {
			items: service + "- apiVersion: v1\n  kind: ConfigMap\n  data:\n    big: " + bigValue + "\n",
			want:  "sidecar-injector: reading the ResourceList: the item at line 8: it is 40.1 KiB, over the limit of 32.0 KiB for one item (1/32 of the input limit, SIDECAR_INJECTOR_MAX_INPUT_MB)\n",
		},
		"the config": {
			items:  service,
			config: strings.Replace(injectorConfig, "spec:\n", "spec:\n  big: "+bigValue+"\n", 1),
			want:   "sidecar-injector: reading the ResourceList: its text other than the items is 40.7 KiB, over the limit of 32.0 KiB for one document (1/32 of the input limit, SIDECAR_INJECTOR_MAX_INPUT_MB)\n",
		},
		"another layout": {
			items: indentBlock(manyItems),
			want:  `sidecar-injector: reading the ResourceList: not in the layout kustomize and kpt write ("items:" alone on a line, each item starting with "- " at column 0); so it is read as one document, and at 66.2 KiB it is over the limit of 32.0 KiB for one document (1/32 of the input limit, SIDECAR_INJECTOR_MAX_INPUT_MB)` + "\n",
		},
		"an alias between items": {
			items: "- apiVersion: v1\n  kind: Service\n  metadata: &meta\n    name: web\n" + manyItems + "- apiVersion: v1\n  kind: Service\n  metadata: *meta\n",
			want:  "sidecar-injector: reading the ResourceList: the item at line 4008: yaml: unknown anchor 'meta' referenced\n",
		},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			in := itemsList(c.items, c.config)
			var out, stderr bytes.Buffer
			code := fn.Run(strings.NewReader(in), &out, &stderr)
			if code != fn.ExitFailed || out.Len() != 0 {
				t.Errorf("exit code %d, %d bytes out; want %d and nothing", code, out.Len(), fn.ExitFailed)
			}
			if stderr.String() != c.want {
				t.Errorf("stderr:\n%s\nwant:\n%s", stderr.String(), c.want)
			}
		})
	}
}

// A syntax error in a list read item by item is reported at the line that
// reading the list whole reports.
func TestSyntaxErrorLines(t *testing.T) {
	service := "- apiVersion: v1\n  kind: Service\n  metadata:\n    name: web\n"
	manyItems := strings.Repeat(service, 1000) // 60 KiB, lines 4 to 4003
	cases := map[string]struct{ items, config, itemByItem string }{
		"in an item": {
			items:      manyItems + "- apiVersion: v1\n  kind: Service\n  metadata: {name: [}\n",
			itemByItem: "the item at line 4004: ",
		},
		"in the config": {
			items:  manyItems,
			config: strings.Replace(injectorConfig, "  sidecars:\n", "  sidecars: [\n", 1),
		},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			in := itemsList(c.items, c.config)
			// Read whole, being small enough; then with a 1 MiB limit,
			// which makes it too large for that (32 KiB).
			var out, whole, itemByItem bytes.Buffer
			if code := fn.Run(strings.NewReader(in), &out, &whole); code != fn.ExitFailed || out.Len() != 0 || !strings.Contains(whole.String(), "yaml: line ") {
				t.Fatalf("read whole: exit code %d, %d bytes out, stderr %q", code, out.Len(), whole.String())
			}
			t.Setenv(fn.MaxInputEnv, "1")
			if code := fn.Run(strings.NewReader(in), &out, &itemByItem); code != fn.ExitFailed || out.Len() != 0 {
				t.Errorf("item by item: exit code %d, %d bytes out", code, out.Len())
			}
			want := strings.Replace(whole.String(), "reading the ResourceList: ", "reading the ResourceList: "+c.itemByItem, 1)
			if itemByItem.String() != want {
				t.Errorf("item by item:\n%s\nwant, as read whole:\n%s", itemByItem.String(), want)
			}
		})
	}
}

// itemsList is a ResourceList of items as written (at column 0) and
// config, injectorConfig if "".
func itemsList(items, config string) string {
	if config == "" {
		config = injectorConfig
	}
	return "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n" + items + "functionConfig:\n" + indentBlock(config)
}
