package webhook

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strconv"

	"github.com/sidecar-injector/sidecar-injector/webhook/internal/nodejson"
)

// The AdmissionReview envelope (admission.k8s.io/v1), read and written by
// hand: decoding it into k8s.io/api structs would decode the pod too, and the
// pod must reach the engine as raw JSON so that unknown fields survive.

const (
	reviewAPIVersion = "admission.k8s.io/v1"
	reviewKind       = "AdmissionReview"
)

// Request is the part of an AdmissionRequest the webhook uses.
type Request struct {
	UID         string
	Kind        GroupVersionKind
	Resource    GroupVersionResource
	SubResource string
	Namespace   string
	Name        string
	Operation   string
	DryRun      bool
	// Object is the raw JSON as sent. It is delimited but not validated:
	// nodejson.Decode validates it while building the tree, or
	// nodejson.Valid when no tree is built.
	Object []byte
}

// GroupVersionKind is an AdmissionRequest's kind.
type GroupVersionKind struct{ Group, Version, Kind string }

// GroupVersionResource is an AdmissionRequest's resource.
type GroupVersionResource struct{ Group, Version, Resource string }

func (k GroupVersionKind) String() string {
	if k.Group == "" {
		return k.Version + " " + k.Kind
	}
	return k.Group + "/" + k.Version + " " + k.Kind
}

func (r GroupVersionResource) String() string {
	if r.Group == "" {
		return r.Version + " " + r.Resource
	}
	return r.Group + "/" + r.Version + " " + r.Resource
}

// BadRequestError is a request the webhook cannot read. UID is set when the
// request got far enough to have one.
type BadRequestError struct {
	UID string
	Msg string
}

func (e *BadRequestError) Error() string { return e.Msg }

// ObjectMeta is what the webhook reads of the object's metadata while it
// reads the envelope, to decide whether to look further.
type ObjectMeta struct {
	APIVersion, Kind              string // the object's own
	Name, GenerateName, Namespace string
	Annotations                   map[string]string
	// OK: metadata and its annotations have the expected shape (maps of
	// strings). Otherwise the engine sees the whole object and reports.
	OK bool
}

// ParseReview reads an AdmissionReview request body in one pass: the
// envelope is validated, the object only delimited (see Request.Object),
// and the object's metadata read on the way. meta is nil when the object
// is missing or not a JSON object.
func ParseReview(body []byte) (r *Request, meta *ObjectMeta, err error) {
	var apiVersion, kind string
	var seen struct{ uid, kind, resource, operation bool }
	s := nodejson.NewScanner(body)
	err = s.Object(func(key string) error {
		var ok bool
		var err error
		switch key {
		case "apiVersion":
			apiVersion, ok, err = s.String()
		case "kind":
			kind, ok, err = s.String()
		case "request":
			if s.Null() {
				return nil
			}
			r = &Request{}
			err = s.Object(func(key string) error {
				ok := true
				var err error
				switch key {
				case "uid":
					r.UID, ok, err = s.String()
					seen.uid = ok
				case "kind":
					ok, err = readTriple(s, "kind", &r.Kind.Group, &r.Kind.Version, &r.Kind.Kind)
					seen.kind = ok
				case "resource":
					ok, err = readTriple(s, "resource", &r.Resource.Group, &r.Resource.Version, &r.Resource.Resource)
					seen.resource = ok
				case "subResource":
					r.SubResource, ok, err = s.String()
				case "namespace":
					r.Namespace, ok, err = s.String()
				case "name":
					r.Name, ok, err = s.String()
				case "operation":
					r.Operation, ok, err = s.String()
					seen.operation = ok
				case "dryRun":
					var raw []byte
					raw, err = s.Skip()
					switch string(raw) {
					case "true":
						r.DryRun = true
					case "false", "null":
					default:
						ok = false
					}
				case "object":
					if s.Null() {
						return nil
					}
					start := s.Pos()
					meta, err = readObjectMeta(s)
					r.Object = bytes.TrimRight(body[start:s.Pos()], " \t\r\n")
				default:
					_, err = s.Skip()
				}
				if err == nil && !ok {
					err = fmt.Errorf("request.%s: wrong type", key)
				}
				return err
			})
			if err == nodejson.ErrNotObject {
				return fmt.Errorf("request: expected an object")
			}
			return err
		default:
			_, err = s.Skip()
			return err
		}
		if err == nil && !ok {
			err = fmt.Errorf("%s: expected a string", key)
		}
		return err
	})
	if err == nil {
		err = s.End()
	}
	uid := ""
	if r != nil && seen.uid {
		uid = r.UID
	}
	switch {
	case err == nodejson.ErrNotObject:
		return nil, nil, &BadRequestError{Msg: "expected an AdmissionReview object"}
	case err != nil:
		return nil, nil, &BadRequestError{UID: uid, Msg: "cannot read the AdmissionReview: " + err.Error()}
	case apiVersion != reviewAPIVersion || kind != reviewKind:
		return nil, nil, &BadRequestError{Msg: fmt.Sprintf("expected apiVersion %s, kind %s; got apiVersion %q, kind %q (set admissionReviewVersions: [v1])",
			reviewAPIVersion, reviewKind, apiVersion, kind)}
	case r == nil:
		return nil, nil, &BadRequestError{Msg: "request: missing"}
	case !seen.uid || r.UID == "":
		return nil, nil, &BadRequestError{Msg: "request.uid: missing"}
	case !seen.kind:
		return nil, nil, &BadRequestError{UID: r.UID, Msg: "request.kind: missing"}
	case !seen.resource:
		return nil, nil, &BadRequestError{UID: r.UID, Msg: "request.resource: missing"}
	case !seen.operation:
		return nil, nil, &BadRequestError{UID: r.UID, Msg: "request.operation: missing"}
	}
	return r, meta, nil
}

