package transformer

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	strictjson "sigs.k8s.io/json"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// A fingerprint identifies an injected item by its meaning: the status
// records one per item, and upgrade and uninject remove an item only if
// the pod still holds it unchanged. It must not change when an item merely
// travels: through kustomize or kpt (key order, quoting, flow style), or
// through the API server, which decodes the item into its Go type (dropping
// empty and false fields, canonicalizing quantities such as 0.5 -> 500m) and
// fills in defaults (terminationMessagePath, imagePullPolicy, a volume's
// defaultMode...). So the fingerprint hashes the item as the API server
// would store it: decoded into its k8s.io/api type, defaulted as in
// Kubernetes 1.36 (pkg/apis/core/v1/defaults.go and the types' +default
// markers), and encoded as JSON.
//
// It is not a signature: anyone can compute it. It tells whether a status
// describes the pod it is on; it cannot stop an author who forges both the
// status and the items, who could as well edit the pod (docs/security.md).

// fingerprintLen is the number of hex digits kept: 48 bits, against
// accidental matches only (see above).
const fingerprintLen = 12

// itemKind names what an item is, for fingerprints and messages.
type itemKind string

const (
	kindContainer  itemKind = "container"
	kindVolume     itemKind = "volume"
	kindPullSecret itemKind = "image pull secret"
	kindEnv        itemKind = "env var"
	kindMount      itemKind = "volume mount"
	kindAnnotation itemKind = "annotation"
	kindLabel      itemKind = "label"
)

// fingerprintPair fingerprints an annotation or a label.
func fingerprintPair(kind itemKind, key, value string) string {
	return hashFingerprint(kind, []byte(key+"\x00"+value))
}

// fingerprintItem fingerprints a list item as the API server would store it.
func fingerprintItem(kind itemKind, n *yaml.Node) (string, error) {
	canon, err := canonicalItem(kind, n)
	if err != nil {
		return "", err
	}
	return hashFingerprint(kind, canon), nil
}

func hashFingerprint(kind itemKind, canon []byte) string {
	h := sha256.New()
	h.Write([]byte("sidecar-injector/v1 "))
	h.Write([]byte(kind))
	h.Write([]byte{0})
	h.Write(canon)
	return hex.EncodeToString(h.Sum(nil))[:fingerprintLen]
}

// newItem returns a new value of the Kubernetes type of an item kind, or
// nil for the kinds that are no object (annotations, labels).
func newItem(kind itemKind) any {
	switch kind {
	case kindContainer:
		return &corev1.Container{}
	case kindVolume:
		return &corev1.Volume{}
	case kindPullSecret:
		return &corev1.LocalObjectReference{}
	case kindEnv:
		return &corev1.EnvVar{}
	case kindMount:
		return &corev1.VolumeMount{}
	}
	return nil
}

// canonicalItem returns the item as the API server would store it, as JSON.
func canonicalItem(kind itemKind, n *yaml.Node) ([]byte, error) {
	raw, err := yaml.NewRNode(n).MarshalJSON()
	if err != nil {
		return nil, err
	}
	v := newItem(kind)
	if v == nil {
		return nil, fmt.Errorf("no fingerprint for a %s", kind)
	}
	if err := strictjson.UnmarshalCaseSensitivePreserveInts(raw, v); err != nil {
		return nil, fmt.Errorf("not a valid %s: %v", kind, err)
	}
	switch v := v.(type) {
	case *corev1.Container:
		defaultContainer(v)
	case *corev1.Volume:
		defaultVolume(v)
	case *corev1.EnvVar:
		defaultEnvVar(v)
	}
	return json.Marshal(v)
}

// canonicalTree is canonicalItem as a node, to compare items the API server
// returns with the config's without hashing them.
func canonicalTree(kind itemKind, n *yaml.Node) (*yaml.Node, error) {
	canon, err := canonicalItem(kind, n)
	if err != nil {
		return nil, err
	}
	rn, err := yaml.Parse(string(canon))
	if err != nil {
		return nil, err
	}
	return rn.YNode(), nil
}

// imageTag returns the tag of an image reference as the kubelet's parser
// does: "latest" when there is neither a tag nor a digest.
func imageTag(image string) string {
	name, _, hasDigest := strings.Cut(image, "@")
	tag := ""
	if i := strings.LastIndexByte(name, ':'); i > strings.LastIndexByte(name, '/') {
		tag = name[i+1:]
	}
	if tag == "" && !hasDigest {
		return "latest"
	}
	return tag
}

// fingerprint computes the prints of every item the sets define. Items that
// two sets share are identical (validation checks it), so one print each.
func (p *configParser) fingerprint() {
	c := p.cfg
	c.prints = map[itemRef]*itemPrint{}
	add := func(setField, list string, kind itemKind, key string, items []*yaml.Node) {
		for i, n := range items {
			ref := itemRef{kind, scalarString(mapGet(n, key))}
			if c.prints[ref] != nil {
				continue
			}
			canon, err := canonicalTree(kind, n)
			if err != nil { // validation decoded every item into its type already
				p.errorf(joinField(setField, fmt.Sprintf("%s[%d]", list, i)), "%v", err)
				continue
			}
			fp, _ := fingerprintItem(kind, n)
			c.prints[ref] = &itemPrint{node: n, canon: canon, fp: fp}
		}
	}
	for i, s := range c.Sets {
		f := p.setFields[i]
		add(f, "containers", kindContainer, "name", s.Containers)
		add(f, "initContainers", kindContainer, "name", s.InitContainers)
		add(f, "volumes", kindVolume, "name", s.Volumes)
		add(f, "imagePullSecrets", kindPullSecret, "name", s.ImagePullSecrets)
		add(f, "env", kindEnv, "name", s.Env)
		add(f, "volumeMounts", kindMount, "mountPath", s.VolumeMounts)
		for _, kv := range s.Annotations {
			c.prints[itemRef{kindAnnotation, kv.Key}] = &itemPrint{fp: fingerprintPair(kindAnnotation, kv.Key, kv.Value)}
		}
		for _, kv := range s.Labels {
			c.prints[itemRef{kindLabel, kv.Key}] = &itemPrint{fp: fingerprintPair(kindLabel, kv.Key, kv.Value)}
		}
	}
}

// print returns the fingerprint of an item the config defines.
func (c *Config) print(kind itemKind, name string) string {
	if p := c.prints[itemRef{kind, name}]; p != nil {
		return p.fp
	}
	return ""
}
