//go:build e2e

package e2e

import (
	"encoding/json"
	"strings"
	"testing"
)

// auditConfig: the nginx proxy (default) and packet agent, with
// runToCompletion left at its default (native).
var auditConfig = `apiVersion: sidecar-injector.io/v1alpha1
kind: SidecarInjector
metadata: {name: audit}
` + exampleSets

// auditDeployment is a Deployment in default whose one container has its
// name; annotations, if not empty, go on its pod template.
func auditDeployment(name, annotations string) string {
	d := `apiVersion: apps/v1
kind: Deployment
metadata: {name: NAME, namespace: default}
spec:
  selector: {matchLabels: {app: NAME}}
  template:
    metadata:
      labels: {app: NAME}
`
	if annotations != "" {
		d += "      annotations: " + annotations + "\n"
	}
	d += `    spec:
      containers: [{name: NAME, image: example.com/NAME:1.0}]
`
	return strings.ReplaceAll(d, "NAME", name)
}

// auditApps are workloads of every kind that matters here: long-running
// ones, and pods that run to completion (a Job, a CronJob, a bare pod with
// restartPolicy Never), which get their sidecars as native sidecars.
var auditApps = strings.Join([]string{
	auditDeployment("web", `{sidecar-injector.io/inject: "true"}`),
	auditDeployment("plain", ""),
	`apiVersion: batch/v1
kind: Job
metadata: {name: migrate, namespace: default}
spec:
  template:
    metadata:
      annotations: {sidecar-injector.io/inject: "true"}
    spec:
      restartPolicy: Never
      containers: [{name: migrate, image: example.com/migrate:1.0}]
`, `apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly, namespace: default}
spec:
  schedule: "0 2 * * *"
  jobTemplate:
    spec:
      template:
        metadata:
          annotations: {sidecar-injector.io/inject: monitor}
        spec:
          restartPolicy: OnFailure
          containers: [{name: report, image: example.com/report:1.0}]
`, `apiVersion: v1
kind: Pod
metadata:
  name: once
  namespace: default
  annotations: {sidecar-injector.io/inject: "true"}
spec:
  restartPolicy: Never
  containers: [{name: once, image: example.com/once:1.0}]
`}, "---\n")

// api is injected with an older config: outdated once it runs.
var auditOutdated = auditDeployment("api", `{sidecar-injector.io/inject: "true"}`)

