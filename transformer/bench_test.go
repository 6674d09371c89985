package transformer

import (
	"testing"

	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/sidecar-injector/sidecar-injector/bench/workload"
	"github.com/sidecar-injector/sidecar-injector/manifest"
)

func benchConfig(b *testing.B) *Config {
	cfg, err := LoadConfig([]byte(workload.Config), "bench.yaml")
	if err != nil {
		b.Fatal(err)
	}
	return cfg
}

// benchDeployment is the first Deployment of the benchmarks' workload, and
// an engine with their config; injected once when asked.
func benchDeployment(b *testing.B, injected bool) (*Injector, *yaml.RNode) {
	s, err := manifest.Parse(workload.Stream(1), "bench.yaml")
	if err != nil {
		b.Fatal(err)
	}
	in, doc := &Injector{Config: benchConfig(b)}, s.Docs[0].Node
	if injected {
		if _, err := in.Apply(doc, ""); err != nil {
			b.Fatal(err)
		}
	}
	return in, doc
}

// BenchmarkApply is the engine alone on one parsed Deployment.
func BenchmarkApply(b *testing.B) {
	in, doc := benchDeployment(b, false)
	b.ReportAllocs()
	for b.Loop() {
		rn := yaml.NewRNode(copyNode(doc.YNode()))
		if r, err := in.Apply(rn, ""); err != nil || r.Action != Injected {
			b.Fatal(r, err)
		}
	}
}

// BenchmarkApplyUnchanged is a re-run on an already injected Deployment.
func BenchmarkApplyUnchanged(b *testing.B) {
	in, doc := benchDeployment(b, true)
	b.ReportAllocs()
	for b.Loop() {
		if r, err := in.Apply(doc, ""); err != nil || r.Action != Unchanged {
			b.Fatal(r, err)
		}
	}
}

// BenchmarkStream is what the CLI does per document: parse, inject, write.
func BenchmarkStream(b *testing.B) {
	cfg := benchConfig(b)
	data := workload.Stream(100)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, _, err := runStream(cfg, data, "bench.yaml", false); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStreamFloor parses and writes the same stream unchanged: the
// part of BenchmarkStream no injector can avoid.
func BenchmarkStreamFloor(b *testing.B) {
	data := workload.Stream(100)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		s, err := manifest.Parse(data, "bench.yaml")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Bytes(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAudit is check's engine work on one Deployment that is not
// injected yet: plan the injection, change nothing, judge.
func BenchmarkAudit(b *testing.B) { benchAudit(b, false, StateNotInjected) }

// BenchmarkAuditCurrent is check on an injected, current Deployment.
func BenchmarkAuditCurrent(b *testing.B) { benchAudit(b, true, StateCurrent) }

func benchAudit(b *testing.B, injected bool, want State) {
	in, doc := benchDeployment(b, injected)
	origin := func(*yaml.Node) string { return "" }
	b.ReportAllocs()
	for b.Loop() {
		if f := in.Audit(doc, origin); len(f) != 1 || f[0].State != want {
			b.Fatal(f)
		}
	}
}
