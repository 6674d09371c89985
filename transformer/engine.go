package transformer

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sidecar-injector/sidecar-injector/api/v1alpha1"
	"github.com/sidecar-injector/sidecar-injector/internal/yamltree"
	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/kio/kioutil"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Injector is the engine shared by every front: a kio.Filter that injects
// the config's sidecar sets into the pod templates of workloads, or removes
// them. It computes the desired template as inject(uninject(current)), so
// that re-running is a no-op, a changed config is an upgrade, and nothing is
// ever injected twice.
type Injector struct {
	Config *Config
	// Uninject removes earlier injections instead of injecting.
	Uninject bool
	// Admission runs the engine on pods being created (the webhook): the
	// config's build-time selector is ignored (the webhook configuration's
	// namespaceSelector selects instead); a pod whose status is believed
	// (made from a template injected at build time) is left as it is,
	// unless a required set is missing or changed; and a pod that refuses a
	// required set gets it anyway, with a warning, where build time fails.
	Admission bool
	// Results holds one entry per workload seen by the last Filter call.
	Results []Result
}

var _ kio.Filter = &Injector{}

// maxExpandedNodes bounds a document with YAML aliases once expanded: far
// above any real pod, far below what an alias bomb would take.
const maxExpandedNodes = 100_000

// Filter applies the engine to every resource, and to every item of a
// List. It is all or nothing: if any resource fails, none is changed and
// the error lists every failure.
func (in *Injector) Filter(nodes []*yaml.RNode) ([]*yaml.RNode, error) {
	in.Results = nil // a fresh list: callers may keep the last one
	var errs Errors
	commits := map[int]commitFunc{}
	for i, rn := range nodes {
		origin := originOf(rn)
		if err := aliasesAcrossItems(rn.YNode(), origin); err != nil {
			errs = append(errs, err)
			continue
		}
		for _, res := range resourcesOf(rn.YNode()) {
			r, commit, err := in.plan(res, origin, i)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if r.Action == Ignored {
				continue
			}
			if commit != nil {
				commits[len(in.Results)] = commit
			}
			in.Results = append(in.Results, r)
		}
	}
	if err := errs.ErrOrNil(); err != nil {
		return nodes, err
	}
	for i, commit := range commits {
		in.Results[i].Change = commit()
	}
	return nodes, nil
}

// Apply runs the engine on one resource, which it changes in place only on
// success. origin names where the resource came from, for messages.
func (in *Injector) Apply(rn *yaml.RNode, origin string) (Result, error) {
	r, commit, err := in.plan(resourceOf(rn.YNode()), origin, 0)
	if err == nil && commit != nil {
		r.Change = commit()
	}
	return r, err
}

// ApplyDocument runs the engine on a document: one resource, or each item
// of a List (`kubectl get -o yaml` prints one). It changes the document
// only if every resource succeeds, and returns one result per resource
// that is not Ignored. origin names where a resource's node is, for
// messages.
func (in *Injector) ApplyDocument(rn *yaml.RNode, origin func(*yaml.Node) string) ([]Result, error) {
	var results []Result
	var commits []commitFunc
	var errs Errors
	if err := aliasesAcrossItems(rn.YNode(), origin(rn.YNode())); err != nil {
		return nil, err
	}
	for _, res := range resourcesOf(rn.YNode()) {
		r, commit, err := in.plan(res, origin(res.node), 0)
		switch {
		case err != nil:
			errs = append(errs, err)
		case r.Action != Ignored:
			results = append(results, r)
			commits = append(commits, commit)
		}
	}
	if err := errs.ErrOrNil(); err != nil {
		return nil, err
	}
	for i, commit := range commits {
		if commit != nil {
			results[i].Change = commit()
		}
	}
	return results, nil
}

// resource is one resource of a document: the document itself, or an
// item of a List, with its kind (for the items of a typed list such as a
// DeploymentList, which may leave it out, the list's).
type resource struct {
	node             *yaml.Node
	apiVersion, kind string
}

