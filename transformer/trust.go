package transformer

import (
	"fmt"
	"slices"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// A status annotation is written by whoever wrote the workload: it may be
// stale, copied from another workload, or forged. The engine believes it
// only for the items the pod still holds as they were injected (their
// fingerprints match), so that no status can make it delete an item it did
// not add. Items of statuses written before fingerprints are believed only
// when a set of the config defines an item of that name: a copied status
// can never name the app's own container. See docs/security.md.

// verify checks each item a status lists against the pod. It returns the
// items the pod holds as injected, which are what uninject may remove, and
// an error for each item the pod holds otherwise.
func (in *Injector) verify(t *template, st *Status) (*Status, Errors) {
	held := &Status{Sets: st.Sets, Digest: st.Digest, Keep: st.Keep, Parameters: st.Parameters}
	var errs Errors
	spec := t.spec()
	check := func(kind itemKind, listField string, items Items, present func(name string) (*yaml.Node, string), hold func(name, fp string)) {
		for _, name := range items.sorted() {
			node, field := present(name)
			if node == nil {
				continue // gone: nothing to remove
			}
			fp := items[name]
			if err := in.believe(kind, name, fp, node); err != "" {
				e := t.errorf(t.field(field), "%s", err)
				e.Cause = ErrDrifted
				errs = append(errs, e)
				continue
			}
			hold(name, fp)
		}
	}
	byName := func(list string) func(string) (*yaml.Node, string) {
		index := indexItems(mapGet(spec, list), "name")
		return func(name string) (*yaml.Node, string) {
			return index[name], fmt.Sprintf("spec.%s[name=%s]", list, name)
		}
	}
	check(kindContainer, "containers", st.Containers, byName("containers"), held.Containers.add)
	check(kindContainer, "initContainers", st.InitContainers, byName("initContainers"), held.InitContainers.add)
	check(kindVolume, "volumes", st.Volumes, byName("volumes"), held.Volumes.add)
	check(kindPullSecret, "imagePullSecrets", st.ImagePullSecrets, byName("imagePullSecrets"), held.ImagePullSecrets.add)
	containers := indexItems(mapGet(spec, "containers"), "name")
	for _, cname := range sortedKeys(st.Env) {
		env := indexItems(mapGet(containers[cname], "env"), "name")
		check(kindEnv, "env", st.Env[cname], func(name string) (*yaml.Node, string) {
			return env[name], fmt.Sprintf("spec.containers[name=%s].env[name=%s]", cname, name)
		}, func(name, fp string) { addTo(&held.Env, cname, name, fp) })
	}
	for _, cname := range sortedKeys(st.VolumeMounts) {
		mounts := indexItems(mapGet(containers[cname], "volumeMounts"), "mountPath")
		check(kindMount, "volumeMounts", st.VolumeMounts[cname], func(path string) (*yaml.Node, string) {
			return mounts[path], fmt.Sprintf("spec.containers[name=%s].volumeMounts[mountPath=%s]", cname, path)
		}, func(path, fp string) { addTo(&held.VolumeMounts, cname, path, fp) })
	}
	metaPair := func(field string) func(string) (*yaml.Node, string) {
		index := indexKeys(mapGet(t.meta(), field))
		return func(key string) (*yaml.Node, string) {
			return index[key], "metadata." + field + quoteKey(key)
		}
	}
	check(kindAnnotation, "annotations", st.Annotations, metaPair("annotations"), held.Annotations.add)
	check(kindLabel, "labels", st.Labels, metaPair("labels"), held.Labels.add)
	return held, errs
}

// believe decides whether an item the pod holds is the one a status lists;
// it returns why not, or "".
func (in *Injector) believe(kind itemKind, name, fp string, present *yaml.Node) string {
	if fp == "" {
		if in.Config.defines(kind, name) {
			return ""
		}
		return fmt.Sprintf("the status annotation (written by an earlier version, without fingerprints) lists %s %q, which no sidecar set "+
			"of the config defines, so nothing shows that sidecar-injector added it (the status may be copied or edited). Nothing was changed; "+
			"if an earlier config added it, run inject once with that config (it rewrites the status with fingerprints), then with this one; "+
			"else delete its entry from the status annotation", kind, name)
	}
	got, err := in.Config.fingerprintOf(kind, name, present)
	switch {
	case err != nil:
		return fmt.Sprintf("the status annotation lists %s %q as injected, but the pod's cannot be read as one: %v", kind, name, err)
	case got != fp:
		return fmt.Sprintf("the status annotation lists %s %q as injected (fingerprint %s), but the pod's %s %q is not that one (%s): "+
			"it was edited since, or the status was copied from another workload. Nothing was changed; restore the injected one, "+
			"or delete its entry from the status annotation to keep the pod's own", kind, name, fp, kind, name, got)
	}
	return ""
}

// fingerprintOf fingerprints an item the pod holds. Items equal to the
// config's, as written or as the API server returns them, take the
// config's fingerprint without being decoded: most pods carry current items.
func (c *Config) fingerprintOf(kind itemKind, name string, present *yaml.Node) (string, error) {
	if kind == kindAnnotation || kind == kindLabel {
		if present.Kind != yaml.ScalarNode {
			return "", fmt.Errorf("expected a string, got %s", describe(present))
		}
		return fingerprintPair(kind, name, present.Value), nil
	}
	if p := c.prints[itemRef{kind, name}]; p != nil {
		if sameTree(present, p.node) || sameTree(present, p.canon) {
			return p.fp, nil
		}
		if n := p.native; n != nil && (sameTree(present, n.node) || sameTree(present, n.canon)) {
			return n.fp, nil
		}
	}
	if present.Kind != yaml.MappingNode {
		return "", fmt.Errorf("expected a map, got %s", describe(present))
	}
	return fingerprintItem(kind, present)
}

// sameTree reports whether two trees mean the same, whatever their key order.
func sameTree(a, b *yaml.Node) bool { return covers(a, b) && covers(b, a) }

// legacyHeld reports whether the tutorial's `status: injected` is true of a
// pod: it holds every container of the sets it would get.
func legacyHeld(t *template, sets []*SidecarSet) bool {
	spec := t.spec()
	n := 0
	for _, s := range sets {
		for _, c := range slices.Concat(s.Containers, s.InitContainers) {
			name := itemName(c)
			if findItem(mapGet(spec, "containers"), "name", name) == nil && findItem(mapGet(spec, "initContainers"), "name", name) == nil {
				return false
			}
			n++
		}
	}
	return n > 0
}

// holdsCurrent reports whether a pod holds every item of a set exactly as
// the config defines it now: a required set must, or it is injected again.
func (in *Injector) holdsCurrent(t *template, s *SidecarSet) bool {
	spec := t.spec()
	holdsAs := func(kind itemKind, seq *yaml.Node, key string, want *yaml.Node, wantFP string) bool {
		name := scalarString(mapGet(want, key))
		have := findItem(seq, key, name)
		if have == nil {
			return false
		}
		fp, err := in.Config.fingerprintOf(kind, name, have)
		return err == nil && fp == wantFP
	}
	holdsAll := func(kind itemKind, seq *yaml.Node, key string, wants []*yaml.Node) bool {
		for _, want := range wants {
			if !holdsAs(kind, seq, key, want, in.Config.setPrint(s, kind, scalarString(mapGet(want, key)))) {
				return false
			}
		}
		return true
	}
	hasAll := func(m *yaml.Node, kvs []keyValue) bool {
		for _, kv := range kvs {
			if scalarString(mapGet(m, kv.Key)) != kv.Value {
				return false
			}
		}
		return true
	}
	completion := t.runsToCompletion()
	containers := "containers"
	if s.nativeIn(completion) {
		containers = "initContainers"
	}
	for _, c := range s.containersIn(completion) {
		if !holdsAs(kindContainer, mapGet(spec, containers), "name", c, in.Config.setContainerPrint(s, itemName(c), s.completionNative(completion))) {
			return false
		}
	}
	if !holdsAll(kindContainer, mapGet(spec, "initContainers"), "name", s.InitContainers) ||
		!holdsAll(kindVolume, mapGet(spec, "volumes"), "name", s.Volumes) {
		return false
	}
	for _, p := range s.ImagePullSecrets {
		if findItem(mapGet(spec, "imagePullSecrets"), "name", itemName(p)) == nil {
			return false
		}
	}
	for _, c := range seqItems(mapGet(spec, "containers")) {
		if in.Config.definesContainer(itemName(c)) {
			continue
		}
		if !holdsAll(kindEnv, mapGet(c, "env"), "name", s.Env) ||
			!holdsAll(kindMount, mapGet(c, "volumeMounts"), "mountPath", s.VolumeMounts) {
			return false
		}
	}
	meta := t.meta()
	return hasAll(mapGet(meta, "annotations"), s.Annotations) && hasAll(mapGet(meta, "labels"), s.Labels)
}

// checkMetadata rejects metadata whose meaning the engine could misread:
// a repeated key (which value would the API server keep?), a YAML merge
// key, or an alias as a key, in metadata, its annotations or its labels.
// It runs before anything is decided from them.
func checkMetadata(res Resource, meta *yaml.Node, field string) error {
	for _, f := range []string{"", "annotations", "labels"} {
		m := meta
		if f != "" {
			m = mapGet(meta, f)
		}
		if m == nil || m.Kind != yaml.MappingNode {
			continue
		}
		at := joinField(field, f)
		for i := 0; i+1 < len(m.Content); i += 2 {
			switch k := m.Content[i]; {
			case k.ShortTag() == "!!merge":
				return &ResourceError{Resource: res, Field: joinField(at, "<<"),
					Msg: "YAML merge keys are not supported here: the injector reads these keys to decide what to do; write them out"}
			case k.Kind == yaml.AliasNode:
				return &ResourceError{Resource: res, Field: joinField(at, "*"+k.Value),
					Msg: "YAML aliases as keys are not supported here: the injector reads these keys to decide what to do; write them out"}
			}
		}
		if k := duplicateKey(m); k != nil {
			return &ResourceError{Resource: res, Field: at + quoteKey(k.Value), Msg: "duplicate key: YAML keys must be unique"}
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// indexItems maps the items of a list by a key field (the first of each
// name), so that checking a long status against a long list stays linear.
func indexItems(seq *yaml.Node, key string) map[string]*yaml.Node {
	items := seqItems(seq)
	index := make(map[string]*yaml.Node, len(items))
	for _, it := range items {
		k := scalarString(mapGet(it, key))
		if _, dup := index[k]; !dup {
			index[k] = it
		}
	}
	return index
}

// indexKeys maps the keys of a mapping to their values (the first of each).
func indexKeys(m *yaml.Node) map[string]*yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	index := make(map[string]*yaml.Node, len(m.Content)/2)
	for i := 0; i+1 < len(m.Content); i += 2 {
		if _, dup := index[m.Content[i].Value]; !dup {
			index[m.Content[i].Value] = resolveAlias(m.Content[i+1])
		}
	}
	return index
}
