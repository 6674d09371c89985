package transformer

import (
	"fmt"
	"regexp"
	"strconv"

	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/sidecar-injector/sidecar-injector/api/v1alpha1"
)

// Pods that run to completion: a Job's, a CronJob's, or any pod with
// restartPolicy Never or OnFailure. A classic sidecar never exits, so such
// a pod would never complete and its Job never finish. Each set says what
// to do there (runToCompletion):
//
//   - native (the default): the set's containers go in as native sidecars,
//     initContainers with restartPolicy: Always, which the kubelet stops
//     once the app's containers are done (Kubernetes 1.29 and later);
//   - skip: the set is not injected there, and the report says so;
//   - as-configured: as the set says, for sidecars that exit by themselves.
//
// A set marked native is native everywhere: for it, native and
// as-configured mean the same, and skip still skips.

// nativeMinor is the first Kubernetes 1.x that serves native sidecars
// without a feature gate (SidecarContainers, beta and on in 1.29).
const nativeMinor = 29

// kubeVersion is a Kubernetes version as major and minor; zero when not
// given, which means a cluster that serves native sidecars.
type kubeVersion struct{ major, minor int }

// kubeVersionPattern takes what users copy from `kubectl version` and
// cloud consoles: 1.28, v1.28.3, 1.28+, v1.29.1-eks-508b6b3.
var kubeVersionPattern = regexp.MustCompile(`^v?(\d+)\.(\d+)(\+|\.\d+([-+][0-9A-Za-z.+-]*)?)?$`)

func parseKubeVersion(s string) (kubeVersion, error) {
	m := kubeVersionPattern.FindStringSubmatch(s)
	if m == nil {
		return kubeVersion{}, fmt.Errorf("%q is not a Kubernetes version: expected MAJOR.MINOR, such as 1.28", s)
	}
	major, err1 := strconv.Atoi(m[1])
	minor, err2 := strconv.Atoi(m[2])
	if err1 != nil || err2 != nil || major < 1 {
		return kubeVersion{}, fmt.Errorf("%q is not a Kubernetes version: expected MAJOR.MINOR, such as 1.28", s)
	}
	return kubeVersion{major, minor}, nil
}

// servesNative reports whether the cluster takes native sidecars.
func (v kubeVersion) servesNative() bool {
	return v.major == 0 || v.major > 1 || v.minor >= nativeMinor
}

// SetKubeVersion overrides the config's kubeVersion (the CLI's
// --kube-version): the oldest Kubernetes the output must suit.
func (c *Config) SetKubeVersion(s string) error {
	v, err := parseKubeVersion(s)
	if err != nil {
		return err
	}
	if !v.servesNative() {
		for _, set := range c.Sets {
			if set.Native {
				return fmt.Errorf("set %q is native: native sidecars need Kubernetes 1.%d or later, not %s", set.Name, nativeMinor, s)
			}
		}
	}
	c.KubeVersion, c.kube = s, v
	return nil
}

// validateCompletion defaults and checks runToCompletion, kubeVersion and
// functionMode, and makes the native form of the sets' containers.
func (p *configParser) validateCompletion() {
	c := p.cfg
	if c.KubeVersion != "" {
		v, err := parseKubeVersion(c.KubeVersion)
		if err != nil {
			p.errorf(p.settings+"kubeVersion", "%v", err)
		}
		c.kube = v
	}
	c.FunctionMode = v1alpha1.FunctionMode(orDefault(string(c.FunctionMode), string(v1alpha1.FunctionInject)))
	if c.FunctionMode != v1alpha1.FunctionInject && c.FunctionMode != v1alpha1.FunctionValidate && c.FunctionMode != v1alpha1.FunctionPolicy {
		p.errorf(p.settings+"functionMode", "expected %q, %q or %q, got %q", v1alpha1.FunctionInject, v1alpha1.FunctionValidate, v1alpha1.FunctionPolicy, c.FunctionMode)
	}
	for i, s := range c.Sets {
		field := p.setFields[i]
		s.RunToCompletion = v1alpha1.RunToCompletion(orDefault(string(s.RunToCompletion), string(v1alpha1.RunNative)))
		switch s.RunToCompletion {
		case v1alpha1.RunNative, v1alpha1.RunSkip, v1alpha1.RunAsConfigured:
		default:
			p.errorf(joinField(field, "runToCompletion"), "expected %q, %q or %q, got %q", v1alpha1.RunNative, v1alpha1.RunSkip, v1alpha1.RunAsConfigured, s.RunToCompletion)
		}
		if s.Native && !c.kube.servesNative() {
			p.errorf(joinField(field, "native"), "native sidecars need Kubernetes 1.%d or later, but %skubeVersion is %q", nativeMinor, p.settings, c.KubeVersion)
		}
		if s.Native {
			continue
		}
		for _, ctr := range s.Containers {
			n := copyNode(ctr)
			n.Content = append(n.Content, newStr("restartPolicy"), newStr("Always"))
			s.nativeContainers = append(s.nativeContainers, n)
		}
	}
}

