package v1alpha1_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/sidecar-injector/sidecar-injector/api/v1alpha1"
	"github.com/sidecar-injector/sidecar-injector/transformer"
)

// TestSchemaAgreesWithLoader reads every SidecarInjector of the golden
// cases and the examples with the engine's loader and with the schema: a
// config the loader takes must pass the schema (the schema is not stricter
// than the tool), and one the loader refuses for an unknown field or a
// value of the wrong type must fail it (the schema catches what strict
// decoding catches). Semantic errors (a duplicate name, a mount without its
// volume) are the loader's alone.
func TestSchemaAgreesWithLoader(t *testing.T) {
	schema := compileSchema(t)
	checked, refused := 0, 0
	for path, data := range configFiles(t) {
		inst, ok := asJSON(data)
		if !ok {
			continue
		}
		schemaErr := schema.Validate(inst)
		_, loadErr := transformer.LoadConfig(data, path)
		checked++
		switch {
		case loadErr == nil && schemaErr != nil:
			t.Errorf("%s: the loader takes it, the schema refuses it: %v", path, schemaErr)
		case loadErr != nil && strictDecodeError(loadErr) && schemaErr == nil:
			t.Errorf("%s: the loader refuses it (%v), the schema takes it", path, loadErr)
		case loadErr != nil && schemaErr != nil:
			refused++
		}
	}
	t.Logf("checked %d, refused by both %d", checked, refused)
	if checked < 50 || refused < 3 {
		t.Errorf("checked %d configs, %d refused by both: the globs no longer find the cases", checked, refused)
	}
}

// FuzzSchemaAgreesWithLoader: whatever SidecarInjector the loader takes,
// the schema takes too.
func FuzzSchemaAgreesWithLoader(f *testing.F) {
	for _, data := range configFiles(f) {
		f.Add(data)
	}
	schema := compileSchema(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		inst, ok := asJSON(data)
		if !ok {
			return
		}
		if _, err := transformer.LoadConfig(data, "config.yaml"); err != nil {
			return
		}
		if err := schema.Validate(inst); err != nil {
			t.Errorf("the loader takes it, the schema refuses it: %v\n%s", err, data)
		}
	})
}

// configFiles reads the configs of the golden cases and the examples.
func configFiles(t testing.TB) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, pattern := range []string{"../../testdata/cases/*/config.yaml", "../../examples/*/*.yaml", "../../examples/*/*/*.yaml"} {
		files, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		for _, path := range files {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			out[path] = data
		}
	}
	return out
}

// asJSON reads one SidecarInjector document as YAML 1.2, as the loader and
// editors read it (`on` is a string); ok is false for anything else:
// invalid YAML (the loader's to report), another kind, or a stream.
func asJSON(data []byte) (inst any, ok bool) {
	rn, err := yaml.Parse(string(data))
	if err != nil || rn.YNode().Kind != yaml.MappingNode || rn.GetKind() != v1alpha1.Kind || bytes.Contains(data, []byte("\n---")) {
		return nil, false
	}
	doc, err := rn.MarshalJSON()
	if err != nil {
		return nil, false
	}
	if err := json.Unmarshal(doc, &inst); err != nil {
		return nil, false
	}
	return inst, true
}

// strictDecodeError reports whether every error of a load is one that
// strict decoding against the types finds.
func strictDecodeError(err error) bool {
	var errs transformer.Errors
	if !errors.As(err, &errs) {
		var one *transformer.ConfigError
		if !errors.As(err, &one) {
			return false
		}
		errs = transformer.Errors{one}
	}
	for _, e := range errs {
		var ce *transformer.ConfigError
		if !errors.As(e, &ce) || !(ce.Msg == "unknown field" || strings.HasPrefix(ce.Msg, "expected a")) {
			return false
		}
	}
	return true
}

func compileSchema(t testing.TB) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(v1alpha1.Schema))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(v1alpha1.SchemaFile, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(v1alpha1.SchemaFile)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
