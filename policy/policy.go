// Package policy turns an injector config into admission policies that the
// API server runs itself (Kubernetes 1.36, admissionregistration.k8s.io/v1):
// a MutatingAdmissionPolicy whose CEL JSON patch gives a pod being created
// what the engine (package transformer, as the webhook runs it) gives it,
// status annotation included, and a ValidatingAdmissionPolicy that rejects
// what the engine rejects, the pods it cannot inject exactly, and pods
// lacking a required set.
//
// What varies with the pod (which sets it asks for, which items it already
// holds, its containers' names) is decided in CEL; what CEL cannot compute
// (the sha256 fingerprints and digest of the status) is computed here, for
// every item and every combination of sets, and embedded as literals. A
// config whose behaviour CEL cannot reproduce exactly is refused with an
// error naming the field (docs/policy.md lists them).
package policy

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/sidecar-injector/sidecar-injector/api/v1alpha1"
	"github.com/sidecar-injector/sidecar-injector/transformer"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Options are the choices the config does not make.
type Options struct {
	// Name names the four objects (NAME, NAME-required...); default
	// "sidecar-injector".
	Name string
	// NamespaceSelector limits the bindings to some namespaces; nil: all.
	NamespaceSelector *metav1.LabelSelector
}

// DefaultName names the policies when Options.Name is empty.
const DefaultName = "sidecar-injector"

// maxOptional bounds the sets a pod may choose among: the status digest of
// every combination is embedded (2^n entries, twice: pods that run to
// completion have their own).
const maxOptional = 8

// Error is a config the policy cannot reproduce exactly.
type Error struct {
	Source, Field, Msg string
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s: %s: cannot be expressed as an admission policy: %s", e.Source, e.Field, e.Msg)
}

// Policies are the generated objects, in the order to apply them.
type Policies struct {
	Mutating          *admissionv1.MutatingAdmissionPolicy
	MutatingBinding   *admissionv1.MutatingAdmissionPolicyBinding
	Validating        *admissionv1.ValidatingAdmissionPolicy
	ValidatingBinding *admissionv1.ValidatingAdmissionPolicyBinding
}

// Objects lists the policies in the order to apply them.
func (p *Policies) Objects() []any {
	return []any{p.Mutating, p.MutatingBinding, p.Validating, p.ValidatingBinding}
}

// YAML renders the policies as one YAML stream.
func (p *Policies) YAML() ([]byte, error) {
	var b strings.Builder
	for i, o := range p.Objects() {
		if i > 0 {
			b.WriteString("---\n")
		}
		raw, err := json.Marshal(o)
		if err != nil {
			return nil, err
		}
		n, err := yaml.ConvertJSONToYamlNode(string(raw))
		if err != nil {
			return nil, err
		}
		s, err := n.String()
		if err != nil {
			return nil, err
		}
		b.WriteString(s)
	}
	return []byte(b.String()), nil
}

// Generate writes the policies for a config.
func Generate(cfg *transformer.Config, opts Options) (*Policies, error) {
	g, err := newGen(cfg)
	if err != nil {
		return nil, err
	}
	name := opts.Name
	if name == "" {
		name = DefaultName
	}
	vars, err := g.variables()
	if err != nil {
		return nil, err
	}
	patch, err := g.patch()
	if err != nil {
		return nil, err
	}
	fail := admissionv1.Fail
	rules := &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{{
		RuleWithOperations: admissionv1.RuleWithOperations{
			Operations: []admissionv1.OperationType{admissionv1.Create},
			Rule:       admissionv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}},
		}}}}
	bindingMatch := func() *admissionv1.MatchResources {
		if opts.NamespaceSelector == nil {
			return nil
		}
		return &admissionv1.MatchResources{NamespaceSelector: opts.NamespaceSelector.DeepCopy()}
	}
	labels := map[string]string{"app.kubernetes.io/managed-by": "sidecar-injector"}
	meta := func(n string) metav1.ObjectMeta { return metav1.ObjectMeta{Name: n, Labels: labels} }
	p := &Policies{
		Mutating: &admissionv1.MutatingAdmissionPolicy{
			TypeMeta:   metav1.TypeMeta{APIVersion: "admissionregistration.k8s.io/v1", Kind: "MutatingAdmissionPolicy"},
			ObjectMeta: meta(name),
			Spec: admissionv1.MutatingAdmissionPolicySpec{
				MatchConstraints:   rules.DeepCopy(),
				FailurePolicy:      &fail,
				ReinvocationPolicy: admissionv1.NeverReinvocationPolicy,
				Variables:          vars,
				Mutations: []admissionv1.Mutation{{
					PatchType: admissionv1.PatchTypeJSONPatch,
					JSONPatch: &admissionv1.JSONPatch{Expression: patch},
				}},
			},
		},
		MutatingBinding: &admissionv1.MutatingAdmissionPolicyBinding{
			TypeMeta:   metav1.TypeMeta{APIVersion: "admissionregistration.k8s.io/v1", Kind: "MutatingAdmissionPolicyBinding"},
			ObjectMeta: meta(name),
			Spec:       admissionv1.MutatingAdmissionPolicyBindingSpec{PolicyName: name, MatchResources: bindingMatch()},
		},
		Validating: &admissionv1.ValidatingAdmissionPolicy{
			TypeMeta:   metav1.TypeMeta{APIVersion: "admissionregistration.k8s.io/v1", Kind: "ValidatingAdmissionPolicy"},
			ObjectMeta: meta(name),
			Spec: admissionv1.ValidatingAdmissionPolicySpec{
				MatchConstraints: rules.DeepCopy(),
				FailurePolicy:    &fail,
				Variables:        vars,
				Validations:      g.validations(),
			},
		},
		ValidatingBinding: &admissionv1.ValidatingAdmissionPolicyBinding{
			TypeMeta:   metav1.TypeMeta{APIVersion: "admissionregistration.k8s.io/v1", Kind: "ValidatingAdmissionPolicyBinding"},
			ObjectMeta: meta(name),
			Spec: admissionv1.ValidatingAdmissionPolicyBindingSpec{PolicyName: name, MatchResources: bindingMatch(),
				ValidationActions: []admissionv1.ValidationAction{admissionv1.Deny}},
		},
	}
	return p, nil
}