// resourceOf reads a node as one resource.
func resourceOf(n *yaml.Node) resource {
	if n != nil && n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	return resource{node: n, apiVersion: scalarString(mapGet(n, "apiVersion")), kind: scalarString(mapGet(n, "kind"))}
}

// resourcesOf returns the resources a node holds: the items of a List
// (kind List, or a kind ending in List whose items are a list), each
// expanded in turn, or the node itself.
func resourcesOf(n *yaml.Node) []resource {
	r := resourceOf(n)
	items := mapGet(r.node, "items")
	if !strings.HasSuffix(r.kind, "List") || items == nil || items.Kind != yaml.SequenceNode {
		return []resource{r}
	}
	var out []resource
	for _, it := range items.Content {
		for _, item := range resourcesOf(it) {
			if item.kind == "" && r.kind != "List" {
				item.apiVersion, item.kind = r.apiVersion, strings.TrimSuffix(r.kind, "List")
			}
			out = append(out, item)
		}
	}
	return out
}

// aliasesAcrossItems returns an error when an alias in a List names a
// node outside its own item: each item is edited on its own, so an edit
// could change what an alias in another item means.
func aliasesAcrossItems(n *yaml.Node, origin string) error {
	r := resourceOf(n)
	items := mapGet(r.node, "items")
	if !strings.HasSuffix(r.kind, "List") || items == nil || items.Kind != yaml.SequenceNode || !usesAnchors(r.node) {
		return nil
	}
	owner := map[*yaml.Node]int{} // node -> index of the item that holds it, -1 outside the items
	var mark func(n *yaml.Node, item int)
	mark = func(n *yaml.Node, item int) {
		if _, seen := owner[n]; seen {
			return
		}
		owner[n] = item
		for _, c := range n.Content {
			mark(c, item)
		}
	}
	for i, it := range items.Content {
		mark(it, i)
	}
	mark(r.node, -1) // the rest (already marked nodes keep their item)
	for node, item := range owner {
		if node.Kind == yaml.AliasNode && node.Alias != nil && owner[node.Alias] != item {
			return &ResourceError{Resource: Resource{APIVersion: r.apiVersion, Kind: r.kind, Name: scalarString(mapGet(mapGet(r.node, "metadata"), "name")), Origin: origin},
				Field: "items", Msg: fmt.Sprintf("the YAML alias *%s names a node outside its item: each item of a List is injected on its own; write the alias out", node.Value)}
		}
	}
	return nil
}

// commitFunc makes a planned change and says what it changed.
type commitFunc func() *Change

// replaceWith returns a commit that puts work's content into target.
func replaceWith(target, work *yaml.Node) commitFunc {
	return func() *Change {
		original := *target
		*target = *work
		return &Change{Node: target, Original: &original}
	}
}

// originOf reads the file path that kio readers, kustomize and kpt record.
func originOf(rn *yaml.RNode) string {
	path, _, _ := kioutil.GetFileAnnotations(rn)
	return path
}

