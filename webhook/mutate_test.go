package webhook

import (
	"fmt"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// TestMetaTree: the pod metaTree builds holds the metadata the engine reads,
// and its nodes share one array: as many allocations for 50 annotations as
// for one.
func TestMetaTree(t *testing.T) {
	meta := func(n int) *ObjectMeta {
		m := &ObjectMeta{Name: "web", Namespace: "shop", Annotations: map[string]string{}}
		for i := range n {
			m.Annotations[fmt.Sprintf("a%d", i)] = "v"
		}
		return m
	}
	got, err := yaml.NewRNode(metaTree(meta(2), "")).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"apiVersion":"v1","kind":"Pod","metadata":{"annotations":{"a0":"v","a1":"v"},"name":"web","namespace":"shop"}}`
	if string(got) != want {
		t.Errorf("metaTree = %s, want %s", got, want)
	}
	if got := yaml.NewRNode(metaTree(meta(0), "other")).GetNamespace(); got != "other" {
		t.Errorf("namespace = %q, want the request's", got)
	}
	one, fifty := meta(1), meta(50)
	if a, b := testing.AllocsPerRun(20, func() { metaTree(one, "") }), testing.AllocsPerRun(20, func() { metaTree(fifty, "") }); a != b {
		t.Errorf("%v allocations for 1 annotation, %v for 50", a, b)
	}
}
