package transformer

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sidecar-injector/sidecar-injector/manifest"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// benchDeployment is a realistic opted-in Deployment, as in `make bench`.
const benchDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-%05[1]d
  namespace: team-%[2]d
  labels:
    app: app-%05[1]d
spec:
  replicas: 2
  selector:
    matchLabels:
      app: app-%05[1]d
  template:
    metadata:
      labels:
        app: app-%05[1]d
      annotations:
        sidecar-injector.io/inject: "true"
    spec:
      containers:
      - name: app
        image: registry.example.com/app-%05[1]d:1.0
        ports:
        - name: http
          containerPort: 8080
        env:
        - name: APP_NAME
          value: app-%05[1]d
        resources:
          requests:
            cpu: 100m
            memory: 128Mi
        readinessProbe:
          httpGet:
            path: /healthz
            port: http
`

func benchStream(n int) []byte {
	docs := make([]string, n)
	for i := range docs {
		docs[i] = fmt.Sprintf(benchDeployment, i, i%10)
	}
	return []byte(strings.Join(docs, "---\n"))
}

func benchConfig(b *testing.B) *Config {
	cfg, err := LoadConfig([]byte(`apiVersion: sidecar-injector.io/v1alpha1
kind: SidecarInjector
metadata: {name: bench}
spec:
  sidecars:
  - name: nginx
    default: true
    containers:
    - name: sidecar-nginx
      image: nginx:1.12.2
      imagePullPolicy: IfNotPresent
      ports: [{containerPort: 80}]
      volumeMounts: [{name: nginx-conf, mountPath: /etc/nginx}]
    volumes: [{name: nginx-conf, configMap: {name: nginx-configmap}}]
`), "bench.yaml")
	if err != nil {
		b.Fatal(err)
	}
	return cfg
}

// BenchmarkApply is the engine alone on one parsed Deployment.
func BenchmarkApply(b *testing.B) {
	cfg := benchConfig(b)
	doc := yaml.MustParse(fmt.Sprintf(benchDeployment, 1, 1))
	in := &Injector{Config: cfg}
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
	cfg := benchConfig(b)
	doc := yaml.MustParse(fmt.Sprintf(benchDeployment, 1, 1))
	in := &Injector{Config: cfg}
	if _, err := in.Apply(doc, ""); err != nil {
		b.Fatal(err)
	}
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
	data := benchStream(100)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := runStream(cfg, data, false); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStreamFloor parses and writes the same stream unchanged: the
// part of BenchmarkStream no injector can avoid.
func BenchmarkStreamFloor(b *testing.B) {
	data := benchStream(100)
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