// plan works out what to do to one resource without changing it, and returns
// the change as a commit function (nil when there is nothing to change).
func (in *Injector) plan(res resource, origin string, index int) (Result, commitFunc, error) {
	obj := res.node
	if obj == nil || obj.Kind != yaml.MappingNode {
		return Result{Action: Ignored}, nil, nil
	}
	kind := res.kind
	wk := in.Config.workloadKind(res.apiVersion, kind)
	if wk == nil {
		return Result{Action: Ignored}, nil, nil
	}
	meta := mapGet(obj, "metadata")
	r := Result{Resource: Resource{APIVersion: res.apiVersion, Kind: kind, Namespace: scalarString(mapGet(meta, "namespace")),
		Name: scalarString(mapGet(meta, "name")), Origin: origin, Index: index}}
	// Everything below reads through aliases and merge keys: refuse first
	// what would take too long to read (an alias bomb, a cycle).
	anchors := usesAnchors(obj)
	if anchors && expandedSize(obj, maxExpandedNodes) > maxExpandedNodes {
		return r, nil, &ResourceError{Resource: r.Resource, Msg: fmt.Sprintf("YAML aliases expand to more than %d nodes; refusing to expand (alias bomb?)", maxExpandedNodes)}
	}
	if !isNull(meta) && meta.Kind != yaml.MappingNode {
		return r, nil, &ResourceError{Resource: r.Resource, Field: "metadata", Msg: "expected a map, got " + describe(meta)}
	}
	if err := checkMetadata(r.Resource, meta, "metadata"); err != nil {
		return r, nil, err
	}
	// A workload outside the selector is left alone, unless it carries a
	// status: then what was injected should be removed (see below).
	selected := in.Uninject || in.Admission || in.Config.selects(kind, meta)
	t, locErr := locateTemplate(obj, wk, r.Resource)
	if !selected && (t == nil || !t.has(in.Config.StatusAnnotation())) {
		return skip(r, NotSelected, notSelected), nil, nil
	}

	var status *Status
	legacy := false
	if t != nil {
		if err := checkMetadata(r.Resource, mapGet(t.node, "metadata"), t.field("metadata")); err != nil {
			return r, nil, err
		}
		var err error
		if status, legacy, err = in.readStatus(t); err != nil {
			return r, nil, err
		}
	}
	if in.Uninject {
		return in.planUninject(r, obj, t, wk, status, legacy, anchors)
	}
	if !selected && status == nil { // the tutorial's status: nothing to remove
		return skip(r, NotSelected, notSelected), nil, nil
	}

	var sets []*SidecarSet
	reason, detail := NotSelected, notSelected
	if selected {
		var err error
		if sets, reason, detail, err = in.requested(t, meta, &r); err != nil {
			return r, nil, err
		}
	}
	sets, reason, detail = in.Config.hookRequest(meta, sets, reason, detail, &r)
	kept, skipped, why, err := in.forCompletion(t, sets)
	if err != nil {
		return r, nil, err
	}
	r.seen = &observed{t: t, read: status}
	switch {
	case len(skipped) > 0 && len(kept) == 0:
		reason, detail = RunsToCompletion, why
	case len(skipped) > 0:
		r.seen.skipped = "skipped " + names(skipped) + ": " + why
		r.Notes = append(r.Notes, r.seen.skipped)
	}
	sets = kept
	// Sets with parameters take the workload's values (params.go).
	pr := &paramReader{cfg: in.Config, t: t, meta: meta, res: r.Resource, r: &r}
	r.seen.params = pr
	if t != nil && len(sets) > 0 {
		if sets, err = pr.resolveAll(sets); err != nil {
			return r, nil, err
		}
	}
	// What the status says is believed only for what the pod holds.
	injected := false
	switch {
	case legacy && legacyHeld(t, sets):
		return skip(r, AlreadyInjected, fmt.Sprintf("injected by the tutorial webhook (%s: %q); remove that annotation to inject", in.Config.StatusAnnotation(), legacyStatus)), nil, nil
	case legacy:
		// The pod lacks what the tutorial would have added: the status is
		// not true of it, and injection replaces it.
		status = &Status{}
		r.Warnings = append(r.Warnings, fmt.Sprintf("%s is %q but the pod lacks the sidecars it stands for; treated as not injected", in.Config.StatusAnnotation(), legacyStatus))
	case status != nil:
		held, errs := in.verify(t, status)
		if err := errs.ErrOrNil(); err != nil {
			return r, nil, err
		}
		injected = !held.empty()
		if !injected {
			r.Warnings = append(r.Warnings, fmt.Sprintf("%s lists nothing the pod holds; treated as not injected", in.Config.StatusAnnotation()))
		} else if status.legacy() {
			r.Notes = append(r.Notes, "status written before fingerprints, rewritten")
		}
		status = held
		r.seen.held = held
	}
	if injected && in.Admission {
		if missing := in.missingRequired(t, sets); len(missing) > 0 {
			r.Warnings = append(r.Warnings, fmt.Sprintf("required sets %s missing or changed; injected", names(missing)))
		} else {
			r = skip(r, AlreadyInjected, "already injected: "+names(status.Sets))
			r.Sets = status.Sets
			if d := in.digestOf(status.Sets, t.runsToCompletion(), pr); d != status.Digest {
				r.Warnings = append(r.Warnings, fmt.Sprintf("injected with another config (digest %s, now %s); left as it is", status.Digest, d))
				r.Outdated = in.outdatedSets(t, status, pr)
			}
			return r, nil, nil
		}
	}
	switch {
	case status == nil && len(sets) == 0:
		return skip(r, reason, detail), nil, nil
	case locErr != nil:
		return r, nil, locErr
	}

	workload := &template{res: r.Resource, node: obj}
	if err := checkDuplicateKeys(workload, false); err != nil {
		return r, nil, err
	}
	work, target, wt, a := workCopy(obj, t, wk, anchors)
	var keep map[string]string
	if status != nil {
		keep = status.Keep
		uninject(wt, status, in.Config.StatusAnnotation())
	}
	var newStatus *Status
	var statusValue *yaml.Node
	if len(sets) > 0 {
		var err error
		if r.Kept, newStatus, statusValue, err = in.inject(wt, sets); err != nil {
			return r, nil, err
		}
	}
	if a != nil {
		records, notes := a.settle(keep, newStatus != nil)
		r.Notes = append(r.Notes, notes...)
		if newStatus != nil && len(records) > 0 {
			recordForms(newStatus, statusValue, records)
		}
	}
	r.Sets = setNames(sets)
	if injected {
		r.Removed = without(status.Sets, r.Sets)
	}
	switch {
	// the same meaning as before (numbers by value, keys in any order,
	// aliases followed): the original stays as it is
	case yamltree.SameValues(work, target):
		r.Action = Unchanged
		return r, nil, nil
	case !injected && len(sets) > 0:
		r.Action = Injected
	case len(sets) == 0:
		r.Action = Uninjected
		r.Reason, r.Detail = reason, detail
	default:
		r.Action = Upgraded
	}
	return r, replaceWith(target, work), nil
}

