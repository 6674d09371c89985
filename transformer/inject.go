package transformer

import (
	"errors"
	"fmt"
	"slices"

	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/sidecar-injector/sidecar-injector/api/v1alpha1"
)

// DefaultContainerAnnotation tells kubectl which container logs and exec
// target. Set when a sidecar goes first, so `kubectl logs` still shows the app.
const DefaultContainerAnnotation = "kubectl.kubernetes.io/default-container"

// injection adds a list of sets to one pod template (already uninjected).
type injection struct {
	t        *template
	cfg      *Config
	spec     *yaml.Node
	st       *Status
	ours     map[string]bool // every container name the sets define
	added    map[added]bool  // items added in this run
	created  map[string]bool // collections made (or remade from empty) in this run, by keep path
	removals []removal       // items replaced (onConflict: replace), removed at the end
	kept     []string
	errs     Errors
	// completion: the pod runs to completion (see completion.go).
	completion bool
	// statusValue is the status annotation's value node, written last.
	statusValue *yaml.Node
	// defaultContainer is set when a sidecar goes first: kubectl should
	// still default to the app's container.
	defaultContainer string
}

// added names an item added in this run: in a pod-level list (volumes,
// annotations...), or in the list of the app container at index container.
type added struct {
	list      string
	container int
	key       string
}

// removal is an item to delete from a list, or a key (by its key node) from a map.
type removal struct{ parent, node *yaml.Node }

// inject adds sets to a template; it returns the items kept (see Result),
// and the status it wrote with its value node (settle may add to its keep).
func (in *Injector) inject(t *template, sets []*SidecarSet) (kept []string, st *Status, statusValue *yaml.Node, err error) {
	spec, err := validatePod(t)
	if err != nil {
		return nil, nil, nil, err
	}
	completion := t.runsToCompletion()
	j := &injection{t: t, cfg: in.Config, spec: spec, ours: map[string]bool{}, added: map[added]bool{}, created: map[string]bool{},
		st: &Status{Sets: setNames(sets), Digest: digestFor(sets, completion), Parameters: statusParams(sets)}, completion: completion}
	for _, s := range sets {
		for _, c := range slices.Concat(s.Containers, s.InitContainers) {
			j.ours[itemName(c)] = true
		}
	}
	j.containers(sets)
	j.namedItems(sets, "volumes", kindVolume, func(s *SidecarSet) []*yaml.Node { return s.Volumes }, &j.st.Volumes)
	j.namedItems(sets, "imagePullSecrets", kindPullSecret, func(s *SidecarSet) []*yaml.Node { return s.ImagePullSecrets }, &j.st.ImagePullSecrets)
	j.appContainers(sets)
	j.metadata(sets)
	j.applyRemovals()
	j.checkMounts(sets)
	if err := j.errs.ErrOrNil(); err != nil {
		return nil, nil, nil, err
	}
	return j.kept, j.st, j.statusValue, nil
}

// recordForms adds to a status the forms of fields that injection wrote out
// (see anchors.go), replacing what keep said of those fields, and rewrites
// its value.
func recordForms(st *Status, value *yaml.Node, forms map[string]string) {
	if st.Keep == nil {
		st.Keep = map[string]string{}
	}
	for path, form := range forms {
		st.Keep[path] = form
	}
	value.Value = st.String()
}

