// Package v1alpha1 is the configuration API of sidecar-injector: the
// SidecarInjector resource that the CLI, the KRM function, the admission
// webhook and the admission policies all read.
//
// The types say what a config may hold; the engine (package transformer)
// decodes a config against them strictly, so an unknown field is an error,
// and checks what types cannot say (names, versions, references between
// items). sidecarinjector.schema.json is the JSON Schema generated from these
// types and their comments, for editors and CI; Schema holds the same bytes.
//
// +groupName=sidecar-injector.io
package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	// Group and Version name the API; APIVersion is what a config's
	// apiVersion says.
	Group      = "sidecar-injector.io"
	Version    = "v1alpha1"
	APIVersion = Group + "/" + Version
	// Kind is the kind of the config resource.
	Kind = "SidecarInjector"
)

// SidecarInjector is the config: the sidecar sets to inject and the rules
// for which workloads get them. One file serves every front.
type SidecarInjector struct {
	metav1.TypeMeta `json:",inline"`
	// Standard object metadata. The injector reads none of it; pipelines
	// (kustomize, kpt) keep their annotations here.
	metav1.ObjectMeta `json:"metadata,omitempty"`
	// What to inject, where, and how.
	Spec SidecarInjectorSpec `json:"spec"`
}

// SidecarInjectorSpec holds the settings and the sidecar sets.
type SidecarInjectorSpec struct {
	// Prefix of the annotations <prefix>/inject, <prefix>/status and
	// <prefix>/<set>.<parameter>. sidecar-injector-webhook.morven.me makes the
	// tutorial webhook's annotations work as they are. The CLI's
	// --annotation-prefix overrides it.
	// +kubebuilder:default=sidecar-injector.io
	AnnotationPrefix string `json:"annotationPrefix,omitempty"`
	// Which workloads are injected when they do not say.
	// +kubebuilder:default=opt-in
	Policy Policy `json:"policy,omitempty"`
	// Limits build-time injection to some workloads; empty fields match
	// all. The webhook's namespaceSelector selects at runtime instead.
	Selector Selector `json:"selector,omitempty"`
	// What happens when the pod already has a container, volume, env var,
	// mount or annotation of the same name that the injector did not add.
	// An item that already covers the config's (every field the config
	// sets, with the same values) is never a conflict.
	// +kubebuilder:default=fail
	OnConflict ConflictPolicy `json:"onConflict,omitempty"`
	// What happens to Helm hooks (resources annotated helm.sh/hook).
	// +kubebuilder:default=inject
	HelmHooks HookPolicy `json:"helmHooks,omitempty"`
	// More workload kinds, such as Argo Rollouts, by where their pod
	// template is.
	CustomKinds []CustomKind `json:"customKinds,omitempty"`
	// The oldest Kubernetes the output must suit, as kubectl version says
	// it: 1.28, v1.28.3. Before 1.29 native sidecars are refused. Empty:
	// any version that serves native sidecars. The CLI's --kube-version
	// overrides it.
	KubeVersion string `json:"kubeVersion,omitempty"`
	// What the KRM function does with the config. The CLI and the webhook
	// ignore it: their command says.
	// +kubebuilder:default=inject
	FunctionMode FunctionMode `json:"functionMode,omitempty"`
	// The sidecar sets, at least one.
	// +kubebuilder:validation:MinItems=1
	Sidecars []SidecarSet `json:"sidecars"`
}

// Policy decides which workloads are concerned when they do not ask.
type Policy string

const (
	// PolicyOptIn: only workloads annotated <prefix>/inject are injected.
	PolicyOptIn Policy = "opt-in"
	// PolicyEnabled: every selected workload gets the default sets unless
	// it says <prefix>/inject: "false".
	PolicyEnabled Policy = "enabled"
)

// ConflictPolicy decides what happens when the pod already has an item of
// the same name that the injector did not add.
type ConflictPolicy string

