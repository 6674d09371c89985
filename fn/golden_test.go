package fn_test

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	kptfn "github.com/GoogleContainerTools/kpt-functions-sdk/go/fn"
	"github.com/sidecar-injector/sidecar-injector/fn"
	"github.com/sidecar-injector/sidecar-injector/internal/golden"
	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/kio/kioutil"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// kpt 1.0 still sends the legacy forms kyaml has deprecated.
const (
	legacyPathAnnotation  = "config.kubernetes.io/path"
	legacyIndexAnnotation = "config.kubernetes.io/index"
)

// fileAnnotations are what kpt puts on every item and on a functionConfig
// read from a file (legacy and internal forms, as kpt 1.0 sends them).
var fileAnnotations = []string{
	kioutil.PathAnnotation, legacyPathAnnotation,
	kioutil.IndexAnnotation, legacyIndexAnnotation,
}

// caseResourceList builds the ResourceList kpt would send for a case:
// input.yaml's documents as items, annotated with their file and index, and
// config.yaml as the functionConfig, with options.annotationPrefix moved
// into it. In cases that succeed, YAML anchors are expanded, as kustomize
// expands them when it reads (kio.FromBytes): the annotations a reader adds
// would otherwise land on a mapping that an alias in the pod template
// shares. Cases that fail keep them: the function must refuse an alias bomb
// or a merge key in annotations on its own. ok is false when input.yaml is
// not YAML that an orchestrator could read at all.
func caseResourceList(t *testing.T, c *golden.Case) (rl []byte, ok bool) {
	t.Helper()
	return caseResourceListWith(t, c, nil)
}

// caseResourceListWith is caseResourceList with more settings in the
// functionConfig (such as functionMode).
func caseResourceListWith(t *testing.T, c *golden.Case, settings map[string]string) (rl []byte, ok bool) {
	t.Helper()
	if !utf8.Valid(c.Input) {
		return nil, false
	}
	items, err := (&kio.ByteReader{
		// a List stays one item, as in a file of several documents: the
		// function injects inside it (unwrapped, its items would carry no
		// file annotations)
		DisableUnwrapping:     true,
		Reader:                bytes.NewReader(c.Input),
		OmitReaderAnnotations: true,
		AnchorsAweigh:         !exists(c.Path("errors.txt")),
	}).Read()
	if err != nil {
		return nil, false
	}
	for i, item := range items { // after expanding: see above
		index := fmt.Sprint(i)
		for _, kv := range [][2]string{{kioutil.PathAnnotation, c.InputFile}, {legacyPathAnnotation, c.InputFile},
			{kioutil.IndexAnnotation, index}, {legacyIndexAnnotation, index}} {
			if err := item.PipeE(yaml.SetAnnotation(kv[0], kv[1])); err != nil {
				t.Fatal(err)
			}
		}
	}
	config, err := yaml.Parse(string(c.Config))
	if err != nil {
		t.Fatalf("config.yaml: %v", err)
	}
	settings = maps.Clone(settings)
	if p := c.Options.AnnotationPrefix; p != "" {
		if settings == nil {
			settings = map[string]string{}
		}
		settings["annotationPrefix"] = p
	}
	path := []string{"spec"}
	if config.GetKind() == "ConfigMap" {
		path = []string{"data"}
	}
	for _, k := range slices.Sorted(maps.Keys(settings)) {
		if err := config.PipeE(yaml.LookupCreate(yaml.MappingNode, path...), yaml.SetField(k, yaml.NewStringRNode(settings[k]))); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range []string{kioutil.PathAnnotation, legacyPathAnnotation} {
		if err := config.PipeE(yaml.SetAnnotation(a, "config.yaml")); err != nil {
			t.Fatal(err)
		}
	}
	var b bytes.Buffer
	w := kio.ByteWriter{Writer: &b, KeepReaderAnnotations: true, FunctionConfig: config,
		WrappingKind: kio.ResourceListKind, WrappingAPIVersion: kio.ResourceListAPIVersion}
	if err := w.Write(items); err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), true
}

var (
	// The CLI also names the Helm template of a document ("input.yaml:3,
	// template shop/templates/web.yaml"); the function does not.
	inputLine  = regexp.MustCompile(`\((input\.(?:yaml|json)):\d+(?:, template [^)]*)?\)`)
	configLine = regexp.MustCompile(`^config config\.yaml:\d+:`)
	reportLine = regexp.MustCompile(`^(\S+)\s+(.*?) \(input\.(?:yaml|json):\d+(?:, template [^)]*)?\)(.*)$`)
	warnLine   = regexp.MustCompile(`^warning: (.*?) \(input\.(?:yaml|json):\d+(?:, template [^)]*)?\): (.*)$`)
	anchorNote = regexp.MustCompile(` \(the YAML (alias|merge key) [^()]*\)`)
)