// fingerprintNative prints the native form of the containers of sets that
// are not native, so that statuses of pods that run to completion are
// checked as those of any other pod.
func (p *configParser) fingerprintNative() {
	for _, s := range p.cfg.Sets {
		for _, n := range s.nativeContainers {
			base := p.cfg.prints[itemRef{kindContainer, itemName(n)}]
			if base == nil || base.native != nil {
				continue
			}
			canon, err := canonicalTree(kindContainer, n)
			if err != nil { // cannot happen: the container decoded as one already
				p.errorf("", "%v", err)
				continue
			}
			fp, _ := fingerprintItem(kindContainer, n)
			base.native = &itemPrint{node: n, canon: canon, fp: fp}
		}
	}
}

// runsToCompletion reports whether the template is that of a pod that runs
// to completion: a Job's, a CronJob's, or one whose restartPolicy says so.
func (t *template) runsToCompletion() bool {
	if wk := builtinKind(groupOf(t.res.APIVersion), t.res.Kind); wk != nil && (wk.kind == "Job" || wk.kind == "CronJob") {
		return true
	}
	switch scalarString(mapGet(t.spec(), "restartPolicy")) {
	case "Never", "OnFailure":
		return true
	}
	return false
}

// whyCompletes says why a pod runs to completion, for messages.
func (t *template) whyCompletes() string {
	if p := scalarString(mapGet(t.spec(), "restartPolicy")); p == "Never" || p == "OnFailure" {
		return "restartPolicy " + p
	}
	return "a " + t.res.Kind + "'s pod"
}

// completionNative reports whether the set goes in as native sidecars
// because the pod runs to completion (and only then).
func (s *SidecarSet) completionNative(completion bool) bool {
	return completion && !s.Native && s.RunToCompletion == v1alpha1.RunNative
}

// nativeIn reports whether the set's containers go in as native sidecars.
func (s *SidecarSet) nativeIn(completion bool) bool {
	return s.Native || s.completionNative(completion)
}

// containersIn returns the set's containers as a pod gets them.
func (s *SidecarSet) containersIn(completion bool) []*yaml.Node {
	if s.completionNative(completion) {
		return s.nativeContainers
	}
	return s.Containers
}

// containerPrint is the fingerprint of a set's container as injected, in
// its native form or as configured.
func (c *Config) containerPrint(name string, completionNative bool) string {
	p := c.prints[itemRef{kindContainer, name}]
	switch {
	case p == nil:
		return ""
	case completionNative && p.native != nil:
		return p.native.fp
	}
	return p.fp
}

// forCompletion applies the sets' runToCompletion to a pod that runs to
// completion: it drops the sets that skip such pods, saying why, and fails
// when a set would go in as native sidecars on a cluster too old for them.
func (in *Injector) forCompletion(t *template, sets []*SidecarSet) (kept []*SidecarSet, skipped []string, why string, err error) {
	if len(sets) == 0 || t == nil || !t.runsToCompletion() {
		return sets, nil, "", nil
	}
	for _, s := range sets {
		switch {
		case s.RunToCompletion == v1alpha1.RunSkip:
			skipped = append(skipped, s.Name)
			continue
		case s.completionNative(true) && !in.Config.kube.servesNative():
			field := t.field("spec")
			if scalarString(mapGet(t.spec(), "restartPolicy")) != "" {
				field = t.field("spec.restartPolicy")
			}
			return nil, nil, "", t.errorf(field, "set %q would go in as native sidecars, since the pod runs to completion (%s) and a classic sidecar would keep it running; "+
				"native sidecars need Kubernetes 1.%d or later, and kubeVersion is %s: give the set runToCompletion: skip or as-configured",
				s.Name, t.whyCompletes(), nativeMinor, in.Config.KubeVersion)
		}
		kept = append(kept, s)
	}
	if len(skipped) > 0 {
		why = fmt.Sprintf("the pod runs to completion (%s), and runToCompletion of %s is skip", t.whyCompletes(), setsPhrase(skipped))
	}
	return kept, skipped, why, nil
}

// setsPhrase names sets as the subject of a sentence.
func setsPhrase(sets []string) string {
	if len(sets) == 1 {
		return "set " + sets[0]
	}
	return "sets " + names(sets)
}
