package transformer

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	apiresource "k8s.io/apimachinery/pkg/api/resource"
	strictjson "sigs.k8s.io/json"
	"sigs.k8s.io/kustomize/kyaml/utils"
	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/sidecar-injector/sidecar-injector/api/v1alpha1"
)

// Parameters are the knobs a platform team lets workloads turn: a set
// declares each one with a type, bounds and the fields it writes, and a
// workload sets a value with the annotation <prefix>/<set>.<parameter>.
// A value is hostile input: it is checked against its declaration, and it
// can only become the scalar at the declared fields of the set's own items
// (never a key, a list or a field elsewhere). See docs/parameters.md.

// maxParamValue bounds a parameter's value, in bytes: an annotation is
// read into the tree whole, and the value is copied into every field it
// goes to (the API server allows 256 KiB of annotations in all).
const maxParamValue = 1024

// maxUndeclared bounds the errors listed for annotations that name no
// parameter: a hostile pod may carry thousands, and the denial must stay
// small.
const maxUndeclared = 10

// maxParamPattern bounds a declared pattern; Go's regexp runs in linear
// time, so a long value cannot make it slow.
const maxParamPattern = 1024

// Parameter is one declared parameter of a set.
type Parameter struct {
	Name        string
	Type        v1alpha1.ParamType
	Default     string
	Min, Max    string // as written; "" when not bounded
	Enum        []string
	Pattern     string
	Paths       []string
	DefaultFrom *DefaultFrom
	re          *regexp.Regexp
	targets     []paramTarget
}

// DefaultFrom derives a quantity parameter's default from the app's own
// containers: Percent of the sum of their Resource ("requests.cpu"),
// rounded up to a multiple of RoundTo, then bounded by min and max.
type DefaultFrom struct {
	v1alpha1.DefaultFrom
	step   *big.Rat
	format apiresource.Format
}

// paramTarget is one field a parameter writes: in the set's list (e.g.
// containers), its item at index, the steps from the item to the scalar.
type paramTarget struct {
	list     string
	index    int
	steps    []pathStep
	asString bool // the field takes a string: integers and booleans are quoted
}

// pathStep is a map key (created when missing) or a list index.
type pathStep struct {
	key   string
	index int // -1 for a key step
}

// paramLists are the lists of a set that parameters may write into.
var paramLists = []string{"containers", "initContainers", "env", "volumes"}

func (s *SidecarSet) paramList(list string) []*yaml.Node {
	switch list {
	case "containers":
		return s.Containers
	case "initContainers":
		return s.InitContainers
	case "env":
		return s.Env
	case "volumes":
		return s.Volumes
	}
	return nil
}

func (s *SidecarSet) setParamList(list string, items []*yaml.Node) {
	switch list {
	case "containers":
		s.Containers = items
	case "initContainers":
		s.InitContainers = items
	case "env":
		s.Env = items
	case "volumes":
		s.Volumes = items
	}
}

func paramKind(list string) itemKind {
	switch list {
	case "env":
		return kindEnv
	case "volumes":
		return kindVolume
	}
	return kindContainer
}

// Parameter returns the set's parameter of that name, or nil.
func (s *SidecarSet) Parameter(name string) *Parameter {
	if i := slices.IndexFunc(s.Parameters, func(p *Parameter) bool { return p.Name == name }); i >= 0 {
		return s.Parameters[i]
	}
	return nil
}

var paramName = regexp.MustCompile(`^[A-Za-z0-9]([-A-Za-z0-9_]*[A-Za-z0-9])?$`)

// validateParams checks each set's parameters, compiles their paths
// against the set's items and writes the defaults into them, so that the
// set as configured is the set with every default.
func (p *configParser) validateParams() {
	shared := map[itemRef]int{} // env vars and volumes: how many sets define each
	for _, s := range p.cfg.Sets {
		for _, e := range s.Env {
			shared[itemRef{kindEnv, itemName(e)}]++
		}
		for _, v := range s.Volumes {
			shared[itemRef{kindVolume, itemName(v)}]++
		}
	}
	for i, s := range p.cfg.Sets {
		if len(s.paramDocs) == 0 {
			continue
		}
		p.cfg.params = true
		setField := p.setFields[i]
		key := p.cfg.AnnotationPrefix + "/" + s.Name + "."
		if len(key)+63 > 253 {
			p.errorf(joinField(setField, "name"), "annotation keys %s<parameter> would be too long; shorten the set name or the annotation prefix", key)
		}
		written := map[string]string{}
		names := map[string]bool{}
		for j, d := range s.paramDocs {
			field := joinField(setField, fmt.Sprintf("parameters[%d]", j))
			if names[d.Name] && d.Name != "" {
				p.errorf(joinField(field, "name"), "duplicate parameter %q in this set", d.Name)
				continue
			}
			names[d.Name] = true
			if prm := p.parseParam(field, s, d, shared, written); prm != nil {
				s.Parameters = append(s.Parameters, prm)
			}
		}
		s.paramDocs = nil
	}
}