// missingRequired lists the required sets among sets that the pod does not
// hold as the config defines them now.
func (in *Injector) missingRequired(t *template, sets []*SidecarSet) []string {
	var out []string
	for _, s := range sets {
		if s.Required && !in.holdsCurrent(t, s) {
			out = append(out, s.Name)
		}
	}
	return out
}

func (in *Injector) planUninject(r Result, obj *yaml.Node, t *template, wk *workloadKind, status *Status, legacy, anchors bool) (Result, commitFunc, error) {
	switch {
	case legacy:
		r = skip(r, NotInjected, fmt.Sprintf("injected by the tutorial webhook (%s: %q), which records nothing to remove", in.Config.StatusAnnotation(), legacyStatus))
		r.Warnings = append(r.Warnings, r.Detail)
		return r, nil, nil
	case status == nil:
		return skip(r, NotInjected, "no "+in.Config.StatusAnnotation()+" annotation"), nil, nil
	}
	held, errs := in.verify(t, status)
	if err := errs.ErrOrNil(); err != nil {
		return r, nil, err
	}
	if held.empty() {
		r.Warnings = append(r.Warnings, fmt.Sprintf("%s lists nothing the pod holds; removed the annotation only", in.Config.StatusAnnotation()))
	}
	work, target, wt, a := workCopy(obj, t, wk, anchors)
	uninject(wt, held, in.Config.StatusAnnotation())
	if len(seqItems(mapGet(t.spec(), "containers"))) > 0 && len(seqItems(mapGet(wt.spec(), "containers"))) == 0 {
		// A pod needs a container: whatever the status says, the last one
		// cannot have been injected.
		return r, nil, t.errorf(t.field("spec.containers"), "uninject would remove every container; the status annotation cannot be right")
	}
	if a != nil {
		_, notes := a.settle(held.Keep, false)
		r.Notes = append(r.Notes, notes...)
	}
	r.Action, r.Removed = Uninjected, status.Sets
	return r, replaceWith(target, work), nil
}

