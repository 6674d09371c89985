package transformer

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/util/validation"
	strictjson "sigs.k8s.io/json"
	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/sidecar-injector/sidecar-injector/api/v1alpha1"
)

const (
	// DefaultAnnotationPrefix prefixes <prefix>/inject and <prefix>/status.
	DefaultAnnotationPrefix = "sidecar-injector.io"

	// TutorialConfigKey is the ConfigMap key of the tutorial's webhook.
	TutorialConfigKey = "sidecarconfig.yaml"

	// DefaultSetName names the one set of a tutorial-style config.
	DefaultSetName = "default"
)

// Config is a loaded, validated and defaulted injector config.
type Config struct {
	Source           string // file path or "functionConfig", for messages
	AnnotationPrefix string
	Policy           v1alpha1.Policy
	Selector         v1alpha1.Selector
	OnConflict       v1alpha1.ConflictPolicy
	HelmHooks        v1alpha1.HookPolicy // see hooks.go
	CustomKinds      []v1alpha1.CustomKind
	Sets             []*SidecarSet
	// KubeVersion is the oldest Kubernetes the output must suit, as given
	// ("1.28"); empty: any that serves native sidecars (see completion.go).
	KubeVersion string
	// FunctionMode says what the KRM function does: inject, or validate.
	// The CLI and the webhook ignore it: their command says.
	FunctionMode v1alpha1.FunctionMode
	kube         kubeVersion
	// prints holds the fingerprint of every item the sets define.
	prints map[itemRef]*itemPrint
	// params: some set declares parameters; only then are <prefix>/<set>.*
	// annotations read, so that configs without them behave as before.
	params bool
}

// itemRef names an item a set defines: a container, a volume, an env var,
// a mount (by its path), an annotation or a label (by its key).
type itemRef struct {
	kind itemKind
	name string
}

// itemPrint is an item of the config with its fingerprint, and the item as
// the API server returns it, to recognise it without hashing.
type itemPrint struct {
	node, canon *yaml.Node
	fp          string
	// native is a container's print with restartPolicy: Always, as a set
	// that is not native injects it into pods that run to completion.
	native *itemPrint
}

// SidecarSet is one named set of things to inject. The item lists hold
// cleaned copies of the config's nodes; they are copied again per workload.
type SidecarSet struct {
	Name             string
	Default          bool
	Required         bool // injected into every selected workload, whatever it asks
	Native           bool
	RunToCompletion  v1alpha1.RunToCompletion // in pods that run to completion (completion.go)
	Position         v1alpha1.Position
	Containers       []*yaml.Node // native sets: already carry restartPolicy: Always
	InitContainers   []*yaml.Node
	Volumes          []*yaml.Node
	ImagePullSecrets []*yaml.Node
	VolumeMounts     []*yaml.Node
	Env              []*yaml.Node
	Annotations      []keyValue
	Labels           []keyValue
	// Parameters are the values workloads may set (params.go); the items
	// above hold their defaults.
	Parameters []*Parameter
	digest     string
	paramDocs  []*v1alpha1.Parameter
	// values and prints are set on a set resolved for one workload: the
	// values its parameters got, and the prints of the items they changed.
	values []paramValue
	prints map[itemRef]*itemPrint
	// nativeContainers are Containers with restartPolicy: Always, for a
	// set that is not native, in pods that run to completion.
	nativeContainers []*yaml.Node
}

type keyValue struct{ Key, Value string }

// InjectAnnotation is the annotation a workload asks with.
func (c *Config) InjectAnnotation() string { return c.AnnotationPrefix + "/inject" }

// StatusAnnotation is the annotation that records an injection.
func (c *Config) StatusAnnotation() string { return c.AnnotationPrefix + "/status" }