// validatePod checks the parts of the pod that injection relies on, and
// returns its spec.
func validatePod(t *template) (*yaml.Node, error) {
	if err := checkDuplicateKeys(t, true); err != nil {
		return nil, err
	}
	if m := mapGet(t.node, "metadata"); !isNull(m) {
		if m.Kind != yaml.MappingNode {
			return nil, t.errorf(t.field("metadata"), "expected a map, got %s", describe(m))
		}
		for _, k := range []string{"annotations", "labels"} {
			if v := mapGet(m, k); !isNull(v) && v.Kind != yaml.MappingNode {
				return nil, t.errorf(t.field("metadata."+k), "expected a map, got %s", describe(v))
			}
		}
	}
	spec := mapGet(t.node, "spec")
	switch {
	case isNull(spec):
		return nil, t.errorf(t.field("spec"), "missing: a pod needs a spec with containers")
	case spec.Kind != yaml.MappingNode:
		return nil, t.errorf(t.field("spec"), "expected a map, got %s", describe(spec))
	}
	containers := mapGet(spec, "containers")
	switch {
	case isNull(containers):
		return nil, t.errorf(t.field("spec.containers"), "missing: a pod needs at least one container")
	case containers.Kind != yaml.SequenceNode:
		return nil, t.errorf(t.field("spec.containers"), "expected a list, got %s", describe(containers))
	case len(containers.Content) == 0:
		return nil, t.errorf(t.field("spec.containers"), "empty: a pod needs at least one container")
	}
	// Where each container and volume name was seen: container names are
	// unique across both lists. Field paths are made only for errors.
	type place struct {
		list  string
		index int
	}
	at := func(p place) string { return t.field(fmt.Sprintf("spec.%s[%d]", p.list, p.index)) }
	containerNames, volumeNames := map[string]place{}, map[string]place{}
	for _, list := range []string{"containers", "initContainers", "volumes", "imagePullSecrets"} {
		v := mapGet(spec, list)
		if isNull(v) {
			continue
		}
		if v.Kind != yaml.SequenceNode {
			return nil, t.errorf(t.field("spec."+list), "expected a list, got %s", describe(v))
		}
		for i, item := range v.Content {
			here := place{list, i}
			if m := resolveAlias(item); m == nil || m.Kind != yaml.MappingNode {
				return nil, t.errorf(at(here), "expected a map, got %s", describe(m))
			}
			name := itemName(item)
			if name == "" {
				return nil, t.errorf(at(here)+".name", "missing")
			}
			kind, seen := "container", containerNames
			switch list {
			case "imagePullSecrets":
				continue
			case "volumes":
				kind, seen = "volume", volumeNames
			}
			if prev, dup := seen[name]; dup {
				return nil, t.errorf(at(here)+".name", "duplicate %s name %q (also at %s)", kind, name, at(prev))
			}
			seen[name] = here
		}
	}
	return spec, nil
}

// containers places the sets' containers: a set's init containers, then its
// containers (into initContainers for a native set, or one that goes in
// natively into a pod that runs to completion), each at the set's position.
func (j *injection) containers(sets []*SidecarSet) {
	first := map[string][]*yaml.Node{}
	last := map[string][]*yaml.Node{}
	for _, s := range sets {
		place := func(list string, items []*yaml.Node, record *Items, completionNative bool) {
			for _, c := range items {
				if !j.resolveContainer(list, c) {
					continue
				}
				if s.Position == v1alpha1.PositionFirst {
					first[list] = append(first[list], copyNode(c))
				} else {
					last[list] = append(last[list], copyNode(c))
				}
				record.add(itemName(c), j.cfg.setContainerPrint(s, itemName(c), completionNative))
			}
		}
		place("initContainers", s.InitContainers, &j.st.InitContainers, false)
		if s.nativeIn(j.completion) {
			place("initContainers", s.containersIn(j.completion), &j.st.InitContainers, s.completionNative(j.completion))
		} else {
			place("containers", s.Containers, &j.st.Containers, false)
		}
	}
	for _, list := range []string{"initContainers", "containers"} {
		if len(first[list])+len(last[list]) == 0 {
			continue
		}
		seq := j.list(j.spec, list, "spec."+list)
		seq.Content = slices.Concat(first[list], seq.Content, last[list])
	}
	if len(first["containers"]) > 0 {
		j.defaultContainer = j.firstAppContainer()
	}
}

