package transformer

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"regexp"
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Status is the JSON value of <prefix>/status: exactly what an injection
// added, each item with its fingerprint, so that it can be upgraded or
// removed without guessing, and only while the pod still holds it.
type Status struct {
	Sets             []string         `json:"sets"`
	Digest           string           `json:"digest"`
	Containers       Items            `json:"containers,omitempty"`
	InitContainers   Items            `json:"initContainers,omitempty"`
	Volumes          Items            `json:"volumes,omitempty"`
	ImagePullSecrets Items            `json:"imagePullSecrets,omitempty"`
	Env              map[string]Items `json:"env,omitempty"`          // app container -> variable -> fingerprint
	VolumeMounts     map[string]Items `json:"volumeMounts,omitempty"` // app container -> mount path -> fingerprint
	Annotations      Items            `json:"annotations,omitempty"`
	Labels           Items            `json:"labels,omitempty"`
	// Parameters records the value each parameter of the sets got, by
	// set.parameter: for the reader (check, report); the digest covers
	// them, and the items hold them.
	Parameters map[string]string `json:"parameters,omitempty"`
	// Keep records fields that existed but were empty before injection
	// (`volumes: []`, `annotations: {}`, `env: null`), with their original
	// form, so that uninject restores them instead of deleting them; and
	// fields that were a YAML alias ("*name") or inherited through a merge
	// key ("<<") before injection wrote them out (see anchors.go).
	Keep map[string]string `json:"keep,omitempty"`
}

// Items maps the name of each injected item (a mount's path, an
// annotation's key) to its fingerprint. Statuses written before
// fingerprints existed list names only; their fingerprints read as "".
type Items map[string]string