// SetAnnotationPrefix overrides the config's prefix (the CLI's
// --annotation-prefix, so the tutorial's ConfigMap works with their annotations).
func (c *Config) SetAnnotationPrefix(prefix string) error {
	if msgs := validation.IsDNS1123Subdomain(prefix); len(msgs) > 0 {
		return fmt.Errorf("%q is not a valid annotation prefix: %s", prefix, strings.Join(msgs, "; "))
	}
	for _, s := range c.Sets {
		for _, kv := range slices.Concat(s.Annotations, s.Labels) {
			if kv.Key == prefix+"/inject" || kv.Key == prefix+"/status" {
				return fmt.Errorf("set %q adds %s, which this prefix reserves", s.Name, kv.Key)
			}
		}
	}
	c.AnnotationPrefix = prefix
	return nil
}

// Set returns the set with the given name, or nil.
func (c *Config) Set(name string) *SidecarSet {
	if i := slices.IndexFunc(c.Sets, func(s *SidecarSet) bool { return s.Name == name }); i >= 0 {
		return c.Sets[i]
	}
	return nil
}

// DefaultSets returns the sets marked default, in config order.
func (c *Config) DefaultSets() []*SidecarSet {
	return c.setsWhere(func(s *SidecarSet) bool { return s.Default })
}

// RequiredSets returns the sets marked required, in config order.
func (c *Config) RequiredSets() []*SidecarSet {
	return c.setsWhere(func(s *SidecarSet) bool { return s.Required })
}

func (c *Config) setsWhere(keep func(*SidecarSet) bool) []*SidecarSet {
	var out []*SidecarSet
	for _, s := range c.Sets {
		if keep(s) {
			out = append(out, s)
		}
	}
	return out
}

// defines reports whether a set of the config defines an item.
func (c *Config) defines(kind itemKind, name string) bool {
	if kind == kindAnnotation && name == DefaultContainerAnnotation {
		return slices.ContainsFunc(c.Sets, func(s *SidecarSet) bool { return s.Position == v1alpha1.PositionFirst })
	}
	return c.prints[itemRef{kind, name}] != nil
}

// definesContainer reports whether a set defines a container of that name
// (the pod's other containers are the app's).
func (c *Config) definesContainer(name string) bool { return c.defines(kindContainer, name) }

// SetNames lists the configured sets' names, in config order.
func (c *Config) SetNames() []string { return setNames(c.Sets) }