func skip(r Result, reason SkipReason, detail string) Result {
	r.Action, r.Reason, r.Detail = Skipped, reason, detail
	return r
}

// workCopy returns a copy to edit, the node it will replace on commit, and
// the template in the copy. A resource that uses YAML anchors is copied as
// anchors.go says, whole (an edit may have to write out an alias anywhere
// in it); the returned *anchored then settles it after the edit.
func workCopy(obj *yaml.Node, t *template, wk *workloadKind, anchors bool) (work, target *yaml.Node, wt *template, a *anchored) {
	if !anchors {
		work = editableCopy(t.node)
		return work, t.node, &template{res: t.res, prefix: t.prefix, node: work}, nil
	}
	a, wt = anchoredCopy(obj, t, wk)
	return a.root, obj, wt, a
}

// readStatus parses the template's status annotation, if any.
func (in *Injector) readStatus(t *template) (*Status, bool, error) {
	key := in.Config.StatusAnnotation()
	value, node := t.annotation(key)
	switch {
	case node == nil:
		return nil, false, nil
	case value == legacyStatus:
		return nil, true, nil
	}
	field := t.field("metadata.annotations") + quoteKey(key)
	if node.Kind != yaml.ScalarNode {
		return nil, false, t.errorf(field, "expected a string, got %s", describe(node))
	}
	st, err := ParseStatus(value)
	if err != nil {
		return nil, false, t.errorf(field, "not a status written by sidecar-injector (%v); remove it to inject afresh", err)
	}
	return st, false, nil
}

// requested returns the sets a workload asks for; with none, the reason.
func (in *Injector) requested(t *template, meta *yaml.Node, r *Result) ([]*SidecarSet, SkipReason, string, error) {
	key := in.Config.InjectAnnotation()
	var node *yaml.Node
	var field string
	if t != nil {
		if _, n := t.annotation(key); n != nil {
			node, field = n, t.field("metadata.annotations")+quoteKey(key)
		}
	}
	if own := mapGet(mapGet(meta, "annotations"), key); own != nil {
		switch {
		case node == nil:
			node, field = own, "metadata.annotations"+quoteKey(key)
		case scalarString(own) != scalarString(node):
			r.Warnings = append(r.Warnings, fmt.Sprintf("%s is %q on the workload but %q on its pod template; the template wins",
				key, scalarString(own), scalarString(node)))
		}
	}
	var sets []*SidecarSet
	var reason SkipReason
	var detail string
	switch {
	case node == nil && in.Config.Policy == v1alpha1.PolicyEnabled:
		sets = in.Config.DefaultSets()
	case node == nil:
		reason, detail = NotRequested, fmt.Sprintf("not requested (policy %s; annotate %s: \"true\" or set names)", v1alpha1.PolicyOptIn, key)
	case node.Kind != yaml.ScalarNode || node.ShortTag() != tagStr:
		msg := "expected a string, got " + describe(node)
		if node.Kind == yaml.ScalarNode && !isNull(node) {
			msg += fmt.Sprintf(` (quote it: "%s"; the API server takes only strings)`, node.Value)
		}
		return nil, "", "", &ResourceError{Resource: r.Resource, Field: field, Msg: msg}
	default:
		var err error
		if sets, reason, detail, err = in.Config.parseRequest(node.Value, field, r.Resource); err != nil {
			return nil, "", "", err
		}
	}
	required := in.Config.RequiredSets()
	if len(required) == 0 {
		return sets, reason, detail, nil
	}
	if reason == OptedOut {
		if !in.Admission {
			return nil, "", "", &ResourceError{Resource: r.Resource, Field: field, Msg: fmt.Sprintf(
				"%q refuses the required sets %s, which every selected workload gets; remove the annotation, or ask for the config's selector to leave this workload out",
				node.Value, names(setNames(required)))}
		}
		r.Warnings = append(r.Warnings, fmt.Sprintf("%s: %q overridden: the required sets %s are injected whatever a pod asks", key, node.Value, names(setNames(required))))
	}
	return in.Config.inOrder(sets, required), "", "", nil
}

