package transformer

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Audit finds every workload of a List, names each by its own node, and
// turns what inject would report into findings: an injected item edited
// since is drifted (ErrDrifted), other errors are errors, and nothing is
// changed.
func TestAuditList(t *testing.T) {
	in := completionInjector(t, "native", false)
	injected := yaml.MustParse("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    metadata:\n      annotations: {sidecar-injector.io/inject: nginx}\n    spec:\n      containers: [{name: app, image: app}]\n")
	if _, err := in.Apply(injected, ""); err != nil {
		t.Fatal(err)
	}
	edited := strings.Replace(injected.MustString(), "name: web", "name: edited", 1)
	edited = strings.Replace(edited, "image: 'nginx:1.12.2'", "image: 'nginx:1.13'", 1)
	indent := func(s string) string { return "- " + strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n  ") + "\n" }
	list := "apiVersion: v1\nkind: List\nitems:\n" + indent(injected.MustString()) + indent(edited) +
		indent("apiVersion: v1\nkind: Pod\nmetadata:\n  name: bad\n  annotations: {sidecar-injector.io/inject: nope}\nspec:\n  containers: [{name: a, image: a}]") +
		indent("apiVersion: v1\nkind: Service\nmetadata: {name: svc}")
	rn := yaml.MustParse(list)
	before := rn.MustString()
	findings := in.Audit(rn, func(n *yaml.Node) string { return fmt.Sprintf("list.yaml:%d", n.Line) })
	if rn.MustString() != before {
		t.Error("Audit changed the document")
	}
	var got []string
	for _, f := range findings {
		got = append(got, fmt.Sprintf("%s %s %s", f.Resource.Name, f.Resource.Origin, f.State))
	}
	if want := "web list.yaml:4 current|edited list.yaml:13 drifted|bad list.yaml:22 error"; strings.Join(got, "|") != want {
		t.Fatalf("findings %q, want %q", strings.Join(got, "|"), want)
	}
	if e := findings[1].Errs; len(e) != 1 || !errors.Is(e[0], ErrDrifted) || e[0].Field != "spec.template.spec.containers[name=sidecar-nginx]" {
		t.Errorf("drift error: %+v", e)
	}
	if e := findings[2].Errs; len(e) != 1 || errors.Is(e[0], ErrDrifted) {
		t.Errorf("error: %+v", e)
	}
	if p := findings[0].Problems(); p != nil {
		t.Errorf("a current workload has problems: %v", p)
	}
	if !findings[0].DigestCurrent() || findings[0].Live {
		t.Errorf("current: %+v", findings[0])
	}
}