// LoadConfig parses a config file: a SidecarInjector, the tutorial's ConfigMap
// (data key sidecarconfig.yaml) or the tutorial's bare containers:/volumes: file.
func LoadConfig(data []byte, source string) (*Config, error) {
	if !utf8.Valid(data) {
		return nil, &ConfigError{Source: source, Msg: "not valid UTF-8"}
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
		return nil, &ConfigError{Source: source, Msg: "is empty: expected kind SidecarInjector or a ConfigMap with data." + TutorialConfigKey}
	} else if err != nil {
		return nil, &ConfigError{Source: source, Msg: "invalid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil && !yaml.IsYNodeEmptyDoc(&extra) {
		return nil, &ConfigError{Source: source, Msg: "holds more than one YAML document; give one config"}
	}
	return parseConfig(yaml.NewRNode(&doc), source, true)
}

// ParseConfig builds a Config from a parsed config resource, such as a KRM
// function's functionConfig. Its errors carry no line numbers: the node's
// positions are those of whatever document held it.
func ParseConfig(rn *yaml.RNode, source string) (*Config, error) {
	return parseConfig(rn, source, false)
}

func parseConfig(rn *yaml.RNode, source string, lines bool) (*Config, error) {
	obj := rn.YNode()
	if obj != nil && obj.Kind == yaml.DocumentNode && len(obj.Content) > 0 {
		obj = obj.Content[0]
	}
	if obj == nil || isNull(obj) {
		return nil, &ConfigError{Source: source, Msg: "is empty: expected kind SidecarInjector or a ConfigMap with data." + TutorialConfigKey}
	}
	if obj.Kind != yaml.MappingNode {
		return nil, &ConfigError{Source: source, Msg: "expected a map, got " + describe(obj)}
	}
	if usesAnchors(obj) {
		// Items are copied into workloads: their aliases must be expanded,
		// in a private tree (expanding in place would change the caller's).
		expanded, err := expandAliases(obj)
		if err != nil {
			return nil, &ConfigError{Source: source, Msg: err.Error()}
		}
		obj, lines = expanded, false // positions of the re-parsed text
	}
	p := &configParser{source: source, cfg: &Config{Source: source}, root: obj, lines: lines}
	kind := scalarString(mapGet(obj, "kind"))
	switch {
	case kind == v1alpha1.Kind:
		p.parseInjector(obj)
	case kind == "ConfigMap":
		p.parseConfigMap(obj)
	case kind == "" && (mapHas(obj, "containers") || mapHas(obj, "volumes")):
		p.parseTutorial(obj)
	default:
		p.errorf("kind", "expected %s (apiVersion %s) or a ConfigMap with data.%s, got %q", v1alpha1.Kind, v1alpha1.APIVersion, TutorialConfigKey, kind)
	}
	if len(p.errs) == 0 {
		p.defaultAndValidate()
	}
	if len(p.errs) == 0 {
		p.fingerprint()
		p.fingerprintNative()
	}
	if err := p.errs.ErrOrNil(); err != nil {
		return nil, err
	}
	return p.cfg, nil
}

type configParser struct {
	source    string
	cfg       *Config
	errs      Errors
	settings  string   // where the settings live: "spec." or "data."
	setFields []string // field path of each parsed set, for messages
	root      *yaml.Node
	// inner is the YAML inside a ConfigMap's data["sidecarconfig.yaml"];
	// innerLine is the line before its first one in the file (0: unknown).
	inner     *yaml.Node
	innerLine int
	lines     bool // positions are lines of the source file
}

const innerField = `data["` + TutorialConfigKey + `"]`

// errorf records an error about a field, completing its path and finding
// its line in the config file.
func (p *configParser) errorf(field, format string, args ...any) {
	e := &ConfigError{Source: p.source, Field: field, Msg: fmt.Sprintf(format, args...)}
	root, rel, offset := p.root, field, 0
	if p.inner != nil && strings.HasPrefix(field, innerField) {
		root, rel, offset = p.inner, strings.TrimPrefix(field, innerField), p.innerLine
	}
	if root != nil && field != "" {
		fixed, n := locate(root, rel)
		if root == p.inner {
			fixed = joinField(innerField, fixed)
		}
		e.Field = fixed
		if p.lines && n != nil && n.Line > 0 && (root == p.root || offset > 0) {
			e.Line = n.Line + offset
		}
	}
	p.errs = append(p.errs, e)
}

// The config is decoded strictly into the API types (package v1alpha1), so
// that it accepts exactly the fields they declare, but for the item lists:
// a field of the outer struct hides the embedded field of the same JSON name,
// so those stay raw here and each item is decoded on its own (addSet), for
// errors that carry the item's index and for the set's digest.
type injectorDoc struct {
	v1alpha1.SidecarInjector
	Metadata json.RawMessage `json:"metadata,omitempty"` // the pipeline's; not read
	Spec     *specDoc        `json:"spec"`
}

type specDoc struct {
	v1alpha1.SidecarInjectorSpec
	Sidecars []json.RawMessage `json:"sidecars"`
}

type setDoc struct {
	v1alpha1.SidecarSet
	Containers       []json.RawMessage `json:"containers,omitempty"`
	InitContainers   []json.RawMessage `json:"initContainers,omitempty"`
	Volumes          []json.RawMessage `json:"volumes,omitempty"`
	ImagePullSecrets []json.RawMessage `json:"imagePullSecrets,omitempty"`
	VolumeMounts     []json.RawMessage `json:"volumeMounts,omitempty"`
	Env              []json.RawMessage `json:"env,omitempty"`
	Parameters       []json.RawMessage `json:"parameters,omitempty"`
}

// digest is the sha256 of what the set injects, as JSON in this layout:
// statuses record it, so the layout never changes (a change would upgrade
// every workload). How the set is asked for (name, default, required), what
// it does in pods that run to completion (in their digest only, digestFor)
// and its parameters (in the digest of a set resolved for a workload, by
// the values they give: params.go) are left out, so changing those alone
// upgrades nothing.
func (sd *setDoc) digest() string {
	return digestOf(struct {
		Native           bool              `json:"native,omitempty"`
		Position         v1alpha1.Position `json:"position,omitempty"`
		Containers       []json.RawMessage `json:"containers,omitempty"`
		InitContainers   []json.RawMessage `json:"initContainers,omitempty"`
		Volumes          []json.RawMessage `json:"volumes,omitempty"`
		ImagePullSecrets []json.RawMessage `json:"imagePullSecrets,omitempty"`
		VolumeMounts     []json.RawMessage `json:"volumeMounts,omitempty"`
		Env              []json.RawMessage `json:"env,omitempty"`
		Annotations      map[string]string `json:"annotations,omitempty"`
		Labels           map[string]string `json:"labels,omitempty"`
	}{sd.Native, sd.Position, sd.Containers, sd.InitContainers, sd.Volumes, sd.ImagePullSecrets,
		sd.VolumeMounts, sd.Env, sd.Annotations, sd.Labels})
}

// tutorialData is the ConfigMap form: the tutorial's key plus optional settings.
type tutorialData struct {
	SidecarConfig    *string                 `json:"sidecarconfig.yaml"`
	AnnotationPrefix string                  `json:"annotationPrefix,omitempty"`
	Policy           v1alpha1.Policy         `json:"policy,omitempty"`
	OnConflict       v1alpha1.ConflictPolicy `json:"onConflict,omitempty"`
	KubeVersion      string                  `json:"kubeVersion,omitempty"`
	FunctionMode     v1alpha1.FunctionMode   `json:"functionMode,omitempty"`
	HelmHooks        v1alpha1.HookPolicy     `json:"helmHooks,omitempty"`
}

func (p *configParser) parseInjector(obj *yaml.Node) {
	p.settings = "spec."
	var doc injectorDoc
	if !p.decode("", obj, &doc) {
		return
	}
	if doc.APIVersion != v1alpha1.APIVersion {
		p.errorf("apiVersion", "expected %s, got %q", v1alpha1.APIVersion, doc.APIVersion)
		return
	}
	if doc.Spec == nil {
		p.errorf("spec", "missing")
		return
	}
	s := doc.Spec
	p.cfg.AnnotationPrefix, p.cfg.Policy, p.cfg.OnConflict = s.AnnotationPrefix, s.Policy, s.OnConflict
	p.cfg.Selector, p.cfg.CustomKinds, p.cfg.HelmHooks = s.Selector, s.CustomKinds, s.HelmHooks
	p.cfg.KubeVersion, p.cfg.FunctionMode = s.KubeVersion, s.FunctionMode
	sidecars := mapGet(mapGet(obj, "spec"), "sidecars")
	if sidecars == nil || len(s.Sidecars) == 0 {
		p.errorf("spec.sidecars", "list at least one sidecar set")
		return
	}
	for i, raw := range s.Sidecars {
		field := fmt.Sprintf("spec.sidecars[%d]", i)
		var sd setDoc
		if !p.decodeRaw(field, raw, &sd) {
			continue
		}
		p.addSet(field, sidecars.Content[i], &sd)
	}
}

func (p *configParser) parseConfigMap(obj *yaml.Node) {
	p.settings = "data."
	dataNode := mapGet(obj, "data")
	var data tutorialData
	if dataNode == nil || !p.decode("data", dataNode, &data) {
		if dataNode == nil {
			p.errorf("data", "missing: a ConfigMap config holds data.%s", TutorialConfigKey)
		}
		return
	}
	if data.SidecarConfig == nil {
		p.errorf("data", "missing key %q", TutorialConfigKey)
		return
	}
	p.cfg.AnnotationPrefix, p.cfg.Policy, p.cfg.OnConflict = data.AnnotationPrefix, data.Policy, data.OnConflict
	p.cfg.KubeVersion, p.cfg.FunctionMode = data.KubeVersion, data.FunctionMode
	p.cfg.HelmHooks = data.HelmHooks
	field := innerField
	var inner yaml.Node
	if err := yaml.Unmarshal([]byte(*data.SidecarConfig), &inner); err != nil {
		p.errorf(field, "invalid YAML: %v", err)
		return
	}
	if len(inner.Content) == 0 || inner.Content[0].Kind != yaml.MappingNode {
		p.errorf(field, "expected a map with containers: and volumes:")
		return
	}
	p.inner = inner.Content[0]
	if usesAnchors(p.inner) {
		expanded, err := expandAliases(p.inner)
		if err != nil {
			p.errorf(field, "%v", err)
			return
		}
		p.inner, p.innerLine = expanded, 0
	}
	if v := mapGet(dataNode, TutorialConfigKey); v.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		p.innerLine = v.Line
	}
	p.parseTutorialSet(field, p.inner)
}

