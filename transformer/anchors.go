package transformer

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/sidecar-injector/sidecar-injector/internal/yamltree"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// A resource that uses YAML anchors, aliases or merge keys is edited like
// any other, on copies of the nodes the edit touches, so that everything
// else keeps its anchors and aliases. Three steps make that safe:
//
//   - Detach: an edited field that is an alias (`labels: *labels`) becomes
//     a copy of the node it names, and one inherited through a merge key
//     (`<<: *app`) an explicit copy at the end of its mapping, so that the
//     edit never reaches a node that something else names.
//   - Settle, after the edit, in document order (an alias names the last
//     anchor of its name before it): every alias must still mean what it
//     meant; one whose anchor now sits on an edited copy, or on nothing, is
//     written out (for a merge key, its inherited keys, unless none of them
//     changed). Every copy made by detaching that still equals what it
//     copied goes back to the alias or the merge key.
//   - Keep: a copy that stays is recorded in the status's keep as "*name"
//     or "<<" (by its path in the template, or from the workload's root
//     after a "/"), so that uninject, once the field equals it again, gives
//     the alias or the merge key back. A merge key written out cannot be
//     recorded: the result's notes say so.
//
// Restoring a form only ever replaces a field by an alias or a merge that
// means the same, so a forged keep entry can change how a field is written,
// never what it means.

// formMerged marks a field that was inherited through a merge key.
const formMerged = "<<"

// isForm reports whether a keep value is a form ("*name" or "<<") rather
// than the literal of an empty field.
func isForm(v string) bool { return v == formMerged || strings.HasPrefix(v, "*") }

// anchored is the work copy of a resource that uses anchors.
type anchored struct {
	root   *yaml.Node // the copy of the whole resource, which the change replaces
	prefix string     // field path of the pod template ("" for a Pod)
	// owned holds the nodes of root's tree that are copies: the only ones
	// that may be edited in place.
	owned map[*yaml.Node]bool
	// forms maps the field path (from the resource's root) of each field
	// detached to how it was written: "*name" or "<<".
	forms map[string]string
	// frozen holds the mappings of the edit whose merge key is frozen.
	frozen map[*yaml.Node]frozenMerge
}

// frozenMerge is a merge key whose value the edit reads as a snapshot.
type frozenMerge struct {
	key, value *yaml.Node // the merge key and its real value
	snapshot   *yaml.Node // what it gave the mapping as read, but the fields the edit made explicit
	explicit   []string   // the mapping's keys before the edit
}

// anchoredCopy makes the work copy of obj with its pod template t detached
// for editing, and returns the template in the copy.
func anchoredCopy(obj *yaml.Node, t *template, wk *workloadKind) (*anchored, *template) {
	a := &anchored{prefix: t.prefix, owned: map[*yaml.Node]bool{}, forms: map[string]string{}, frozen: map[*yaml.Node]frozenMerge{}}
	a.root = a.own(obj)
	node := a.root
	for i, seg := range wk.templatePath {
		node = a.child(node, seg, strings.Join(wk.templatePath[:i+1], "."))
	}
	a.editable(node)
	return a, &template{res: t.res, prefix: t.prefix, node: node}
}

// editable detaches what inject and uninject edit in a template: the same
// fields as editableCopy. The merge keys of the mappings it edits are
// frozen (see freeze).
func (a *anchored) editable(tmpl *yaml.Node) {
	field := func(rest string) string { return joinField(a.prefix, rest) }
	meta := a.child(tmpl, "metadata", field("metadata"))
	for _, k := range metadataFields {
		a.child(meta, k, field("metadata."+k))
	}
	spec := a.child(tmpl, "spec", field("spec"))
	for _, list := range specLists {
		seq := a.child(spec, list, field("spec."+list))
		if list != "containers" && list != "initContainers" {
			continue
		}
		for i := range seqItems(seq) {
			path := field(fmt.Sprintf("spec.%s[name=%s]", list, itemName(seq.Content[i])))
			c := a.item(seq, i, path)
			for _, k := range containerFields {
				a.child(c, k, path+"."+k)
			}
			a.freeze(c)
		}
	}
	a.freeze(spec)
	a.freeze(tmpl)
}

