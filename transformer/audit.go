package transformer

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// State is how a workload stands against the config: what `check` gates
// on, the KRM function validates, and `report` lists.
type State string

const (
	StateCurrent     State = "current"           // as inject leaves it
	StateNotInjected State = "not injected"      // asks for sets it does not hold
	StateOutdated    State = "outdated"          // injected with another config, or other sets
	StateDrifted     State = "drifted"           // an injected item was edited or removed by hand
	StateRemove      State = "should be removed" // injected, but asks for nothing now
	StateOptedOut    State = "opted out"         // <prefix>/inject: "false", nothing injected
	StateSkipped     State = "skipped"           // not concerned; Reason says why
	StateError       State = "error"             // inject would fail on it
)

// Finding is the audit of one workload.
type Finding struct {
	Resource Resource
	State    State
	Reason   SkipReason // for skipped, opted out and should be removed
	Detail   string     // why the state, as a sentence
	Asked    []string   // the sets the config gives the workload now
	Injected []string   // the sets its status lists, as far as the pod holds them
	Digest   string     // the digest its status records
	// Parameters are the parameter values its status records, by
	// set.parameter (as far as the pod holds the injection).
	Parameters map[string]string
	// CurrentDigest is the digest the config gives Injected now: the
	// status is current when they are equal.
	CurrentDigest string
	// Live: the object was read back from the API server (it has a
	// resourceVersion or a uid). The API server adds defaults to injected
	// items, which inject would write back in the config's form, so a live
	// object is judged by meaning: a status the pod backs up, with the
	// current digest, is current.
	Live     bool
	Warnings []string
	// Field is the field the finding is about: the status annotation.
	Field string
	// Errs are the errors inject would report (StateError, and StateDrifted
	// when an injected item is not the one the status lists).
	Errs []*ResourceError
}

// Stale reports whether inject would change the workload or fail on it.
func (f Finding) Stale() bool {
	switch f.State {
	case StateCurrent, StateSkipped, StateOptedOut:
		return false
	}
	return true
}

// DigestCurrent reports whether the status records the config's digest.
func (f Finding) DigestCurrent() bool { return f.Digest != "" && f.Digest == f.CurrentDigest }

// Problem is one thing wrong with a workload, without naming it.
type Problem struct {
	Field string // the field it is about
	Text  string // "not injected: asks for nginx", "drifted: <field>: <message>"
}

// Problems says what is wrong with a stale workload: one problem per error
// inject would report, or one for its state; none when it is not stale.
func (f Finding) Problems() []Problem {
	if !f.Stale() {
		return nil
	}
	if len(f.Errs) == 0 {
		return []Problem{{Field: f.Field, Text: string(f.State) + ": " + f.Detail}}
	}
	out := make([]Problem, len(f.Errs))
	for i, e := range f.Errs {
		text := string(f.State) + ": " + e.Msg
		if e.Field != "" {
			text = string(f.State) + ": " + e.Field + ": " + e.Msg
		}
		out[i] = Problem{Field: e.Field, Text: text}
	}
	return out
}

// observed is what the engine read of a workload, kept for Audit.
type observed struct {
	t    *template
	read *Status // the status as read; nil without one (or the tutorial's)
	held *Status // the part of it the pod holds as injected
	// skipped says which sets the pod does not get because it runs to
	// completion, when it gets others.
	skipped string
	// params reads the workload's parameter values.
	params *paramReader
}

// Audit tells how each workload of a document (one resource, or the items
// of a List) stands against the config, and changes nothing. An error
// inject would report is a finding too: StateError, or StateDrifted for an
// injected item edited since. The Injector must be one that injects (not
// Uninject, not Admission). origin names where a resource's node is.
func (in *Injector) Audit(rn *yaml.RNode, origin func(*yaml.Node) string) []Finding {
	var out []Finding
	if err := aliasesAcrossItems(rn.YNode(), origin(rn.YNode())); err != nil {
		var re *ResourceError
		errors.As(err, &re)
		return []Finding{{Resource: re.Resource, State: StateError, Errs: []*ResourceError{re}}}
	}
	for _, res := range resourcesOf(rn.YNode()) {
		r, _, err := in.plan(res, origin(res.node), 0)
		if err == nil && r.Action == Ignored {
			continue
		}
		out = append(out, in.judge(res, r, err))
	}
	return out
}

// judge makes a finding of what plan said about a resource.
func (in *Injector) judge(res resource, r Result, err error) Finding {
	f := Finding{Resource: r.Resource, Live: isLive(res.node), Warnings: r.Warnings}
	if err != nil {
		f.State = StateDrifted
		for _, e := range ErrorList(err) {
			var re *ResourceError
			if !errors.As(e, &re) { // plan reports only resource errors
				re = &ResourceError{Resource: r.Resource, Msg: e.Error()}
			}
			if !errors.Is(re, ErrDrifted) {
				f.State = StateError
			}
			f.Errs = append(f.Errs, re)
		}
		return f
	}
	seen := r.seen
	if seen != nil && seen.t != nil {
		f.Field = seen.t.field("metadata.annotations") + quoteKey(in.Config.StatusAnnotation())
		if seen.held != nil && !seen.held.empty() {
			f.Injected, f.Digest, f.Parameters = seen.held.Sets, seen.held.Digest, seen.held.Parameters
			f.CurrentDigest = in.digestOf(seen.held.Sets, seen.t.runsToCompletion(), seen.params)
		}
	}
	f.Asked = r.Sets
	switch r.Action {
	case Skipped:
		f.State, f.Reason, f.Detail = StateSkipped, r.Reason, r.Detail
		if r.Reason == OptedOut {
			f.State = StateOptedOut
		}
	case Injected:
		f.State, f.Detail = StateNotInjected, "asks for "+names(r.Sets)
	case Uninjected:
		f.State, f.Reason, f.Detail = StateRemove, r.Reason, r.Detail
		if len(f.Injected) > 0 {
			f.Detail = "holds " + names(f.Injected) + "; " + r.Detail
		}
	default: // Unchanged, Upgraded: the pod holds an injection
		f.State, f.Detail = in.judgeInjected(r, f.CurrentDigest, f.Live)
	}
	if seen != nil && seen.skipped != "" {
		f.Detail = joinDetail(f.Detail, seen.skipped)
	}
	return f
}

