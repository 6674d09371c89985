package transformer

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sidecar-injector/sidecar-injector/manifest"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// anchorsConfig adds an env var, a mount, a volume, a label and an
// annotation: every field the engine edits.
const anchorsConfig = `containers: [{name: proxy, image: proxy:1}]
volumes: [{name: certs, emptyDir: {}}]
`

func anchorsTestConfig(t *testing.T) *Config {
	t.Helper()
	return loadSets(t, `- name: mesh
  default: true
  containers: [{name: proxy, image: proxy:1}]
  volumes: [{name: certs, emptyDir: {}}]
  env: [{name: PROXY, value: "1"}]
  volumeMounts: [{name: certs, mountPath: /certs}]
  labels: {mesh: member}
  annotations: {mesh/version: "2"}
`)
}

// TestHostileAnchorsEndInErrors: anchors that name themselves (which
// yaml.v3 parses), a merge key that merges its own mapping, and a merge
// bomb end in an error naming the resource, or are left alone in a
// resource the engine does not edit: never a hang or a panic.
func TestHostileAnchorsEndInErrors(t *testing.T) {
	pod := "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations: {sidecar-injector.io/inject: 'true'}\nspec:\n"
	var bomb strings.Builder
	bomb.WriteString("  x0: &a0 {k: v}\n")
	for i := 1; i <= 8; i++ {
		fmt.Fprintf(&bomb, "  x%d: &a%d {<<: [*a%[3]d, *a%[3]d, *a%[3]d, *a%[3]d, *a%[3]d, *a%[3]d, *a%[3]d, *a%[3]d, *a%[3]d, *a%[3]d]}\n", i, i, i-1)
	}
	bomb.WriteString("  containers:\n  - <<: *a8\n    name: app\n    image: app\n")
	for name, tc := range map[string]struct {
		input string
		err   string // "" for no error
	}{
		"a list that holds itself":          {pod + "  containers:\n  - name: app\n    image: app\n    args: &a [x, *a]\n", "Pod p (t.yaml:1): YAML aliases expand to more than 100000 nodes"},
		"env that holds itself":             {pod + "  containers:\n  - name: app\n    image: app\n    env: &e [{name: A, value: x}, *e]\n", "Pod p (t.yaml:1): YAML aliases expand to more than 100000 nodes"},
		"a container that merges itself":    {pod + "  containers:\n  - &c\n    <<: *c\n    name: app\n    image: app\n", "Pod p (t.yaml:1): YAML aliases expand to more than 100000 nodes"},
		"a merge bomb":                      {pod + bomb.String(), "Pod p (t.yaml:1): YAML aliases expand to more than 100000 nodes"},
		"a root that merges itself":         {"&r\n<<: *r\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: app, image: app}]}\n", "Pod p (t.yaml:1): YAML aliases expand to more than 100000 nodes"},
		"a kind read through a merge cycle": {"&r\n<<: *r\nmetadata: {name: p}\n", ""},
		"a ConfigMap that holds itself":     {"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: &d {x: *d}\n", ""},
	} {
		t.Run(name, func(t *testing.T) {
			out, _, _, err := runStream(anchorsTestConfig(t), []byte(tc.input), "t.yaml", false)
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.err == "" && string(out) != tc.input:
				t.Fatalf("a resource the engine does not edit changed:\n%s", out)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("got error %v, want %q", err, tc.err)
			}
		})
	}
}

