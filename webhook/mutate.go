package webhook

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/sidecar-injector/sidecar-injector/transformer"
	"github.com/sidecar-injector/sidecar-injector/webhook/internal/jsonpatch"
	"github.com/sidecar-injector/sidecar-injector/webhook/internal/nodejson"
)

// Admitter decides on one admission request. meta is the object's
// metadata, nil when the object is not a JSON object.
type Admitter interface {
	Admit(req *admissionv1.AdmissionRequest, meta *ObjectMeta) Decision
}

// Decision is a response plus what the logs and metrics need to know.
type Decision struct {
	Response
	// Action is what the engine did; empty when the request was denied.
	Action transformer.Action
	Reason transformer.SkipReason
	Sets   []string
	// Outdated lists, for a pod injected at build time with another config
	// (its status's digest is not the config's), the sets concerned:
	// configured set names, or "unconfigured" for any other.
	Outdated []string
	// Err says why the request was denied.
	Err error
	// HTTPStatus, when not 0, is the HTTP status to answer with instead of
	// 200: 400 for a pod that is not valid JSON, 503 when no valid config is
	// loaded. The API server then applies the webhook's failurePolicy.
	HTTPStatus int
	// Pod names the pod for logs: "namespace/name" or "namespace/generateName*".
	Pod string
}

// Mutator injects sidecars into pods on CREATE, with the engine configured
// as the webhook needs it: pods that carry a status annotation (injected at
// build time) are kept as they are, and the config's build-time selector is
// ignored, since the MutatingWebhookConfiguration selects namespaces.
type Mutator struct {
	// Injector returns the engine with the config in force, or nil when no
	// valid config has been loaded. It must have Admission set (see
	// NewInjector).
	Injector func() *transformer.Injector
}

// NewInjector returns the engine configured for admission.
func NewInjector(cfg *transformer.Config) *transformer.Injector {
	return &transformer.Injector{Config: cfg, Admission: true}
}

const warningPrefix = "sidecar-injector: "

// decoders keep the node slabs of pods between requests.
var decoders = sync.Pool{New: func() any { return new(nodejson.Decoder) }}

// Admit decides on a request. It never panics on bad input: every problem
// becomes a denial that says what is wrong.
func (m *Mutator) Admit(req *admissionv1.AdmissionRequest, meta *ObjectMeta) Decision {
	uid := string(req.UID)
	d := Decision{Response: Response{UID: uid, Allowed: true}}
	inj := m.Injector()
	if inj == nil {
		return Decision{Response: Errored(uid, 503, "sidecar-injector has no valid config loaded"), HTTPStatus: 503,
			Err: fmt.Errorf("no valid config loaded")}
	}
	if msg := unsupported(req); msg != "" {
		return denied(uid, 400, msg)
	}
	// The object is valid JSON: ParseReview validated it with the envelope.
	object := req.Object.Raw
	if object == nil {
		return denied(uid, 400, "request.object: missing")
	}
	if meta == nil {
		return denied(uid, 400, "request.object: expected an object")
	}
	if meta.APIVersion != "v1" || meta.Kind != "Pod" {
		return denied(uid, 400, fmt.Sprintf("request.object: expected apiVersion v1, kind Pod; got apiVersion %q, kind %q", meta.APIVersion, meta.Kind))
	}
	d.Pod = podName(req.Namespace, meta)
	origin := ""
	if meta.Name == "" && meta.GenerateName != "" {
		origin = "generateName " + meta.GenerateName
	}

	// Most pods are not concerned: decide from the annotations, and ask the
	// engine why on a tree of the metadata alone, so that reasons and
	// warnings are the engine's own.
	if meta.OK && !inj.Concerned(meta.Annotations) {
		r, err := inj.Apply(yaml.NewRNode(metaTree(meta, req.Namespace)), origin)
		if err != nil {
			return d.deny(err)
		}
		if r.Action == transformer.Skipped {
			return d.skipped(r)
		}
		// The engine wants to do more than Concerned said: let it see the
		// whole pod.
	}

	// The tree lives only as long as this call: its nodes go back to the
	// pool when the patch is made.
	dec := decoders.Get().(*nodejson.Decoder)
	defer decoders.Put(dec)
	root, err := dec.Decode(object)
	if err != nil {
		return malformed(uid, err)
	}
	if root.Kind != yaml.MappingNode {
		return denied(uid, 400, "request.object: expected an object")
	}
	r, err := inj.Apply(yaml.NewRNode(root), origin)
	if err != nil {
		return d.deny(err)
	}
	d.Action, d.Reason, d.Sets = r.Action, r.Reason, r.Sets
	d.Outdated = outdatedLabels(inj.Config, r.Outdated)
	d.Warnings = warnings(r)
	if !r.Action.Changed() {
		if r.Action == transformer.Skipped {
			return d.skipped(r)
		}
		return d
	}
	// The engine says which node it rewrote and what that node held: for a
	// pod, the root itself, so the original needs no second decode.
	from := r.Change.Original
	if r.Change.Node != root {
		if from, err = nodejson.Decode(object); err != nil {
			return denied(uid, 400, "request.object: "+err.Error())
		}
	}
	patch, err := jsonpatch.Diff(from, root)
	if err != nil {
		return denied(uid, 500, "building the JSON patch: "+err.Error())
	}
	d.Patch = patch
	return d
}

