package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Kubernetes CEL takes no mixed-type maps or lists, so an item goes into a
// JSON patch as a typed object literal (Object.spec.containers{name: ...}),
// whose nested objects are named by their field path. The Go type of the
// item says which JSON objects are objects and which are maps.

var typeOf = map[string]reflect.Type{
	"Object.spec.containers":              reflect.TypeFor[corev1.Container](),
	"Object.spec.initContainers":          reflect.TypeFor[corev1.Container](),
	"Object.spec.volumes":                 reflect.TypeFor[corev1.Volume](),
	"Object.spec.imagePullSecrets":        reflect.TypeFor[corev1.LocalObjectReference](),
	"Object.spec.containers.env":          reflect.TypeFor[corev1.EnvVar](),
	"Object.spec.containers.volumeMounts": reflect.TypeFor[corev1.VolumeMount](),
}

var (
	quantityType    = reflect.TypeFor[resource.Quantity]()
	intOrStringType = reflect.TypeFor[intstr.IntOrString]()
)

// literal writes a config item as a CEL object literal of the type named.
func literal(n *yaml.Node, typeName, field string) (string, error) {
	raw, err := yaml.NewRNode(n).MarshalJSON()
	if err != nil {
		return "", &Error{Field: field, Msg: err.Error()}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", &Error{Field: field, Msg: err.Error()}
	}
	var b strings.Builder
	if err := writeValue(&b, typeOf[typeName], typeName, v, field); err != nil {
		return "", err
	}
	return b.String(), nil
}

func writeValue(b *strings.Builder, t reflect.Type, typeName string, v any, field string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	bad := func(format string, args ...any) error {
		return &Error{Field: field, Msg: fmt.Sprintf(format, args...)}
	}
	switch t {
	case quantityType:
		switch v := v.(type) {
		case string:
			b.WriteString(str(v))
		case json.Number:
			b.WriteString(str(v.String()))
		default:
			return bad("expected a quantity, got %T", v)
		}
		return nil
	case intOrStringType:
		switch v := v.(type) {
		case string:
			b.WriteString(str(v))
		case json.Number:
			if _, err := v.Int64(); err != nil {
				return bad("expected an integer or a string, got %s", v)
			}
			b.WriteString(v.String())
		default:
			return bad("expected an integer or a string, got %T", v)
		}
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			return bad("expected a map, got %T", v)
		}
		b.WriteString(typeName + "{")
		first := true
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if m[k] == nil {
				continue // null: what the API server stores as unset
			}
			ft, ok := fieldType(t, k)
			if !ok {
				return bad("unknown field %q", k)
			}
			if !first {
				b.WriteString(", ")
			}
			first = false
			b.WriteString(k + ": ")
			if err := writeValue(b, ft, typeName+"."+k, m[k], field+"."+k); err != nil {
				return err
			}
		}
		b.WriteString("}")
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok {
			return bad("expected a map, got %T", v)
		}
		b.WriteString("{")
		keys := slices.Sorted(maps.Keys(m))
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(str(k) + ": ")
			if err := writeValue(b, t.Elem(), typeName, m[k], fmt.Sprintf("%s[%s]", field, k)); err != nil {
				return err
			}
		}
		b.WriteString("}")
	case reflect.Slice:
		l, ok := v.([]any)
		if !ok {
			return bad("expected a list, got %T", v)
		}
		b.WriteString("[")
		for i, it := range l {
			if i > 0 {
				b.WriteString(", ")
			}
			if err := writeValue(b, t.Elem(), typeName, it, fmt.Sprintf("%s[%d]", field, i)); err != nil {
				return err
			}
		}
		b.WriteString("]")
	case reflect.String:
		s, ok := v.(string)
		if !ok {
			return bad("expected a string, got %T", v)
		}
		b.WriteString(str(s))
	case reflect.Bool:
		x, ok := v.(bool)
		if !ok {
			return bad("expected a boolean, got %T", v)
		}
		fmt.Fprint(b, x)
	case reflect.Int, reflect.Int32, reflect.Int64:
		x, ok := v.(json.Number)
		if !ok {
			return bad("expected an integer, got %T", v)
		}
		if _, err := x.Int64(); err != nil {
			return bad("expected an integer, got %s", x)
		}
		b.WriteString(x.String())
	default:
		return bad("a %s field cannot be written in CEL here", t.Kind())
	}
	return nil
}

// fieldType finds the type of a JSON field of a struct, through inline
// (embedded) structs such as Volume's VolumeSource.
func fieldType(t reflect.Type, key string) (reflect.Type, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := strings.Split(f.Tag.Get("json"), ",")
		if tag[0] == key {
			return f.Type, true
		}
		if tag[0] == "" && len(tag) > 1 && tag[1] == "inline" || f.Anonymous && tag[0] == "" {
			if ft, ok := fieldType(f.Type, key); ok {
				return ft, true
			}
		}
	}
	return nil, false
}