// freeze makes the edit read m's merge key (m is owned, and the fields the
// edit changes are explicit in it) as a snapshot of what it gave m as read,
// without those fields: what the merge key gives once nodes elsewhere in
// the document are edited too must not leak into the edit (a container
// that merges another would see its injected env as its own), nor a field
// the edit removed come back from it. Settle puts the real value back and
// checks that m inherits the same.
func (a *anchored) freeze(m *yaml.Node) {
	if m == nil || m.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if isMergeKey(m.Content[i]) {
			snap := newMap()
			for _, kv := range inherited(m, mergeSources(m.Content[i+1])) {
				snap.Content = append(snap.Content, kv[0], kv[1])
			}
			var explicit []string
			for j := 0; j+1 < len(m.Content); j += 2 {
				explicit = append(explicit, m.Content[j].Value)
			}
			a.frozen[m] = frozenMerge{key: m.Content[i], value: m.Content[i+1], snapshot: snap, explicit: explicit}
			m.Content[i+1] = snap
			return
		}
	}
}

// thaw puts the real values of the frozen merge keys back.
func (a *anchored) thaw() {
	for m, f := range a.frozen {
		for i := 0; i+1 < len(m.Content); i += 2 {
			if m.Content[i] == f.key {
				m.Content[i+1] = f.value
			}
		}
	}
}

// own returns n if it is a copy already, else a shallow copy of it.
func (a *anchored) own(n *yaml.Node) *yaml.Node {
	if a.owned[n] {
		return n
	}
	c := shallowCopy(n)
	a.owned[c] = true
	return c
}

// child makes m[key] (m is owned) a copy of its own, if it is a mapping or
// a list, and returns it: a shallow copy, or, for an alias or an inherited
// field, a detached one.
func (a *anchored) child(m *yaml.Node, key, path string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	i := keyIndex(m, key)
	if i < 0 {
		v := mapGet(m, key) // inherited through a merge key, or nil
		if !isCollection(v) {
			return nil
		}
		c := a.detach(v)
		m.Content = append(m.Content, newStr(key), c)
		a.forms[path] = formMerged
		return c
	}
	v := m.Content[i+1]
	if v.Kind == yaml.AliasNode {
		target := resolveAlias(v)
		if !isCollection(target) {
			return nil
		}
		a.forms[path] = "*" + v.Value
		m.Content[i+1] = a.detach(target)
		return m.Content[i+1]
	}
	if !isCollection(v) {
		return nil
	}
	m.Content[i+1] = a.own(v)
	return m.Content[i+1]
}

// item makes seq.Content[i] (seq is owned) a copy of its own, if it is a
// mapping (or an alias of one), and returns it.
func (a *anchored) item(seq *yaml.Node, i int, path string) *yaml.Node {
	v := seq.Content[i]
	switch target := resolveAlias(v); {
	case target == nil || target.Kind != yaml.MappingNode:
		return nil
	case v.Kind == yaml.AliasNode:
		a.forms[path] = "*" + v.Value
		seq.Content[i] = a.detach(target)
	default:
		seq.Content[i] = a.own(v)
	}
	return seq.Content[i]
}

func isCollection(n *yaml.Node) bool {
	return n != nil && (n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode)
}

// detach deep-copies n without its anchors (the original keeps them) and
// without source positions (the writer renders it as new text). Aliases
// inside stay aliases: settle checks what they mean where the copy is.
func (a *anchored) detach(n *yaml.Node) *yaml.Node {
	c := copyNode(n)
	var clear func(*yaml.Node)
	clear = func(x *yaml.Node) {
		x.Anchor, x.Line, x.Column = "", 0, 0
		a.owned[x] = true
		for _, ch := range x.Content {
			clear(ch)
		}
	}
	clear(c)
	return c
}

// settle runs after the edit (see the top of this file). keep is the keep
// of the status the edit read, if any: its forms are given back where they
// can be. recording says whether the edit writes a status: then the forms
// of fields that stay written out are returned for its keep; else they are
// notes.
func (a *anchored) settle(keep map[string]string, recording bool) (records map[string]string, notes []string) {
	w := &settler{a: a, recording: recording, current: map[string]*yaml.Node{}, means: map[[2]*yaml.Node]bool{},
		aliasSpots: map[*yaml.Node]*spot{}, mergeSpots: map[*yaml.Node]map[string]*spot{}}
	forms := map[string]string{}
	for p, f := range keep {
		switch {
		case !isForm(f):
		case strings.HasPrefix(p, "/"):
			forms[p[1:]] = f
		default:
			forms[joinField(a.prefix, p)] = f
		}
	}
	for p, f := range a.forms { // what the input holds wins over a status
		forms[p] = f
	}
	for _, p := range sortedKeys(forms) {
		parent, key, value := resolvePath(a.root, p)
		switch s := (&spot{path: p, form: forms[p]}); {
		case value == nil:
		case s.form == formMerged && key != "":
			if w.mergeSpots[parent] == nil {
				w.mergeSpots[parent] = map[string]*spot{}
			}
			w.mergeSpots[parent][key] = s
		case s.form != formMerged:
			w.aliasSpots[value] = s
		}
	}
	a.thaw()
	a.root = w.visit(a.root)
	return w.records, w.notes
}

