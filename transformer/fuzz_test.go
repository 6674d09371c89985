package transformer

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/sidecar-injector/sidecar-injector/internal/fixture"
	"github.com/sidecar-injector/sidecar-injector/internal/golden"
	"github.com/sidecar-injector/sidecar-injector/internal/yamltree"
	"github.com/sidecar-injector/sidecar-injector/manifest"
)

// fuzzConfig exercises most of the engine: several sets, native sidecars,
// first and last positions, app env and mounts, annotations and labels.
var fuzzConfig = `apiVersion: sidecar-injector.io/v1alpha1
kind: SidecarInjector
metadata: {name: fuzz}
spec:
  onConflict: skip
  customKinds:
  - {group: argoproj.io, kind: Rollout, podTemplatePath: spec.template}
  sidecars:
` + fixture.Indent(fixture.NginxSet, 2) + `  - name: proxy
    native: true
    position: first
    initContainers: [{name: proxy-init, image: init:1}]
    containers: [{name: proxy, image: proxy:1}]
  - name: logs
    position: first
    containers: [{name: shipper, image: shipper:1, volumeMounts: [{name: logs, mountPath: /logs}]}]
    volumes: [{name: logs, emptyDir: {}}]
    volumeMounts: [{name: logs, mountPath: /logs}]
    env: [{name: LOG_DIR, value: /logs}]
    imagePullSecrets: [{name: regcred}]
    annotations: {logs.example.com/parser: json}
    labels: {logging: "on"}
  - name: tune
    containers:
    - name: tuned
      image: tuned:1
      env: [{name: MODE, value: fast}]
      resources: {limits: {cpu: 100m}}
    env: [{name: TUNE_LEVEL, value: "1"}]
    parameters:
    - {name: cpu, type: quantity, default: 100m, min: 10m, max: "2", defaultFrom: {resource: requests.cpu, percent: 50}, paths: ["containers.[name=tuned].resources.limits.cpu"]}
    - {name: mode, type: string, pattern: '.{0,40}', default: fast, paths: ["containers.[name=tuned].env.[name=MODE].value"]}
    - {name: level, type: integer, default: 1, min: -5, max: 99, paths: ["env.[name=TUNE_LEVEL].value"]}
    - {name: debug, type: boolean, default: false, paths: ["containers.[name=tuned].stdin"]}
    - {name: image, type: image, enum: ["tuned:1", "tuned:2"], default: "tuned:1", paths: ["containers.[name=tuned].image"]}
`

// runStream runs the engine over a stream the way the CLI does, checking
// on the way that every change it reports can be undone.
func runStream(cfg *Config, data []byte, path string, uninject bool) ([]byte, *manifest.Stream, []Result, error) {
	s, err := manifest.Parse(data, path)
	if err != nil {
		return nil, nil, nil, err
	}
	in := &Injector{Config: cfg, Uninject: uninject}
	var errs Errors
	var results []Result
	for _, d := range s.Docs {
		if d.Node == nil {
			continue
		}
		pristine := copyNode(d.Node.Document())
		rs, err := in.ApplyDocument(d.Node, func(n *yaml.Node) string {
			if n == d.Node.YNode() {
				return s.Where(d, d.Line)
			}
			return s.Where(d, d.LineOf(n))
		})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		var changes []*Change
		for _, r := range rs {
			if r.Change != nil {
				changes = append(changes, r.Change)
			}
		}
		if !changesUndo(d.Node.Document(), changes, pristine) {
			return nil, nil, nil, fmt.Errorf("%s:%d: the engine edited the original it reports in Change", path, d.Line)
		}
		for _, c := range changes {
			d.Rewrote(c.Node, c.Original)
		}
		results = append(results, rs...)
	}
	if err := errs.ErrOrNil(); err != nil {
		return nil, nil, nil, err
	}
	out, err := s.Bytes()
	return out, s, results, err
}