func (p *configParser) parseTutorial(obj *yaml.Node) {
	p.parseTutorialSet("", obj)
}

func (p *configParser) parseTutorialSet(field string, obj *yaml.Node) {
	var sd setDoc
	if !p.decode(field, obj, &sd) {
		return
	}
	if sd.Name == "" {
		sd.Name = DefaultSetName
	}
	sd.Default = true
	p.addSet(field, obj, &sd)
}

// addSet checks every item of a set against its Kubernetes type and keeps
// cleaned copies of the config's nodes.
func (p *configParser) addSet(field string, node *yaml.Node, sd *setDoc) {
	set := &SidecarSet{Name: sd.Name, Default: sd.Default, Required: sd.Required, Native: sd.Native, RunToCompletion: sd.RunToCompletion, Position: sd.Position,
		Annotations: sortedPairs(sd.Annotations), Labels: sortedPairs(sd.Labels)}
	lists := []struct {
		key  string
		raws []json.RawMessage
		kind itemKind
		dst  *[]*yaml.Node
	}{
		{"containers", sd.Containers, kindContainer, &set.Containers},
		{"initContainers", sd.InitContainers, kindContainer, &set.InitContainers},
		{"volumes", sd.Volumes, kindVolume, &set.Volumes},
		{"imagePullSecrets", sd.ImagePullSecrets, kindPullSecret, &set.ImagePullSecrets},
		{"volumeMounts", sd.VolumeMounts, kindMount, &set.VolumeMounts},
		{"env", sd.Env, kindEnv, &set.Env},
	}
	ok := true
	for _, l := range lists {
		seq := mapGet(node, l.key)
		for i, raw := range l.raws {
			itemField := joinField(field, fmt.Sprintf("%s[%d]", l.key, i))
			v := newItem(l.kind)
			if !p.decodeRaw(itemField, raw, v) {
				ok = false
				continue
			}
			item := copyNode(seq.Content[i])
			cleanNode(item)
			*l.dst = append(*l.dst, item)
		}
	}
	for i, raw := range sd.Parameters {
		var pd v1alpha1.Parameter
		if !p.decodeRaw(joinField(field, fmt.Sprintf("parameters[%d]", i)), raw, &pd) {
			ok = false
			continue
		}
		set.paramDocs = append(set.paramDocs, &pd)
	}
	if !ok {
		return
	}
	set.digest = sd.digest()
	p.cfg.Sets = append(p.cfg.Sets, set)
	p.setFields = append(p.setFields, field)
}

