package transformer

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sidecar-injector/sidecar-injector/internal/golden"
	"github.com/sidecar-injector/sidecar-injector/internal/yamltree"
	"github.com/sidecar-injector/sidecar-injector/manifest"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// fuzzConfig exercises most of the engine: several sets, native sidecars,
// first and last positions, app env and mounts, annotations and labels.
const fuzzConfig = `apiVersion: sidecar-injector.io/v1alpha1
kind: SidecarInjector
metadata: {name: fuzz}
spec:
  onConflict: skip
  customKinds:
  - {group: argoproj.io, kind: Rollout, podTemplatePath: spec.template}
  sidecars:
  - name: nginx
    default: true
    containers:
    - name: sidecar-nginx
      image: nginx:1.12.2
      volumeMounts: [{name: nginx-conf, mountPath: /etc/nginx}]
    volumes:
    - {name: nginx-conf, configMap: {name: nginx-configmap}}
  - name: proxy
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
		r, err := in.Apply(d.Node, fmt.Sprintf("%s:%d", path, d.Line))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if r.Change != nil {
			if !changeUndoes(d.Node.Document(), r.Change, pristine) {
				return nil, nil, nil, fmt.Errorf("%s: the engine edited the original it reports in Change", r.Resource)
			}
			d.Rewrote(r.Change.Node, r.Change.Original)
		}
		results = append(results, r)
	}
	if err := errs.ErrOrNil(); err != nil {
		return nil, nil, nil, err
	}
	out, err := s.Bytes()
	return out, s, results, err
}

// changeUndoes reports whether putting a change's original content back
// gives the document as it was: the engine must never edit the nodes it
// shares with the original (writers and the webhook diff against them).
func changeUndoes(doc *yaml.Node, c *Change, pristine *yaml.Node) bool {
	edited := *c.Node
	*c.Node = *c.Original
	same := yamltree.Equal(doc, pristine)
	*c.Node = edited
	return same
}

// sameStreams compares two streams document by document, by meaning.
func sameStreams(a, b []byte) bool {
	sa, errA := manifest.Parse(a, "a")
	sb, errB := manifest.Parse(b, "b")
	if errA != nil || errB != nil || len(sa.Docs) != len(sb.Docs) {
		return false
	}
	for i := range sa.Docs {
		na, nb := sa.Docs[i].Node, sb.Docs[i].Node
		if (na == nil) != (nb == nil) || (na != nil && !yamltree.Equal(na.Document(), nb.Document())) {
			return false
		}
	}
	return true
}

// FuzzInject: the engine never panics or hangs; inject is idempotent byte
// for byte; uninject gives back the input (byte for byte where the writer
// could splice, by meaning where it had to re-encode).
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
		out, s, _, err := runStream(cfg, data, "fuzz.yaml", false)
		if n := manifest.SpliceMismatches(); n > 0 {
			t.Fatalf("the writer's splice did not parse back to the edited tree (%d times)", n)
		}
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
		if bytes.Contains(data, []byte("/status")) || bytes.Contains(data, []byte("&")) || bytes.Contains(data, []byte("*")) {
			return // prior injection or aliases: uninject cannot restore those
		}
		back, s2, _, err := runStream(cfg, out, "fuzz.yaml", true)
		if err != nil {
			t.Fatalf("uninject failed: %v", err)
		}
		if !sameStreams(back, data) {
			t.Fatalf("uninject(inject(x)) differs from x:\n%s", golden.Diff(data, back))
		}
		if allSpliced(s) && allSpliced(s2) && !bytes.Equal(back, data) {
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
