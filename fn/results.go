package fn

import (
	"strconv"

	kptfn "github.com/GoogleContainerTools/kpt-functions-sdk/go/fn"
	"sigs.k8s.io/kustomize/kyaml/kio/kioutil"
	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/sidecar-injector/sidecar-injector/internal/yamltree"
	"github.com/sidecar-injector/sidecar-injector/transformer"
)

// itemResult makes a result about one resource, with the resourceRef and
// the file (path and index in it) that kpt shows and sorts by. item is the
// ResourceList's item; res, when set, the resource inside it (an item of a
// List) that the result is about.
func itemResult(severity kptfn.Severity, msg string, item *yaml.RNode, res *transformer.Resource) *kptfn.Result {
	r := &kptfn.Result{Severity: severity, Message: msg}
	if item != nil {
		fillRef(r, item, res)
	}
	return r
}

func fillRef(r *kptfn.Result, rn *yaml.RNode, res *transformer.Resource) {
	obj := rn.YNode()
	meta := field(obj, "metadata")
	r.ResourceRef = &kptfn.ResourceRef{
		APIVersion: field(obj, "apiVersion").Value,
		Kind:       field(obj, "kind").Value,
		Name:       field(meta, "name").Value,
		Namespace:  field(meta, "namespace").Value,
	}
	if res != nil && res.Kind != "" {
		r.ResourceRef = &kptfn.ResourceRef{APIVersion: res.APIVersion, Kind: res.Kind, Name: res.Name, Namespace: res.Namespace}
	}
	if path, index, _ := kioutil.GetFileAnnotations(rn); path != "" {
		r.File = &kptfn.File{Path: path}
		r.File.Index, _ = strconv.Atoi(index)
	}
}

// field returns a scalar-or-map field of a map, or an empty node.
func field(m *yaml.Node, key string) *yaml.Node {
	if v := yamltree.Get(m, key); v != nil && (v.Kind == yaml.ScalarNode || v.Kind == yaml.MappingNode) {
		return v
	}
	return &yaml.Node{}
}

// resultNode renders a result as kpt reads it. Built by hand rather than
// through reflection: a large package has one result per workload.
func resultNode(r *kptfn.Result) *yaml.Node {
	m := mapping(scalar("message"), str(r.Message), scalar("severity"), scalar(string(r.Severity)))
	if ref := r.ResourceRef; ref != nil {
		m.Content = append(m.Content, scalar("resourceRef"), mapping(nonEmpty(
			"apiVersion", ref.APIVersion, "kind", ref.Kind, "name", ref.Name, "namespace", ref.Namespace)...))
	}
	if r.Field != nil {
		m.Content = append(m.Content, scalar("field"), mapping(scalar("path"), str(r.Field.Path)))
	}
	if f := r.File; f != nil {
		file := mapping(scalar("path"), str(f.Path))
		if f.Index > 0 {
			file.Content = append(file.Content, scalar("index"), &yaml.Node{Kind: yaml.ScalarNode, Tag: yaml.NodeTagInt, Value: strconv.Itoa(f.Index)})
		}
		m.Content = append(m.Content, scalar("file"), file)
	}
	return m
}

// nonEmpty makes key and value nodes for the pairs whose value is set.
func nonEmpty(kv ...string) []*yaml.Node {
	var out []*yaml.Node
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			out = append(out, scalar(kv[i]), str(kv[i+1]))
		}
	}
	return out
}

// str is a string scalar: tagged, so that the encoder quotes values such
// as "true" or "1" that would otherwise read back as other types.
func str(v string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: yaml.NodeTagString, Value: v}
}
