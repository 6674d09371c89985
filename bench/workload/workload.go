// Package workload makes the benchmarks' input: realistic Deployments that
// all ask for the seeds' nginx sidecar, as a ResourceList (the KRM function)
// or as a plain YAML stream (the CLI). The Go benchmarks and
// hack/bench-*.sh (through bench/gen) share it, so all measure the same thing.
package workload

import (
	"bytes"
	"fmt"
	"strings"
)

// Config is the functionConfig: the seeds' nginx reverse proxy as a
// SidecarInjector.
const Config = `apiVersion: sidecar-injector.io/v1alpha1
kind: SidecarInjector
metadata:
  name: nginx-proxy
spec:
  sidecars:
  - name: nginx
    default: true
    containers:
    - name: sidecar-nginx
      image: nginx:1.12.2
      imagePullPolicy: IfNotPresent
      ports:
      - containerPort: 80
      volumeMounts:
      - name: nginx-conf
        mountPath: /etc/nginx
    volumes:
    - name: nginx-conf
      configMap:
        name: nginx-configmap
`

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
	var b bytes.Buffer
	b.Grow(n * 1300)
	b.WriteString("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, deployment, i, i%10, fmt.Sprintf(fileAnnotations, i))
	}
	b.WriteString("functionConfig:\n")
	for _, line := range bytes.SplitAfter([]byte(Config), []byte("\n")) {
		if len(line) > 0 {
			b.WriteString("  ")
			b.Write(line)
		}
	}
	return b.Bytes()
}

// fileAnnotations are what kpt adds to the items it hands to a function.
const fileAnnotations = `    annotations:
      internal.config.kubernetes.io/path: 'apps/app-%05[1]d.yaml'
      internal.config.kubernetes.io/index: '0'
`

// Stream returns n Deployments as a multi-document YAML stream, as the CLI
// and kustomize read them.
func Stream(n int) []byte {
	var b bytes.Buffer
	b.Grow(n * 1200)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString("---\n")
		}
		item := fmt.Sprintf(deployment, i, i%10, "")
		for _, line := range strings.SplitAfter(item, "\n") {
			b.WriteString(strings.TrimPrefix(strings.TrimPrefix(line, "- "), "  "))
		}
	}
	return b.Bytes()
}
