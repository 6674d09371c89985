package transformer

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
)

// Status is the JSON value of <prefix>/status: exactly what an injection
// added, so that it can be upgraded or removed without guessing.
type Status struct {
	Sets             []string            `json:"sets"`
	Digest           string              `json:"digest"`
	Containers       []string            `json:"containers,omitempty"`
	InitContainers   []string            `json:"initContainers,omitempty"`
	Volumes          []string            `json:"volumes,omitempty"`
	ImagePullSecrets []string            `json:"imagePullSecrets,omitempty"`
	Env              map[string][]string `json:"env,omitempty"`          // app container -> variable names
	VolumeMounts     map[string][]string `json:"volumeMounts,omitempty"` // app container -> mount paths
	Annotations      []string            `json:"annotations,omitempty"`
	Labels           []string            `json:"labels,omitempty"`
	// Keep records fields that existed but were empty before injection
	// (`volumes: []`, `annotations: {}`, `env: null`), with their original
	// form, so that uninject restores them instead of deleting them.
	Keep map[string]string `json:"keep,omitempty"`
}

// legacyStatus is the value the seeds' tutorial webhook writes.
const legacyStatus = "injected"

// ParseStatus reads a status annotation value.
func ParseStatus(value string) (*Status, error) {
	var s Status
	dec := json.NewDecoder(bytes.NewReader([]byte(value)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, err
	}
	return &s, nil
}

func (s *Status) String() string {
	b, err := json.Marshal(s)
	if err != nil { // cannot happen: only strings, lists and maps of strings
		panic(err)
	}
	return string(b)
}

// Digest identifies the content of a list of sets. It covers only what the
// sets inject, so unrelated config changes do not touch injected workloads.
func Digest(sets []*SidecarSet) string {
	h := sha256.New()
	for _, s := range sets {
		h.Write([]byte(s.Name))
		h.Write([]byte{0})
		h.Write([]byte(s.digest))
		h.Write([]byte{'\n'})
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))[:16]
}

func (s *Status) addTo(m *map[string][]string, container, item string) {
	if *m == nil {
		*m = map[string][]string{}
	}
	(*m)[container] = append((*m)[container], item)
}