// gen holds what the expressions are made of.
type gen struct {
	cfg  *transformer.Config
	sets []*transformer.SidecarSet
	// definers lists, per kind of item and name, the sets that define it,
	// in config order (sets may share identical items).
	definers map[string]map[string][]string
}

func newGen(cfg *transformer.Config) (*gen, error) {
	g := &gen{cfg: cfg, sets: cfg.Sets, definers: map[string]map[string][]string{}}
	refuse := func(field, format string, args ...any) error {
		return &Error{Source: cfg.Source, Field: field, Msg: fmt.Sprintf(format, args...)}
	}
	if cfg.OnConflict != v1alpha1.ConflictFail {
		return nil, refuse("onConflict", "%q: the engine compares the pod's item with the config's, field by field after the API server's defaults, to decide; "+
			"CEL cannot reproduce that comparison exactly. Use onConflict: fail (the policy then rejects pods holding an item of the same name) or the webhook", cfg.OnConflict)
	}
	if !cfg.ServesNative() {
		return nil, refuse("kubeVersion", "%q: admission policies need Kubernetes 1.36, which serves native sidecars; this config is for clusters that do not", cfg.KubeVersion)
	}
	optional := 0
	for i, s := range cfg.Sets {
		if len(s.Parameters) > 0 {
			return nil, refuse(fmt.Sprintf("sidecars[%d].parameters", i), "set %q declares parameters: their values come from each pod's annotations, are checked against types and bounds, "+
				"may be derived from the app's own requests, and go into the status digest, which the policy embeds per combination of sets; CEL cannot reproduce that exactly. "+
				"Use the webhook, or inject at build time", s.Name)
		}
		if s.Position == v1alpha1.PositionFirst && !s.Native && len(s.Containers) > 0 {
			return nil, refuse(fmt.Sprintf("sidecars[%d].position", i), "set %q puts containers first: the engine then records %s with a fingerprint (sha256) of the app container's name, "+
				"which CEL cannot compute. Use position: last, native: true, or the webhook", s.Name, transformer.DefaultContainerAnnotation)
		}
		if !s.Required {
			optional++
		}
	}
	if optional > maxOptional {
		return nil, refuse("sidecars", "%d sets a pod may ask for: the policy embeds the status digest of every combination, and supports at most %d", optional, maxOptional)
	}
	for _, s := range cfg.Sets {
		add := func(kind, name string) {
			if g.definers[kind] == nil {
				g.definers[kind] = map[string][]string{}
			}
			if !slices.Contains(g.definers[kind][name], s.Name) {
				g.definers[kind][name] = append(g.definers[kind][name], s.Name)
			}
		}
		for _, n := range s.Volumes {
			add("volume", name(n, "name"))
		}
		for _, n := range s.ImagePullSecrets {
			add("secret", name(n, "name"))
		}
		for _, n := range s.Env {
			add("env", name(n, "name"))
		}
		for _, n := range s.VolumeMounts {
			add("mount", name(n, "mountPath"))
		}
		for _, kv := range s.Annotations {
			add("annotation", kv.Key)
		}
		for _, kv := range s.Labels {
			add("label", kv.Key)
		}
	}
	return g, nil
}