func (p *configParser) parseParam(field string, s *SidecarSet, d *v1alpha1.Parameter, shared map[itemRef]int, written map[string]string) *Parameter {
	prm := &Parameter{Name: d.Name, Type: d.Type, Pattern: d.Pattern, Paths: d.Paths}
	if d.DefaultFrom != nil {
		prm.DefaultFrom = &DefaultFrom{DefaultFrom: *d.DefaultFrom}
	}
	n := len(p.errs)
	switch {
	case d.Name == "":
		p.errorf(joinField(field, "name"), "missing")
	case !paramName.MatchString(d.Name) || len(d.Name) > 63:
		p.errorf(joinField(field, "name"), "%q: a parameter name is at most 63 letters, digits, '-' or '_', starting and ending with a letter or digit", d.Name)
	}
	for _, e := range d.Enum {
		prm.Enum = append(prm.Enum, string(e))
	}
	if d.Default != nil {
		prm.Default = string(*d.Default)
	}
	if d.Min != nil {
		prm.Min = string(*d.Min)
	}
	if d.Max != nil {
		prm.Max = string(*d.Max)
	}
	switch d.Type {
	case v1alpha1.ParamQuantity, v1alpha1.ParamInteger:
		if len(d.Enum) > 0 || d.Pattern != "" {
			p.errorf(field, "a %s parameter takes min and max, not enum or pattern", d.Type)
		}
		for _, b := range []struct{ name, v string }{{"min", prm.Min}, {"max", prm.Max}} {
			if b.v != "" {
				if msg := prm.parse(b.v); msg != "" {
					p.errorf(joinField(field, b.name), "%q %s", b.v, msg)
				}
			}
		}
		if prm.Min != "" && prm.Max != "" && prm.compare(prm.Min, prm.Max) > 0 {
			p.errorf(joinField(field, "max"), "%s is below min %s", prm.Max, prm.Min)
		}
	case v1alpha1.ParamBoolean:
		if len(d.Enum) > 0 || d.Pattern != "" || d.Min != nil || d.Max != nil {
			p.errorf(field, "a boolean parameter takes no enum, pattern, min or max")
		}
	case v1alpha1.ParamString, v1alpha1.ParamImage:
		if d.Min != nil || d.Max != nil {
			p.errorf(field, "a %s parameter takes enum or pattern, not min and max", d.Type)
		}
		switch {
		case len(d.Enum) == 0 && d.Pattern == "":
			p.errorf(field, "a %s parameter needs an enum or a pattern: the values a workload may choose", d.Type)
		case len(d.Enum) > 0 && d.Pattern != "":
			p.errorf(field, "give an enum or a pattern, not both")
		case d.Pattern != "":
			_, err := regexp.Compile(d.Pattern)
			re, _ := regexp.Compile(`^(?:` + d.Pattern + `)$`)
			switch {
			case len(d.Pattern) > maxParamPattern:
				p.errorf(joinField(field, "pattern"), "longer than %d bytes", maxParamPattern)
			case err != nil:
				p.errorf(joinField(field, "pattern"), "not a regular expression: %v", err)
			default:
				prm.re = re
			}
		}
		for k, e := range prm.Enum {
			if msg := prm.parse(e); msg != "" {
				p.errorf(joinField(field, fmt.Sprintf("enum[%d]", k)), "%q %s", e, msg)
			}
		}
	case "":
		p.errorf(joinField(field, "type"), "missing: one of quantity, integer, boolean, string, image")
	default:
		p.errorf(joinField(field, "type"), "expected quantity, integer, boolean, string or image, got %q", d.Type)
	}
	if d.DefaultFrom != nil {
		p.validateDerive(joinField(field, "defaultFrom"), prm)
	}
	if len(p.errs) > n {
		return nil
	}
	switch {
	case d.Default == nil:
		p.errorf(joinField(field, "default"), "missing: every parameter needs a default, the value of workloads that set none")
	default:
		if msg := prm.check(prm.Default); msg != "" {
			p.errorf(joinField(field, "default"), "%q %s; %s", prm.Default, msg, prm.allowed(s.Name))
		}
	}
	if len(d.Paths) == 0 {
		p.errorf(joinField(field, "paths"), "list at least one field the value goes to, such as containers.[name=%s].resources.limits.cpu", firstName(s.Containers))
	}
	for k, path := range d.Paths {
		pf := joinField(field, fmt.Sprintf("paths[%d]", k))
		t, msg := compilePath(s, path)
		if msg != "" {
			p.errorf(pf, "%s", msg)
			continue
		}
		if kind := paramKind(t.list); kind != kindContainer && shared[itemRef{kind, itemName(s.paramList(t.list)[t.index])}] > 1 {
			p.errorf(pf, "%s %q is shared with another set; a parameter may write only into items of its own set", kind, itemName(s.paramList(t.list)[t.index]))
			continue
		}
		at := fmt.Sprint(t.list, t.index, t.steps)
		if prev, ok := written[at]; ok {
			p.errorf(pf, "writes the field that %s writes already", prev)
			continue
		}
		written[at] = pf
		prm.targets = append(prm.targets, t)
	}
	if len(p.errs) > n {
		return nil
	}
	// Write the default in, then check that the items still decode as
	// their Kubernetes types (a path with a typo in a field name fails
	// here); an integer or a boolean that the field takes as a string is
	// written quoted.
	for k := range prm.targets {
		t := &prm.targets[k]
		item := s.paramList(t.list)[t.index]
		if err := t.write(item, prm, prm.Default); err != nil {
			p.errorf(joinField(field, fmt.Sprintf("paths[%d]", k)), "%v", err)
			continue
		}
		problem := itemProblem(paramKind(t.list), item)
		if problem != "" && (prm.Type == v1alpha1.ParamInteger || prm.Type == v1alpha1.ParamBoolean) {
			t.asString = true
			_ = t.write(item, prm, prm.Default)
			if itemProblem(paramKind(t.list), item) == "" {
				problem = ""
			}
		}
		if problem != "" {
			p.errorf(joinField(field, fmt.Sprintf("paths[%d]", k)), "with the default %q written there, %s %q is not valid: %s", prm.Default, paramKind(t.list), itemName(item), problem)
		}
	}
	if len(p.errs) > n {
		return nil
	}
	return prm
}