// resolveContainer decides whether a config container goes in, given the
// containers the pod already has.
func (j *injection) resolveContainer(list string, c *yaml.Node) bool {
	name := itemName(c)
	for _, l := range []string{"containers", "initContainers"} {
		seq := mapGet(j.spec, l)
		if seq == nil {
			continue
		}
		for _, existing := range seq.Content {
			if itemName(existing) != name {
				continue
			}
			if l == list && covers(existing, c) {
				j.kept = append(j.kept, "container "+name)
				return false
			}
			return j.conflict(j.t.field(fmt.Sprintf("spec.%s[name=%s]", l, name)), fmt.Sprintf("container %q", name), seq, existing)
		}
	}
	return true
}

// conflict applies onConflict to an item the pod has under the same name,
// and reports whether ours goes in.
func (j *injection) conflict(field, what string, parent, existing *yaml.Node) bool {
	switch j.cfg.OnConflict {
	case v1alpha1.ConflictSkip:
		j.kept = append(j.kept, what)
		return false
	case v1alpha1.ConflictReplace:
		j.removals = append(j.removals, removal{parent, existing})
		return true
	}
	j.errs = append(j.errs, j.t.errorf(field, "%s already exists and was not injected by sidecar-injector (onConflict: fail; use skip to keep it or replace to overwrite it)", what))
	return false
}

// namedItems appends the sets' volumes or image pull secrets. An identical
// item the pod already has stays the pod's own.
func (j *injection) namedItems(sets []*SidecarSet, list string, kind itemKind, items func(*SidecarSet) []*yaml.Node, record *Items) {
	for _, s := range sets {
		for _, it := range items(s) {
			name := itemName(it)
			if j.added[added{list: list, key: name}] {
				continue // shared by two sets: validation made them identical
			}
			seq := mapGet(j.spec, list)
			if existing := findItem(seq, "name", name); existing != nil {
				if list == "imagePullSecrets" || covers(existing, it) {
					continue
				}
				field := j.t.field(fmt.Sprintf("spec.%s[name=%s]", list, name))
				if !j.conflict(field, fmt.Sprintf("%s %q", singular(list), name), seq, existing) {
					continue
				}
			}
			seq = j.list(j.spec, list, "spec."+list)
			seq.Content = append(seq.Content, copyNode(it))
			j.added[added{list: list, key: name}] = true
			record.add(name, j.cfg.setPrint(s, kind, name))
		}
	}
}

func singular(list string) string {
	switch list {
	case "volumes":
		return "volume"
	case "imagePullSecrets":
		return "image pull secret"
	case "volumeMounts":
		return "volume mount"
	}
	return list
}

// appContainers adds the sets' env and volumeMounts to the app's own containers.
func (j *injection) appContainers(sets []*SidecarSet) {
	for i, c := range mapGet(j.spec, "containers").Content {
		name := itemName(c)
		if j.ours[name] {
			continue
		}
		for _, s := range sets {
			j.containerItems(s, c, i, name, "env", "name", kindEnv, s.Env, &j.st.Env)
			j.containerItems(s, c, i, name, "volumeMounts", "mountPath", kindMount, s.VolumeMounts, &j.st.VolumeMounts)
		}
	}
}

func (j *injection) containerItems(s *SidecarSet, c *yaml.Node, idx int, cname, list, key string, kind itemKind, items []*yaml.Node, record *map[string]Items) {
	if len(items) == 0 {
		return
	}
	keepPath := "spec.containers[name=" + cname + "]." + list
	seq := mapGet(c, list)
	if !isNull(seq) && seq.Kind != yaml.SequenceNode {
		j.errs = append(j.errs, j.t.errorf(j.t.field(keepPath), "expected a list, got %s", describe(seq)))
		return
	}
	for _, it := range items {
		k := scalarString(mapGet(it, key))
		id := added{list: list, container: idx, key: k}
		if j.added[id] {
			continue
		}
		seq = mapGet(c, list)
		if existing := findItem(seq, key, k); existing != nil {
			if covers(existing, it) {
				continue
			}
			what := fmt.Sprintf("%s %q in container %q", singular(list), k, cname)
			if list == "env" {
				what = fmt.Sprintf("env var %q in container %q", k, cname)
			}
			if !j.conflict(fmt.Sprintf("%s[%s=%s]", j.t.field(keepPath), key, k), what, seq, existing) {
				continue
			}
		}
		seq = j.list(c, list, keepPath)
		seq.Content = append(seq.Content, copyNode(it))
		j.added[id] = true
		addTo(record, cname, k, j.cfg.setPrint(s, kind, k))
	}
}