// name reads a string field of an item.
func name(n *yaml.Node, key string) string {
	v, err := yaml.NewRNode(n).GetString(key)
	if err != nil {
		return ""
	}
	return v
}

// setNames returns the names of sets matching a condition, in config order.
func (g *gen) setNames(keep func(*transformer.SidecarSet) bool) []string {
	out := []string{}
	for _, s := range g.sets {
		if keep(s) {
			out = append(out, s.Name)
		}
	}
	return out
}

// anySelected is a CEL condition: one of the sets is injected.
func anySelected(sets []string) string {
	if len(sets) == 1 {
		return fmt.Sprintf("(%s in variables.sets)", str(sets[0]))
	}
	return fmt.Sprintf("variables.sets.exists(s, s in %s)", strList(sets))
}

// firstSelected is a CEL condition: set is injected and no set before it
// that defines the same item is (the engine adds a shared item once, where
// the first set that has it puts it).
func (g *gen) firstSelected(set string, definers []string) string {
	i := slices.Index(definers, set)
	cond := fmt.Sprintf("(%s in variables.sets)", str(set))
	if i > 0 {
		cond += " && !" + anySelected(definers[:i])
	}
	return cond
}

func (g *gen) variables() ([]admissionv1.Variable, error) {
	cfg := g.cfg
	injectKey, statusKey := str(cfg.InjectAnnotation()), str(cfg.StatusAnnotation())
	all := strList(g.setNames(func(*transformer.SidecarSet) bool { return true }))
	defaults := g.setNames(func(s *transformer.SidecarSet) bool { return s.Default })
	required := strList(g.setNames(func(s *transformer.SidecarSet) bool { return s.Required }))
	skipped := strList(g.setNames(func(s *transformer.SidecarSet) bool { return s.RunToCompletion == v1alpha1.RunSkip }))
	unasked := "[]"
	if cfg.Policy == v1alpha1.PolicyEnabled {
		unasked = strList(defaults)
	}
	use := fmt.Sprintf(`; use "true", "false" or set names (%s)`, strings.Join(cfg.SetNames(), ", "))
	onTrue := `""`
	if len(defaults) == 0 {
		onTrue = str(`"true" asks for the default sets, but no set has default: true`) + " + " + str(use)
	}
	hook := "false"
	if cfg.HelmHooks == v1alpha1.HooksSkip {
		hook = fmt.Sprintf("%s in variables.ann", str(transformer.HelmHookAnnotation))
	}
	vars := []admissionv1.Variable{
		{Name: "ann", Expression: "has(object.metadata.annotations) ? object.metadata.annotations : {}"},
		{Name: "labels", Expression: "has(object.metadata.labels) ? object.metadata.labels : {}"},
		{Name: "asked", Expression: fmt.Sprintf("%s in variables.ann", injectKey)},
		{Name: "request", Expression: fmt.Sprintf(`variables.asked ? variables.ann[%s].trim() : ""`, injectKey)},
		{Name: "word", Expression: "variables.request.lowerAscii()"},
		{Name: "names", Expression: `variables.request.split(",").map(n, n.trim())`},
		// what the engine refuses in the inject annotation, as it says it
		{Name: "badRequest", Expression: fmt.Sprintf(`!variables.asked ? "" :
variables.request == "" ? "empty" + %[1]s :
variables.word == "true" ? %[2]s :
variables.word == "false" ? "" :
variables.names.exists(n, n == "") ? "\"" + variables.ann[%[3]s] + "\" has an empty set name" + %[1]s :
variables.names.exists(n, !(n in %[4]s)) ? "unknown sidecar set \"" + variables.names.filter(n, !(n in %[4]s))[0] + "\"" + %[1]s : ""`,
			str(use), onTrue, injectKey, all)},
		{Name: "completion", Expression: `has(object.spec.restartPolicy) && object.spec.restartPolicy in ["Never", "OnFailure"]`},
		{Name: "hook", Expression: hook},
		{Name: "wanted", Expression: fmt.Sprintf(`!variables.asked ? %s : variables.word == "false" ? [] : variables.word == "true" ? %s : variables.names`,
			unasked, strList(defaults))},
		// the sets the pod gets, in config order: as asked, plus the
		// required ones; a Helm hook only the required ones (helmHooks:
		// skip); none that skip pods running to completion, in one
		{Name: "sets", Expression: fmt.Sprintf(`%s.filter(s, (s in %s || (!variables.hook && s in variables.wanted)) && !(variables.completion && s in %s))`,
			all, required, skipped)},
		{Name: "key", Expression: `variables.sets.join(",") + (variables.completion ? "/completion" : "")`},
		{Name: "podContainers", Expression: "object.spec.containers.map(c, c.name) + (has(object.spec.initContainers) ? object.spec.initContainers.map(c, c.name) : [])"},
		{Name: "podVolumes", Expression: "has(object.spec.volumes) ? object.spec.volumes.map(v, v.name) : []"},
		{Name: "podSecrets", Expression: `has(object.spec.imagePullSecrets) ? object.spec.imagePullSecrets.map(s, has(s.name) ? s.name : "") : []`},
		// A pod with a status is left alone: made from a template injected
		// at build time, or injected already. The tutorial's webhook wrote
		// "injected": believed only if the pod holds the sets' containers.
		{Name: "injected", Expression: fmt.Sprintf(`%[1]s in variables.ann && (variables.ann[%[1]s] != %[2]s ||
  (variables.sets.exists(s, size(%[3]s[s]) > 0) && variables.sets.all(s, %[3]s[s].all(n, n in variables.podContainers))))`,
			statusKey, str("injected"), g.containerNames())},
		// the tutorial's status on a pod that gets no set: the engine
		// removes it (it is not true of the pod)
		{Name: "voidLegacy", Expression: fmt.Sprintf(`!variables.injected && %[1]s in variables.ann && variables.ann[%[1]s] == %[2]s && variables.badRequest == "" && size(variables.sets) == 0`,
			statusKey, str("injected"))},
		{Name: "problems", Expression: g.problems()},
		{Name: "inject", Expression: `!variables.injected && variables.badRequest == "" && size(variables.sets) > 0 && size(variables.problems) == 0`},
	}
	lists, _, err := g.itemLists()
	if err != nil {
		return nil, err
	}
	vars = append(vars, lists...)
	vars = append(vars, g.statusVariables()...)
	return vars, nil
}

