package v1alpha1_test

import (
	"bytes"
	"os"
	"reflect"
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/sidecar-injector/sidecar-injector/api/v1alpha1"
	"github.com/sidecar-injector/sidecar-injector/internal/golden"
	"github.com/sidecar-injector/sidecar-injector/internal/jsonschema"
)

// quantityPattern is the form of a Kubernetes quantity written as a string
// (resource.ParseQuantity's grammar): 250m, 1.5, 64Mi, 1e3.
const quantityPattern = `^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$`

// generate builds the schema from the types and their comments.
func generate(t *testing.T) []byte {
	t.Helper()
	comments, err := jsonschema.ParseComments(".", reflect.TypeFor[v1alpha1.SidecarInjector]().PkgPath())
	if err != nil {
		t.Fatal(err)
	}
	g := &jsonschema.Generator{
		Comments: comments,
		Overrides: map[reflect.Type]*jsonschema.Schema{
			// the API server's own forms: a quantity and an int-or-string
			// are written as a number or a string
			reflect.TypeFor[resource.Quantity]():  {Type: []string{"string", "number"}, Pattern: quantityPattern},
			reflect.TypeFor[intstr.IntOrString](): {Type: []string{"string", "integer"}},
			reflect.TypeFor[metav1.Time]():        {Type: "string", Format: "date-time"},
			// the pipeline's: the injector reads none of it
			reflect.TypeFor[metav1.ObjectMeta](): {Type: "object"},
			reflect.TypeFor[v1alpha1.Scalar]():   {Type: []string{"string", "number", "boolean"}},
		},
	}
	s, err := g.Generate(reflect.TypeFor[v1alpha1.SidecarInjector]())
	if err != nil {
		t.Fatal(err)
	}
	s.Properties["apiVersion"] = &jsonschema.Schema{Type: "string", Const: v1alpha1.APIVersion}
	s.Properties["kind"] = &jsonschema.Schema{Type: "string", Const: v1alpha1.Kind}
	s.Required = []string{"apiVersion", "kind", "spec"}
	b, err := jsonschema.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSchemaUpToDate fails when the types or their comments changed and
// the schema was not generated again (make update-golden).
func TestSchemaUpToDate(t *testing.T) {
	got := generate(t)
	if golden.Updating() {
		if err := os.WriteFile(v1alpha1.SchemaFile, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !bytes.Equal(got, v1alpha1.Schema) {
		t.Errorf("%s is stale: run `make update-golden` and review the diff:\n%s", v1alpha1.SchemaFile, golden.Diff(v1alpha1.Schema, got))
	}
}