// metadata adds the sets' annotations and labels, then the status.
func (j *injection) metadata(sets []*SidecarSet) {
	var annotations, labels []keyValue
	if j.defaultContainer != "" {
		annotations = append(annotations, keyValue{DefaultContainerAnnotation, j.defaultContainer})
	}
	for _, s := range sets {
		annotations = append(annotations, s.Annotations...)
		labels = append(labels, s.Labels...)
	}
	j.metaPairs("annotations", kindAnnotation, annotations, &j.st.Annotations)
	j.metaPairs("labels", kindLabel, labels, &j.st.Labels)
	ann := j.mapping(j.mapping(j.t.node, "metadata", "metadata"), "annotations", "metadata.annotations")
	j.statusValue = newStr(j.st.String())
	j.statusValue.Style = yaml.SingleQuotedStyle
	ann.Content = append(ann.Content, newStr(j.cfg.StatusAnnotation()), j.statusValue)
}

func (j *injection) metaPairs(key string, kind itemKind, pairs []keyValue, record *Items) {
	for _, kv := range pairs {
		if j.added[added{list: key, key: kv.Key}] {
			continue
		}
		m := mapGet(mapGet(j.t.node, "metadata"), key)
		if m != nil {
			if i := keyIndex(m, kv.Key); i >= 0 {
				if scalarString(m.Content[i+1]) == kv.Value {
					continue
				}
				if kv.Key == DefaultContainerAnnotation {
					continue // the workload chose its default container; keep it
				}
				field := j.t.field("metadata."+key) + quoteKey(kv.Key)
				if !j.conflict(field, fmt.Sprintf("%s %q", key[:len(key)-1], kv.Key), m, m.Content[i]) {
					continue
				}
			}
		}
		m = j.mapping(j.mapping(j.t.node, "metadata", "metadata"), key, "metadata."+key)
		m.Content = append(m.Content, newStr(kv.Key), newStr(kv.Value))
		j.added[added{list: key, key: kv.Key}] = true
		record.add(kv.Key, fingerprintPair(kind, kv.Key, kv.Value))
	}
}

// firstAppContainer names the first container that is not a sidecar.
func (j *injection) firstAppContainer() string {
	for _, c := range mapGet(j.spec, "containers").Content {
		if name := itemName(c); !j.ours[name] {
			return name
		}
	}
	return ""
}

// list returns parent[key] as a list to append to, creating it if needed.
// A field that exists but is empty or null is replaced by a block list, and
// its original form is kept in the status for uninject.
func (j *injection) list(parent *yaml.Node, key, keepPath string) *yaml.Node {
	return j.collection(parent, key, keepPath, yaml.SequenceNode)
}

func (j *injection) mapping(parent *yaml.Node, key, keepPath string) *yaml.Node {
	return j.collection(parent, key, keepPath, yaml.MappingNode)
}

func (j *injection) collection(parent *yaml.Node, key, keepPath string, kind yaml.Kind) *yaml.Node {
	v := mapGet(parent, key)
	if v != nil && v.Kind == kind && (len(v.Content) > 0 || j.created[keepPath]) {
		return v
	}
	n := newSeq()
	if kind == yaml.MappingNode {
		n = newMap()
	}
	if v != nil {
		if j.st.Keep == nil {
			j.st.Keep = map[string]string{}
		}
		j.st.Keep[keepPath] = literalOf(v)
		n.Anchor = v.Anchor // aliases of it are settled (anchors.go)
		mapSet(parent, key, n)
	} else if key == "metadata" { // conventionally first
		parent.Content = append([]*yaml.Node{newStr(key), n}, parent.Content...)
	} else {
		parent.Content = append(parent.Content, newStr(key), n)
	}
	j.created[keepPath] = true
	return n
}