// unsupported explains a request this webhook is not meant to receive.
func unsupported(req *admissionv1.AdmissionRequest) string {
	var problems []string
	if req.Operation != admissionv1.Create {
		problems = append(problems, "operation "+string(req.Operation))
	}
	if req.Resource != (metav1.GroupVersionResource{Version: "v1", Resource: "pods"}) || req.SubResource != "" {
		res := groupVersion(req.Resource.Group, req.Resource.Version) + " " + req.Resource.Resource
		if req.SubResource != "" {
			res += "/" + req.SubResource
		}
		problems = append(problems, "resource "+res)
	}
	if req.Kind != (metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}) {
		problems = append(problems, "kind "+groupVersion(req.Kind.Group, req.Kind.Version)+" "+req.Kind.Kind)
	}
	if len(problems) == 0 {
		return ""
	}
	return "sidecar-injector handles only CREATE of v1 pods, got " + strings.Join(problems, ", ") +
		"; check the rules of the MutatingWebhookConfiguration"
}

// groupVersion writes a group and version as an apiVersion is written.
func groupVersion(group, version string) string {
	if group == "" {
		return version
	}
	return group + "/" + version
}

func denied(uid string, code int, msg string) Decision {
	return Decision{Response: Errored(uid, code, msg), Err: fmt.Errorf("%s", msg)}
}

// malformed answers a pod that is not valid JSON as the handler answers a
// review that is not: HTTP 400.
func malformed(uid string, err error) Decision {
	d := denied(uid, 400, "cannot read the AdmissionReview: request.object: "+err.Error())
	d.HTTPStatus = 400
	return d
}

func (d Decision) deny(err error) Decision {
	out := denied(d.UID, 422, err.Error())
	out.Pod = d.Pod
	out.Warnings = []string{warningPrefix + "not injected: " + err.Error()}
	return out
}

// outdatedLabels names outdated sets for the metric: a status may name any
// set (it is written by the pod's author), so names the config does not
// hold share one label and the metric's size stays bounded.
func outdatedLabels(cfg *transformer.Config, sets []string) []string {
	var out []string
	for _, s := range sets {
		if cfg.Set(s) == nil {
			s = "unconfigured"
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func (d Decision) skipped(r transformer.Result) Decision {
	d.Action, d.Reason, d.Sets = r.Action, r.Reason, r.Sets
	d.Warnings = append([]string{warningPrefix + "not injected: " + r.Detail}, warnings(r)...)
	return d
}

func warnings(r transformer.Result) []string {
	var out []string
	for _, w := range r.Warnings {
		out = append(out, warningPrefix+w)
	}
	if len(r.Kept) > 0 {
		out = append(out, warningPrefix+"kept the pod's own "+strings.Join(r.Kept, ", "))
	}
	return out
}

func podName(namespace string, m *ObjectMeta) string {
	if namespace == "" {
		namespace = m.Namespace
	}
	name := m.Name
	if name == "" && m.GenerateName != "" {
		name = m.GenerateName + "*"
	}
	return namespace + "/" + name
}

// metaTree builds a pod of the metadata alone, for the engine to explain a
// skip. It runs for every pod the webhook is not concerned with, so its
// nodes share one array, sized for all of them: appending never moves it.
func metaTree(m *ObjectMeta, namespace string) *yaml.Node {
	nodes := make([]yaml.Node, 0, 13+2*len(m.Annotations))
	node := func(kind yaml.Kind, tag, value string, content []*yaml.Node) *yaml.Node {
		nodes = append(nodes, yaml.Node{Kind: kind, Tag: tag, Value: value, Content: content})
		return &nodes[len(nodes)-1]
	}
	str := func(s string) *yaml.Node { return node(yaml.ScalarNode, nodejson.TagStr, s, nil) }
	meta := node(yaml.MappingNode, nodejson.TagMap, "", make([]*yaml.Node, 0, 6))
	if m.Name != "" {
		meta.Content = append(meta.Content, str("name"), str(m.Name))
	}
	if namespace == "" {
		namespace = m.Namespace
	}
	if namespace != "" {
		meta.Content = append(meta.Content, str("namespace"), str(namespace))
	}
	if m.Annotations != nil {
		ann := node(yaml.MappingNode, nodejson.TagMap, "", make([]*yaml.Node, 0, 2*len(m.Annotations)))
		for k, v := range m.Annotations {
			ann.Content = append(ann.Content, str(k), str(v))
		}
		meta.Content = append(meta.Content, str("annotations"), ann)
	}
	return node(yaml.MappingNode, nodejson.TagMap, "", []*yaml.Node{
		str("apiVersion"), str("v1"), str("kind"), str("Pod"), str("metadata"), meta,
	})
}
