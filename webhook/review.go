package webhook

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	strictjson "sigs.k8s.io/json"

	"github.com/sidecar-injector/sidecar-injector/webhook/internal/nodejson"
)

// The AdmissionReview envelope is decoded into the API's own types
// (k8s.io/api/admission/v1) as the API machinery decodes JSON: field names
// are case-sensitive (sigs.k8s.io/json). request.object is a
// runtime.RawExtension, which keeps the pod's JSON as sent: the engine gets
// it untouched, fields this version does not know included.

const (
	reviewAPIVersion = "admission.k8s.io/v1"
	reviewKind       = "AdmissionReview"
)

// BadRequestError is a request the webhook cannot read. UID is set when the
// request got far enough to have one.
type BadRequestError struct {
	UID string
	Msg string
}

func (e *BadRequestError) Error() string { return e.Msg }

// ObjectMeta is what the webhook reads of the object's metadata before it
// builds a tree, to decide whether to look further.
type ObjectMeta struct {
	APIVersion, Kind              string // the object's own
	Name, GenerateName, Namespace string
	Annotations                   map[string]string
	// Containers is the number of items of spec.containers and
	// spec.initContainers, for the budget.
	Containers int
	// OK: metadata and its annotations have the expected shape (maps of
	// strings, no key twice). Otherwise the engine sees the whole object
	// and reports.
	OK bool
}

// ParseReview decodes an AdmissionReview request body, and reads the
// object's metadata. request.object is not decoded: its Raw is the
// object's JSON, a slice of body, validated. meta is nil when the object is
// missing or not a JSON object.
//
// The envelope is decoded as the API machinery decodes JSON: case-sensitive
// field names, duplicate fields an error (the API server never sends them,
// and a review with two objects or two UIDs is ambiguous), unknown fields
// ignored (a newer API server may add some, and refusing them would refuse
// every pod with failurePolicy: Fail).
//
// The standard decoder is not given the object: it would scan the pod
// twice, slowly (its validation pass, then to delimit the RawExtension),
// and that made it half of the webhook's whole cost per request
// (docs/BENCHMARKS.md). One pass of our own walker validates the body,
// finds the object and reads its metadata; the decoder then reads the
// review with the object cut out.
func ParseReview(body []byte) (r *admissionv1.AdmissionRequest, meta *ObjectMeta, err error) {
	envelope, object, meta, err := cutObject(body)
	if err != nil {
		envelope, object, meta = body, nil, nil // the standard decoder says what is wrong
	}
	var review admissionv1.AdmissionReview
	strict, decodeErr := strictjson.UnmarshalStrict(envelope, &review, strictjson.DisallowDuplicateFields)
	if decodeErr == nil && len(strict) == 0 && err != nil {
		decodeErr = err // the walker's
	}
	err = decodeErr
	r = review.Request
	uid := ""
	if r != nil {
		uid = string(r.UID)
	}
	if isSyntax, offset := strictjson.SyntaxErrorOffset(err); isSyntax {
		// Nothing was decoded: read what comes before the error.
		uid, path := readBroken(body)
		if path != "" {
			path = " in " + path
		}
		return nil, nil, &BadRequestError{UID: uid, Msg: fmt.Sprintf("cannot read the AdmissionReview: invalid JSON%s at offset %d: %s", path, offset, err)}
	}
	switch {
	case err != nil && isNotObject(body):
		return nil, nil, &BadRequestError{Msg: "expected an AdmissionReview object"}
	case err != nil:
		return nil, nil, &BadRequestError{UID: uid, Msg: "cannot read the AdmissionReview: " + strings.TrimPrefix(err.Error(), "json: ")}
	case len(strict) > 0:
		return nil, nil, &BadRequestError{UID: uid, Msg: "cannot read the AdmissionReview: " + errors.Join(strict...).Error()}
	case review.APIVersion != reviewAPIVersion || review.Kind != reviewKind:
		return nil, nil, &BadRequestError{Msg: fmt.Sprintf("expected apiVersion %s, kind %s; got apiVersion %q, kind %q (set admissionReviewVersions: [v1])",
			reviewAPIVersion, reviewKind, review.APIVersion, review.Kind)}
	case r == nil:
		return nil, nil, &BadRequestError{Msg: "request: missing"}
	case r.UID == "":
		return nil, nil, &BadRequestError{Msg: "request.uid: missing"}
	case r.Kind == (metav1.GroupVersionKind{}):
		return nil, nil, &BadRequestError{UID: uid, Msg: "request.kind: missing"}
	case r.Resource == (metav1.GroupVersionResource{}):
		return nil, nil, &BadRequestError{UID: uid, Msg: "request.resource: missing"}
	case r.Operation == "":
		return nil, nil, &BadRequestError{UID: uid, Msg: "request.operation: missing"}
	}
	r.Object.Raw = object
	return r, meta, nil
}