// spot is a field whose form (an alias, or a key inherited through a merge
// key) settle gives back if the field still equals what the form means.
type spot struct {
	path string // from the resource's root
	form string // "*name" or "<<"
}

type settler struct {
	a         *anchored
	recording bool
	// current maps each anchor name to the node that an alias written at
	// the walk's position names.
	current map[string]*yaml.Node
	means   map[[2]*yaml.Node]bool // memo: does node [0] mean what node [1] does?
	// aliasSpots are the "*name" spots, by the node now in their place;
	// mergeSpots the "<<" spots, by the mapping and key.
	aliasSpots map[*yaml.Node]*spot
	mergeSpots map[*yaml.Node]map[string]*spot
	path       []step // the walk's position, for keep and notes
	records    map[string]string
	notes      []string
}

// visit settles n and what it holds; it returns n, or the copy of n that
// replaces it when something under n had to change (n was not owned).
func (w *settler) visit(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.AliasNode {
		return w.alias(n)
	}
	if n.Anchor != "" {
		w.current[n.Anchor] = n
	}
	orig := n
	switch n.Kind {
	case yaml.MappingNode:
		n = w.mapping(n)
	case yaml.SequenceNode, yaml.DocumentNode:
		for i := 0; i < len(n.Content); i++ {
			w.path = append(w.path, step{item: n.Content[i], index: i})
			if v := w.place(n.Content[i]); v != n.Content[i] {
				n = w.a.own(n)
				n.Content[i] = v
			}
			w.path = w.path[:len(w.path)-1]
		}
	}
	if n != orig && orig.Anchor != "" && w.current[orig.Anchor] == orig {
		w.current[orig.Anchor] = n
	}
	return n
}

// place visits the value at the walk's position, giving a "*name" spot
// its alias back when the value equals what the alias names here.
func (w *settler) place(v *yaml.Node) *yaml.Node {
	s := w.aliasSpots[v]
	var named *yaml.Node
	if s != nil {
		named = w.current[s.form[1:]]
	}
	nv := w.visit(v)
	switch {
	case s == nil:
		return nv
	case named != nil && !definesAnchor(nv) && yamltree.Equal(nv, named):
		return &yaml.Node{Kind: yaml.AliasNode, Value: s.form[1:], Alias: named}
	}
	w.unsettled(s.path, s.form, "it no longer equals what "+s.form+" names")
	return nv
}

// alias checks that an alias names, where it is, what it named when read;
// if not, it is written out.
func (w *settler) alias(x *yaml.Node) *yaml.Node {
	switch {
	case x.Alias == nil:
		return x
	case w.named(x):
		return w.repoint(x)
	}
	w.unsettled(w.where(), "*"+x.Value, "&"+x.Value+" now names an edited node")
	return w.visit(w.a.detach(x.Alias))
}

// repoint returns alias x, or a copy of it pointing at the node its name
// names where it is, if that is another node (a copy, or an edited one that
// means the same for x): every alias of the settled tree points where a
// reader of the written text resolves it, which is what the writer checks.
func (w *settler) repoint(x *yaml.Node) *yaml.Node {
	out := w.current[x.Value]
	if out == nil || out == x.Alias {
		return x
	}
	c := *x
	c.Alias = out
	return &c
}

// named reports whether alias x still means what it meant when read.
func (w *settler) named(x *yaml.Node) bool {
	out := w.current[x.Value]
	if out == x.Alias {
		return true
	}
	if out == nil || x.Alias == nil {
		return false
	}
	key := [2]*yaml.Node{out, x.Alias}
	same, ok := w.means[key]
	if !ok {
		same = yamltree.Equal(out, x.Alias)
		w.means[key] = same
	}
	return same
}