// literalOf records an empty or null field so that it can be restored.
func literalOf(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "[]"
	case yaml.MappingNode:
		return "{}"
	}
	return n.Value
}

func fromLiteral(lit string) *yaml.Node {
	switch lit {
	case "[]":
		return &yaml.Node{Kind: yaml.SequenceNode, Tag: tagSeq, Style: yaml.FlowStyle}
	case "{}":
		return &yaml.Node{Kind: yaml.MappingNode, Tag: tagMap, Style: yaml.FlowStyle}
	}
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: tagNull, Value: lit}
}

func (j *injection) applyRemovals() {
	for _, r := range j.removals {
		if r.parent.Kind == yaml.MappingNode {
			if i := slices.Index(r.parent.Content, r.node); i >= 0 {
				r.parent.Content = slices.Delete(r.parent.Content, i, i+2)
			}
			continue
		}
		r.parent.Content = slices.DeleteFunc(r.parent.Content, func(n *yaml.Node) bool { return n == r.node })
	}
}

// checkMounts makes sure every mount we added names a volume the pod has.
func (j *injection) checkMounts(sets []*SidecarSet) {
	// indexes: a pod may have thousands of containers (a hostile one at
	// admission), and every app container gets the sets' mounts
	volumes := indexItems(mapGet(j.spec, "volumes"), "name")
	containers := indexItems(mapGet(j.spec, "containers"), "name")
	check := func(field string, mount *yaml.Node) {
		name := itemName(mount)
		if volumes[name] == nil {
			j.errs = append(j.errs, j.t.errorf(fmt.Sprintf("%s.volumeMounts[name=%s]", field, name),
				"volume %q is not in the pod; add it to the set's volumes", name))
		}
	}
	for _, s := range sets {
		for _, c := range slices.Concat(s.Containers, s.InitContainers) {
			name := itemName(c)
			_, inContainers := j.st.Containers[name]
			_, inInit := j.st.InitContainers[name]
			if !inContainers && !inInit {
				continue
			}
			list := "containers"
			if inInit {
				list = "initContainers"
			}
			for _, m := range seqItems(mapGet(c, "volumeMounts")) {
				check(j.t.field(fmt.Sprintf("spec.%s[name=%s]", list, name)), m)
			}
		}
	}
	for _, cname := range sortedKeys(j.st.VolumeMounts) {
		c := containers[cname]
		for _, p := range j.st.VolumeMounts[cname].sorted() {
			check(j.t.field(fmt.Sprintf("spec.containers[name=%s]", cname)), findItem(mapGet(c, "volumeMounts"), "mountPath", p))
		}
	}
}

// uninject removes exactly what a status lists, restoring fields that were
// empty before injection and deleting the ones injection created. The status
// must hold only items the pod was verified to hold (see verify).
func uninject(t *template, st *Status, statusKey string) {
	if spec := t.spec(); spec != nil {
		removeItems(spec, "containers", "name", st.Containers, "spec.containers", st.Keep)
		removeItems(spec, "initContainers", "name", st.InitContainers, "spec.initContainers", st.Keep)
		removeItems(spec, "volumes", "name", st.Volumes, "spec.volumes", st.Keep)
		removeItems(spec, "imagePullSecrets", "name", st.ImagePullSecrets, "spec.imagePullSecrets", st.Keep)
		for _, c := range seqItems(mapGet(spec, "containers")) {
			name := itemName(c)
			removeItems(c, "env", "name", st.Env[name], fmt.Sprintf("spec.containers[name=%s].env", name), st.Keep)
			removeItems(c, "volumeMounts", "mountPath", st.VolumeMounts[name], fmt.Sprintf("spec.containers[name=%s].volumeMounts", name), st.Keep)
		}
	}
	if meta := t.meta(); meta != nil {
		a := removeKeys(meta, "annotations", withKey(st.Annotations, statusKey), "metadata.annotations", st.Keep)
		l := removeKeys(meta, "labels", st.Labels, "metadata.labels", st.Keep)
		if a || l {
			tidy(t.node, "metadata", "metadata", st.Keep)
		}
	}
}

