// Package jsonschema generates a JSON Schema (draft 2020-12) from Go types,
// as encoding/json reads them: a struct is an object that takes its json
// fields and no others (the engine decodes configs strictly), a field
// without omitempty that is not a pointer is required, and each named
// struct is one entry of $defs. Descriptions come from the types' comments
// (Comments) or, for Kubernetes types, their SwaggerDoc methods; a
// comment's markers (+kubebuilder:default=..., +kubebuilder:validation:...)
// become keywords, and the string constants of a named type its enum.
package jsonschema

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// Schema is the part of JSON Schema the generator writes. Its fields are in
// the order they are written; maps are written with sorted keys, so the
// output is stable.
type Schema struct {
	Schema               string             `json:"$schema,omitempty"`
	Ref                  string             `json:"$ref,omitempty"`
	Title                string             `json:"title,omitempty"`
	Description          string             `json:"description,omitempty"`
	Type                 any                `json:"type,omitempty"` // a name or a list of names
	Const                string             `json:"const,omitempty"`
	Enum                 []string           `json:"enum,omitempty"`
	Default              any                `json:"default,omitempty"`
	Format               string             `json:"format,omitempty"`
	ContentEncoding      string             `json:"contentEncoding,omitempty"`
	Pattern              string             `json:"pattern,omitempty"`
	MaxLength            *int               `json:"maxLength,omitempty"`
	Minimum              *int64             `json:"minimum,omitempty"`
	Maximum              *int64             `json:"maximum,omitempty"`
	MinItems             *int               `json:"minItems,omitempty"`
	Items                *Schema            `json:"items,omitempty"`
	Properties           map[string]*Schema `json:"properties,omitempty"`
	Required             []string           `json:"required,omitempty"`
	AdditionalProperties any                `json:"additionalProperties,omitempty"` // false or a *Schema
	Defs                 map[string]*Schema `json:"$defs,omitempty"`
}

// Doc is what the comments say of a type or a field: its text and markers.
type Doc struct {
	Text    string
	Markers []string // without the leading +
	Enum    []string // a named type's string constants
}

// Generator builds schemas. Comments are keyed by "pkgpath.Type" and
// "pkgpath.Type.Field" (the Go field name); Overrides replace the schema
// of a type outright (Quantity, IntOrString, ObjectMeta...).
type Generator struct {
	Comments  map[string]Doc
	Overrides map[reflect.Type]*Schema
	defs      map[string]*Schema
	defTypes  map[string]reflect.Type
}

// Generate returns the schema of root: root's own schema at the top, with
// every named struct it reaches in $defs.
func (g *Generator) Generate(root reflect.Type) (*Schema, error) {
	g.defs, g.defTypes = map[string]*Schema{}, map[string]reflect.Type{}
	top, err := g.structSchema(root)
	if err != nil {
		return nil, err
	}
	top.Schema = "https://json-schema.org/draft/2020-12/schema"
	top.Title = root.Name()
	top.Defs = g.defs
	return top, nil
}

// Marshal writes a schema as indented JSON with a final newline.
func Marshal(s *Schema) ([]byte, error) {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

func (g *Generator) schemaOf(t reflect.Type) (*Schema, error) {
	if o := g.Overrides[t]; o != nil {
		c := *o
		return &c, nil
	}
	if t.Kind() == reflect.Pointer {
		return g.schemaOf(t.Elem())
	}
	if t == reflect.TypeFor[json.RawMessage]() || t.Kind() == reflect.Interface {
		return &Schema{}, nil
	}
	switch t.Kind() {
	case reflect.Struct:
		return g.ref(t)
	case reflect.String:
		s := &Schema{Type: "string"}
		if t.PkgPath() != "" {
			s.Enum = g.Comments[t.PkgPath()+"."+t.Name()].Enum
		}
		return s, nil
	case reflect.Bool:
		return &Schema{Type: "boolean"}, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return &Schema{Type: "integer"}, nil
	case reflect.Float32, reflect.Float64:
		return &Schema{Type: "number"}, nil
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return &Schema{Type: "string", ContentEncoding: "base64"}, nil
		}
		items, err := g.schemaOf(t.Elem())
		if err != nil {
			return nil, err
		}
		return &Schema{Type: "array", Items: items}, nil
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return nil, fmt.Errorf("%s: map keys must be strings in JSON", t)
		}
		vals, err := g.schemaOf(t.Elem())
		if err != nil {
			return nil, err
		}
		return &Schema{Type: "object", AdditionalProperties: vals}, nil
	}
	return nil, fmt.Errorf("%s: no JSON Schema for a %s", t, t.Kind())
}

// ref puts a named struct in $defs once and refers to it.
func (g *Generator) ref(t reflect.Type) (*Schema, error) {
	name := defName(t)
	if name == "" {
		return g.structSchema(t) // an anonymous struct stays inline
	}
	if have, ok := g.defTypes[name]; ok {
		if have != t {
			return nil, fmt.Errorf("%s and %s would share the definition %q", have, t, name)
		}
		return &Schema{Ref: "#/$defs/" + name}, nil
	}
	g.defTypes[name] = t // before the fields: a type may reach itself
	s, err := g.structSchema(t)
	if err != nil {
		return nil, err
	}
	g.defs[name] = s
	return &Schema{Ref: "#/$defs/" + name}, nil
}