// itemProblem decodes an item strictly into its Kubernetes type, as the
// config's items are: it returns what is wrong, or "".
func itemProblem(kind itemKind, item *yaml.Node) string {
	raw, err := yaml.NewRNode(item).MarshalJSON()
	if err != nil {
		return err.Error()
	}
	v := newItem(kind)
	strictErrs, err := strictjson.UnmarshalStrict(raw, v)
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &typeErr):
		got := jsonValueName(typeErr.Value)
		if typeErr.Value == "number" {
			got = "a number"
		}
		return fmt.Sprintf("%s takes %s, not %s", typeErr.Field, typeName(typeErr.Type), got)
	case err != nil:
		return err.Error()
	case len(strictErrs) > 0:
		return strictErrs[0].Error()
	}
	return ""
}

func firstName(items []*yaml.Node) string {
	if len(items) > 0 {
		return itemName(items[0])
	}
	return "NAME"
}

func (p *configParser) validateDerive(field string, prm *Parameter) {
	df := prm.DefaultFrom
	if prm.Type != v1alpha1.ParamQuantity {
		p.errorf(field, "only a quantity parameter can be derived from the app's resources")
		return
	}
	kind, name, ok := strings.Cut(df.Resource, ".")
	if !ok || (kind != "requests" && kind != "limits") || name == "" {
		p.errorf(joinField(field, "resource"), "expected requests.NAME or limits.NAME (such as requests.cpu), got %q", df.Resource)
	}
	if df.Percent < 1 || df.Percent > 1000 {
		p.errorf(joinField(field, "percent"), "expected 1 to 1000, got %d", df.Percent)
	}
	round := df.RoundTo
	if round == "" {
		round = "1Mi"
		if name == "cpu" {
			round = "1m"
		}
	}
	q, err := parseQuantity(round)
	if err != nil || q.Sign() <= 0 {
		p.errorf(joinField(field, "roundTo"), "%q is not a positive quantity", df.RoundTo)
		return
	}
	df.step, df.format = quantityRat(q), q.Format
}