// Every shared case runs through the function as kpt would run it. The
// function knows files but not lines (a ResourceList has no line numbers),
// so "input.yaml:12" in the expected files reads "input.yaml" here; items
// are compared by meaning, since the function's output format is kyaml's.
func TestGolden(t *testing.T) {
	for _, c := range golden.Cases(t) {
		t.Run(c.Name, func(t *testing.T) {
			if c.Options.Uninject {
				t.Skip("uninject is the CLI's job: a function run always injects, as a render must give the same result every time")
			}
			in, ok := caseResourceList(t, c)
			if !ok {
				checkUnreadable(t, c)
				return
			}
			out, stderr, code := run(t, in)
			if golden.Updating() {
				return // the CLI's golden test writes the expected files
			}
			if want, err := readFile(c, "errors.txt"); err == nil {
				checkFailure(t, in, out, stderr, code, want)
				return
			}
			if code != 0 {
				t.Fatalf("exit code %d; stderr:\n%s", code, stderr)
			}
			expected, err := readFile(c, c.ExpectedFile)
			if err != nil {
				t.Fatal(err)
			}
			rl := mustRead(t, out)
			expected = string(golden.WithoutAnchorForms([]byte(expected)))
			if got, want := semantic(t, rl.Items), semantic(t, parseDocs(t, expected)); got != want {
				t.Errorf("items differ from %s:\n%s", c.ExpectedFile, golden.Diff([]byte(want), []byte(got)))
			}
			report, err := readFile(c, "report.txt")
			if err != nil {
				t.Fatal(err)
			}
			if got, want := resultReport(t, rl, c.InputFile), expectedReport(report); got != want {
				t.Errorf("results differ from report.txt:\n%s", golden.Diff([]byte(want), []byte(got)))
			}

			// Idempotent: rendering the output again changes no item.
			again, stderr, code := run(t, out)
			if code != 0 {
				t.Fatalf("second run: exit code %d; stderr:\n%s", code, stderr)
			}
			if got, want := itemsText(t, mustRead(t, again)), itemsText(t, rl); got != want {
				t.Errorf("second run changed the items:\n%s", golden.Diff([]byte(want), []byte(got)))
			}
		})
	}
}

// checkFailure: exit 1, the errors of errors.txt as error results, and
// every item back as it came.
func checkFailure(t *testing.T, in, out []byte, stderr string, code int, errorsTxt string) {
	t.Helper()
	if code != fn.ExitFailed {
		t.Errorf("exit code %d, want %d", code, fn.ExitFailed)
	}
	rl := mustRead(t, out)
	var got []string
	for _, r := range results(t, rl) {
		if r.Severity == kptfn.Error {
			got = append(got, r.Message)
		}
	}
	var want []string
	for _, line := range strings.Split(strings.TrimRight(errorsTxt, "\n"), "\n") {
		line = inputLine.ReplaceAllString(line, "($1)")
		want = append(want, configLine.ReplaceAllString(line, "config config.yaml:"))
	}
	if g, w := strings.Join(got, "\n"), strings.Join(want, "\n"); g != w {
		t.Errorf("error results differ from errors.txt:\n%s", golden.Diff([]byte(w), []byte(g)))
	}
	for _, w := range want {
		if !strings.Contains(stderr, "error: "+w+"\n") {
			t.Errorf("stderr lacks %q:\n%s", w, stderr)
		}
	}
	if got, want := itemsText(t, rl), itemsText(t, mustRead(t, in)); got != want {
		t.Errorf("a failed run changed the items:\n%s", golden.Diff([]byte(want), []byte(got)))
	}
}

