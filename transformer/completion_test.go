package transformer

import (
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

func TestParseKubeVersion(t *testing.T) {
	cases := map[string]struct {
		minor  int
		native bool
		bad    bool
	}{
		"1.28":                {minor: 28},
		"v1.28.3":             {minor: 28},
		"1.28+":               {minor: 28},
		"v1.29.1-eks-508b6b3": {minor: 29, native: true},
		"1.36":                {minor: 36, native: true},
		"2.0":                 {native: true},
		"1":                   {bad: true},
		"one.two":             {bad: true},
		"0.9":                 {bad: true},
		"1.28 ":               {bad: true},
	}
	for s, tc := range cases {
		v, err := parseKubeVersion(s)
		switch {
		case tc.bad && err == nil:
			t.Errorf("%q: no error", s)
		case tc.bad:
		case err != nil:
			t.Errorf("%q: %v", s, err)
		case v.servesNative() != tc.native || (v.major == 1 && v.minor != tc.minor):
			t.Errorf("%q: %+v, native %v", s, v, v.servesNative())
		}
	}
	if !(kubeVersion{}).servesNative() {
		t.Error("no version given must mean a cluster with native sidecars")
	}
}

const completionConfig = `apiVersion: sidecar-injector.io/v1alpha1
kind: SidecarInjector
metadata: {name: c}
spec:
  sidecars:
  - name: nginx
    default: true
    required: REQUIRED
    runToCompletion: CHOICE
    containers:
    - {name: sidecar-nginx, image: nginx:1.12.2}
  - name: proxy
    native: true
    containers:
    - {name: proxy, image: proxy:1}
`

func completionInjector(t *testing.T, choice string, required bool) *Injector {
	t.Helper()
	cfg, err := LoadConfig([]byte(strings.NewReplacer("CHOICE", choice, "REQUIRED", map[bool]string{true: "true", false: "false"}[required]).Replace(completionConfig)), "c.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return &Injector{Config: cfg}
}

// The digest of a Deployment does not depend on runToCompletion, so that
// changing it upgrades only pods that run to completion.
func TestCompletionDigest(t *testing.T) {
	deploy := "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  template:\n    metadata:\n      annotations: {sidecar-injector.io/inject: nginx}\n    spec:\n      containers: [{name: app, image: app}]\n"
	job := strings.NewReplacer("apps/v1", "batch/v1", "Deployment", "Job").Replace(deploy)
	digests := map[string]map[string]string{}
	for _, choice := range []string{"native", "as-configured"} {
		digests[choice] = map[string]string{}
		for name, doc := range map[string]string{"deploy": deploy, "job": job} {
			rn := yaml.MustParse(doc)
			if _, err := completionInjector(t, choice, false).Apply(rn, ""); err != nil {
				t.Fatal(err)
			}
			st, err := ParseStatus(rn.MustString()[strings.Index(rn.MustString(), "status: '")+9 : strings.Index(rn.MustString(), "}'")+1])
			if err != nil {
				t.Fatal(err)
			}
			digests[choice][name] = st.Digest
		}
	}
	if digests["native"]["deploy"] != digests["as-configured"]["deploy"] {
		t.Error("runToCompletion changed a Deployment's digest")
	}
	if digests["native"]["job"] == digests["as-configured"]["job"] {
		t.Error("runToCompletion did not change a Job's digest")
	}
	if digests["as-configured"]["job"] != digests["as-configured"]["deploy"] {
		t.Error("a Job injected as configured has another digest than a Deployment")
	}
}

// At admission, a bare pod with restartPolicy Never gets the native form,
// and a required set held in that form counts as held: the webhook leaves
// a pod made from such a template alone.
func TestCompletionAdmission(t *testing.T) {
	pod := "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations: {sidecar-injector.io/inject: \"true\"}\nspec:\n  restartPolicy: Never\n  containers: [{name: app, image: app}]\n"
	in := completionInjector(t, "native", true)
	in.Admission = true
	rn := yaml.MustParse(pod)
	r, err := in.Apply(rn, "")
	if err != nil || r.Action != Injected {
		t.Fatalf("%v %+v", err, r)
	}
	out := rn.MustString()
	if !strings.Contains(out, "initContainers:\n  - {name: sidecar-nginx, image: 'nginx:1.12.2', restartPolicy: Always}") {
		t.Fatalf("not a native sidecar:\n%s", out)
	}
	again, err := in.Apply(yaml.MustParse(out), "")
	if err != nil || again.Reason != AlreadyInjected || len(again.Warnings) > 0 {
		t.Errorf("a pod holding the required set natively: %v %+v", err, again)
	}
}

// An older cluster: sets that would go in natively into a Job are an
// error naming the set; a set that skips such pods, or goes in as
// configured, is fine; --kube-version refuses native sets.
func TestCompletionKubeVersion(t *testing.T) {
	job := "apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec:\n  template:\n    metadata:\n      annotations: {sidecar-injector.io/inject: nginx}\n    spec:\n      restartPolicy: Never\n      containers: [{name: app, image: app}]\n"
	for choice, wantErr := range map[string]string{"native": `set "nginx" would go in as native sidecars`, "skip": "", "as-configured": ""} {
		in := completionInjector(t, choice, false)
		in.Config.Sets = in.Config.Sets[:1] // no native set
		if err := in.Config.SetKubeVersion("1.28"); err != nil {
			t.Fatal(err)
		}
		_, err := in.Apply(yaml.MustParse(job), "")
		if (err == nil) != (wantErr == "") || (err != nil && !strings.Contains(err.Error(), wantErr)) {
			t.Errorf("%s: error %v, want %q", choice, err, wantErr)
		}
	}
	if err := completionInjector(t, "native", false).Config.SetKubeVersion("1.28"); err == nil || !strings.Contains(err.Error(), `set "proxy" is native`) {
		t.Errorf("a native set on 1.28: %v", err)
	}
	if err := completionInjector(t, "native", false).Config.SetKubeVersion("1.29"); err != nil {
		t.Error(err)
	}
}