// compilePath reads a path in kyaml's syntax (fields, [key=value] to pick
// a list item) against a set, and returns where it writes, or why it
// cannot.
func compilePath(s *SidecarSet, path string) (paramTarget, string) {
	segs := utils.SmarterPathSplitter(path, ".")
	t := paramTarget{}
	if len(segs) < 3 || !slices.Contains(paramLists, segs[0]) {
		return t, fmt.Sprintf("%q: a path starts with one of %s, then [name=ITEM], then the field, such as containers.[name=sidecar].resources.limits.cpu", path, strings.Join(paramLists, ", "))
	}
	t.list = segs[0]
	items := s.paramList(t.list)
	k, v, err := yaml.SplitIndexNameValue(segs[1])
	if !yaml.IsListIndex(segs[1]) || err != nil || k != "name" {
		return t, fmt.Sprintf("%q: %q must pick an item by name: [name=ITEM]", path, segs[1])
	}
	t.index = slices.IndexFunc(items, func(n *yaml.Node) bool { return itemName(n) == v })
	if t.index < 0 {
		var have []string
		for _, it := range items {
			have = append(have, itemName(it))
		}
		return t, fmt.Sprintf("%q matches nothing: the set has no %s named %q (it has: %s)", path, paramKind(t.list), v, orDefault(strings.Join(have, ", "), "none"))
	}
	if segs[2] == "name" && len(segs) == 3 {
		return t, fmt.Sprintf("%q: a parameter cannot rename an item", path)
	}
	n := items[t.index]
	for i, seg := range segs[2:] {
		last := i == len(segs)-3
		switch {
		case n == nil: // made by the write
			if yaml.IsListIndex(seg) {
				return t, fmt.Sprintf("%q matches nothing: no list at %s", path, strings.Join(segs[:i+2], "."))
			}
			t.steps = append(t.steps, pathStep{key: seg, index: -1})
		case yaml.IsListIndex(seg):
			if n.Kind != yaml.SequenceNode {
				return t, fmt.Sprintf("%q: %s is %s, not a list", path, strings.Join(segs[:i+2], "."), describe(n))
			}
			key, value, err := yaml.SplitIndexNameValue(seg)
			if err != nil {
				return t, fmt.Sprintf("%q: %q: %v", path, seg, err)
			}
			idx := slices.IndexFunc(n.Content, func(it *yaml.Node) bool {
				if key == "" {
					return it.Kind == yaml.ScalarNode && it.Value == value
				}
				return scalarString(mapGet(it, key)) == value
			})
			if idx < 0 {
				return t, fmt.Sprintf("%q matches nothing: no item %s at %s", path, seg, strings.Join(segs[:i+2], "."))
			}
			t.steps = append(t.steps, pathStep{index: idx})
			n = n.Content[idx]
		default:
			if n.Kind != yaml.MappingNode {
				return t, fmt.Sprintf("%q: %s is %s, not a map", path, strings.Join(segs[:i+2], "."), describe(n))
			}
			t.steps = append(t.steps, pathStep{key: seg, index: -1})
			n = mapGet(n, seg)
		}
		if last && n != nil && n.Kind != yaml.ScalarNode {
			return t, fmt.Sprintf("%q ends at %s: a parameter writes a single value", path, describe(n))
		}
	}
	return t, ""
}

// write puts a value at the target, in an item that is the parser's or a
// copy: maps on the way are made when missing.
func (t *paramTarget) write(item *yaml.Node, prm *Parameter, value string) error {
	n := item
	for i, st := range t.steps {
		last := i == len(t.steps)-1
		if st.index >= 0 {
			if n.Kind != yaml.SequenceNode || st.index >= len(n.Content) {
				return fmt.Errorf("the item changed shape") // cannot happen: compiled against it
			}
			if last {
				n.Content[st.index] = prm.node(value, t.asString, n.Content[st.index])
				return nil
			}
			n = n.Content[st.index]
			continue
		}
		if n.Kind != yaml.MappingNode {
			return fmt.Errorf("%s is %s, not a map", st.key, describe(n))
		}
		if last {
			mapSet(n, st.key, prm.node(value, t.asString, mapGet(n, st.key)))
			return nil
		}
		next := mapGet(n, st.key)
		if next == nil || isNull(next) {
			next = newMap()
			mapSet(n, st.key, next)
		}
		n = next
	}
	return nil
}