// checkUnreadable: input.yaml is not YAML (or not UTF-8), so no orchestrator
// could make a ResourceList of it. Pasted into one anyway, the function
// must fail with the same complaint and write nothing.
func checkUnreadable(t *testing.T, c *golden.Case) {
	t.Helper()
	want, err := readFile(c, "errors.txt")
	if err != nil {
		t.Fatalf("input.yaml cannot be read, so the case needs errors.txt: %v", err)
	}
	var b bytes.Buffer
	b.WriteString("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n")
	for _, doc := range bytes.Split(c.Input, []byte("---\n")) {
		for j, line := range bytes.SplitAfter(doc, []byte("\n")) {
			if len(line) == 0 {
				continue
			}
			if j == 0 {
				b.WriteString("- ")
			} else {
				b.WriteString("  ")
			}
			b.Write(line)
		}
	}
	out, stderr, code := run(t, b.Bytes())
	if code != fn.ExitFailed || len(out) != 0 {
		t.Fatalf("exit code %d with %d bytes out, want %d and nothing", code, len(out), fn.ExitFailed)
	}
	// errors.txt: "input.yaml:18: invalid YAML: did not find expected ',' or ']'"
	complaint := want[strings.LastIndex(strings.TrimSpace(want), ": ")+2:]
	if !strings.Contains(stderr, strings.TrimSpace(complaint)) {
		t.Errorf("stderr does not say %q:\n%s", strings.TrimSpace(complaint), stderr)
	}
}

// resultReport renders the function's results the way report.txt lists
// workloads and warnings (without the summary line).
func resultReport(t *testing.T, rl *fn.ResourceList, file string) string {
	t.Helper()
	var lines []string
	for _, r := range results(t, rl) {
		if r.ResourceRef == nil || r.File == nil || r.File.Path != file {
			t.Errorf("result without resourceRef or file path: %+v", r)
			continue
		}
		res := r.ResourceRef.Kind + " " + r.ResourceRef.Name
		if r.ResourceRef.Namespace != "" {
			res = r.ResourceRef.Kind + " " + r.ResourceRef.Namespace + "/" + r.ResourceRef.Name
		}
		switch r.Severity {
		case kptfn.Info:
			// "injected: nginx" -> "injected Deployment web: nginx"
			action, rest := r.Message, ""
			if i := strings.IndexAny(r.Message, ": "); i >= 0 {
				action, rest = r.Message[:i], r.Message[i:]
			}
			lines = append(lines, action+" "+res+rest)
		case kptfn.Warning:
			lines = append(lines, "warning: "+res+": "+r.Message)
		default:
			t.Errorf("unexpected %s result: %s", r.Severity, r.Message)
		}
	}
	return strings.Join(lines, "\n")
}

// expectedReport reads report.txt as the function reports it: without the
// notes about YAML anchors, which the function never sees (see
// caseResourceList).
func expectedReport(report string) string {
	var lines []string
	for _, line := range strings.Split(strings.TrimRight(report, "\n"), "\n") {
		if m := warnLine.FindStringSubmatch(line); m != nil {
			lines = append(lines, "warning: "+m[1]+": "+m[2])
		} else if m := reportLine.FindStringSubmatch(line); m != nil {
			lines = append(lines, m[1]+" "+m[2]+anchorNote.ReplaceAllString(m[3], ""))
		}
	}
	return strings.Join(lines, "\n")
}

// semantic renders documents as JSON, one per line, without the file
// annotations kpt adds: a comparison of meaning, blind to formatting.
func semantic(t *testing.T, docs []*yaml.RNode) string {
	t.Helper()
	var lines []string
	for _, d := range docs {
		d = d.Copy()
		for _, a := range fileAnnotations {
			if err := d.PipeE(yaml.ClearAnnotation(a)); err != nil {
				t.Fatal(err)
			}
		}
		if err := yaml.ClearEmptyAnnotations(d); err != nil {
			t.Fatal(err)
		}
		j, err := d.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, string(j))
	}
	return strings.Join(lines, "\n")
}

// itemsText is the items exactly as the function writes them.
func itemsText(t *testing.T, rl *fn.ResourceList) string {
	t.Helper()
	var b bytes.Buffer
	if err := (&fn.ResourceList{APIVersion: rl.APIVersion, Items: rl.Items}).Write(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func parseDocs(t *testing.T, data string) []*yaml.RNode {
	t.Helper()
	docs, err := (&kio.ByteReader{Reader: strings.NewReader(data), OmitReaderAnnotations: true, DisableUnwrapping: true}).Read()
	if err != nil {
		t.Fatal(err)
	}
	return docs
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func readFile(c *golden.Case, name string) (string, error) {
	b, err := readBytes(c.Path(name))
	return string(b), err
}

// results decodes this and earlier runs' results with the SDK's types.
func results(t *testing.T, rl *fn.ResourceList) kptfn.Results {
	t.Helper()
	var out kptfn.Results
	for _, n := range rl.Results {
		var r kptfn.Result
		if err := n.Decode(&r); err != nil {
			t.Fatalf("result %s: %v", fmt.Sprint(n.Value), err)
		}
		out = append(out, &r)
	}
	return out
}