// cutObject validates a review, finds request.object in it (as the
// decoder would: field names compared exactly, after unescaping) and reads
// the object's metadata, in one pass. envelope is the review with the
// object replaced by null.
func cutObject(body []byte) (envelope, object []byte, meta *ObjectMeta, err error) {
	start, end := -1, -1
	s := nodejson.NewScanner(body)
	err = s.Object(func(key string) error {
		if key != "request" || s.Peek() != '{' {
			_, err := s.Skip()
			return err // a second request is the decoder's to report
		}
		return s.Object(func(key string) error {
			if key != "object" {
				_, err := s.Skip()
				return err
			}
			if start >= 0 {
				return errors.New(`duplicate field "request.object"`)
			}
			start = s.Pos()
			var err error
			meta, err = readObjectMeta(s)
			end = s.Pos()
			return err
		})
	})
	if err == nil {
		err = s.End()
	}
	if err != nil || start < 0 {
		return body, nil, nil, err
	}
	object = bytes.TrimRight(body[start:end], " \t\r\n,")
	envelope = make([]byte, 0, len(body)-len(object)+len("null"))
	envelope = append(append(append(envelope, body[:start]...), "null"...), body[start+len(object):]...)
	if string(object) == "null" {
		object = nil // as a RawExtension reads it
	}
	return envelope, object, meta, nil
}

// isNotObject reports a body that is not a JSON object, whatever else is
// wrong with it.
func isNotObject(body []byte) bool {
	b := bytes.TrimLeft(body, " \t\r\n")
	return len(b) > 0 && b[0] != '{'
}

// readBroken reads a body that is not valid JSON token by token up to the
// error, for request.uid, so that a review broken after its UID is still
// answered with it (the API server discards an answer without it), and for
// the path of the value where the error is.
func readBroken(body []byte) (uid, path string) {
	type level struct {
		object, wantKey bool
		key             string
		index           int
	}
	var stack []level
	valueDone := func() {
		if n := len(stack); n > 0 {
			stack[n-1].wantKey = stack[n-1].object
			stack[n-1].index++
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := dec.Token()
		if err != nil {
			var b strings.Builder
			for i, l := range stack {
				switch {
				case !l.object:
					fmt.Fprintf(&b, "[%d]", l.index)
				case l.wantKey && i == len(stack)-1:
				default:
					if b.Len() > 0 {
						b.WriteByte('.')
					}
					b.WriteString(l.key)
				}
			}
			return uid, b.String()
		}
		n := len(stack)
		switch tok {
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:n-1]
			valueDone()
			continue
		}
		if n > 0 && stack[n-1].wantKey {
			stack[n-1].key, _ = tok.(string)
			stack[n-1].wantKey = false
			continue
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, level{object: true, wantKey: true})
		case json.Delim('['):
			stack = append(stack, level{})
		default:
			if s, ok := tok.(string); ok && n == 2 && uid == "" && stack[0].key == "request" && stack[1].key == "uid" {
				uid = s
			}
			valueDone()
		}
	}
}

// readObjectMeta reads the object, validating it, and its metadata (and
// the number of its containers) on the way. It returns nil if the object
// is not a JSON object.
func readObjectMeta(s *nodejson.Scanner) (*ObjectMeta, error) {
	if s.Peek() != '{' {
		_, err := s.Skip()
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
		case "spec":
			if s.Peek() != '{' {
				_, err := s.Skip()
				return err
			}
			return s.Object(func(key string) error {
				items, err := s.SkipItems()
				if key == "containers" || key == "initContainers" {
					m.Containers += items
				}
				return err
			})
		case "metadata":
			if seenMeta {
				m.OK = false
			}
			seenMeta = true
			if s.Null() {
				return nil
			}
		default:
			_, err := s.Skip()
			return err
		}
		if s.Peek() != '{' {
			m.OK = false
			_, err := s.Skip()
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
					_, err := s.Skip()
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
				_, err := s.Skip()
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
