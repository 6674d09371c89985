package transformer

import "sigs.k8s.io/kustomize/kyaml/yaml"

// What the policy generator (package policy) needs to write, at generation
// time, the status the engine writes at injection time. Nothing here
// changes the engine.

// ItemFingerprint returns the fingerprint the status records for an item a
// set defines: kind is "container", "volume", "image pull secret", "env var"
// or "volume mount"; name is its name (a mount's path). For a container,
// completionNative selects its native form (a set that is not native, in a
// pod that runs to completion).
func (c *Config) ItemFingerprint(kind, name string, completionNative bool) string {
	if itemKind(kind) == kindContainer {
		return c.containerPrint(name, completionNative)
	}
	return c.print(itemKind(kind), name)
}

// PairFingerprint returns the fingerprint of an annotation or a label
// (kind "annotation" or "label").
func PairFingerprint(kind, key, value string) string {
	return fingerprintPair(itemKind(kind), key, value)
}

// DigestFor returns the digest a status records for sets injected into a
// pod that runs to completion or not.
func DigestFor(sets []*SidecarSet, completion bool) string { return digestFor(sets, completion) }

// ServesNative reports whether the config's kubeVersion (if any) serves
// native sidecars.
func (c *Config) ServesNative() bool { return c.kube.servesNative() }

// CompletionNative reports whether the set's containers go in as native
// sidecars only because the pod runs to completion.
func (s *SidecarSet) CompletionNative(completion bool) bool { return s.completionNative(completion) }

// ContainersIn returns the set's containers as a pod gets them.
func (s *SidecarSet) ContainersIn(completion bool) []*yaml.Node { return s.containersIn(completion) }
