package policy_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"

	"github.com/sidecar-injector/sidecar-injector/policy"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/version"
	"k8s.io/apiserver/pkg/admission"
	plugincel "k8s.io/apiserver/pkg/admission/plugin/cel"
	"k8s.io/apiserver/pkg/admission/plugin/policy/mutating/patch"
	"k8s.io/apiserver/pkg/admission/plugin/policy/validating"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"k8s.io/apiserver/pkg/cel/environment"
)

// The generated policies run here as the API server runs them: its own
// CEL environment (Kubernetes 1.36's libraries), compiler, JSON patcher and
// validator, from k8s.io/apiserver, as its admission plugins assemble them
// (mutating/compilation.go, validating/plugin.go). Only the plumbing around
// them (informers, bindings, defaulting) is left to the e2e test.

var podGVR = schema.GroupVersionResource{Version: "v1", Resource: "pods"}
var podGVK = schema.GroupVersionKind{Version: "v1", Kind: "Pod"}

// evaluator is a compiled pair of policies.
type evaluator struct {
	patcher   patch.Patcher
	compiler  *plugincel.CompositedCompiler // the patcher's: its variables need a context of it
	validator validating.Validator
	scheme    *runtime.Scheme
}

func envSet() *environment.EnvSet { return environment.MustBaseEnvSet(version.MajorMinor(1, 36)) }

// compile compiles the policies as the API server does on admission, and
// fails the test on any compilation error. Expressions are compiled as new
// ones (the API server's check when a policy is created) and as stored ones.
func compile(t testing.TB, p *policy.Policies) *evaluator {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := corev1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	e := &evaluator{scheme: scheme}
	for _, mode := range []environment.Type{environment.NewExpressions, environment.StoredExpressions} {
		opts := plugincel.OptionalVariableDeclarations{HasAuthorizer: true}
		compiler, err := plugincel.NewCompositedCompiler(envSet())
		if err != nil {
			t.Fatal(err)
		}
		storeVariables(t, compiler, p.Mutating.Spec.Variables, opts, mode)
		patchOpts := opts
		patchOpts.HasPatchTypes = true
		m := p.Mutating.Spec.Mutations[0]
		ev := compiler.CompileMutatingEvaluator(&patch.JSONPatchCondition{Expression: m.JSONPatch.Expression}, patchOpts, mode)
		if errs := ev.CompilationErrors(); len(errs) > 0 {
			t.Fatalf("compiling the MutatingAdmissionPolicy (%v): %v", mode, errors.Join(errs...))
		}
		e.patcher, e.compiler = patch.NewJSONPatcher(ev), compiler

		vcompiler, err := plugincel.NewCompositedCompiler(envSet())
		if err != nil {
			t.Fatal(err)
		}
		storeVariables(t, vcompiler, p.Validating.Spec.Variables, opts, mode)
		var conds, msgs []plugincel.ExpressionAccessor
		for _, v := range p.Validating.Spec.Validations {
			conds = append(conds, &validating.ValidationCondition{Expression: v.Expression, Message: v.Message, Reason: v.Reason})
			if v.MessageExpression != "" {
				msgs = append(msgs, &validating.MessageExpressionCondition{MessageExpression: v.MessageExpression})
			} else {
				msgs = append(msgs, nil)
			}
		}
		condEval := vcompiler.CompileCondition(conds, opts, mode)
		msgEval := vcompiler.CompileCondition(msgs, plugincel.OptionalVariableDeclarations{}, mode)
		for _, ce := range []plugincel.ConditionEvaluator{condEval, msgEval} {
			if errs := ce.CompilationErrors(); len(errs) > 0 {
				t.Fatalf("compiling the ValidatingAdmissionPolicy (%v): %v", mode, errors.Join(errs...))
			}
		}
		audit := vcompiler.CompileCondition(nil, opts, mode)
		e.validator = validating.NewValidator(condEval, nil, audit, msgEval, p.Validating.Spec.FailurePolicy, nil)
	}
	return e
}

// storeVariables compiles the variables, failing the test on an error
// (the API server reports it only when a pod comes).
func storeVariables(t testing.TB, c *plugincel.CompositedCompiler, vs []admissionv1.Variable, opts plugincel.OptionalVariableDeclarations, mode environment.Type) {
	t.Helper()
	for _, v := range vs {
		if r := c.CompileAndStoreVariable(&validating.Variable{Name: v.Name, Expression: v.Expression}, opts, mode); r.Error != nil {
			t.Fatalf("variable %s (%v): %v\n%s", v.Name, mode, r.Error, v.Expression)
		}
	}
}

func (e *evaluator) attrs(pod *corev1.Pod) *admission.VersionedAttributes {
	a := admission.NewAttributesRecord(pod, nil, podGVK, pod.Namespace, pod.Name, podGVR, "", admission.Create, &metav1.CreateOptions{}, false, nil)
	return &admission.VersionedAttributes{Attributes: a, VersionedKind: podGVK, VersionedObject: pod}
}

// admit runs the mutating policy, then the validating one on its result.
// It returns the pod, or the denials.
func (e *evaluator) admit(t testing.TB, pod *corev1.Pod) (*corev1.Pod, []string, error) {
	t.Helper()
	r := patch.Request{
		MatchedResource:     podGVR,
		VersionedAttributes: e.attrs(pod.DeepCopy()),
		ObjectInterfaces:    admission.NewObjectInterfacesFromScheme(e.scheme),
		OptionalVariables:   plugincel.OptionalVariableBindings{},
	}
	obj, err := e.patcher.Patch(e.compiler.CreateContext(context.Background()), r, celconfig.RuntimeCELCostBudget)
	if err != nil {
		return nil, nil, fmt.Errorf("mutating policy: %w", err)
	}
	out, ok := obj.(*corev1.Pod)
	if !ok {
		return nil, nil, fmt.Errorf("mutating policy returned a %T", obj)
	}
	res := e.validator.Validate(context.Background(), podGVR, e.attrs(out), nil, nil, celconfig.RuntimeCELCostBudget, nil)
	var denied []string
	for _, d := range res.Decisions {
		switch d.Action {
		case validating.ActionDeny:
			denied = append(denied, d.Message)
		case validating.ActionAdmit:
		default:
			return nil, nil, fmt.Errorf("validating policy: %v %v: %s", d.Action, d.Evaluation, d.Message)
		}
	}
	return out, denied, nil
}

func toJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