// containerNames is a CEL map from each set to its containers' and init
// containers' names.
func (g *gen) containerNames() string {
	var entries []string
	for _, s := range g.sets {
		var names []string
		for _, c := range slices.Concat(s.Containers, s.InitContainers) {
			names = append(names, name(c, "name"))
		}
		entries = append(entries, str(s.Name)+": "+strList(names))
	}
	return "{" + strings.Join(entries, ", ") + "}"
}

// problems lists, in CEL, why the pod cannot be injected as the engine
// would: an item of the same name is there already (the engine keeps it if
// it is the config's, field by field, else fails: CEL cannot compare them
// exactly, so the policy always refuses), or a mount names a volume the pod
// will not have.
func (g *gen) problems() string {
	var checks []string
	add := func(cond, msg string) {
		checks = append(checks, fmt.Sprintf("(%s) ? %s : \"\"", cond, str(msg)))
	}
	for _, s := range g.sets {
		sel := fmt.Sprintf("(%s in variables.sets)", str(s.Name))
		for _, c := range slices.Concat(s.Containers, s.InitContainers) {
			n := name(c, "name")
			add(fmt.Sprintf("%s && %s in variables.podContainers", sel, str(n)),
				fmt.Sprintf("container %q already exists in the pod", n))
		}
	}
	kinds := []struct{ kind, cond, what string }{
		{"volume", "%s in variables.podVolumes", "volume %q already exists in the pod"},
		{"env", "object.spec.containers.exists(c, has(c.env) && c.env.exists(e, e.name == %s))", "env var %q already exists in an app container"},
		{"mount", "object.spec.containers.exists(c, has(c.volumeMounts) && c.volumeMounts.exists(m, m.mountPath == %s))", "a volume mount at %q already exists in an app container"},
	}
	for _, k := range kinds {
		for _, n := range slices.Sorted(maps.Keys(g.definers[k.kind])) {
			add(anySelected(g.definers[k.kind][n])+" && "+fmt.Sprintf(k.cond, str(n)), fmt.Sprintf(k.what, n))
		}
	}
	for _, kind := range []string{"annotation", "label"} {
		m := "variables.ann"
		if kind == "label" {
			m = "variables.labels"
		}
		for _, key := range slices.Sorted(maps.Keys(g.definers[kind])) {
			v := g.pairValue(kind, key)
			add(fmt.Sprintf("%s && %s in %s && %s[%s] != %s", anySelected(g.definers[kind][key]), str(key), m, m, str(key), str(v)),
				fmt.Sprintf("%s %q already exists in the pod with another value", kind, key))
		}
	}
	// mounts must name a volume the pod has or gets
	for _, s := range g.sets {
		refs := map[string]bool{}
		for _, c := range slices.Concat(s.Containers, s.InitContainers) {
			for _, m := range seq(c, "volumeMounts") {
				refs[name(m, "name")] = true
			}
		}
		for _, m := range s.VolumeMounts {
			refs[name(m, "name")] = true
		}
		for _, v := range slices.Sorted(maps.Keys(refs)) {
			defs := g.definers["volume"][v]
			if slices.Contains(defs, s.Name) {
				continue
			}
			cond := fmt.Sprintf("(%s in variables.sets) && !(%s in variables.podVolumes)", str(s.Name), str(v))
			if len(defs) > 0 {
				cond += " && !" + anySelected(defs)
			}
			add(cond, fmt.Sprintf("set %q mounts volume %q, which is not in the pod", s.Name, v))
		}
	}
	if len(checks) == 0 {
		return "[]"
	}
	return "[\n" + strings.Join(checks, ",\n") + "\n].filter(p, p != \"\")"
}