func (w *settler) mapping(n *yaml.Node) *yaml.Node {
	orig := n
	merge := -1
	var here, read []*yaml.Node // the merge key's sources, as written here and as read
	moved := false              // a source's anchor names another node now
	for i := 1; i < len(n.Content); i += 2 {
		k, v := n.Content[i-1], n.Content[i]
		if nk := w.visit(k); nk != k { // a key can be an alias, or hold an anchor
			n = w.a.own(n)
			n.Content[i-1], k = nk, nk
		}
		w.path = append(w.path, step{key: k.Value})
		nv := v
		if isMergeKey(k) {
			merge = i - 1
			nv, here, read, moved = w.mergeValue(v)
			if f, ok := w.a.frozen[orig]; ok { // the edit read this instead
				read, moved = []*yaml.Node{f.snapshot}, true
			}
		} else {
			nv = w.place(v)
		}
		if nv != v {
			n = w.a.own(n)
			n.Content[i] = nv
		}
		w.path = w.path[:len(w.path)-1]
	}
	if merge >= 0 && moved && !sameInherited(n, here, read) {
		return w.writeOutMerge(n, merge, read) // its note covers the spots
	}
	spots := w.mergeSpots[orig]
	if f, ok := w.a.frozen[orig]; ok && merge >= 0 {
		// A field the edit added that the merge key gives as it is needs
		// no writing either (nor recording: uninject removes it anyway).
		for i := 0; i+1 < len(n.Content); i += 2 {
			if key := n.Content[i].Value; !slices.Contains(f.explicit, key) && spots[key] == nil {
				if spots == nil {
					spots = map[string]*spot{}
				}
				spots[key] = &spot{form: formMerged}
			}
		}
	}
	for _, key := range sortedKeys(spots) {
		i := keyIndex(n, key)
		switch {
		case i < 0:
		case merge >= 0 && !definesAnchor(n.Content[i+1]) && yamltree.Equal(n.Content[i+1], lookupIn(here, key)):
			n = w.a.own(n)
			n.Content = slices.Delete(n.Content, i, i+2)
		case spots[key].path == "": // added by the edit: it stays
		case merge >= 0:
			w.unsettled(spots[key].path, formMerged, "it no longer equals what the merge key gives")
		case !w.recording:
			w.unsettled(spots[key].path, formMerged, "its mapping has no merge key")
		}
	}
	return n
}

// mergeValue visits a merge key's value: it returns the value (a copy if an
// inline mapping in it changed), its sources as an alias names them here
// and as they were read, and whether the two differ.
func (w *settler) mergeValue(v *yaml.Node) (nv *yaml.Node, here, read []*yaml.Node, moved bool) {
	source := func(s *yaml.Node) *yaml.Node {
		if s.Kind != yaml.AliasNode {
			s = w.visit(s)
			here, read = append(here, s), append(read, s)
			return s
		}
		here, read = append(here, w.current[s.Value]), append(read, s.Alias)
		if !w.named(s) {
			moved = true // the mapping is checked key by key, then
		}
		return w.repoint(s)
	}
	if v.Kind != yaml.SequenceNode {
		return source(v), here, read, moved
	}
	nv = v
	for i, s := range v.Content {
		if ns := source(s); ns != s {
			nv = w.a.own(nv)
			nv.Content[i] = ns
		}
	}
	return nv, here, read, moved
}

// sameInherited reports whether a mapping with a merge key inherits the
// same from its sources as written (here) as from them as read.
func sameInherited(n *yaml.Node, here, read []*yaml.Node) bool {
	for _, srcs := range [][]*yaml.Node{here, read} {
		for _, kv := range inherited(n, srcs) {
			if !yamltree.Equal(lookupIn(here, kv[0].Value), lookupIn(read, kv[0].Value)) {
				return false
			}
		}
	}
	return true
}

// inherited lists the key/value pairs a mapping gets from merge sources:
// the first source's first, keys the mapping sets itself left out.
func inherited(n *yaml.Node, srcs []*yaml.Node) [][2]*yaml.Node {
	var out [][2]*yaml.Node
	seen := map[string]bool{}
	var add func(src *yaml.Node, depth int)
	add = func(src *yaml.Node, depth int) {
		src = resolveAlias(src)
		if src == nil || src.Kind != yaml.MappingNode || depth > 100 {
			return
		}
		var merge *yaml.Node
		for i := 0; i+1 < len(src.Content); i += 2 {
			k := src.Content[i]
			if isMergeKey(k) {
				merge = src.Content[i+1]
				continue
			}
			if !seen[k.Value] && keyIndex(n, k.Value) < 0 {
				out = append(out, [2]*yaml.Node{k, resolveAlias(src.Content[i+1])})
			}
			seen[k.Value] = true
		}
		if merge != nil {
			for _, s := range mergeSources(merge) {
				add(s, depth+1)
			}
		}
	}
	for _, s := range srcs {
		add(s, 0)
	}
	return out
}