// readTriple reads {"group": ..., "version": ..., <last>: ...}, as in a
// request's kind and resource.
func readTriple(s *nodejson.Scanner, last string, group, version, value *string) (bool, error) {
	ok := true
	err := s.Object(func(key string) error {
		var dst *string
		switch key {
		case "group":
			dst = group
		case "version":
			dst = version
		case last:
			dst = value
		default:
			_, err := s.Skip()
			return err
		}
		v, isString, err := s.String()
		*dst = v
		ok = ok && isString
		return err
	})
	if err == nodejson.ErrNotObject {
		return false, nil
	}
	return ok, err
}

// readObjectMeta delimits the object, reading its metadata on the way. Only
// the metadata's name, generateName, namespace and annotations are
// validated here; the rest is left for Decode or Valid.
func readObjectMeta(s *nodejson.Scanner) (*ObjectMeta, error) {
	if s.Peek() != '{' {
		_, err := s.Delimit()
		return nil, err
	}
	m := &ObjectMeta{OK: true}
	seenMeta := false
	err := s.Object(func(key string) error {
		switch key {
		case "apiVersion", "kind":
			v, _, err := s.String()
			if key == "kind" {
				m.Kind = v
			} else {
				m.APIVersion = v
			}
			return err
		case "metadata":
			if seenMeta {
				m.OK = false
			}
			seenMeta = true
			if s.Null() {
				return nil
			}
		default:
			_, err := s.Delimit()
			return err
		}
		if s.Peek() != '{' {
			m.OK = false
			_, err := s.Delimit()
			return err
		}
		return s.Object(func(key string) error {
			var dst *string
			switch key {
			case "name":
				dst = &m.Name
			case "generateName":
				dst = &m.GenerateName
			case "namespace":
				dst = &m.Namespace
			case "annotations":
				if s.Null() {
					return nil
				}
				if s.Peek() != '{' {
					m.OK = false
					_, err := s.Delimit()
					return err
				}
				if m.Annotations != nil {
					m.OK = false // annotations twice: let the engine see and report it
				}
				m.Annotations = map[string]string{}
				return s.Object(func(key string) error {
					v, ok, err := s.String()
					if _, dup := m.Annotations[key]; dup {
						ok = false // which one counts? the engine reports it
					}
					m.OK = m.OK && ok
					m.Annotations[key] = v
					return err
				})
			default:
				_, err := s.Delimit()
				return err
			}
			v, _, err := s.String()
			*dst = v
			return err
		})
	})
	return m, err
}

// Response is an AdmissionResponse.
type Response struct {
	UID      string
	Allowed  bool
	Patch    []byte // a JSON Patch; nil for none
	Code     int    // for denials: an HTTP status code carried in the result
	Reason   string // for denials: a metav1.StatusReason
	Message  string // for denials
	Warnings []string
}

// Errored returns a denial for a request the webhook could not handle.
func Errored(uid string, code int, msg string) Response {
	return Response{UID: uid, Code: code, Reason: statusReason(code), Message: msg}
}

func statusReason(code int) string {
	switch code {
	case 400:
		return "BadRequest"
	case 413:
		return "RequestEntityTooLarge"
	case 415:
		return "UnsupportedMediaType"
	case 422:
		return "Invalid"
	case 500:
		return "InternalError"
	}
	return ""
}

// AppendJSON appends the AdmissionReview carrying the response.
func (r *Response) AppendJSON(dst []byte) []byte {
	dst = append(dst, `{"apiVersion":"`+reviewAPIVersion+`","kind":"`+reviewKind+`","response":{"uid":`...)
	dst = nodejson.AppendString(dst, r.UID)
	dst = append(dst, `,"allowed":`...)
	dst = strconv.AppendBool(dst, r.Allowed)
	if !r.Allowed {
		dst = append(dst, `,"status":{"metadata":{},"status":"Failure","message":`...)
		dst = nodejson.AppendString(dst, r.Message)
		if r.Reason != "" {
			dst = append(dst, `,"reason":`...)
			dst = nodejson.AppendString(dst, r.Reason)
		}
		dst = append(dst, `,"code":`...)
		dst = strconv.AppendInt(dst, int64(r.Code), 10)
		dst = append(dst, '}')
	}
	if r.Patch != nil {
		dst = append(dst, `,"patchType":"JSONPatch","patch":"`...)
		dst = base64.StdEncoding.AppendEncode(dst, r.Patch)
		dst = append(dst, '"')
	}
	if len(r.Warnings) > 0 {
		dst = append(dst, `,"warnings":[`...)
		for i, w := range r.Warnings {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = nodejson.AppendString(dst, w)
		}
		dst = append(dst, ']')
	}
	return append(dst, "}}\n"...)
}