// changesUndo reports whether putting the changes' original content back
// gives the document as it was: the engine must never edit the nodes it
// shares with the original (writers and the webhook diff against them).
func changesUndo(doc *yaml.Node, changes []*Change, pristine *yaml.Node) bool {
	edited := make([]yaml.Node, len(changes))
	for i, c := range changes {
		edited[i] = *c.Node
		*c.Node = *c.Original
	}
	same := yamltree.Equal(doc, pristine)
	for i, c := range changes {
		*c.Node = edited[i]
	}
	return same
}

// sameStreams compares two streams document by document, by meaning: as
// kubectl reads them, with aliases and merge keys resolved.
func sameStreams(a, b []byte) bool {
	sa, errA := manifest.Parse(a, "a")
	sb, errB := manifest.Parse(b, "b")
	if errA != nil || errB != nil || len(sa.Docs) != len(sb.Docs) {
		return false
	}
	for i := range sa.Docs {
		na, nb := sa.Docs[i].Node, sb.Docs[i].Node
		if (na == nil) != (nb == nil) {
			return false
		}
		if na == nil {
			continue
		}
		ra, okA := resolved(na)
		rb, okB := resolved(nb)
		switch {
		case okA && okB && !yamltree.Equal(ra, rb):
			return false
		case !(okA && okB) && !yamltree.Same(ra, rb): // an alias bomb: as written
			return false
		}
	}
	return true
}

// resolved returns a document with its aliases and merge keys resolved (in
// place: the trees are the caller's own), or as it is and false if it
// cannot be.
func resolved(rn *yaml.RNode) (*yaml.Node, bool) {
	if n := rn.YNode(); usesAnchors(n) {
		if expandedSize(n, maxExpandedNodes) > maxExpandedNodes || rn.DeAnchor() != nil {
			return rn.Document(), false
		}
	}
	return rn.Document(), true
}

// anchorNotes reports whether a result says a YAML form stays written out.
func anchorNotes(results []Result) bool {
	for _, r := range results {
		for _, n := range r.Notes {
			if strings.HasPrefix(n, "the YAML ") {
				return true
			}
		}
	}
	return false
}

// FuzzInject: the engine never panics or hangs; inject is idempotent byte
// for byte; uninject gives back the input (byte for byte where the writer
// could splice and no result says a YAML alias or merge key stays written
// out, by meaning otherwise).
func FuzzInject(f *testing.F) {
	for _, c := range golden.Cases(f) {
		f.Add(c.Input)
	}
	for _, p := range []string{"cmd/sidecar-injector/testdata", "examples"} {
		files, _ := filepath.Glob(filepath.Join(golden.Root(), p, "*", "*.yaml"))
		for _, file := range files {
			if data, err := os.ReadFile(file); err == nil {
				f.Add(data)
			}
		}
	}
	cfg, err := LoadConfig([]byte(fuzzConfig), "fuzz-config.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 64<<10 {
			return
		}
		// Every run is checked for splice mismatches (a global count).
		runStream := func(cfg *Config, data []byte, path string, uninject bool) ([]byte, *manifest.Stream, []Result, error) {
			before := manifest.SpliceMismatches()
			out, s, results, err := runStream(cfg, data, path, uninject)
			if manifest.SpliceMismatches() > before {
				t.Fatalf("the writer's splice did not parse back to the edited tree (uninject=%v) on:\n%s", uninject, data)
			}
			return out, s, results, err
		}
		out, s, injected, err := runStream(cfg, data, "fuzz.yaml", false)
		if err != nil {
			return // bad input: an error is the right answer, a panic is not
		}
		again, _, _, err := runStream(cfg, out, "fuzz.yaml", false)
		if err != nil {
			t.Fatalf("second run failed on the first run's output: %v\noutput:\n%s", err, out)
		}
		if !bytes.Equal(again, out) {
			t.Fatalf("not idempotent:\n%s", golden.Diff(out, again))
		}
		if bytes.Contains(data, []byte("/status")) {
			return // prior injection: uninject cannot restore what came before
		}
		back, s2, uninjected, err := runStream(cfg, out, "fuzz.yaml", true)
		if err != nil {
			t.Fatalf("uninject failed: %v", err)
		}
		if !sameStreams(back, data) {
			t.Fatalf("uninject(inject(x)) differs from x:\n%s", golden.Diff(data, back))
		}
		exact := allSpliced(s) && allSpliced(s2) && !anchorNotes(injected) && !anchorNotes(uninjected)
		if exact && !bytes.Equal(back, data) {
			t.Fatalf("uninject(inject(x)) != x byte for byte:\n%s", golden.Diff(data, back))
		}
	})
}

