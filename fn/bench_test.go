package fn_test

import (
	"bytes"
	"io"
	"testing"

	kptfn "github.com/GoogleContainerTools/kpt-functions-sdk/go/fn"
	"github.com/sidecar-injector/sidecar-injector/bench/workload"
	"github.com/sidecar-injector/sidecar-injector/fn"
	"github.com/sidecar-injector/sidecar-injector/transformer"
	"sigs.k8s.io/kustomize/kyaml/fn/framework"
	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// The function against its floor (a kyaml ResourceList read and written
// back unchanged, as bench/fnfloor does) on the same input, and against
// the two designs it replaced: the kpt SDK's ResourceList bridged to the
// engine's RNodes, and kyaml's fn/framework I/O. hack/bench-fn.sh compares
// whole processes on 10,000 Deployments; docs/BENCHMARKS.md has figures.
const benchDeployments = 1000

func BenchmarkFunction(b *testing.B) {
	in := workload.ResourceList(benchDeployments)
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if code := fn.Run(bytes.NewReader(in), io.Discard, io.Discard); code != 0 {
			b.Fatalf("exit code %d", code)
		}
	}
}

// BenchmarkFloor is what every way must do: read the ResourceList and
// write it back.
func BenchmarkFloor(b *testing.B) {
	in := workload.ResourceList(benchDeployments)
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		rw, nodes := readList(b, in)
		if err := rw.Write(nodes); err != nil {
			b.Fatal(err)
		}
	}
}

// readList reads a ResourceList with kyaml's kio.ByteReadWriter, as
// fn/framework does; the same ReadWriter writes the nodes back.
func readList(b *testing.B, in []byte) (*kio.ByteReadWriter, []*yaml.RNode) {
	rw := &kio.ByteReadWriter{Reader: bytes.NewReader(in), Writer: io.Discard, KeepReaderAnnotations: true}
	nodes, err := rw.Read()
	if err != nil {
		b.Fatal(err)
	}
	return rw, nodes
}

// BenchmarkSDKBridge is the design the issue asked for first: the kpt SDK
// parses and writes the ResourceList, and each KubeObject crosses to an
// RNode and back as text (the SDK exposes no node), as the catalog's
// starlark function does.
func BenchmarkSDKBridge(b *testing.B) {
	in := workload.ResourceList(benchDeployments)
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		rl, err := kptfn.ParseResourceList(in)
		if err != nil {
			b.Fatal(err)
		}
		cfg, err := transformer.ParseConfig(yaml.MustParse(rl.FunctionConfig.String()), "functionConfig")
		if err != nil {
			b.Fatal(err)
		}
		nodes := make([]*yaml.RNode, len(rl.Items))
		for i, o := range rl.Items {
			if nodes[i], err = yaml.Parse(o.String()); err != nil {
				b.Fatal(err)
			}
		}
		in := &transformer.Injector{Config: cfg}
		if _, err := in.Filter(nodes); err != nil {
			b.Fatal(err)
		}
		for i, n := range nodes {
			if rl.Items[i], err = kptfn.ParseKubeObject([]byte(n.MustString())); err != nil {
				b.Fatal(err)
			}
		}
		for _, r := range in.Results {
			rl.Results = append(rl.Results, &kptfn.Result{Message: r.String(), Severity: kptfn.Info,
				ResourceRef: &kptfn.ResourceRef{APIVersion: "apps/v1", Kind: r.Resource.Kind, Name: r.Resource.Name, Namespace: r.Resource.Namespace},
				File:        &kptfn.File{Path: r.Resource.Origin}})
		}
		if _, err := rl.ToYAML(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFrameworkIO is kyaml's fn/framework I/O (framework.Execute's
// steps): kio.ByteReadWriter, results marshalled then parsed back.
func BenchmarkFrameworkIO(b *testing.B) {
	in := workload.ResourceList(benchDeployments)
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		rw, nodes := readList(b, in)
		cfg, err := transformer.ParseConfig(rw.FunctionConfig, "functionConfig")
		if err != nil {
			b.Fatal(err)
		}
		inj := &transformer.Injector{Config: cfg}
		if _, err := inj.Filter(nodes); err != nil {
			b.Fatal(err)
		}
		var results framework.Results
		for _, r := range inj.Results {
			results = append(results, &framework.Result{Message: r.String(), Severity: framework.Info,
				ResourceRef: &yaml.ResourceIdentifier{TypeMeta: yaml.TypeMeta{APIVersion: "apps/v1", Kind: r.Resource.Kind},
					NameMeta: yaml.NameMeta{Name: r.Resource.Name, Namespace: r.Resource.Namespace}},
				File: &framework.File{Path: r.Resource.Origin}})
		}
		y, err := yaml.Marshal(results)
		if err != nil {
			b.Fatal(err)
		}
		if rw.Results, err = yaml.Parse(string(y)); err != nil {
			b.Fatal(err)
		}
		if err := rw.Write(nodes); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStartup is the smallest run: an empty ResourceList with a config.
func BenchmarkStartup(b *testing.B) {
	in := workload.ResourceList(0)
	for b.Loop() {
		if code := fn.Run(bytes.NewReader(in), io.Discard, io.Discard); code != 0 {
			b.Fatalf("exit code %d", code)
		}
	}
}