func (g *gen) pairValue(kind, key string) string {
	for _, s := range g.sets {
		pairs := s.Annotations
		if kind == "label" {
			pairs = s.Labels
		}
		for _, kv := range pairs {
			if kv.Key == key {
				return kv.Value
			}
		}
	}
	return ""
}

// seq returns the items of a list field of a node.
func seq(n *yaml.Node, key string) []*yaml.Node {
	v, err := yaml.NewRNode(n).Pipe(yaml.Lookup(key))
	if err != nil || v == nil || v.YNode().Kind != yaml.SequenceNode {
		return nil
	}
	return v.YNode().Content
}

// typedList is a list of items to add, in the engine's order, as typed
// CEL object literals (known only to the patch expression), and for each
// the condition to add it (a variable: variables know no Object types).
type typedList struct{ items, conds []string }

func (l *typedList) add(cond, item string) {
	l.items = append(l.items, item)
	l.conds = append(l.conds, cond)
}

// itemLists are the items to add, each with the condition that its set is
// injected (and, for a shared item, that no earlier set adding it is).
func (g *gen) itemLists() (vars []admissionv1.Variable, lists map[string]*typedList, err error) {
	var initFirst, initLast, containers, volumes, secrets, env, mounts typedList
	var annotations, labels []string
	guarded := func(dst *[]string, cond, item string) {
		*dst = append(*dst, fmt.Sprintf("(%s ? [%s] : [])", cond, item))
	}
	for i, s := range g.sets {
		sel := fmt.Sprintf("(%s in variables.sets)", str(s.Name))
		field := fmt.Sprintf("sidecars[%d]", i)
		init := &initLast
		if s.Position == v1alpha1.PositionFirst {
			init = &initFirst
		}
		for j, c := range s.InitContainers {
			lit, err := literal(c, "Object.spec.initContainers", fmt.Sprintf("%s.initContainers[%d]", field, j))
			if err != nil {
				return nil, nil, g.wrap(err)
			}
			init.add(sel, lit)
		}
		for j, c := range s.ContainersIn(false) {
			f := fmt.Sprintf("%s.containers[%d]", field, j)
			if s.Native {
				lit, err := literal(c, "Object.spec.initContainers", f)
				if err != nil {
					return nil, nil, g.wrap(err)
				}
				init.add(sel, lit)
				continue
			}
			lit, err := literal(c, "Object.spec.containers", f)
			if err != nil {
				return nil, nil, g.wrap(err)
			}
			cond := sel
			if s.CompletionNative(true) {
				cond += " && !variables.completion"
			}
			containers.add(cond, lit)
		}
		if s.CompletionNative(true) {
			for j, c := range s.ContainersIn(true) {
				lit, err := literal(c, "Object.spec.initContainers", fmt.Sprintf("%s.containers[%d]", field, j))
				if err != nil {
					return nil, nil, g.wrap(err)
				}
				init.add(sel+" && variables.completion", lit)
			}
		}
		named := []struct {
			dst      *typedList
			items    []*yaml.Node
			kind     string
			key      string
			typeName string
			list     string
			extra    func(n string) string
		}{
			{&volumes, s.Volumes, "volume", "name", "Object.spec.volumes", "volumes", nil},
			{&secrets, s.ImagePullSecrets, "secret", "name", "Object.spec.imagePullSecrets", "imagePullSecrets",
				func(n string) string { return fmt.Sprintf(" && !(%s in variables.podSecrets)", str(n)) }},
			{&env, s.Env, "env", "name", "Object.spec.containers.env", "env", nil},
			{&mounts, s.VolumeMounts, "mount", "mountPath", "Object.spec.containers.volumeMounts", "volumeMounts", nil},
		}
		for _, l := range named {
			for j, it := range l.items {
				n := name(it, l.key)
				lit, err := literal(it, l.typeName, fmt.Sprintf("%s.%s[%d]", field, l.list, j))
				if err != nil {
					return nil, nil, g.wrap(err)
				}
				cond := g.firstSelected(s.Name, g.definers[l.kind][n])
				if l.extra != nil {
					cond += l.extra(n)
				}
				l.dst.add(cond, lit)
			}
		}
		for _, kv := range s.Annotations {
			guarded(&annotations, g.firstSelected(s.Name, g.definers["annotation"][kv.Key])+fmt.Sprintf(" && !(%s in variables.ann)", str(kv.Key)),
				strList([]string{escapeKey(kv.Key), kv.Value}))
		}
		for _, kv := range s.Labels {
			guarded(&labels, g.firstSelected(s.Name, g.definers["label"][kv.Key])+fmt.Sprintf(" && !(%s in variables.labels)", str(kv.Key)),
				strList([]string{escapeKey(kv.Key), kv.Value}))
		}
	}
	concat := func(parts []string) string {
		if len(parts) == 0 {
			return "[]"
		}
		return strings.Join(parts, " +\n")
	}
	keep := func(l *typedList) string {
		if len(l.conds) == 0 {
			return "[]"
		}
		return "[\n" + strings.Join(l.conds, ",\n") + "\n]"
	}
	lists = map[string]*typedList{"InitFirst": &initFirst, "InitLast": &initLast, "Containers": &containers, "Volumes": &volumes,
		"Secrets": &secrets, "Env": &env, "Mounts": &mounts}
	for _, n := range []string{"InitFirst", "InitLast", "Containers", "Volumes", "Secrets", "Env", "Mounts"} {
		vars = append(vars, admissionv1.Variable{Name: "keep" + n, Expression: keep(lists[n])})
	}
	vars = append(vars,
		admissionv1.Variable{Name: "addAnnotations", Expression: concat(annotations)},
		admissionv1.Variable{Name: "addLabels", Expression: concat(labels)})
	return vars, lists, nil
}