func allSpliced(s *manifest.Stream) bool {
	for _, d := range s.Docs {
		if d.Changed && !d.Spliced {
			return false
		}
	}
	return true
}

// FuzzLoadConfig: any config file gives a config or an error, never a panic.
func FuzzLoadConfig(f *testing.F) {
	f.Add([]byte(fuzzConfig))
	for _, c := range golden.Cases(f) {
		f.Add(c.Config)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := LoadConfig(data, "fuzz.yaml")
		if err != nil {
			if strings.TrimSpace(err.Error()) == "" {
				t.Fatal("empty error message")
			}
			return
		}
		if len(cfg.Sets) == 0 || Digest(cfg.Sets) == "" {
			t.Fatalf("a loaded config has no sets or no digest")
		}
	})
}

// FuzzStatus: whatever a status annotation says, inject and uninject never
// remove or change an item of the pod unless the status lists it with a
// fingerprint that fits (or, in the earlier format, under a name a set of
// the config defines). The pod and the status are both fuzzed.
func FuzzStatus(f *testing.F) {
	cfg, err := LoadConfig([]byte(fuzzConfig), "fuzz-config.yaml")
	if err != nil {
		f.Fatal(err)
	}
	pod := `apiVersion: v1
kind: Pod
metadata:
  name: p
  annotations: {sidecar-injector.io/inject: "true", team: a}
  labels: {app: a, logging: "on"}
spec:
  containers:
  - {name: app, image: app:1, env: [{name: A, value: "1"}], volumeMounts: [{name: data, mountPath: /data}]}
  - {name: sidecar-nginx, image: nginx:1.12.2, volumeMounts: [{name: nginx-conf, mountPath: /etc/nginx}]}
  volumes: [{name: data, emptyDir: {}}, {name: nginx-conf, configMap: {name: nginx-configmap}}]
  imagePullSecrets: [{name: mine}]
`
	for _, st := range []string{
		`{"sets":["nginx"],"digest":"x","containers":["app","sidecar-nginx"],"volumes":["data","nginx-conf"]}`,
		`{"sets":["nginx"],"digest":"x","containers":{"app":"000000000000","sidecar-nginx":"3c0a939f62e7"},"volumes":{"data":""}}`,
		`{"sets":[],"digest":"","env":{"app":{"A":""}},"volumeMounts":{"app":["/data"]},"labels":["app","logging"],"annotations":["team"]}`,
		`{"sets":["logs"],"digest":"x","imagePullSecrets":["mine","regcred"],"keep":{"spec.volumes":"[]"}}`,
		`injected`,
	} {
		f.Add(st, []byte(pod))
	}
	f.Fuzz(func(t *testing.T, status string, podYAML []byte) {
		if len(podYAML) > 16<<10 || len(status) > 4<<10 {
			return
		}
		rn, err := yaml.Parse(string(podYAML))
		if err != nil || rn.YNode().Kind != yaml.MappingNode || usesAnchors(rn.YNode()) {
			return
		}
		if err := rn.PipeE(yaml.SetAnnotation("sidecar-injector.io/status", status)); err != nil {
			return
		}
		before, full := podItems(rn.YNode())
		st, _ := ParseStatus(status)
		for _, uninject := range []bool{false, true} {
			work := yaml.NewRNode(copyNode(rn.YNode()))
			if _, err := (&Injector{Config: cfg, Uninject: uninject}).Apply(work, "fuzz.yaml"); err != nil {
				continue
			}
			after, _ := podItems(work.YNode())
			for ref, fp := range before {
				if removable(cfg, st, ref, fp, full[ref]) {
					continue
				}
				if got, ok := after[ref]; !ok || got != fp {
					t.Fatalf("uninject=%v removed or changed %s %s (fingerprint %s -> %q) that the status %q does not back\npod:\n%s",
						uninject, ref.kind, ref.name, fp, got, status, podYAML)
				}
			}
		}
	})
}