// lookupIn returns the value the first of srcs gives for key.
func lookupIn(srcs []*yaml.Node, key string) *yaml.Node {
	for _, s := range srcs {
		if v := mapGet(s, key); v != nil {
			return v
		}
	}
	return nil
}

// writeOutMerge replaces a mapping's merge key by the keys it gave as read.
func (w *settler) writeOutMerge(n *yaml.Node, at int, read []*yaml.Node) *yaml.Node {
	n = w.a.own(n)
	w.note("the YAML merge key at "+joinField(w.where(), formMerged), "a node it merges was edited")
	var pairs []*yaml.Node
	for _, kv := range inherited(n, read) {
		key := w.a.detach(kv[0])
		w.path = append(w.path, step{key: key.Value})
		pairs = append(pairs, key, w.visit(w.a.detach(kv[1])))
		w.path = w.path[:len(w.path)-1]
	}
	w.forget(n.Content[at+1])
	n.Content = slices.Concat(n.Content[:at], pairs, n.Content[at+2:])
	return n
}

// forget drops the anchors defined under n, which leaves the document:
// aliases of them further on are written out.
func (w *settler) forget(n *yaml.Node) {
	if n.Anchor != "" && n.Kind != yaml.AliasNode {
		delete(w.current, n.Anchor)
	}
	for _, c := range n.Content {
		w.forget(c)
	}
}

// definesAnchor reports whether an anchor is defined under n.
func definesAnchor(n *yaml.Node) bool {
	if n.Anchor != "" && n.Kind != yaml.AliasNode {
		return true
	}
	return slices.ContainsFunc(n.Content, definesAnchor)
}

// unsettled handles a field that stays written out where the input had a
// form: recorded for the status's keep where it can be (by its path in the
// template, or from the workload's root after a "/"), else noted.
func (w *settler) unsettled(path, form, why string) {
	rel, inTemplate := path, w.a.prefix == ""
	if !inTemplate {
		rel, inTemplate = strings.CutPrefix(path, w.a.prefix+".")
	}
	if !inTemplate || !keepPath.MatchString(rel) {
		rel = "/" + path
	}
	if w.recording && (keepPath.MatchString(rel) || rootPath.MatchString(rel)) {
		if w.records == nil {
			w.records = map[string]string{}
		}
		w.records[rel] = form
		return
	}
	what := "the YAML alias " + form
	if form == formMerged {
		what = "the YAML merge key"
	}
	w.note(what+" at "+path, why)
}

func (w *settler) note(what, why string) {
	if w.recording {
		w.notes = append(w.notes, what+" is written out since "+why+"; uninject cannot restore it")
	} else {
		w.notes = append(w.notes, what+" is left written out since "+why)
	}
}

// step is one step of the walk: a mapping's key, or a list's item.
type step struct {
	key   string
	item  *yaml.Node
	index int
}

// where is the field path of the walk's position; a list item is named by
// its name, if it has one.
func (w *settler) where() string {
	var b strings.Builder
	for _, s := range w.path {
		switch name := itemName(s.item); {
		case s.item == nil:
			b.WriteString(quoteKey(s.key))
		case name != "" && !strings.ContainsAny(name, "[]"):
			b.WriteString("[name=" + name + "]")
		default:
			b.WriteString("[" + strconv.Itoa(s.index) + "]")
		}
	}
	return strings.TrimPrefix(b.String(), ".")
}

// resolvePath finds a field by its path from root ("spec.template.spec",
// "spec.containers[name=app].env"): the mapping or list holding it, its
// key ("" for a list item) and its value, or nil values.
func resolvePath(root *yaml.Node, path string) (parent *yaml.Node, key string, value *yaml.Node) {
	value = root
	for _, seg := range strings.Split(path, ".") {
		name, item, isItem := strings.Cut(seg, "[name=")
		parent, key = value, name
		i := -1
		if value != nil && value.Kind == yaml.MappingNode {
			i = keyIndex(value, name)
		}
		if i < 0 {
			return nil, "", nil
		}
		value = value.Content[i+1]
		if isItem {
			parent, key = value, ""
			value = findItem(value, "name", strings.TrimSuffix(item, "]"))
		}
	}
	return parent, key, value
}
