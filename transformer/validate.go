package transformer

import (
	"fmt"
	"path"
	"strings"

	"github.com/sidecar-injector/sidecar-injector/api/v1alpha1"
	"github.com/sidecar-injector/sidecar-injector/internal/yamltree"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Semantic checks of a config, beyond what its types enforce: the things
// the API server would reject later, or that would make injection ambiguous.

func (p *configParser) validateSets() {
	seenSet := map[string]bool{}
	containerOwner := map[string]string{}        // container name -> field that defines it
	shared := map[string]map[string]sharedItem{} // list -> key -> first definition
	for i, set := range p.cfg.Sets {
		field := p.setFields[i]
		switch {
		case set.Name == "":
			p.errorf(joinField(field, "name"), "missing: every set needs a name")
		case seenSet[set.Name]:
			p.errorf(joinField(field, "name"), "duplicate set name %q", set.Name)
		default:
			for _, msg := range validation.IsDNS1123Label(set.Name) {
				p.errorf(joinField(field, "name"), "%q: %s", set.Name, msg)
			}
		}
		seenSet[set.Name] = true
		set.Position = v1alpha1.Position(orDefault(string(set.Position), string(v1alpha1.PositionLast)))
		if set.Position != v1alpha1.PositionFirst && set.Position != v1alpha1.PositionLast {
			p.errorf(joinField(field, "position"), "expected %q or %q, got %q", v1alpha1.PositionFirst, v1alpha1.PositionLast, set.Position)
		}
		if len(set.Containers)+len(set.InitContainers)+len(set.Volumes)+len(set.ImagePullSecrets)+
			len(set.VolumeMounts)+len(set.Env)+len(set.Annotations)+len(set.Labels) == 0 {
			p.errorf(field, "set %q injects nothing", set.Name)
		}
		p.validateContainers(field, "containers", set, set.Containers, containerOwner)
		p.validateContainers(field, "initContainers", set, set.InitContainers, containerOwner)
		p.validateNamed(field, "volumes", "name", set.Volumes, shared, true)
		p.validateNamed(field, "imagePullSecrets", "name", set.ImagePullSecrets, shared, false)
		p.validateNamed(field, "env", "name", set.Env, shared, false)
		p.validateNamed(field, "volumeMounts", "mountPath", set.VolumeMounts, shared, false)
		for j, m := range set.VolumeMounts {
			if itemName(m) == "" {
				p.errorf(joinField(field, fmt.Sprintf("volumeMounts[%d].name", j)), "missing")
			}
		}
		p.validateMeta(joinField(field, "annotations"), set.Annotations, false, shared)
		p.validateMeta(joinField(field, "labels"), set.Labels, true, shared)
	}
}

type sharedItem struct {
	node  *yaml.Node
	field string
}

func (p *configParser) validateContainers(setField, list string, set *SidecarSet, items []*yaml.Node, owner map[string]string) {
	for j, c := range items {
		field := joinField(setField, fmt.Sprintf("%s[%d]", list, j))
		name := itemName(c)
		if name == "" {
			p.errorf(joinField(field, "name"), "missing")
			continue
		}
		for _, msg := range validation.IsDNS1123Label(name) {
			p.errorf(joinField(field, "name"), "%q: %s", name, msg)
		}
		if prev, ok := owner[name]; ok {
			p.errorf(joinField(field, "name"), "container %q is also defined at %s; container names must be unique across sets", name, prev)
		}
		owner[name] = field
		if scalarString(mapGet(c, "image")) == "" {
			p.errorf(joinField(field, "image"), "missing")
		}
		restart := scalarString(mapGet(c, "restartPolicy"))
		switch {
		case list == "containers" && set.Native:
			if restart != "" && restart != "Always" {
				p.errorf(joinField(field, "restartPolicy"), "a native sidecar runs with restartPolicy Always, got %q", restart)
			}
			if restart == "" {
				c.Content = append(c.Content, newStr("restartPolicy"), newStr("Always"))
			}
		case list == "containers" && restart != "":
			p.errorf(joinField(field, "restartPolicy"), "only init containers take a restartPolicy; set native: true on the set for a native sidecar")
		}
	}
}

// validateNamed checks that items have their key, that it is unique in the
// set, and that sets defining the same key define the same item (two sets may
// share a volume, but not disagree on it).
func (p *configParser) validateNamed(setField, list, key string, items []*yaml.Node, shared map[string]map[string]sharedItem, dnsName bool) {
	if shared[list] == nil {
		shared[list] = map[string]sharedItem{}
	}
	seen := map[string]bool{}
	for j, it := range items {
		field := joinField(setField, fmt.Sprintf("%s[%d]", list, j))
		k := scalarString(mapGet(it, key))
		if k == "" {
			p.errorf(joinField(field, key), "missing")
			continue
		}
		if dnsName {
			for _, msg := range validation.IsDNS1123Label(k) {
				p.errorf(joinField(field, key), "%q: %s", k, msg)
			}
		}
		if seen[k] {
			p.errorf(joinField(field, key), "duplicate %s %q in this set", key, k)
			continue
		}
		seen[k] = true
		if prev, ok := shared[list][k]; ok && !yamltree.Equal(prev.node, it) {
			p.errorf(field, "%s %q differs from the one at %s; sets may share an item only if it is identical", key, k, prev.field)
		} else if !ok {
			shared[list][k] = sharedItem{it, field}
		}
	}
}

func (p *configParser) validateMeta(field string, pairs []keyValue, labels bool, shared map[string]map[string]sharedItem) {
	list := "annotations"
	if labels {
		list = "labels"
	}
	if shared[list] == nil {
		shared[list] = map[string]sharedItem{}
	}
	for _, kv := range pairs {
		f := field + quoteKey(kv.Key)
		// like validateNamed: sets may share a key, not disagree on it
		if prev, ok := shared[list][kv.Key]; ok && prev.node.Value != kv.Value {
			p.errorf(f, "%q differs from the value %q at %s; sets may share a key only with the same value", kv.Value, prev.node.Value, prev.field)
		} else if !ok {
			shared[list][kv.Key] = sharedItem{newStr(kv.Value), f}
		}
		for _, msg := range validation.IsQualifiedName(kv.Key) {
			p.errorf(f, "invalid key: %s", msg)
		}
		if kv.Key == p.cfg.InjectAnnotation() || kv.Key == p.cfg.StatusAnnotation() {
			p.errorf(f, "is reserved for the injector itself")
		}
		if labels {
			for _, msg := range validation.IsValidLabelValue(kv.Value) {
				p.errorf(f, "invalid label value %q: %s", kv.Value, msg)
			}
		}
	}
}

func (p *configParser) validateCustomKinds() {
	for i, ck := range p.cfg.CustomKinds {
		field := fmt.Sprintf("%scustomKinds[%d]", p.settings, i)
		if ck.Kind == "" {
			p.errorf(field+".kind", "missing")
		}
		if builtinKind(ck.Group, ck.Kind) != nil {
			p.errorf(field, "%s is built in; declare only kinds the injector does not know", ck.Kind)
		}
		if ck.PodTemplatePath == "" {
			p.errorf(field+".podTemplatePath", "missing, e.g. spec.template")
			continue
		}
		for _, seg := range strings.Split(ck.PodTemplatePath, ".") {
			if seg == "" {
				p.errorf(field+".podTemplatePath", "%q has an empty segment", ck.PodTemplatePath)
				break
			}
		}
	}
}

func (p *configParser) validateSelector() {
	field := p.settings + "selector"
	for i, k := range p.cfg.Selector.Kinds {
		if !p.cfg.knowsKind(k) {
			p.errorf(fmt.Sprintf("%s.kinds[%d]", field, i), "%q is not a workload kind; known: %s", k, strings.Join(p.cfg.kindNames(), ", "))
		}
	}
	for i, n := range p.cfg.Selector.Names {
		if _, err := path.Match(n, ""); err != nil {
			p.errorf(fmt.Sprintf("%s.names[%d]", field, i), "bad pattern %q: %v", n, err)
		}
	}
}