// node makes the scalar a value is written as: tagged by type, so that
// the writer quotes a string that would read as something else. A string
// takes the quotes of the one it replaces (was), if any.
func (prm *Parameter) node(value string, asString bool, was *yaml.Node) *yaml.Node {
	switch {
	case asString:
	case prm.Type == v1alpha1.ParamInteger:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: value}
	case prm.Type == v1alpha1.ParamBoolean:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: value}
	}
	n := newStr(value)
	if was != nil && was.Kind == yaml.ScalarNode && was.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
		n.Style = was.Style
	}
	return n
}

// parse checks that a value has the parameter's type; it returns why not.
func (prm *Parameter) parse(v string) string {
	switch prm.Type {
	case v1alpha1.ParamQuantity:
		if _, err := parseQuantity(v); err != nil {
			return "is not a quantity (such as 250m, 1.5 or 64Mi)"
		}
	case v1alpha1.ParamInteger:
		if _, err := strconv.ParseInt(v, 10, 64); err != nil {
			return "is not an integer"
		}
	case v1alpha1.ParamBoolean:
		if v != "true" && v != "false" {
			return `is not a boolean ("true" or "false")`
		}
	case v1alpha1.ParamImage:
		if !imageRef.MatchString(v) {
			return "is not an image reference"
		}
	}
	return ""
}

// imageRef is the shape of an image reference: registry/path:tag@digest,
// without spaces or characters a shell or YAML would read apart.
var imageRef = regexp.MustCompile(`^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-]+[a-z0-9]+)*)*(:[\w][\w.-]{0,127})?(@[a-z0-9]+([+._-][a-z0-9]+)*:[0-9a-fA-F]{32,})?$`)

// compare orders two values of a quantity or integer parameter, which
// parse already accepted.
func (prm *Parameter) compare(a, b string) int {
	if prm.Type == v1alpha1.ParamInteger {
		x, _ := strconv.ParseInt(a, 10, 64)
		y, _ := strconv.ParseInt(b, 10, 64)
		return cmpInt(x, y)
	}
	x, _ := parseQuantity(a)
	y, _ := parseQuantity(b)
	return x.Cmp(y)
}

func cmpInt(x, y int64) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// check checks a value against the declaration; it returns why it is not
// allowed, or "".
func (prm *Parameter) check(v string) string {
	switch {
	case len(v) > maxParamValue:
		return fmt.Sprintf("is %d bytes; a parameter value is at most %d", len(v), maxParamValue)
	case !utf8.ValidString(v) || strings.IndexFunc(v, func(r rune) bool { return !unicode.IsGraphic(r) }) >= 0:
		return "holds a control or format character, or invalid UTF-8"
	}
	if msg := prm.parse(v); msg != "" {
		return msg
	}
	switch {
	case prm.Min != "" && prm.compare(v, prm.Min) < 0:
		return "is below the minimum"
	case prm.Max != "" && prm.compare(v, prm.Max) > 0:
		return "is above the maximum"
	case len(prm.Enum) > 0 && !slices.Contains(prm.Enum, v):
		return "is not one of the allowed values"
	case prm.re != nil && !prm.re.MatchString(v):
		return "does not match the allowed pattern"
	}
	return ""
}

// allowed says what values a parameter takes, for messages.
func (prm *Parameter) allowed(set string) string {
	name := set + "." + prm.Name
	var what string
	switch {
	case prm.Type == v1alpha1.ParamBoolean:
		what = `"true" or "false"`
	case len(prm.Enum) > 0:
		quoted := make([]string, len(prm.Enum))
		for i, e := range prm.Enum {
			quoted[i] = strconv.Quote(e)
		}
		what = "one of " + strings.Join(quoted, ", ")
	case prm.re != nil:
		what = fmt.Sprintf("%s matching %s", articled(prm.Type), prm.Pattern)
	case prm.Min != "" && prm.Max != "":
		what = fmt.Sprintf("%s from %s to %s", articled(prm.Type), prm.Min, prm.Max)
	case prm.Min != "":
		what = fmt.Sprintf("%s of at least %s", articled(prm.Type), prm.Min)
	case prm.Max != "":
		what = fmt.Sprintf("%s of at most %s", articled(prm.Type), prm.Max)
	default:
		what = articled(prm.Type)
	}
	return name + " takes " + what
}

func articled(t v1alpha1.ParamType) string {
	if t == v1alpha1.ParamInteger || t == v1alpha1.ParamImage {
		return "an " + string(t)
	}
	return "a " + string(t)
}

// paramValue is the value a workload gets for one parameter.
type paramValue struct {
	prm   *Parameter
	value string
}

