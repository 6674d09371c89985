package transformer

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Resource identifies a resource in reports and errors.
type Resource struct {
	APIVersion string
	Kind       string
	Namespace  string
	Name       string
	// Origin is where the resource came from: a file path, with a line when
	// known ("deploy.yaml:12"). Empty when unknown.
	Origin string
	// Index is the resource's position in the list given to Filter, so that
	// results and errors can be paired with their items (0 for Apply).
	Index int
}

func (r Resource) String() string {
	var b strings.Builder
	b.WriteString(orDefault(r.Kind, "<no kind>"))
	b.WriteByte(' ')
	if r.Namespace != "" {
		b.WriteString(r.Namespace)
		b.WriteByte('/')
	}
	b.WriteString(orDefault(r.Name, "<no name>"))
	if r.Origin != "" {
		b.WriteString(" (")
		b.WriteString(r.Origin)
		b.WriteByte(')')
	}
	return b.String()
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// ResourceError is an error about one field of one resource.
type ResourceError struct {
	Resource Resource
	Field    string // field path, e.g. spec.template.spec.containers
	Msg      string
	// Cause classifies the error for errors.Is, such as ErrDrifted; nil
	// for most.
	Cause error
}

// Unwrap returns the error's class.
func (e *ResourceError) Unwrap() error { return e.Cause }

// ErrDrifted marks an error about an item that a status lists as injected
// but that the pod holds otherwise: edited since, or a copied status.
// `check` reports such workloads as drifted rather than failing.
var ErrDrifted = errors.New("an injected item was edited since")

func (e *ResourceError) Error() string {
	if e.Field == "" {
		return e.Resource.String() + ": " + e.Msg
	}
	return e.Resource.String() + ": " + e.Field + ": " + e.Msg
}

// ConfigError is an error about one field of the injector's config.
type ConfigError struct {
	Source string // file path or "functionConfig"
	Line   int    // line in Source, 0 when unknown
	Field  string
	Msg    string
}

func (e *ConfigError) Error() string {
	src := "config"
	if e.Source != "" {
		src = "config " + e.Source
	}
	if e.Line > 0 {
		src += ":" + strconv.Itoa(e.Line)
	}
	if e.Field == "" {
		return src + ": " + e.Msg
	}
	return src + ": " + e.Field + ": " + e.Msg
}

// Errors collects every error of a run, so that users see all problems at once.
type Errors []error

func (e Errors) Error() string {
	msgs := make([]string, len(e))
	for i, err := range e {
		msgs[i] = err.Error()
	}
	return strings.Join(msgs, "\n")
}

// Unwrap lets errors.As find the individual errors.
func (e Errors) Unwrap() []error { return e }

// ErrOrNil returns nil for no errors, the error itself for one, else Errors.
func (e Errors) ErrOrNil() error {
	switch len(e) {
	case 0:
		return nil
	case 1:
		return e[0]
	}
	return e
}

func (t *template) errorf(field, format string, args ...any) *ResourceError {
	return &ResourceError{Resource: t.res, Field: field, Msg: fmt.Sprintf(format, args...)}
}

// ErrorList returns the individual errors of err, flattening joined errors
// (Errors, errors.Join); nil for nil.
func ErrorList(err error) []error {
	if err == nil {
		return nil
	}
	if multi, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range multi.Unwrap() {
			out = append(out, ErrorList(e)...)
		}
		return out
	}
	return []error{err}
}
