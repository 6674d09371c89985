package fn

import (
	"bytes"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/kio"
)

const policyInput = `apiVersion: config.kubernetes.io/v1
kind: ResourceList
functionConfig:
  apiVersion: sidecar-injector.io/v1alpha1
  kind: SidecarInjector
  metadata: {name: mesh}
  spec:
    functionMode: policy
    onConflict: ONCONFLICT
    sidecars:
    - name: proxy
      default: true
      containers: [{name: proxy, image: "envoy:1.30"}]
items:
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: web, annotations: {sidecar-injector.io/inject: "true"}}
  spec:
    template:
      metadata: {annotations: {sidecar-injector.io/inject: "true"}}
      spec:
        containers: [{name: web, image: "web:1"}]
`

// functionMode: policy makes the function a generator: items unchanged,
// the admission policies added.
func TestPolicyMode(t *testing.T) {
	var out, errw bytes.Buffer
	if code := Run(strings.NewReader(strings.Replace(policyInput, "ONCONFLICT", "fail", 1)), &out, &errw); code != 0 {
		t.Fatalf("exit %d: %s", code, errw.String())
	}
	nodes, err := (&kio.ByteReader{Reader: &out, OmitReaderAnnotations: true}).Read()
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, n := range nodes {
		kinds = append(kinds, n.GetKind())
	}
	want := "Deployment MutatingAdmissionPolicy MutatingAdmissionPolicyBinding ValidatingAdmissionPolicy ValidatingAdmissionPolicyBinding"
	if got := strings.Join(kinds, " "); got != want {
		t.Errorf("items: %s\nwant: %s", got, want)
	}
	if strings.Contains(out.String(), "name: proxy\n        image") || strings.Contains(nodes[0].MustString(), "envoy") {
		t.Errorf("the Deployment was injected; a generator changes no item:\n%s", nodes[0].MustString())
	}

	out.Reset()
	errw.Reset()
	if code := Run(strings.NewReader(strings.Replace(policyInput, "ONCONFLICT", "skip", 1)), &out, &errw); code == 0 {
		t.Fatalf("onConflict: skip: exit 0, want an error")
	}
	if !strings.Contains(errw.String(), "onConflict") || !strings.Contains(out.String(), "path: onConflict") {
		t.Errorf("the error does not name onConflict:\nstderr: %s\nstdout: %s", errw.String(), out.String())
	}
}
