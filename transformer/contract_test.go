package transformer

import (
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/sidecar-injector/sidecar-injector/internal/golden"
	"github.com/sidecar-injector/sidecar-injector/internal/yamltree"
	"github.com/sidecar-injector/sidecar-injector/manifest"
)

// TestCopyOnWriteContract pins the contract in doc.go on every golden case:
// a resource that changed has one Change whose Original puts the input back
// (runStream checks that), one that did not has none, and inside a Change
// every subtree the engine did not edit is the input's own node, shared.
func TestCopyOnWriteContract(t *testing.T) {
	checked := 0
	for _, c := range golden.Cases(t) {
		cfg, err := LoadConfig(c.Config, "config.yaml")
		if err != nil {
			continue
		}
		if p := c.Options.AnnotationPrefix; p != "" {
			if cfg.SetAnnotationPrefix(p) != nil {
				continue
			}
		}
		t.Run(c.Name, func(t *testing.T) {
			s, err := manifest.Parse(c.Input, c.InputFile)
			if err != nil {
				return
			}
			in := &Injector{Config: cfg, Uninject: c.Options.Uninject}
			for _, d := range s.Docs {
				if d.Node == nil {
					continue
				}
				pristine := copyNode(d.Node.Document())
				rs, err := in.ApplyDocument(d.Node, func(*yaml.Node) string { return c.InputFile })
				if err != nil {
					continue
				}
				var changes []*Change
				for _, r := range rs {
					if r.Action.Changed() != (r.Change != nil) {
						t.Errorf("%s: action %s with Change %v", r.Resource, r.Action, r.Change)
					}
					if r.Change != nil {
						changes = append(changes, r.Change)
					}
				}
				if len(changes) == 0 && !yamltree.Same(d.Node.Document(), pristine) {
					t.Errorf("nothing reported changed, but the tree differs from the input")
				}
				if !changesUndo(d.Node.Document(), changes, pristine) {
					t.Errorf("putting back every Original does not give the input")
				}
				if usesAnchors(pristine) {
					continue // copied whole, by design
				}
				for _, ch := range changes {
					for _, p := range copiedUnedited(ch.Original, ch.Node, "") {
						t.Errorf("%s is a copy the engine did not edit; it should be the input's node", p)
					}
					checked++
				}
			}
		})
	}
	if checked == 0 {
		t.Fatal("no change was checked: the golden cases did not load")
	}
}

// editablePaths are the template paths editableCopy gives nodes of their
// own; "[]" stands for any item of a list.
var editablePaths = map[string]bool{
	"": true, "metadata": true, "metadata.annotations": true, "metadata.labels": true,
	"spec": true, "spec.volumes": true, "spec.imagePullSecrets": true,
	"spec.containers": true, "spec.containers[]": true,
	"spec.containers[].env": true, "spec.containers[].volumeMounts": true,
	"spec.initContainers": true, "spec.initContainers[]": true,
	"spec.initContainers[].env": true, "spec.initContainers[].volumeMounts": true,
}

// copiedUnedited walks the template before and after an edit in parallel
// and returns the paths where the engine copied an input node it had no
// reason to own. Nodes the edit wrote from the config are its own content
// and not followed: only a node whose subtree still holds input nodes is a
// copy of the input's node at the same place.
func copiedUnedited(old, cur *yaml.Node, path string) []string {
	input := map[*yaml.Node]bool{}
	var collect func(n *yaml.Node)
	collect = func(n *yaml.Node) {
		input[n] = true
		for _, c := range n.Content {
			collect(c)
		}
	}
	collect(old)
	var holdsInput func(n *yaml.Node) bool
	holdsInput = func(n *yaml.Node) bool {
		if input[n] {
			return true
		}
		for _, c := range n.Content {
			if holdsInput(c) {
				return true
			}
		}
		return false
	}
	var bad []string
	var walk func(old, cur *yaml.Node, path string)
	walk = func(old, cur *yaml.Node, path string) {
		switch {
		case old == cur:
			return
		case cur.Kind == yaml.ScalarNode:
			// Under a copied parent, an equal scalar that is not the
			// input's own node was copied (annotation and label values
			// are written by the engine, the status among them).
			if old.Kind == yaml.ScalarNode && yamltree.Same(old, cur) && !writesScalars(path) {
				bad = append(bad, path)
			}
			return
		case !holdsInput(cur):
			return // written from the config
		case !editablePaths[path]:
			bad = append(bad, path)
			return
		}
		switch {
		case old.Kind == yaml.MappingNode && cur.Kind == yaml.MappingNode:
			for i := 0; i+1 < len(cur.Content); i += 2 {
				key := cur.Content[i].Value
				if prev := mapGet(old, key); prev != nil {
					walk(prev, cur.Content[i+1], strings.TrimPrefix(path+"."+key, "."))
				}
			}
		case old.Kind == yaml.SequenceNode && cur.Kind == yaml.SequenceNode:
			// Items are matched by name (containers, volumes).
			for _, item := range cur.Content {
				name := scalarString(mapGet(item, "name"))
				for _, prev := range old.Content {
					if name != "" && scalarString(mapGet(prev, "name")) == name {
						walk(prev, item, path+"[]")
						break
					}
				}
			}
		}
	}
	walk(old, cur, path)
	return bad
}

func writesScalars(path string) bool {
	return strings.HasPrefix(path, "metadata.annotations.") || strings.HasPrefix(path, "metadata.labels.")
}