// paramReader reads a workload's parameter annotations, for the sets it
// gets. Annotations on the pod template win over the workload's, as for
// <prefix>/inject.
type paramReader struct {
	cfg  *Config
	t    *template
	meta *yaml.Node // the workload's metadata
	res  Resource
	r    *Result // warnings go here
	// resolved holds the sets resolved so far, warned the keys warned of.
	resolved map[*SidecarSet]*SidecarSet
	warned   map[string]bool
}

// annotation returns the value node and field of an annotation, template
// first.
func (pr *paramReader) annotation(key string) (*yaml.Node, string) {
	var node *yaml.Node
	var field string
	if pr.t != nil {
		if _, n := pr.t.annotation(key); n != nil {
			node, field = n, pr.t.field("metadata.annotations")+quoteKey(key)
		}
	}
	if own := mapGet(mapGet(pr.meta, "annotations"), key); own != nil {
		switch {
		case node == nil:
			node, field = own, "metadata.annotations"+quoteKey(key)
		case scalarString(own) != scalarString(node) && pr.r != nil && !pr.warned[key]:
			if pr.warned == nil {
				pr.warned = map[string]bool{}
			}
			pr.warned[key] = true
			pr.r.Warnings = append(pr.r.Warnings, fmt.Sprintf("%s is %q on the workload but %q on its pod template; the template wins",
				key, scalarString(own), scalarString(node)))
		}
	}
	return node, field
}

// undeclared returns an error for each <prefix>/<set>.<name> annotation
// that names no parameter of the set.
func (pr *paramReader) undeclared(s *SidecarSet) Errors {
	prefix := pr.cfg.AnnotationPrefix + "/" + s.Name + "."
	var errs Errors
	seen := map[string]bool{}
	check := func(m *yaml.Node, field string) {
		if m == nil || m.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(m.Content); i += 2 {
			key := m.Content[i].Value
			name, ok := strings.CutPrefix(key, prefix)
			if !ok || s.Parameter(name) != nil || seen[key] {
				continue
			}
			seen[key] = true
			if len(errs) == maxUndeclared {
				errs = append(errs, &ResourceError{Resource: pr.res, Field: field, Msg: fmt.Sprintf("more annotations %s* name no parameter of set %s; not all are listed", prefix, s.Name)})
			}
			if len(errs) >= maxUndeclared {
				continue
			}
			msg := fmt.Sprintf("set %s declares no parameter %q", s.Name, name)
			if len(s.Parameters) == 0 {
				msg += "; it declares none"
			} else {
				var declared []string
				for _, p := range s.Parameters {
					declared = append(declared, p.Name)
				}
				msg += "; it declares: " + strings.Join(declared, ", ")
			}
			errs = append(errs, &ResourceError{Resource: pr.res, Field: field + quoteKey(key), Msg: msg})
		}
	}
	if pr.t != nil {
		check(mapGet(pr.t.meta(), "annotations"), pr.t.field("metadata.annotations"))
	}
	check(mapGet(pr.meta, "annotations"), "metadata.annotations")
	return errs
}

// values returns the value of each of a set's parameters for the workload.
func (pr *paramReader) values(s *SidecarSet) ([]paramValue, error) {
	errs := pr.undeclared(s)
	var out []paramValue
	for _, prm := range s.Parameters {
		key := pr.cfg.AnnotationPrefix + "/" + s.Name + "." + prm.Name
		node, field := pr.annotation(key)
		switch {
		case node == nil && prm.DefaultFrom != nil:
			v, err := pr.derive(s, prm)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			out = append(out, paramValue{prm, v})
		case node == nil:
			out = append(out, paramValue{prm, prm.Default})
		case node.Kind != yaml.ScalarNode || node.ShortTag() != tagStr:
			msg := "expected a string, got " + describe(node)
			if node.Kind == yaml.ScalarNode && !isNull(node) {
				msg += fmt.Sprintf(` (quote it: "%s"; the API server takes only strings)`, node.Value)
			}
			errs = append(errs, &ResourceError{Resource: pr.res, Field: field, Msg: msg + "; " + prm.allowed(s.Name)})
		default:
			v := strings.TrimSpace(node.Value)
			if msg := prm.check(v); msg != "" {
				shown := v
				if len(shown) > 64 {
					shown = shown[:64] + "..."
				}
				errs = append(errs, &ResourceError{Resource: pr.res, Field: field, Msg: fmt.Sprintf("%q %s; %s", shown, msg, prm.allowed(s.Name))})
				continue
			}
			out = append(out, paramValue{prm, v})
		}
	}
	return out, errs.ErrOrNil()
}