// UnmarshalJSON reads a map of names to fingerprints, or a list of names
// (statuses written by sidecar-injector before fingerprints).
func (it *Items) UnmarshalJSON(b []byte) error {
	var names []string
	if len(b) > 0 && b[0] == '[' {
		if err := json.Unmarshal(b, &names); err != nil {
			return err
		}
		*it = make(Items, len(names))
		for _, n := range names {
			(*it)[n] = ""
		}
		return nil
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*it = m
	return nil
}

// add records an item; a nil map is made on first use.
func (it *Items) add(name, fp string) {
	if *it == nil {
		*it = Items{}
	}
	(*it)[name] = fp
}

// sorted returns the names in order, for stable messages.
func (it Items) sorted() []string {
	names := make([]string, 0, len(it))
	for n := range it {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// legacyStatus is the value the tutorial's webhook writes.
const legacyStatus = "injected"

// keepLiterals are the only literals Keep may restore: an emptied
// collection goes back to how it was written, never to anything else.
var keepLiterals = []string{"[]", "{}", "null", "~", ""}

// keepForm matches the other values Keep may hold: how a field that
// injection wrote out was written, as an alias ("*name") or inherited
// through a merge key ("<<"). Settle gives a form back only when the field
// means the same with it (anchors.go).
var keepForm = regexp.MustCompile(`^(<<|\*[^\s,\[\]{}]+)$`)

// rootPath matches the other fields Keep may name, for forms only: a field
// of the workload, from its root after a "/" (`/spec.selector.matchLabels`).
var rootPath = regexp.MustCompile(`^/[A-Za-z0-9_-]+(\[name=[^\]]+\])?(\.[A-Za-z0-9_-]+(\[name=[^\]]+\])?)*$`)

// keepPath matches the fields Keep may name: the fields injection edits.
var keepPath = regexp.MustCompile(`^(metadata|metadata\.annotations|metadata\.labels|spec|spec\.(containers|initContainers|volumes|imagePullSecrets)|spec\.(containers|initContainers)\[name=[^\]]+\](\.(env|volumeMounts))?)$`)

// ParseStatus reads a status annotation value. Anything but a status that
// sidecar-injector could have written is an error: a status is input, and
// may be hand-edited, copied from another workload, or forged.
func ParseStatus(value string) (*Status, error) {
	var s Status
	dec := json.NewDecoder(bytes.NewReader([]byte(value)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("extra data after the status")
	}
	for key, v := range s.Parameters {
		switch {
		case !paramKey.MatchString(key):
			return nil, fmt.Errorf("parameters: %q is not SET.PARAMETER", key)
		case len(v) > maxParamValue || !utf8.ValidString(v) || strings.IndexFunc(v, func(r rune) bool { return !unicode.IsGraphic(r) }) >= 0:
			return nil, fmt.Errorf("parameters: %q: not a value a parameter takes", key)
		}
	}
	for path, lit := range s.Keep {
		switch {
		case keepForm.MatchString(lit) && (keepPath.MatchString(path) || rootPath.MatchString(path)):
		case !keepPath.MatchString(path):
			return nil, fmt.Errorf("keep: %q is not a field the injector edits", path)
		case !slices.Contains(keepLiterals, lit):
			return nil, fmt.Errorf("keep: %q: %q is not an empty value, a YAML alias or a merge key", path, lit)
		}
	}
	return &s, nil
}

func (s *Status) String() string {
	b, err := json.Marshal(s)
	if err != nil { // cannot happen: only strings, lists and maps of strings
		panic(err)
	}
	// json.Marshal writes < as \u003c: keep "<<" (a merge key in keep) readable.
	if escaped := []byte(`"\u003c\u003c"`); bytes.Contains(b, escaped) {
		b = bytes.ReplaceAll(b, escaped, []byte(`"<<"`))
	}
	return string(b)
}

// podList is one of a status's lists of pod-level items, named by the
// pod field its items sit in.
type podList struct {
	field string
	items Items
}

// podLists returns the status's pod-level lists; Env and VolumeMounts,
// kept per app container, are not among them.
func (s *Status) podLists() [6]podList {
	return [6]podList{
		{"containers", s.Containers},
		{"initContainers", s.InitContainers},
		{"volumes", s.Volumes},
		{"imagePullSecrets", s.ImagePullSecrets},
		{"annotations", s.Annotations},
		{"labels", s.Labels},
	}
}

// allLists returns every list of items the status holds: the pod-level
// ones and those of each app container.
func (s *Status) allLists() iter.Seq[Items] {
	return func(yield func(Items) bool) {
		for _, l := range s.podLists() {
			if !yield(l.items) {
				return
			}
		}
		for _, m := range [...]map[string]Items{s.Env, s.VolumeMounts} {
			for _, it := range m {
				if !yield(it) {
					return
				}
			}
		}
	}
}

// size counts the items a status lists.
func (s *Status) size() int {
	n := 0
	for it := range s.allLists() {
		n += len(it)
	}
	return n
}

// empty reports whether the status lists no item at all.
func (s *Status) empty() bool { return s.size() == 0 }

// legacy reports whether any item lacks a fingerprint: the status was
// written before fingerprints, and inject rewrites it.
func (s *Status) legacy() bool {
	for it := range s.allLists() {
		for _, fp := range it {
			if fp == "" {
				return true
			}
		}
	}
	return false
}

// Digest identifies the content of a list of sets. It covers only what the
// sets inject, so unrelated config changes do not touch injected workloads.
func Digest(sets []*SidecarSet) string { return digestFor(sets, false) }

// digestFor is the digest of sets as a pod gets them: in a pod that runs
// to completion, a set that goes in natively there only is marked, so that
// changing its runToCompletion upgrades exactly those pods.
func digestFor(sets []*SidecarSet, completion bool) string {
	h := sha256.New()
	for _, s := range sets {
		h.Write([]byte(s.Name))
		h.Write([]byte{0})
		h.Write([]byte(s.digest))
		if s.completionNative(completion) {
			h.Write([]byte("\x00native"))
		}
		h.Write([]byte{'\n'})
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))[:16]
}

func addTo(m *map[string]Items, container, item, fp string) {
	if *m == nil {
		*m = map[string]Items{}
	}
	it := (*m)[container]
	it.add(item, fp)
	(*m)[container] = it
}

// names lists the sets for messages.
func names(sets []string) string { return strings.Join(sets, ", ") }