func (g *gen) wrap(err error) error {
	if e, ok := err.(*Error); ok {
		e.Source = g.cfg.Source
		return e
	}
	return err
}

// statusVariables build the status annotation's value as the engine
// writes it (encoding/json of transformer.Status: fields in order, map keys
// sorted), from fingerprints and digests computed here.
func (g *gen) statusVariables() []admissionv1.Variable {
	type entry struct{ key, cond, fp string }
	var containers, inits []entry
	for _, s := range g.sets {
		sel := fmt.Sprintf("(%s in variables.sets)", str(s.Name))
		for _, c := range s.InitContainers {
			n := name(c, "name")
			inits = append(inits, entry{n, sel, g.cfg.ItemFingerprint("container", n, false)})
		}
		for _, c := range s.Containers {
			n := name(c, "name")
			fp := g.cfg.ItemFingerprint("container", n, false)
			switch {
			case s.Native:
				inits = append(inits, entry{n, sel, fp})
			case s.CompletionNative(true):
				containers = append(containers, entry{n, sel + " && !variables.completion", fp})
				inits = append(inits, entry{n, sel + " && variables.completion", g.cfg.ItemFingerprint("container", n, true)})
			default:
				containers = append(containers, entry{n, sel, fp})
			}
		}
	}
	shared := func(kind, fpKind, extra string) []entry {
		var out []entry
		for _, n := range slices.Sorted(maps.Keys(g.definers[kind])) {
			cond := anySelected(g.definers[kind][n])
			if extra != "" {
				cond += fmt.Sprintf(extra, str(n))
			}
			fp := ""
			switch kind {
			case "annotation", "label":
				fp = transformer.PairFingerprint(kind, n, g.pairValue(kind, n))
			default:
				fp = g.cfg.ItemFingerprint(fpKind, n, false)
			}
			out = append(out, entry{n, cond, fp})
		}
		return out
	}
	fragments := func(entries []entry) string {
		sort.SliceStable(entries, func(i, j int) bool { return entries[i].key < entries[j].key })
		if len(entries) == 0 {
			return "[]"
		}
		parts := make([]string, len(entries))
		for i, e := range entries {
			parts[i] = fmt.Sprintf("(%s) ? %s : \"\"", e.cond, str(jsonString(e.key)+":"+jsonString(e.fp)))
		}
		return "[\n" + strings.Join(parts, ",\n") + "\n].filter(f, f != \"\")"
	}
	section := func(field, v string) string {
		return fmt.Sprintf(`(size(variables.%[2]s) == 0 ? "" : %[1]s + variables.%[2]s.join(",") + "}")`, str(`,"`+field+`":{`), v)
	}
	perContainer := func(field, v string) string {
		return fmt.Sprintf(`(size(variables.%[2]s) == 0 ? "" : %[1]s + object.spec.containers.map(c, c.name).sort().map(n, "\"" + n + "\":{" + variables.%[2]s.join(",") + "}").join(",") + "}")`,
			str(`,"`+field+`":{`), v)
	}
	return []admissionv1.Variable{
		{Name: "statusContainers", Expression: fragments(containers)},
		{Name: "statusInitContainers", Expression: fragments(inits)},
		{Name: "statusVolumes", Expression: fragments(shared("volume", "volume", ""))},
		{Name: "statusSecrets", Expression: fragments(shared("secret", "image pull secret", " && !(%s in variables.podSecrets)"))},
		{Name: "statusEnv", Expression: fragments(shared("env", "env var", ""))},
		{Name: "statusMounts", Expression: fragments(shared("mount", "volume mount", ""))},
		{Name: "statusAnnotations", Expression: fragments(shared("annotation", "", " && !(%s in variables.ann)"))},
		{Name: "statusLabels", Expression: fragments(shared("label", "", " && !(%s in variables.labels)"))},
		{Name: "status", Expression: g.prefixes() + "[variables.key] +\n" + strings.Join([]string{
			section("containers", "statusContainers"),
			section("initContainers", "statusInitContainers"),
			section("volumes", "statusVolumes"),
			section("imagePullSecrets", "statusSecrets"),
			perContainer("env", "statusEnv"),
			perContainer("volumeMounts", "statusMounts"),
			section("annotations", "statusAnnotations"),
			section("labels", "statusLabels"),
		}, " +\n") + ` + "}"`},
	}
}