// removeItems deletes list items whose key is in gone, then tidies the list.
func removeItems(parent *yaml.Node, list, key string, gone Items, keepPath string, keep map[string]string) {
	seq := mapGet(parent, list)
	if len(gone) == 0 || seq == nil || seq.Kind != yaml.SequenceNode {
		return
	}
	n := len(seq.Content)
	seq.Content = slices.DeleteFunc(seq.Content, func(it *yaml.Node) bool {
		_, ok := gone[scalarString(mapGet(it, key))]
		return ok
	})
	if len(seq.Content) < n {
		tidy(parent, list, keepPath, keep)
	}
}

// removeKeys deletes map keys, then tidies the map; it reports whether any went.
func removeKeys(parent *yaml.Node, field string, gone Items, keepPath string, keep map[string]string) bool {
	m := mapGet(parent, field)
	if m == nil || m.Kind != yaml.MappingNode {
		return false
	}
	n := len(m.Content)
	kept := m.Content[:0]
	for i := 0; i+1 < n; i += 2 {
		if _, ok := gone[m.Content[i].Value]; !ok {
			kept = append(kept, m.Content[i], m.Content[i+1])
		}
	}
	m.Content = kept
	removed := len(kept) < n
	if removed {
		tidy(parent, field, keepPath, keep)
	}
	return removed
}

// tidy handles a collection that uninject emptied: back to its kept form, or gone.
func tidy(parent *yaml.Node, field, keepPath string, keep map[string]string) {
	v := mapGet(parent, field)
	if v == nil || len(v.Content) > 0 {
		return
	}
	if lit, ok := keep[keepPath]; ok {
		if !isForm(lit) { // a form is given back, if it can be, by settle
			empty := fromLiteral(lit)
			empty.Anchor = v.Anchor
			mapSet(parent, field, empty)
		}
	} else {
		mapDelete(parent, field)
	}
}

func seqItems(n *yaml.Node) []*yaml.Node {
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	return n.Content
}

// findItem returns the list item whose key field equals value, or nil.
func findItem(seq *yaml.Node, key, value string) *yaml.Node {
	for _, it := range seqItems(seq) {
		if scalarString(mapGet(it, key)) == value {
			return it
		}
	}
	return nil
}

// keyIndex returns the index of a key node in a mapping's Content, or -1.
func keyIndex(m *yaml.Node, key string) int {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return i
		}
	}
	return -1
}

// checkDuplicateKeys rejects repeated keys in the mappings injection reads
// or writes: with two "annotations", which one would the API server keep?
// With pod set, it checks the pod spec and its containers too.
func checkDuplicateKeys(t *template, pod bool) error {
	check := func(m *yaml.Node, field string) error {
		if k := duplicateKey(m); k != nil {
			return t.errorf(joinField(t.field(field), k.Value), "duplicate key: YAML keys must be unique")
		}
		return nil
	}
	meta := mapGet(t.node, "metadata")
	spec := mapGet(t.node, "spec")
	err := errors.Join(check(t.node, ""), check(meta, "metadata"), check(mapGet(meta, "annotations"), "metadata.annotations"))
	if err != nil || !pod {
		return err
	}
	if err := errors.Join(check(mapGet(meta, "labels"), "metadata.labels"), check(spec, "spec")); err != nil {
		return err
	}
	for _, list := range []string{"containers", "initContainers"} {
		for i, c := range seqItems(mapGet(spec, list)) {
			if err := check(c, fmt.Sprintf("spec.%s[%d]", list, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

// withKey returns a copy of items with one more key.
func withKey(items Items, key string) Items {
	out := make(Items, len(items)+1)
	for k, v := range items {
		out[k] = v
	}
	out[key] = ""
	return out
}