// podRef names an item of a pod; for env and mounts, with the container.
type podRef struct {
	kind       itemKind
	name, list string
}

// podItems fingerprints every item of a pod. A container is taken without
// its env and mounts, which are items of their own; full holds the
// fingerprints of whole containers.
func podItems(pod *yaml.Node) (out, full map[podRef]string) {
	out, full = map[podRef]string{}, map[podRef]string{}
	spec := mapGet(pod, "spec")
	for _, list := range []string{"containers", "initContainers", "volumes", "imagePullSecrets"} {
		kind := map[string]itemKind{"containers": kindContainer, "initContainers": kindContainer, "volumes": kindVolume, "imagePullSecrets": kindPullSecret}[list]
		for _, it := range seqItems(mapGet(spec, list)) {
			n := it
			if kind == kindContainer && it.Kind == yaml.MappingNode {
				n = copyNode(it)
				mapDelete(n, "env")
				mapDelete(n, "volumeMounts")
				for _, sub := range []struct {
					key   string
					kind  itemKind
					field string
				}{{"env", kindEnv, "name"}, {"volumeMounts", kindMount, "mountPath"}} {
					for _, e := range seqItems(mapGet(it, sub.key)) {
						fp, _ := fingerprintItem(sub.kind, e)
						out[podRef{sub.kind, scalarString(mapGet(e, sub.field)), list + "/" + itemName(it)}] = fp
					}
				}
			}
			fp, _ := fingerprintItem(kind, n)
			out[podRef{kind, itemName(it), list}] = fp
			full[podRef{kind, itemName(it), list}], _ = fingerprintItem(kind, it)
		}
	}
	meta := mapGet(pod, "metadata")
	for _, f := range []struct {
		key  string
		kind itemKind
	}{{"annotations", kindAnnotation}, {"labels", kindLabel}} {
		m := mapGet(meta, f.key)
		for i := 0; m != nil && m.Kind == yaml.MappingNode && i+1 < len(m.Content); i += 2 {
			if k := m.Content[i].Value; k != "sidecar-injector.io/status" {
				out[podRef{f.kind, k, f.key}] = fingerprintPair(f.kind, k, scalarString(m.Content[i+1]))
			}
		}
	}
	return out, full
}

// removable reports whether a status backs the removal of an item: it
// lists it with a fingerprint that fits the whole item (for a container,
// fullFP, with its env and mounts), or in the earlier format under a name
// the config defines.
func removable(cfg *Config, st *Status, ref podRef, fp, fullFP string) bool {
	if st == nil {
		return false
	}
	var items Items
	switch ref.kind {
	case kindEnv:
		items = st.Env[strings.TrimPrefix(ref.list, "containers/")]
	case kindMount:
		items = st.VolumeMounts[strings.TrimPrefix(ref.list, "containers/")]
	default:
		for _, l := range st.podLists() {
			if l.field == ref.list {
				items = l.items
			}
		}
	}
	want, listed := items[ref.name]
	switch {
	case !listed:
		return false
	case want == "":
		return cfg.defines(ref.kind, ref.name)
	case ref.kind == kindContainer:
		return want == fullFP
	}
	return want == fp
}