// derive computes a derived default: a share of the app containers' own
// requests or limits, rounded up, bounded by min and max; the default when
// no app container sets it.
func (pr *paramReader) derive(s *SidecarSet, prm *Parameter) (string, error) {
	df := prm.DefaultFrom
	kind, name, _ := strings.Cut(df.Resource, ".")
	total := new(big.Rat)
	found := false
	for _, c := range seqItems(mapGet(pr.t.spec(), "containers")) {
		cname := itemName(c)
		if pr.cfg.definesContainer(cname) {
			continue
		}
		v := mapGet(mapGet(mapGet(c, "resources"), kind), name)
		if isNull(v) {
			continue
		}
		q, err := parseQuantity(scalarString(v))
		if err != nil || v.Kind != yaml.ScalarNode {
			return "", pr.t.errorf(pr.t.field(fmt.Sprintf("spec.containers[name=%s].resources.%s", cname, df.Resource)),
				"%q is not a quantity, and %s.%s is derived from it", scalarString(v), s.Name, prm.Name)
		}
		total.Add(total, quantityRat(q))
		found = true
	}
	if !found {
		return prm.Default, nil
	}
	share := new(big.Rat).Mul(total, big.NewRat(int64(df.Percent), 100))
	steps := new(big.Rat).Quo(share, df.step)
	n := new(big.Int).Quo(steps.Num(), steps.Denom())
	if new(big.Rat).SetInt(n).Cmp(steps) < 0 {
		n.Add(n, big.NewInt(1)) // round up
	}
	value := new(big.Rat).Mul(new(big.Rat).SetInt(n), df.step)
	if prm.Min != "" {
		if lo := mustRat(prm.Min); value.Cmp(lo) < 0 {
			return prm.Min, nil
		}
	}
	if prm.Max != "" {
		if hi := mustRat(prm.Max); value.Cmp(hi) > 0 {
			return prm.Max, nil
		}
	}
	milli := new(big.Rat).Mul(value, big.NewRat(1000, 1))
	if !milli.IsInt() || !milli.Num().IsInt64() {
		return "", pr.t.errorf(pr.t.field("spec.containers"), "%s.%s: %d%% of the app's %s is too large a quantity; set a max", s.Name, prm.Name, df.Percent, df.Resource)
	}
	q := apiresource.NewMilliQuantity(milli.Num().Int64(), df.format)
	return q.String(), nil
}

func quantityRat(q apiresource.Quantity) *big.Rat {
	r, _ := new(big.Rat).SetString(q.AsDec().String())
	return r
}

func mustRat(s string) *big.Rat {
	q, _ := parseQuantity(s)
	return quantityRat(q)
}

// resolve returns the set as the workload gets it: with the values of its
// parameters written in. A set without parameters is returned as it is.
func (pr *paramReader) resolve(s *SidecarSet) (*SidecarSet, error) {
	if pr == nil || pr.t == nil {
		return s, nil
	}
	if !pr.cfg.params {
		return s, nil
	}
	if len(s.Parameters) == 0 {
		return s, pr.undeclared(s).ErrOrNil()
	}
	if rs := pr.resolved[s]; rs != nil {
		return rs, nil
	}
	rs, err := pr.resolveValues(s)
	if err == nil {
		if pr.resolved == nil {
			pr.resolved = map[*SidecarSet]*SidecarSet{}
		}
		pr.resolved[s] = rs
	}
	return rs, err
}