// TestKeepFormsChangeNoMeaning: the forms a status's keep records are given
// back only where the field means the same with them: a forged or stale
// entry changes how a field is written at most, never what it means, and
// one that cannot be given back is noted.
func TestKeepFormsChangeNoMeaning(t *testing.T) {
	status := func(keep string) string {
		return `'{"sets":["mesh"],"digest":"x","keep":{` + keep + `}}'`
	}
	doc := func(st string) string {
		return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: &labels {app: web}
  annotations: &other {team: a}
spec:
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
      annotations:
        sidecar-injector.io/status: ` + st + `
    spec:
      containers:
      - name: app
        image: app
        env: [{name: A, value: "1"}]
`
	}
	for name, tc := range map[string]struct {
		keep  string
		want  string // a line the output must hold
		notes string // what the report notes
	}{
		"equal: the alias comes back": {keep: `"metadata.labels":"*labels"`, want: "      labels: *labels\n"},
		"another anchor's content":    {keep: `"metadata.labels":"*other"`, want: "      labels: {app: web}\n", notes: "the YAML alias *other at spec.template.metadata.labels is left written out"},
		"no such anchor":              {keep: `"metadata.labels":"*nope"`, want: "      labels: {app: web}\n", notes: "the YAML alias *nope at spec.template.metadata.labels is left written out"},
		"no merge key to give it": {keep: `"spec.containers[name=app].env":"<<"`, want: `        env: [{name: A, value: "1"}]` + "\n",
			notes: "the YAML merge key at spec.template.spec.containers[name=app].env is left written out since its mapping has no merge key"},
		"a field outside the template": {keep: `"/spec.selector.matchLabels":"*labels"`, want: "    matchLabels: *labels\n"},
	} {
		t.Run(name, func(t *testing.T) {
			in := doc(status(tc.keep))
			out, _, results, err := runStream(anchorsTestConfig(t), []byte(in), "t.yaml", true)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(out), tc.want) {
				t.Errorf("output lacks %q:\n%s", tc.want, out)
			}
			if got := strings.Join(results[0].Notes, "; "); !strings.Contains(got, tc.notes) || (tc.notes == "" && got != "") {
				t.Errorf("notes %q, want %q", got, tc.notes)
			}
			// What it means is the input's, without the status.
			want := strings.Replace(in, "        sidecar-injector.io/status: "+status(tc.keep)+"\n", "", 1)
			want = strings.Replace(want, "      annotations:\n", "", 1)
			if !sameStreams(out, []byte(want)) {
				t.Errorf("uninject changed what the document means:\n%s", out)
			}
		})
	}
}

func TestStatusKeepForms(t *testing.T) {
	for keep, ok := range map[string]bool{
		`"metadata.labels":"*labels"`:                      true,
		`"spec.containers[name=app].env":"<<"`:             true,
		`"spec.initContainers[name=init].env":"*env"`:      true,
		`"spec.containers[name=app]":"*live"`:              true,
		`"spec":"*pod"`:                                    true,
		`"/spec.selector.matchLabels":"*labels"`:           true,
		`"/spec.template":"<<"`:                            true,
		`"/spec.selector.matchLabels":"[]"`:                false, // literals only where the engine empties a field
		`"metadata.labels":"*two words"`:                   false,
		`"metadata.labels":"*"`:                            false,
		`"metadata.labels":"<<<"`:                          false,
		`"spec.affinity":"*a"`:                             false, // a template field the engine does not edit: written from the root
		`"/spec..x":"*a"`:                                  false,
		`"/spec.selector.matchLabels; rm -rf /":"*labels"`: false,
	} {
		_, err := ParseStatus(`{"sets":["a"],"digest":"x","keep":{` + keep + `}}`)
		if (err == nil) != ok {
			t.Errorf("keep {%s}: error %v, want ok=%v", keep, err, ok)
		}
	}
}

// TestAliasesStayAliasesInTheTree: the KRM function writes the tree, not
// text: aliases nobody edited are still aliases there, and the anchors they
// name are still on their nodes.
func TestAliasesStayAliasesInTheTree(t *testing.T) {
	in := `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: &labels {app: web}
spec:
  selector:
    matchLabels: *labels
  template:
    metadata:
      labels: *labels
      annotations: {sidecar-injector.io/inject: "true"}
    spec:
      containers:
      - name: app
        image: app
        resources: &r {limits: {cpu: 100m}}
      - name: worker
        image: app
        resources: *r
`
	cfg, err := LoadConfig([]byte(anchorsConfig), "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rn := yaml.MustParse(in)
	if _, err := (&Injector{Config: cfg}).Apply(rn, "t.yaml"); err != nil {
		t.Fatal(err)
	}
	out := rn.MustString()
	for _, want := range []string{"labels: &labels {app: web}", "matchLabels: *labels", "      labels: *labels", "resources: &r", "resources: *r"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if _, err := manifest.Parse([]byte(out), "out"); err != nil {
		t.Errorf("output does not parse: %v", err)
	}
}
