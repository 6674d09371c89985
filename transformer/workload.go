package transformer

import (
	"path"
	"slices"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// workloadKind says where a kind keeps its pod template.
type workloadKind struct {
	groups       []string // API groups that serve the kind
	kind         string
	templatePath []string // nil: the object is itself the pod
}

var builtinKinds = []workloadKind{
	{[]string{""}, "Pod", nil},
	{[]string{"apps", "extensions"}, "Deployment", []string{"spec", "template"}},
	{[]string{"apps"}, "StatefulSet", []string{"spec", "template"}},
	{[]string{"apps", "extensions"}, "DaemonSet", []string{"spec", "template"}},
	{[]string{"apps", "extensions"}, "ReplicaSet", []string{"spec", "template"}},
	{[]string{""}, "ReplicationController", []string{"spec", "template"}},
	{[]string{"batch"}, "Job", []string{"spec", "template"}},
	{[]string{"batch"}, "CronJob", []string{"spec", "jobTemplate", "spec", "template"}},
}

func builtinKind(group, kind string) *workloadKind {
	for i := range builtinKinds {
		if builtinKinds[i].kind == kind && slices.Contains(builtinKinds[i].groups, group) {
			return &builtinKinds[i]
		}
	}
	return nil
}

// groupOf returns the API group of an apiVersion ("apps/v1" -> "apps", "v1" -> "").
func groupOf(apiVersion string) string {
	if i := strings.IndexByte(apiVersion, '/'); i >= 0 {
		return apiVersion[:i]
	}
	return ""
}

// workloadKind returns how to find the pod template of a resource, or nil
// when the resource is not a workload.
func (c *Config) workloadKind(apiVersion, kind string) *workloadKind {
	group := groupOf(apiVersion)
	if wk := builtinKind(group, kind); wk != nil {
		return wk
	}
	for _, ck := range c.CustomKinds {
		if ck.Kind == kind && ck.Group == group {
			return &workloadKind{groups: []string{group}, kind: kind, templatePath: strings.Split(ck.PodTemplatePath, ".")}
		}
	}
	return nil
}

func (c *Config) kindNames() []string {
	var names []string
	for _, wk := range builtinKinds {
		names = append(names, wk.kind)
	}
	for _, ck := range c.CustomKinds {
		names = append(names, ck.Kind)
	}
	return names
}

func (c *Config) knowsKind(kind string) bool { return slices.Contains(c.kindNames(), kind) }

// selects reports whether the config's selector picks a workload.
func (c *Config) selects(kind string, meta *yaml.Node) bool {
	s := &c.Selector
	if len(s.Kinds) > 0 && !slices.Contains(s.Kinds, kind) {
		return false
	}
	if len(s.Names) > 0 {
		name := scalarString(mapGet(meta, "name"))
		if !slices.ContainsFunc(s.Names, func(p string) bool { ok, _ := path.Match(p, name); return ok }) {
			return false
		}
	}
	if len(s.Namespaces) > 0 && !slices.Contains(s.Namespaces, scalarString(mapGet(meta, "namespace"))) {
		return false
	}
	labels := mapGet(meta, "labels")
	for k, v := range s.Labels {
		l := mapGet(labels, k)
		if l == nil || l.Kind != yaml.ScalarNode || l.Value != v {
			return false
		}
	}
	return true
}

// template is the pod template of one workload (for a Pod, the Pod itself).
type template struct {
	res    Resource
	prefix string     // field path of the template: "spec.template", or "" for a Pod
	node   *yaml.Node // mapping with metadata and spec
}

// field returns the full field path of a path inside the template.
func (t *template) field(rest string) string { return joinField(t.prefix, rest) }

// locateTemplate follows the kind's template path. A missing or mistyped
// step is an error, reported only if the workload turns out to be concerned.
func locateTemplate(obj *yaml.Node, wk *workloadKind, res Resource) (*template, error) {
	t := &template{res: res, node: obj}
	for i, seg := range wk.templatePath {
		next := mapGet(t.node, seg)
		t.prefix = strings.Join(wk.templatePath[:i+1], ".")
		switch {
		case isNull(next):
			return nil, t.errorf(t.prefix, "missing: a %s needs a pod template here", wk.kind)
		case next.Kind != yaml.MappingNode:
			return nil, t.errorf(t.prefix, "expected a map, got %s", describe(next))
		}
		t.node = next
	}
	return t, nil
}

// meta returns the template's metadata mapping, or nil.
func (t *template) meta() *yaml.Node {
	if m := mapGet(t.node, "metadata"); m != nil && m.Kind == yaml.MappingNode {
		return m
	}
	return nil
}

// spec returns the pod spec mapping, or nil.
func (t *template) spec() *yaml.Node {
	if s := mapGet(t.node, "spec"); s != nil && s.Kind == yaml.MappingNode {
		return s
	}
	return nil
}

// annotation returns a template annotation's value and whether it is set.
func (t *template) annotation(key string) (string, *yaml.Node) {
	v := mapGet(mapGet(t.meta(), "annotations"), key)
	return scalarString(v), v
}

// has reports whether the template carries an annotation.
func (t *template) has(key string) bool {
	_, n := t.annotation(key)
	return n != nil
}