const (
	// ConflictFail: an error naming the item.
	ConflictFail ConflictPolicy = "fail"
	// ConflictSkip: keep the workload's own item.
	ConflictSkip ConflictPolicy = "skip"
	// ConflictReplace: replace it by the config's; uninject cannot bring
	// the workload's own back.
	ConflictReplace ConflictPolicy = "replace"
)

// HookPolicy decides what happens to Helm hooks.
type HookPolicy string

const (
	// HooksInject: hooks are workloads like any other (a hook Job runs to
	// completion and gets its sets as native sidecars).
	HooksInject HookPolicy = "inject"
	// HooksSkip: a hook gets only the required sets.
	HooksSkip HookPolicy = "skip"
)

// FunctionMode is what the KRM function does with the config.
type FunctionMode string

const (
	// FunctionInject: inject into the workloads of the resource list.
	FunctionInject FunctionMode = "inject"
	// FunctionValidate: change nothing; one error per workload that inject
	// would change or reject (for kpt's pipeline.validators).
	FunctionValidate FunctionMode = "validate"
	// FunctionPolicy: change nothing; add the admission policies that
	// inject at runtime without a webhook.
	FunctionPolicy FunctionMode = "policy"
)

// Selector limits build-time injection to some workloads. Empty fields
// match all; all given fields must match.
type Selector struct {
	// Workload kinds, such as Deployment.
	Kinds []string `json:"kinds,omitempty"`
	// Glob patterns on metadata.name, such as web-*.
	Names []string `json:"names,omitempty"`
	// Exact metadata.namespace values; a resource with no namespace
	// matches none.
	Namespaces []string `json:"namespaces,omitempty"`
	// Labels that must all be on the workload's metadata.labels.
	Labels map[string]string `json:"labels,omitempty"`
}

// CustomKind declares a workload kind the engine does not know by where
// its pod template is.
type CustomKind struct {
	// The API group, such as argoproj.io.
	Group string `json:"group"`
	// The kind, such as Rollout.
	Kind string `json:"kind"`
	// The dotted path of the pod template, such as spec.template.
	PodTemplatePath string `json:"podTemplatePath"`
}

// SidecarSet is one named set of things to inject together.
type SidecarSet struct {
	// The set's name (a DNS label), as <prefix>/inject asks for it.
	Name string `json:"name"`
	// Injected for <prefix>/inject: "true" and by policy: enabled.
	Default bool `json:"default,omitempty"`
	// Injected into every selected workload, whatever it asks.
	Required bool `json:"required,omitempty"`
	// The set's containers become native sidecars everywhere:
	// initContainers with restartPolicy: Always (Kubernetes 1.29 and
	// later), started before the app and stopped after it.
	Native bool `json:"native,omitempty"`
	// What the set does in pods that run to completion (Jobs, CronJobs,
	// restartPolicy Never or OnFailure).
	// +kubebuilder:default=native
	RunToCompletion RunToCompletion `json:"runToCompletion,omitempty"`
	// Where the set's containers go among the pod's own.
	// +kubebuilder:default=last
	Position Position `json:"position,omitempty"`
	// Containers to add; names are unique across sets.
	Containers []corev1.Container `json:"containers,omitempty"`
	// Containers to run before the app (and before the set's native
	// sidecars).
	InitContainers []corev1.Container `json:"initContainers,omitempty"`
	// Volumes to add. Two sets may define the same volume only if the two
	// are identical; it is added once.
	Volumes []corev1.Volume `json:"volumes,omitempty"`
	// Image pull secrets to add; one the pod has is left as it is.
	ImagePullSecrets []corev1.LocalObjectReference `json:"imagePullSecrets,omitempty"`
	// Mounts added to every app container (not to the sidecars), matched
	// by mountPath. Each must name a volume the pod has after injection.
	VolumeMounts []corev1.VolumeMount `json:"volumeMounts,omitempty"`
	// Environment variables added to every app container, matched by name.
	Env []corev1.EnvVar `json:"env,omitempty"`
	// Annotations added to the pod template. Two sets may set the same key
	// only to the same value.
	Annotations map[string]string `json:"annotations,omitempty"`
	// Labels added to the pod template. Two sets may set the same key only
	// to the same value.
	Labels map[string]string `json:"labels,omitempty"`
	// Values a workload may set with the annotation
	// <prefix>/<set>.<parameter>, each checked against its declaration.
	Parameters []Parameter `json:"parameters,omitempty"`
}