// TestLiveAudit creates injected workloads in a real kube-apiserver and
// reads them back with kubectl: the API server accepts a Job, a CronJob
// and a bare pod whose sidecars are native (init containers with
// restartPolicy: Always), and `report` and `check` on `kubectl get -o
// yaml` (a List, with the API server's defaults in every injected item)
// judge by meaning: current where the status is believed and its digest
// current, outdated where the config changed since.
func TestLiveAudit(t *testing.T) {
	kubectl, dir, write, kc := kubectlCluster(t)
	cfg := write("config.yaml", auditConfig)
	oldCfg := write("old-config.yaml", strings.Replace(auditConfig, "image: nginx:1.12.2", "image: nginx:1.11.0", 1))
	apps := write("apps.yaml", auditApps)
	api := write("api.yaml", auditOutdated)

	injected := must(t)(run(t, dir, nil, binary, "inject", "-q", "-c", cfg, "-f", apps))
	old := must(t)(run(t, dir, nil, binary, "inject", "-q", "-c", oldCfg, "-f", api))
	for _, m := range [][]byte{injected, old} {
		if _, stderr, code := run(t, dir, m, kubectl, "--kubeconfig", kc, "apply", "-f", "-"); code != 0 {
			t.Fatalf("kubectl apply: exit %d: %s\n%s", code, stderr, m)
		}
	}

	t.Run("native sidecars accepted", func(t *testing.T) {
		for _, obj := range []struct{ name, path, sidecar string }{
			{"job/migrate", "spec.template.spec", "sidecar-nginx"},
			{"cronjob/nightly", "spec.jobTemplate.spec.template.spec", "sidecar-monitor"},
			{"pod/once", "spec", "sidecar-nginx"},
		} {
			out := must(t)(run(t, dir, nil, kubectl, "--kubeconfig", kc, "get", "-n", "default", obj.name, "-o", "json"))
			var live map[string]any
			if err := json.Unmarshal(out, &live); err != nil {
				t.Fatal(err)
			}
			spec := live
			for _, k := range strings.Split(obj.path, ".") {
				spec, _ = spec[k].(map[string]any)
			}
			inits, _ := spec["initContainers"].([]any)
			containers, _ := spec["containers"].([]any)
			if len(inits) != 1 || len(containers) != 1 {
				t.Errorf("%s: %d init containers, %d containers; want the sidecar as the only init container:\n%s", obj.name, len(inits), len(containers), out)
				continue
			}
			init := inits[0].(map[string]any)
			if init["name"] != obj.sidecar || init["restartPolicy"] != "Always" {
				t.Errorf("%s: init container %v, want %s with restartPolicy Always", obj.name, init, obj.sidecar)
			}
		}
		// On a cluster too old for native sidecars, a clear error instead.
		_, stderr, code := run(t, dir, nil, binary, "inject", "-c", cfg, "--kube-version", "1.28", "-f", apps)
		if code != 1 || !strings.Contains(string(stderr), `Job default/migrate`) || !strings.Contains(string(stderr), "need Kubernetes 1.29 or later") {
			t.Errorf("--kube-version 1.28: exit %d\n%s", code, stderr)
		}
	})

	list := must(t)(run(t, dir, nil, kubectl, "--kubeconfig", kc, "get", "-n", "default", "deploy,jobs,cronjobs,pods", "-o", "yaml"))
	if !strings.Contains(string(list), "kind: List") || !strings.Contains(string(list), "terminationMessagePath") {
		t.Fatalf("kubectl did not print a List with the API server's defaults:\n%s", list)
	}

	t.Run("report", func(t *testing.T) {
		out, stderr, code := run(t, dir, list, binary, "report", "-c", cfg, "-f", "-", "-o", "json")
		if code != 0 {
			t.Fatalf("report: exit %d: %s", code, stderr)
		}
		var rows []struct {
			Kind, Name, State, Digest string
			Live, DigestCurrent       bool
			Injected                  []string
		}
		if err := json.Unmarshal(out, &rows); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		got := map[string]string{}
		for _, r := range rows {
			if !r.Live {
				t.Errorf("%s %s not seen as live", r.Kind, r.Name)
			}
			got[r.Kind+"/"+r.Name] = r.State + " " + strings.Join(r.Injected, ",") + map[bool]string{true: " digest current", false: ""}[r.DigestCurrent]
		}
		want := map[string]string{
			"Deployment/web":   "current nginx digest current",
			"Deployment/api":   "outdated nginx",
			"Deployment/plain": "skipped ",
			"Job/migrate":      "current nginx digest current",
			"CronJob/nightly":  "current monitor digest current",
			"Pod/once":         "current nginx digest current",
		}
		for k, w := range want {
			if got[k] != w {
				t.Errorf("%s: %q, want %q", k, got[k], w)
			}
		}
		if len(got) != len(want) {
			t.Errorf("report lists %v, want %d workloads", got, len(want))
		}
		table := must(t)(run(t, dir, list, binary, "report", "-c", cfg, "-f", "-"))
		if !strings.Contains(string(table), "Deployment  default/web") || !strings.Contains(string(table), " live ") {
			t.Errorf("table:\n%s", table)
		}
	})

	t.Run("check", func(t *testing.T) {
		out, _, code := run(t, dir, list, binary, "check", "-c", cfg, "-f", "-")
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if code != 1 || len(lines) != 1 || !strings.Contains(lines[0], "Deployment default/api: outdated: injected with another config") {
			t.Errorf("check of the live List: exit %d\n%s", code, out)
		}
		// By bytes, inject would rewrite every injected object: the API
		// server's defaults are not the config's form.
		_, stderr, _ := run(t, dir, list, binary, "inject", "-c", cfg, "-f", "-")
		if !strings.Contains(string(stderr), "upgraded   Deployment default/web") {
			t.Errorf("inject of the live List did not rewrite web, so this test shows nothing:\n%s", stderr)
		}
	})
}