func sortedPairs(m map[string]string) []keyValue {
	out := make([]keyValue, 0, len(m))
	for k, v := range m {
		out = append(out, keyValue{k, v})
	}
	// map order is random; a stable order keeps output and digests stable
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].Key < out[j-1].Key; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func digestOf(v any) string {
	b, err := json.Marshal(v)
	if err != nil { // cannot happen: v was just decoded from JSON
		panic(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// decode strictly decodes a YAML node into v through JSON.
func (p *configParser) decode(field string, n *yaml.Node, v any) bool {
	raw, err := yaml.NewRNode(n).MarshalJSON()
	if err != nil {
		p.errorf(field, "cannot read: %v", err)
		return false
	}
	return p.decodeRaw(field, raw, v)
}

var unknownField = regexp.MustCompile(`^(unknown|duplicate) field "(.*)"$`)

// decodeRaw strictly decodes JSON into v, turning the decoder's messages
// into errors that name the field.
func (p *configParser) decodeRaw(field string, raw []byte, v any) bool {
	strictErrs, err := strictjson.UnmarshalStrict(raw, v)
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &typeErr):
		p.errorf(joinField(field, typeErr.Field), "expected %s, got %s", typeName(typeErr.Type), jsonValueName(typeErr.Value))
		return false
	case err != nil:
		p.errorf(field, "%v", err)
		return false
	}
	for _, se := range strictErrs {
		if m := unknownField.FindStringSubmatch(se.Error()); m != nil {
			p.errorf(joinField(field, m[2]), "%s field", m[1])
		} else {
			p.errorf(field, "%v", se)
		}
	}
	return len(strictErrs) == 0
}

func joinField(prefix, rest string) string {
	switch {
	case prefix == "":
		return rest
	case rest == "":
		return prefix
	case strings.HasPrefix(rest, "["):
		return prefix + rest
	}
	return prefix + "." + rest
}

func typeName(t reflect.Type) string {
	if t == reflect.TypeOf(json.RawMessage{}) {
		return "a value"
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Struct, reflect.Map:
		return "a map"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Pointer:
		return typeName(t.Elem())
	}
	return t.String()
}

func jsonValueName(v string) string {
	switch {
	case v == "object":
		return "a map"
	case v == "array":
		return "a list"
	case v == "string":
		return "a string"
	case v == "bool":
		return "a boolean"
	case strings.HasPrefix(v, "number"):
		return strings.Replace(v, "number", "the number", 1)
	}
	return v
}

// defaultAndValidate fills defaults and checks what the types cannot.
func (p *configParser) defaultAndValidate() {
	c := p.cfg
	c.AnnotationPrefix = orDefault(c.AnnotationPrefix, DefaultAnnotationPrefix)
	c.Policy = v1alpha1.Policy(orDefault(string(c.Policy), string(v1alpha1.PolicyOptIn)))
	c.OnConflict = v1alpha1.ConflictPolicy(orDefault(string(c.OnConflict), string(v1alpha1.ConflictFail)))
	specField := func(f string) string { return p.settings + f }
	for _, msg := range validation.IsDNS1123Subdomain(c.AnnotationPrefix) {
		p.errorf(specField("annotationPrefix"), "%q is not a valid annotation prefix: %s", c.AnnotationPrefix, msg)
	}
	if c.Policy != v1alpha1.PolicyOptIn && c.Policy != v1alpha1.PolicyEnabled {
		p.errorf(specField("policy"), "expected %q or %q, got %q", v1alpha1.PolicyOptIn, v1alpha1.PolicyEnabled, c.Policy)
	}
	if c.OnConflict != v1alpha1.ConflictFail && c.OnConflict != v1alpha1.ConflictSkip && c.OnConflict != v1alpha1.ConflictReplace {
		p.errorf(specField("onConflict"), "expected %q, %q or %q, got %q", v1alpha1.ConflictFail, v1alpha1.ConflictSkip, v1alpha1.ConflictReplace, c.OnConflict)
	}
	p.defaultHooks()
	p.validateCustomKinds()
	p.validateSelector()
	p.validateSets()
	p.validateParams()
	p.validateCompletion()
	if c.Policy == v1alpha1.PolicyEnabled && len(c.DefaultSets()) == 0 && len(c.Sets) > 0 {
		p.errorf(specField("policy"), "policy %q injects the default sets, but no set has default: true", v1alpha1.PolicyEnabled)
	}
}

// expandAliases returns a copy of n with YAML aliases and merge keys
// expanded, refusing an alias bomb before expanding anything.
func expandAliases(n *yaml.Node) (*yaml.Node, error) {
	if expandedSize(n, maxExpandedNodes) > maxExpandedNodes {
		return nil, fmt.Errorf("YAML aliases expand to more than %d nodes; refusing to expand (alias bomb?)", maxExpandedNodes)
	}
	text, err := yaml.String(n)
	if err != nil {
		return nil, err
	}
	rn, err := yaml.Parse(text)
	if err != nil {
		return nil, err
	}
	if err := rn.DeAnchor(); err != nil {
		return nil, fmt.Errorf("cannot expand YAML aliases: %v", err)
	}
	return rn.YNode(), nil
}