// RunToCompletion is what a set does in pods that run to completion.
type RunToCompletion string

const (
	// RunNative: the set's containers go in as native sidecars, which the
	// kubelet stops once the app's containers are done.
	RunNative RunToCompletion = "native"
	// RunSkip: the set is not injected there, and the report says so.
	RunSkip RunToCompletion = "skip"
	// RunAsConfigured: as the set says, for sidecars that exit by
	// themselves.
	RunAsConfigured RunToCompletion = "as-configured"
)

// Position places a set's containers among the pod's own.
type Position string

const (
	// PositionFirst: before the app's containers; the injector also sets
	// kubectl.kubernetes.io/default-container to the app's container,
	// unless the pod set one.
	PositionFirst Position = "first"
	// PositionLast: after them.
	PositionLast Position = "last"
)

// Parameter declares a value a workload may set for a set, with the
// annotation <prefix>/<set>.<name>. A value is checked against the type
// and bounds, and can only become the scalar at the declared paths.
type Parameter struct {
	// Letters, digits, - and _, starting and ending with a letter or a
	// digit, at most 63.
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9]([-A-Za-z0-9_]*[A-Za-z0-9])?$`
	// +kubebuilder:validation:MaxLength=63
	Name string `json:"name"`
	// The type of the values.
	Type ParamType `json:"type"`
	// For people.
	Description string `json:"description,omitempty"`
	// The value of workloads that set none (required; with defaultFrom,
	// the value when the app requests nothing). It must satisfy the type
	// and bounds, and is written into the set's items when the config
	// loads.
	// +kubebuilder:validation:Required
	Default *Scalar `json:"default,omitempty"`
	// The least value allowed, inclusive (quantity and integer only).
	Min *Scalar `json:"min,omitempty"`
	// The greatest value allowed, inclusive (quantity and integer only).
	Max *Scalar `json:"max,omitempty"`
	// The values allowed (string and image only).
	Enum []Scalar `json:"enum,omitempty"`
	// A regular expression (RE2 syntax), anchored, that the whole value
	// must match (string and image only). A string or image parameter
	// takes an enum or a pattern, not both.
	Pattern string `json:"pattern,omitempty"`
	// The fields the value is written to: kyaml paths into the set's
	// containers, initContainers, env or volumes, such as
	// containers.[name=sidecar-nginx].resources.requests.cpu.
	// +kubebuilder:validation:MinItems=1
	Paths []string `json:"paths"`
	// Derive a quantity parameter's default from the app's containers.
	DefaultFrom *DefaultFrom `json:"defaultFrom,omitempty"`
}

// ParamType is the type of a parameter's values.
type ParamType string

const (
	// ParamQuantity: a Kubernetes quantity, such as 250m or 64Mi.
	ParamQuantity ParamType = "quantity"
	// ParamInteger: a decimal integer.
	ParamInteger ParamType = "integer"
	// ParamBoolean: "true" or "false".
	ParamBoolean ParamType = "boolean"
	// ParamString: text, with an enum or a pattern.
	ParamString ParamType = "string"
	// ParamImage: an image reference, with an enum or a pattern.
	ParamImage ParamType = "image"
)

// DefaultFrom derives a quantity parameter's default from the app's own
// containers: Percent of the sum of their Resource, rounded up to a
// multiple of RoundTo, then bounded by min and max.
type DefaultFrom struct {
	// requests.NAME or limits.NAME, such as requests.cpu.
	// +kubebuilder:validation:Pattern=`^(requests|limits)\..+$`
	Resource string `json:"resource"`
	// The share of the app's sum, in percent.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	Percent int `json:"percent"`
	// A positive quantity the result is rounded up to a multiple of; 1m
	// for cpu, 1Mi for the rest by default.
	RoundTo string `json:"roundTo,omitempty"`
}
