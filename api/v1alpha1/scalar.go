package v1alpha1

import (
	"bytes"
	"encoding/json"
	"reflect"
)

// Scalar is a parameter's value as a config writes it: a string, a number
// or a boolean, kept as text, so that `max: 1` and `max: "1"` are the same.
type Scalar string

// UnmarshalJSON takes a string, a number or a boolean.
func (s *Scalar) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var str string
		if err := json.Unmarshal(b, &str); err != nil {
			return err
		}
		*s = Scalar(str)
		return nil
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	switch v.(type) {
	case float64, bool:
		*s = Scalar(b)
		return nil
	}
	return &json.UnmarshalTypeError{Value: jsonKind(v), Type: reflect.TypeFor[string]()}
}

func jsonKind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "object"
	case []any:
		return "array"
	}
	return "null"
}
