package transformer

import (
	"fmt"

	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/sidecar-injector/sidecar-injector/api/v1alpha1"
)

// Helm hooks are resources a chart marks with helm.sh/hook: Helm creates
// them at a point of a release's life (pre-install, post-upgrade, test, ...)
// and waits for a hook Job or Pod to complete before it goes on. A classic
// sidecar never exits, so it would hold the release until Helm's timeout;
// hook Jobs and Pods run to completion, though, so they get the sets as
// native sidecars (completion.go) and complete. Helm 4 hands hooks to its
// post-renderers, and `helm template` (so kustomize's helmCharts and Argo
// CD) prints them; Helm 3 never post-renders them. spec.helmHooks decides
// what the engine does with them, whichever front reads them.

// HelmHookAnnotation marks a Helm hook; its value lists the hook points.
const HelmHookAnnotation = "helm.sh/hook"

// HelmHook is the skip reason of a hook left alone by helmHooks: skip.
const HelmHook SkipReason = "helm-hook"

// hookRequest narrows the sets a workload asks for when it is a Helm hook
// and the config skips hooks: only the required ones remain.
func (c *Config) hookRequest(meta *yaml.Node, sets []*SidecarSet, reason SkipReason, detail string, r *Result) ([]*SidecarSet, SkipReason, string) {
	hook := mapGet(mapGet(meta, "annotations"), HelmHookAnnotation)
	if hook == nil || c.HelmHooks != v1alpha1.HooksSkip || len(sets) == 0 {
		return sets, reason, detail
	}
	var required []*SidecarSet
	for _, s := range sets {
		if s.Required {
			required = append(required, s)
		}
	}
	switch {
	case len(required) == 0:
		return nil, HelmHook, fmt.Sprintf("a Helm hook (%s: %s), left alone by helmHooks: %s",
			HelmHookAnnotation, scalarString(hook), v1alpha1.HooksSkip)
	case len(required) < len(sets):
		r.Notes = append(r.Notes, fmt.Sprintf("a Helm hook: only the required sets, by helmHooks: %s", v1alpha1.HooksSkip))
	}
	return required, "", ""
}

// defaultHooks defaults and checks helmHooks.
func (p *configParser) defaultHooks() {
	c := p.cfg
	c.HelmHooks = v1alpha1.HookPolicy(orDefault(string(c.HelmHooks), string(v1alpha1.HooksInject)))
	if c.HelmHooks != v1alpha1.HooksInject && c.HelmHooks != v1alpha1.HooksSkip {
		p.errorf(p.settings+"helmHooks", "expected %q or %q, got %q", v1alpha1.HooksInject, v1alpha1.HooksSkip, c.HelmHooks)
	}
}
