// Package workload makes the benchmarks' input: realistic Deployments that
// all ask for the nginx sidecar, as a ResourceList (the KRM function)
// or as a plain YAML stream (the CLI). The Go benchmarks and
// hack/bench-*.sh (through bench/gen) share it, so all measure the same thing.
package workload

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/sidecar-injector/sidecar-injector/internal/fixture"
)

// Config is the functionConfig: the nginx reverse proxy as a
// SidecarInjector.
var Config = `apiVersion: sidecar-injector.io/v1alpha1
kind: SidecarInjector
metadata:
  name: nginx-proxy
spec:
  sidecars:
` + fixture.Indent(fixture.NginxSet, 2)

// deployment is a 40-line Deployment as an item of a list, opted in on its
// pod template; %[3]s holds extra metadata lines.
const deployment = `- apiVersion: apps/v1
  kind: Deployment
  metadata:
    name: app-%05[1]d
    namespace: team-%[2]d
    labels:
      app: app-%05[1]d
      team: team-%[2]d
%[3]s  spec:
    replicas: 2
    selector:
      matchLabels:
        app: app-%05[1]d
    template:
      metadata:
        labels:
          app: app-%05[1]d
          team: team-%[2]d
        annotations:
          sidecar-injector.io/inject: "true"
      spec:
        containers:
        - name: app
          image: registry.example.com/team-%[2]d/app-%05[1]d:1.%[1]d.0
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

// ResourceList returns a ResourceList of n Deployments with Config as its
// functionConfig.
func ResourceList(n int) []byte {
	return resourceList(Deployments, n, -1, Options{})
}

// Shape is the kind of item of a generated ResourceList.
type Shape string

const (
	Deployments Shape = "deployments"  // ~40-line Deployments, opted in, with kpt's file annotations
	Pods        Shape = "pods"         // 10-line Pods, opted in: the sidecar is most of the output
	SkippedPods Shape = "skipped-pods" // 8-line Pods that do not ask: the result is most of the output
)

// Options make a list one of the KRM function's worst cases for memory:
// text that it must read as one YAML document, made of the smallest nodes
// (go-yaml's tree and emitter take the most memory per byte for those).
type Options struct {
	// BigItem is the size of a first item added to the list: a v1 List
	// of small Pods, as large as the function takes one item.
	BigItem int
	// OtherLayout indents the items by two spaces, so that the function
	// reads the list as one document.
	OtherLayout bool
}

// ResourceListUpTo returns a ResourceList of as many items of the shape
// as fit in size bytes, for measuring the KRM function at its input limit.
func ResourceListUpTo(shape Shape, size int, opts Options) []byte {
	return resourceList(shape, -1, size, opts)
}

// resourceList makes n items, or as many as fit in size bytes when n < 0.
func resourceList(shape Shape, n, size int, opts Options) []byte {
	var tail bytes.Buffer
	tail.WriteString("functionConfig:\n")
	writeIndented(&tail, Config, "  ", "  ")
	var b bytes.Buffer
	if n >= 0 {
		b.Grow(n * 1300)
	} else {
		b.Grow(size)
	}
	b.WriteString("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n")
	if opts.BigItem > 0 {
		var pods strings.Builder
		pods.WriteString("- apiVersion: v1\n  kind: List\n  items:\n")
		for i := 0; ; i++ {
			p := item(Pods, i)
			if pods.Len()+len(p)+len(p)/4 > opts.BigItem { // indented by 2 of every 8 or so bytes
				break
			}
			writeIndented(&pods, p, "  ", "  ")
		}
		b.WriteString(pods.String())
	}
	indent := ""
	if opts.OtherLayout {
		indent = "  "
	}
	for i := 0; n < 0 || i < n; i++ {
		text := item(shape, i)
		if n < 0 && b.Len()+len(text)+len(text)/4+tail.Len() > size {
			break
		}
		writeIndented(&b, text, indent, indent)
	}
	b.Write(tail.Bytes())
	return b.Bytes()
}

// item is the i-th item of a shape, as an item of a list at column 0.
func item(shape Shape, i int) string {
	switch shape {
	case Pods:
		return fmt.Sprintf(pod, i, podOptIn)
	case SkippedPods:
		return fmt.Sprintf(pod, i, "")
	default:
		return fmt.Sprintf(deployment, i, i%10, fmt.Sprintf(fileAnnotations, i))
	}
}

// writeIndented writes text with first before its first line and indent
// before the others.
func writeIndented(w io.Writer, text, first, indent string) {
	for j, line := range strings.SplitAfter(text, "\n") {
		if line == "" {
			continue
		}
		if j == 0 {
			io.WriteString(w, first+line)
		} else {
			io.WriteString(w, indent+line)
		}
	}
}

// pod is the smallest workload; %[2]s holds podOptIn or nothing.
const pod = `- apiVersion: v1
  kind: Pod
  metadata:
    name: pod-%06[1]d
%[2]s  spec:
    containers:
    - name: app
      image: app:1
`

const podOptIn = `    annotations:
      sidecar-injector.io/inject: "true"
`

// fileAnnotations are what kpt adds to the items it hands to a function.
const fileAnnotations = `    annotations:
      internal.config.kubernetes.io/path: 'apps/app-%05[1]d.yaml'
      internal.config.kubernetes.io/index: '0'
`

// Stream returns n Deployments as a multi-document YAML stream, as the CLI
// and kustomize read them.
func Stream(n int) []byte {
	return stream(n, -1)
}

// StreamUpTo returns a stream of as many Deployments as fit in size bytes,
// for measuring the CLI at its input limit.
func StreamUpTo(size int) []byte {
	return stream(-1, size)
}

func stream(n, size int) []byte {
	var b bytes.Buffer
	if n >= 0 {
		b.Grow(n * 1200)
	} else {
		b.Grow(size)
	}
	for i := 0; n < 0 || i < n; i++ {
		var doc strings.Builder
		if i > 0 {
			doc.WriteString("---\n")
		}
		item := fmt.Sprintf(deployment, i, i%10, "")
		for _, line := range strings.SplitAfter(item, "\n") {
			doc.WriteString(strings.TrimPrefix(strings.TrimPrefix(line, "- "), "  "))
		}
		if n < 0 && b.Len()+doc.Len() > size {
			break
		}
		b.WriteString(doc.String())
	}
	return b.Bytes()
}