func (pr *paramReader) resolveValues(s *SidecarSet) (*SidecarSet, error) {
	vals, err := pr.values(s)
	if err != nil {
		return nil, err
	}
	rs := *s
	rs.values = vals
	changed := map[string]map[int]bool{}
	for _, v := range vals {
		if v.value == v.prm.Default {
			continue // the set holds the defaults already
		}
		for _, t := range v.prm.targets {
			if changed[t.list] == nil {
				changed[t.list] = map[int]bool{}
			}
			changed[t.list][t.index] = true
		}
	}
	if len(changed) > 0 {
		rs.prints = map[itemRef]*itemPrint{}
	}
	var errs Errors
	for _, list := range paramLists {
		if changed[list] == nil {
			continue
		}
		items := slices.Clone(s.paramList(list))
		for idx := range changed[list] {
			item := copyNode(items[idx])
			for _, v := range vals {
				for _, t := range v.prm.targets {
					if t.list == list && t.index == idx {
						_ = t.write(item, v.prm, v.value)
					}
				}
			}
			kind := paramKind(list)
			canon, err := canonicalTree(kind, item)
			if err != nil {
				errs = append(errs, &ResourceError{Resource: pr.res, Msg: fmt.Sprintf("set %s with parameters %s: %s %q is not valid: %v", s.Name, valuesString(s.Name, vals), kind, itemName(item), err)})
				continue
			}
			fp, _ := fingerprintItem(kind, item)
			ip := &itemPrint{node: item, canon: canon, fp: fp}
			if list == "containers" && !s.Native {
				nat := copyNode(item)
				nat.Content = append(nat.Content, newStr("restartPolicy"), newStr("Always"))
				ncanon, err := canonicalTree(kind, nat)
				if err == nil {
					nfp, _ := fingerprintItem(kind, nat)
					ip.native = &itemPrint{node: nat, canon: ncanon, fp: nfp}
				}
				rs.nativeContainers = slices.Clone(rs.nativeContainers)
				rs.nativeContainers[idx] = nat
			}
			rs.prints[itemRef{kind, itemName(item)}] = ip
			items[idx] = item
		}
		rs.setParamList(list, items)
	}
	if err := errs.ErrOrNil(); err != nil {
		return nil, err
	}
	rs.digest = digestOf(struct {
		Set    string
		Values map[string]string
	}{s.digest, rs.Values()})
	return &rs, nil
}

// Values returns the values a resolved set was given, by parameter name.
func (s *SidecarSet) Values() map[string]string {
	if len(s.values) == 0 {
		return nil
	}
	out := make(map[string]string, len(s.values))
	for _, v := range s.values {
		out[v.prm.Name] = v.value
	}
	return out
}

func valuesString(set string, vals []paramValue) string {
	parts := make([]string, len(vals))
	for i, v := range vals {
		parts[i] = set + "." + v.prm.Name + "=" + v.value
	}
	return strings.Join(parts, ", ")
}

// resolveAll resolves a list of sets.
func (pr *paramReader) resolveAll(sets []*SidecarSet) ([]*SidecarSet, error) {
	out := make([]*SidecarSet, 0, len(sets))
	var errs Errors
	for _, s := range sets {
		rs, err := pr.resolve(s)
		if err != nil {
			errs = append(errs, ErrorList(err)...)
			continue
		}
		out = append(out, rs)
	}
	if err := errs.ErrOrNil(); err != nil {
		return nil, err
	}
	return out, nil
}

// print returns the fingerprint of an item of a set as a pod gets it.
func (c *Config) setPrint(s *SidecarSet, kind itemKind, name string) string {
	if p := s.prints[itemRef{kind, name}]; p != nil {
		return p.fp
	}
	return c.print(kind, name)
}

// setContainerPrint is containerPrint for a set's container as a pod gets it.
func (c *Config) setContainerPrint(s *SidecarSet, name string, completionNative bool) string {
	if p := s.prints[itemRef{kindContainer, name}]; p != nil {
		if completionNative && p.native != nil {
			return p.native.fp
		}
		return p.fp
	}
	return c.containerPrint(name, completionNative)
}

// paramKey is the status's key of a parameter: set.parameter.
var paramKey = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?\.[A-Za-z0-9]([-A-Za-z0-9_]*[A-Za-z0-9])?$`)

// statusParams is the status's record of the values of the sets' parameters.
func statusParams(sets []*SidecarSet) map[string]string {
	var out map[string]string
	for _, s := range sets {
		for _, v := range s.values {
			if out == nil {
				out = map[string]string{}
			}
			out[s.Name+"."+v.prm.Name] = v.value
		}
	}
	return out
}

// quantityShape is the quantities the injector reads: at most 20 digits
// either side of the point and an exponent of at most two digits. Larger
// ones are refused before parsing: apimachinery expands a quantity such as
// 1e1000000000 into a billion digits when comparing or printing it, and a
// quantity may come from a workload.
var quantityShape = regexp.MustCompile(`^[+-]?([0-9]{1,20}(\.[0-9]{0,20})?|\.[0-9]{1,20})([numkMGTPE]|[KMGTPE]i|[eE][+-]?[0-9]{1,2})?$`)

func parseQuantity(s string) (apiresource.Quantity, error) {
	if !quantityShape.MatchString(s) {
		return apiresource.Quantity{}, errors.New("not a quantity of at most 20 digits either side of the point")
	}
	return apiresource.ParseQuantity(s)
}