// defName names a type's definition as the Kubernetes OpenAPI does for its
// own types (io.k8s.api.core.v1.Container) and by its package's last
// element for the rest (v1alpha1.SidecarSet).
func defName(t reflect.Type) string {
	if t.Name() == "" {
		return ""
	}
	pkg := t.PkgPath()
	if rest, ok := strings.CutPrefix(pkg, "k8s.io/"); ok {
		return "io.k8s." + strings.ReplaceAll(rest, "/", ".") + "." + t.Name()
	}
	return pkg[strings.LastIndex(pkg, "/")+1:] + "." + t.Name()
}

func (g *Generator) structSchema(t reflect.Type) (*Schema, error) {
	s := &Schema{Type: "object", Properties: map[string]*Schema{}, AdditionalProperties: false}
	docs := g.docs(t)
	s.Description = docs.typ.Text
	if err := g.addFields(s, t, docs); err != nil {
		return nil, err
	}
	return s, nil
}

// addFields adds t's json fields to s, then those of its embedded structs
// that no shallower field hides (encoding/json's rule).
func (g *Generator) addFields(s *Schema, t reflect.Type, docs structDocs) error {
	var embedded []reflect.Type
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || !f.IsExported() && !f.Anonymous {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if ft := f.Type; f.Anonymous && name == "" {
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				embedded = append(embedded, ft)
				continue
			}
		}
		if name == "" {
			name = f.Name
		}
		fs, err := g.schemaOf(f.Type)
		if err != nil {
			return fmt.Errorf("%s.%s: %w", t, f.Name, err)
		}
		// fs is this field's own (a $ref to a shared definition at most),
		// so what the field's comment says goes on it
		doc := docs.field(f, name)
		fs.Description = doc.Text
		required := !slices.Contains(strings.Split(opts, ","), "omitempty") && f.Type.Kind() != reflect.Pointer
		for _, m := range doc.Markers {
			switch {
			case m == "kubebuilder:validation:Required":
				required = true
			case m == "kubebuilder:validation:Optional" || m == "optional":
				required = false
			default:
				if err := applyMarker(fs, m); err != nil {
					return fmt.Errorf("%s.%s: %w", t, f.Name, err)
				}
			}
		}
		s.Properties[name] = fs
		if required {
			s.Required = append(s.Required, name)
		}
	}
	for _, et := range embedded {
		inner := &Schema{Properties: map[string]*Schema{}}
		if err := g.addFields(inner, et, g.docs(et)); err != nil {
			return err
		}
		for name, fs := range inner.Properties {
			if s.Properties[name] == nil {
				s.Properties[name] = fs
				if slices.Contains(inner.Required, name) {
					s.Required = append(s.Required, name)
				}
			}
		}
	}
	return nil
}

// applyMarker turns one kubebuilder marker into a keyword.
func applyMarker(s *Schema, m string) error {
	key, val, ok := strings.Cut(m, "=")
	if !ok {
		return nil // markers that take no value and mean nothing here
	}
	val = strings.Trim(val, "`")
	switch key {
	case "kubebuilder:default":
		s.Default = val
		return nil
	case "kubebuilder:validation:Pattern":
		s.Pattern = val
		return nil
	}
	n, err := strconv.ParseInt(val, 10, 64)
	switch key {
	case "kubebuilder:validation:MaxLength":
		s.MaxLength = new(int(n))
	case "kubebuilder:validation:MinItems":
		s.MinItems = new(int(n))
	case "kubebuilder:validation:Minimum":
		s.Minimum = new(n)
	case "kubebuilder:validation:Maximum":
		s.Maximum = new(n)
	default:
		return fmt.Errorf("marker %s: not one the generator knows", m)
	}
	if err != nil {
		return fmt.Errorf("marker %s: %w", m, err)
	}
	return nil
}

type swaggerDoc interface{ SwaggerDoc() map[string]string }

// structDocs is what is said of a struct and of its fields.
type structDocs struct {
	typ   Doc
	field func(f reflect.StructField, jsonName string) Doc
}

// docs reads a struct's docs from Comments or, for Kubernetes types, from
// their SwaggerDoc method (called once: it builds a map).
func (g *Generator) docs(t reflect.Type) structDocs {
	key := t.PkgPath() + "." + t.Name()
	var swagger map[string]string
	if sd, ok := reflect.Zero(t).Interface().(swaggerDoc); ok {
		swagger = sd.SwaggerDoc()
	}
	typ, ok := g.Comments[key]
	if !ok {
		typ = Doc{Text: swagger[""]}
	}
	return structDocs{typ: typ, field: func(f reflect.StructField, jsonName string) Doc {
		if d, ok := g.Comments[key+"."+f.Name]; ok {
			return d
		}
		return Doc{Text: swagger[jsonName]}
	}}
}