// prefixes is a CEL map from each combination of sets (and whether the pod
// runs to completion) to the start of its status: the set names and the
// digest.
func (g *gen) prefixes() string {
	var optional []*transformer.SidecarSet
	for _, s := range g.sets {
		if !s.Required {
			optional = append(optional, s)
		}
	}
	entries := map[string]string{}
	for mask := 0; mask < 1<<len(optional); mask++ {
		for _, completion := range []bool{false, true} {
			var names []string
			var in []*transformer.SidecarSet
			for _, s := range g.sets {
				i := slices.Index(optional, s)
				chosen := s.Required || (i >= 0 && mask&(1<<i) != 0)
				if !chosen || (completion && s.RunToCompletion == v1alpha1.RunSkip) {
					continue
				}
				names = append(names, s.Name)
				in = append(in, s)
			}
			if len(in) == 0 {
				continue
			}
			key := strings.Join(names, ",")
			if completion {
				key += "/completion"
			}
			st := (&transformer.Status{Sets: names, Digest: transformer.DigestFor(in, completion)}).String()
			entries[key] = fmt.Sprintf("%s: %s", str(key), str(strings.TrimSuffix(st, "}")))
		}
	}
	lines := make([]string, 0, len(entries))
	for _, k := range slices.Sorted(maps.Keys(entries)) {
		lines = append(lines, entries[k])
	}
	return "{\n" + strings.Join(lines, ",\n") + "\n}"
}

// patch is the JSON patch expression: the items, then the annotations,
// the status last.
func (g *gen) patch() (string, error) {
	_, lists, err := g.itemLists()
	if err != nil {
		return "", err
	}
	items := func(n string) string {
		if len(lists[n].items) == 0 {
			return "[]"
		}
		return "[\n  " + strings.Join(lists[n].items, ",\n  ") + "\n]"
	}
	kept := func(n string) string { return "variables.keep" + n + ".exists(k, k)" }
	// each item is written once: the first transformList keeps the items
	// whose condition holds, the second (if any) makes the operations
	return `variables.voidLegacy ? [JSONPatch{op: "remove", path: ` + str("/metadata/annotations/"+escapeKey(g.cfg.StatusAnnotation())) + `}] :
!variables.inject ? [] :
((` + kept("InitFirst") + ` || ` + kept("InitLast") + `) && !has(object.spec.initContainers) ? [JSONPatch{op: "add", path: "/spec/initContainers", value: []}] : []) +
` + items("InitFirst") + `.transformList(i, c, variables.keepInitFirst[i], c).transformList(i, c, JSONPatch{op: "add", path: "/spec/initContainers/" + string(i), value: c}) +
` + items("InitLast") + `.transformList(i, c, variables.keepInitLast[i], JSONPatch{op: "add", path: "/spec/initContainers/-", value: c}) +
` + items("Containers") + `.transformList(i, c, variables.keepContainers[i], JSONPatch{op: "add", path: "/spec/containers/-", value: c}) +
(` + kept("Volumes") + ` && !has(object.spec.volumes) ? [JSONPatch{op: "add", path: "/spec/volumes", value: []}] : []) +
` + items("Volumes") + `.transformList(i, v, variables.keepVolumes[i], JSONPatch{op: "add", path: "/spec/volumes/-", value: v}) +
(` + kept("Secrets") + ` && !has(object.spec.imagePullSecrets) ? [JSONPatch{op: "add", path: "/spec/imagePullSecrets", value: []}] : []) +
` + items("Secrets") + `.transformList(i, s, variables.keepSecrets[i], JSONPatch{op: "add", path: "/spec/imagePullSecrets/-", value: s}) +
(!` + kept("Env") + ` ? [] : lists.range(size(object.spec.containers)).map(c,
  (has(object.spec.containers[c].env) ? [] : [JSONPatch{op: "add", path: "/spec/containers/" + string(c) + "/env", value: []}]) +
  ` + items("Env") + `.transformList(i, e, variables.keepEnv[i], JSONPatch{op: "add", path: "/spec/containers/" + string(c) + "/env/-", value: e})).flatten()) +
(!` + kept("Mounts") + ` ? [] : lists.range(size(object.spec.containers)).map(c,
  (has(object.spec.containers[c].volumeMounts) ? [] : [JSONPatch{op: "add", path: "/spec/containers/" + string(c) + "/volumeMounts", value: []}]) +
  ` + items("Mounts") + `.transformList(i, m, variables.keepMounts[i], JSONPatch{op: "add", path: "/spec/containers/" + string(c) + "/volumeMounts/-", value: m})).flatten()) +
(size(variables.addLabels) == 0 || has(object.metadata.labels) ? [] : [JSONPatch{op: "add", path: "/metadata/labels", value: {}}]) +
variables.addLabels.map(kv, JSONPatch{op: "add", path: "/metadata/labels/" + kv[0], value: kv[1]}) +
(has(object.metadata.annotations) ? [] : [JSONPatch{op: "add", path: "/metadata/annotations", value: {}}]) +
variables.addAnnotations.map(kv, JSONPatch{op: "add", path: "/metadata/annotations/" + kv[0], value: kv[1]}) +
[JSONPatch{op: "add", path: ` + str("/metadata/annotations/"+escapeKey(g.cfg.StatusAnnotation())) + `, value: variables.status}]`, nil
}

