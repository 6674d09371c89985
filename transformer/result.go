package transformer

import (
	"fmt"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Action is what the engine did to one resource.
type Action string

const (
	Injected   Action = "injected"   // sidecars added to a template that had none
	Upgraded   Action = "upgraded"   // earlier injection replaced by the current config
	Uninjected Action = "uninjected" // earlier injection removed
	Unchanged  Action = "unchanged"  // already exactly as the config wants
	Skipped    Action = "skipped"    // a workload left alone; Reason says why
	Ignored    Action = "ignored"    // not a workload: never reported
)

// Changed reports whether the resource was modified.
func (a Action) Changed() bool { return a == Injected || a == Upgraded || a == Uninjected }

// SkipReason says why a workload was left alone. The CLI prints it, the
// function reports it and the webhook counts it in its metrics.
type SkipReason string

const (
	NotSelected     SkipReason = "not-selected"     // outside spec.selector
	NotRequested    SkipReason = "not-requested"    // opt-in policy and no inject annotation
	OptedOut        SkipReason = "opted-out"        // inject: "false"
	AlreadyInjected SkipReason = "already-injected" // status present and the caller keeps injected pods
	NotInjected     SkipReason = "not-injected"     // uninject: no status annotation
	// RunsToCompletion: the pod runs to completion and the sets it asks
	// for skip such pods (runToCompletion: skip).
	RunsToCompletion SkipReason = "runs-to-completion"
)

// notSelected is the detail of NotSelected.
const notSelected = "not matched by the config's selector"

// Result reports what happened to one resource.
type Result struct {
	Resource Resource
	Action   Action
	Reason   SkipReason // for Skipped
	Detail   string     // a human sentence for Reason
	Sets     []string   // sets now injected
	Removed  []string   // sets removed by an upgrade or uninject
	// Kept lists config items not injected because the workload has its own
	// (onConflict: skip) or already has identical ones.
	Kept     []string
	Warnings []string
	// Notes are remarks for the report line, such as a status rewritten in
	// the current format.
	Notes []string
	// Outdated lists, at admission, the sets of a pod injected at build
	// time with another config (its digest is not the config's): the sets
	// the pod does not hold as the config defines them now, or all of them.
	Outdated []string
	// Change is set when the resource was changed in place.
	Change *Change
	// seen is what the engine read of the workload, for Audit.
	seen *observed
}

// Change says which node of a resource's tree was rewritten and what it
// held before, so that writers can diff the edit without parsing again.
type Change struct {
	Node     *yaml.Node // the node in the resource's tree, now holding the new content
	Original *yaml.Node // a node holding the content it had before
}

// String is the CLI's report line: action, resource, then details.
func (r Result) String() string {
	return fmt.Sprintf("%-10s %s", r.Action, r.Resource) + r.details()
}

// Message says what happened without naming the resource, for reports that
// name it apart (a KRM result's resourceRef).
func (r Result) Message() string { return string(r.Action) + r.details() }

func (r Result) details() string {
	var b strings.Builder
	switch {
	case r.Action == Skipped:
		b.WriteString(": " + r.Detail)
	case len(r.Sets) > 0:
		b.WriteString(": " + strings.Join(r.Sets, ", "))
	}
	if len(r.Removed) > 0 {
		b.WriteString(" (removed " + strings.Join(r.Removed, ", ") + ")")
	}
	if len(r.Kept) > 0 {
		b.WriteString(" (kept existing " + strings.Join(r.Kept, ", ") + ")")
	}
	for _, n := range r.Notes {
		b.WriteString(" (" + n + ")")
	}
	return b.String()
}

// Report renders results as the CLI prints them: a line per workload, its
// warnings, and a summary.
func Report(results []Result) string {
	var b strings.Builder
	counts := map[Action]int{}
	for _, r := range results {
		if r.Action == Ignored {
			continue
		}
		b.WriteString(r.String())
		b.WriteByte('\n')
		for _, w := range r.Warnings {
			fmt.Fprintf(&b, "warning: %s: %s\n", r.Resource, w)
		}
		counts[r.Action]++
	}
	var parts []string
	for _, a := range []Action{Injected, Upgraded, Uninjected, Unchanged, Skipped} {
		if counts[a] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[a], a))
		}
	}
	if len(parts) == 0 {
		parts = append(parts, "no workloads")
	}
	fmt.Fprintf(&b, "sidecar-injector: %s\n", strings.Join(parts, ", "))
	return b.String()
}