// inOrder returns the union of two lists of sets, in config order.
func (c *Config) inOrder(a, b []*SidecarSet) []*SidecarSet {
	var out []*SidecarSet
	for _, s := range c.Sets {
		if slices.Contains(a, s) || slices.Contains(b, s) {
			out = append(out, s)
		}
	}
	return out
}

func (c *Config) parseRequest(value, field string, res Resource) ([]*SidecarSet, SkipReason, string, error) {
	bad := func(format string, args ...any) ([]*SidecarSet, SkipReason, string, error) {
		msg := fmt.Sprintf(format, args...) + fmt.Sprintf(`; use "true", "false" or set names (%s)`, strings.Join(c.SetNames(), ", "))
		return nil, "", "", &ResourceError{Resource: res, Field: field, Msg: msg}
	}
	v := strings.TrimSpace(value)
	switch strings.ToLower(v) {
	case "":
		return bad("empty")
	case "false":
		return nil, OptedOut, fmt.Sprintf("opted out (%s: %q)", c.InjectAnnotation(), value), nil
	case "true":
		if sets := c.DefaultSets(); len(sets) > 0 {
			return sets, "", "", nil
		}
		return bad(`"true" asks for the default sets, but no set has default: true`)
	}
	want := map[string]bool{}
	for _, name := range strings.Split(v, ",") {
		name = strings.TrimSpace(name)
		switch {
		case name == "":
			return bad("%q has an empty set name", value)
		case c.Set(name) == nil:
			return bad("unknown sidecar set %q", name)
		}
		want[name] = true
	}
	var sets []*SidecarSet
	for _, s := range c.Sets { // config order, whatever the annotation's order
		if want[s.Name] {
			sets = append(sets, s)
		}
	}
	return sets, "", "", nil
}

// digestOf returns the digest the named sets have in the current config,
// in a pod that runs to completion or not, with the workload's parameter
// values (pr).
func (in *Injector) digestOf(names []string, completion bool, pr *paramReader) string {
	var sets []*SidecarSet
	for _, n := range names {
		s := in.Config.Set(n)
		if s == nil {
			return "(set " + n + " no longer configured)"
		}
		if len(s.Parameters) > 0 {
			rs, err := pr.resolve(s)
			if err != nil {
				return "(set " + n + ": invalid parameters)"
			}
			s = rs
		}
		sets = append(sets, s)
	}
	return digestFor(sets, completion)
}

func setNames(sets []*SidecarSet) []string {
	names := make([]string, len(sets))
	for i, s := range sets {
		names[i] = s.Name
	}
	return names
}

// without returns the items of a that are not in b.
func without(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

// Concerned reports, from a pod's annotations alone, whether Apply could
// change it or must see all of it. The webhook calls it on the raw request
// before building any tree, since most pods are not concerned. A pod with a
// status is always concerned: the status is believed only for what the pod
// holds, which the annotations cannot tell.
func (in *Injector) Concerned(annotations map[string]string) bool {
	if _, ok := annotations[in.Config.StatusAnnotation()]; ok {
		return true
	}
	if in.Uninject {
		return false
	}
	if len(in.Config.RequiredSets()) > 0 {
		return true
	}
	v, asked := annotations[in.Config.InjectAnnotation()]
	if !asked {
		return in.Config.Policy == v1alpha1.PolicyEnabled
	}
	return !strings.EqualFold(strings.TrimSpace(v), "false")
}