// judgeInjected judges a workload that holds an injection and asks for
// sets; digest, when set, is what the config gives the sets it holds.
func (in *Injector) judgeInjected(r Result, digest string, live bool) (State, string) {
	seen := r.seen
	held, asked := seen.held, r.Sets
	if digest == "" || !slices.Equal(held.Sets, asked) {
		digest = in.digestOf(asked, seen.t.runsToCompletion(), seen.params)
	}
	switch {
	case !sameSets(held.Sets, asked):
		detail := "holds " + names(held.Sets) + ", asks for " + names(asked)
		for _, name := range held.Sets {
			if in.Config.Set(name) == nil {
				detail += fmt.Sprintf(" (set %s is no longer configured)", name)
			}
		}
		return StateOutdated, detail
	case held.Digest != digest:
		detail := fmt.Sprintf("injected with another config (digest %s, now %s)", held.Digest, digest)
		if changed := in.changedParams(held, asked, seen.params); changed != "" {
			detail = fmt.Sprintf("injected with other parameter values (%s; digest %s, now %s)", changed, held.Digest, digest)
		}
		return StateOutdated, detail
	case seen.read.legacy():
		return StateOutdated, "its status was written by an earlier version, without fingerprints"
	case seen.read.size() > held.size(): // held is a part of read
		return StateDrifted, goneItems(seen.read, held)[0] + " that the status lists is gone (removed by hand?)"
	}
	if r.Action == Upgraded && !live {
		return StateDrifted, "differs from what inject writes (edited by hand since it was injected?)"
	}
	return StateCurrent, "holds " + names(held.Sets)
}

// sameSets reports whether two lists name the same sets, in any order.
func sameSets(a, b []string) bool {
	return len(a) == len(b) && len(without(a, b)) == 0 && len(without(b, a)) == 0
}

func joinDetail(detail, more string) string {
	if detail == "" {
		return more
	}
	return detail + "; " + more
}

// goneItems lists what a status lists that the pod no longer holds.
func goneItems(read, held *Status) []string {
	var out []string
	gone := func(kind itemKind, in string, listed, kept Items) {
		for _, name := range listed.sorted() {
			if _, ok := kept[name]; !ok {
				out = append(out, fmt.Sprintf("%s %q%s", kind, name, in))
			}
		}
	}
	gone(kindContainer, "", read.Containers, held.Containers)
	gone(kindContainer, "", read.InitContainers, held.InitContainers)
	gone(kindVolume, "", read.Volumes, held.Volumes)
	gone(kindPullSecret, "", read.ImagePullSecrets, held.ImagePullSecrets)
	for _, c := range sortedKeys(read.Env) {
		gone(kindEnv, fmt.Sprintf(" in container %q", c), read.Env[c], held.Env[c])
	}
	for _, c := range sortedKeys(read.VolumeMounts) {
		gone(kindMount, fmt.Sprintf(" in container %q", c), read.VolumeMounts[c], held.VolumeMounts[c])
	}
	gone(kindAnnotation, "", read.Annotations, held.Annotations)
	gone(kindLabel, "", read.Labels, held.Labels)
	return out
}

// outdatedSets names, for a pod whose status records another digest, the
// sets it does not hold as the config defines them now (or no longer
// configured); all of the status's sets when none of them tells.
func (in *Injector) outdatedSets(t *template, st *Status, pr *paramReader) []string {
	var out []string
	for _, name := range st.Sets {
		s := in.Config.Set(name)
		if s != nil {
			if rs, err := pr.resolve(s); err == nil {
				s = rs
			}
		}
		if s == nil || !in.holdsCurrent(t, s) {
			out = append(out, name)
		}
	}
	if len(out) == 0 {
		return slices.Clone(st.Sets)
	}
	return out
}

// isLive reports whether an object was read back from an API server.
func isLive(obj *yaml.Node) bool {
	meta := mapGet(obj, "metadata")
	return scalarString(mapGet(meta, "resourceVersion")) != "" || scalarString(mapGet(meta, "uid")) != ""
}

// changedParams says which parameter values of the asked sets differ from
// those the status records: "nginx.cpu 250m, now 500m".
func (in *Injector) changedParams(held *Status, asked []string, pr *paramReader) string {
	now := map[string]string{}
	for _, name := range asked {
		s := in.Config.Set(name)
		if s == nil || len(s.Parameters) == 0 {
			continue
		}
		rs, err := pr.resolve(s)
		if err != nil {
			return ""
		}
		for k, v := range statusParams([]*SidecarSet{rs}) {
			now[k] = v
		}
	}
	var out []string
	for _, k := range sortedKeys(now) {
		if was, ok := held.Parameters[k]; !ok {
			out = append(out, fmt.Sprintf("%s unrecorded, now %s", k, now[k]))
		} else if was != now[k] {
			out = append(out, fmt.Sprintf("%s %s, now %s", k, was, now[k]))
		}
	}
	return strings.Join(out, ", ")
}