// validations reject what the engine rejects, what the policy cannot
// inject exactly, and pods that lack a required set.
func (g *gen) validations() []admissionv1.Validation {
	key := g.cfg.InjectAnnotation()
	out := []admissionv1.Validation{
		{
			Expression:        `variables.badRequest == ""`,
			MessageExpression: str("sidecar-injector: metadata.annotations["+jsonString(key)+"]: ") + " + variables.badRequest",
			Reason:            ptr(metav1.StatusReasonInvalid),
		},
		{
			Expression: `variables.injected || variables.badRequest != "" || size(variables.sets) == 0`,
			MessageExpression: `"sidecar-injector: the pod asks for " + variables.sets.join(", ") + " but cannot be injected: " + ` +
				`(size(variables.problems) == 0 ? "the MutatingAdmissionPolicy did not run (is its binding there?)" : variables.problems.join("; "))`,
			Reason: ptr(metav1.StatusReasonInvalid),
		},
	}
	for _, s := range g.sets {
		if !s.Required {
			continue
		}
		var conds []string
		holds := func(list, cname, image string) string {
			l := "object.spec." + list
			return fmt.Sprintf("(has(%[1]s) && %[1]s.exists(c, c.name == %[2]s && has(c.image) && c.image == %[3]s))", l, str(cname), str(image))
		}
		for _, c := range s.InitContainers {
			conds = append(conds, holds("initContainers", name(c, "name"), name(c, "image")))
		}
		for _, c := range s.Containers {
			n, img := name(c, "name"), name(c, "image")
			switch {
			case s.Native:
				conds = append(conds, holds("initContainers", n, img))
			case s.CompletionNative(true):
				conds = append(conds, fmt.Sprintf("(variables.completion ? %s : %s)", holds("initContainers", n, img), holds("containers", n, img)))
			default:
				conds = append(conds, holds("containers", n, img))
			}
		}
		if len(conds) == 0 {
			continue // a set of env, mounts or metadata only: nothing to tell it by
		}
		out = append(out, admissionv1.Validation{
			// the tutorial's status, believed, is not checked further (as the engine does)
			Expression: fmt.Sprintf("!variables.injected || variables.ann[%s] == %s || !(%s in variables.sets) || (%s)",
				str(g.cfg.StatusAnnotation()), str("injected"), str(s.Name), strings.Join(conds, " && ")),
			Message: fmt.Sprintf("sidecar-injector: the pod carries %s but lacks the required set %q (its containers, with the configured images): "+
				"the policy does not re-inject; remove the annotation or inject again with the current config", g.cfg.StatusAnnotation(), s.Name),
			Reason: ptr(metav1.StatusReasonForbidden),
		})
	}
	return out
}

func ptr[T any](v T) *T { return &v }

// str is a CEL string literal.
func str(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == 0x2028 || r == 0x2029:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

func strList(items []string) string {
	parts := make([]string, len(items))
	for i, s := range items {
		parts[i] = str(s)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// jsonString is s as encoding/json writes it (the status is written so).
func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// escapeKey escapes a map key for a JSON pointer (RFC 6901).
func escapeKey(k string) string {
	return strings.ReplaceAll(strings.ReplaceAll(k, "~", "~0"), "/", "~1")
}
