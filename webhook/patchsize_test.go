package webhook

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/wI2L/jsondiff"
	gomodules "gomodules.xyz/jsonpatch/v2"

	"github.com/sidecar-injector/sidecar-injector/internal/fixture"
)

// The webhook diffs trees with its own differ (internal/jsonpatch) rather
// than a JSON Patch library, for what it produces: a library given the pod
// before and after compares lists index by index, so a container inserted
// at the front of a list rewrites every container after it, field by
// field. Ours pairs list items by name and adds the new one.

// patchSizeConfig puts the tutorial's nginx sidecar first, as a regular
// container, as a native sidecar, or with an init container of its own;
// with env, it also adds an env var to the app's containers.
func patchSizeConfig(extra string, env bool) string {
	if env {
		extra += "    env:\n    - name: PROXIED\n      value: \"true\"\n"
	}
	return `apiVersion: sidecar-injector.io/v1alpha1
kind: SidecarInjector
metadata:
  name: platform
spec:
  sidecars:
` + fixture.Indent(fixture.NginxHead, 2) + "    position: first\n" + extra + fixture.Indent(fixture.NginxSidecarNoPullPolicy, 4)
}

// TestPatchSmallerThanLibraries counts the operations and bytes of the
// patches for the benchmark pod: ours, and those of gomodules.xyz/jsonpatch
// (what controller-runtime's PatchResponseFromRaw uses) and of
// wI2L/jsondiff (by default, and with its LCS option for arrays) from the
// same pod before and after. All must give the same pod. `go test -v -run
// TestPatchSmallerThanLibraries ./webhook/` prints the figures
// (docs/webhook.md, "The patch").
func TestPatchSmallerThanLibraries(t *testing.T) {
	bench, err := os.ReadFile("testdata/bench-pod.json")
	if err != nil {
		t.Fatal(err)
	}
	// The pod with an init container of its own, for the cases that add
	// to its init containers.
	withInit := strings.Replace(string(bench), `"spec":{`,
		`"spec":{"initContainers":[{"name":"migrate","image":"registry.example.com/shop/orders-migrate:2.14.3","command":["/migrate","--wait"],"resources":{"requests":{"cpu":"50m","memory":"64Mi"}},"terminationMessagePath":"/dev/termination-log","terminationMessagePolicy":"File","imagePullPolicy":"IfNotPresent"}],`, 1)
	if withInit == string(bench) {
		t.Fatal("test bug: no spec in the benchmark pod")
	}
	// beatsLCS: the list ours inserts into has items that change too.
	type testCase struct {
		name, pod, config string
		beatsLCS          bool
	}
	var cases []testCase
	for _, env := range []bool{false, true} {
		name := ""
		if env {
			name = ", env"
		}
		cases = append(cases,
			testCase{"first" + name, string(bench), patchSizeConfig("", env), env},
			testCase{"native first" + name, withInit, patchSizeConfig("    native: true\n", env), false}, // env goes to app containers only
			testCase{"initContainers first" + name, withInit, patchSizeConfig("    initContainers:\n    - name: nginx-init\n      image: busybox:1.36\n      command: [sh, -c, 'cp /defaults/* /etc/nginx/']\n", env), env})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pod := []byte(c.pod)
			resp := admitPod(t, testHandler(loadInjector(t, c.config)), pod, false)
			if resp.Patch == nil {
				t.Fatalf("not injected: %+v", resp.Result)
			}
			after := applyPatch(t, pod, resp.Patch)

			gmOps, err := gomodules.CreatePatch(pod, after)
			if err != nil {
				t.Fatal(err)
			}
			gm, err := json.Marshal(gmOps)
			if err != nil {
				t.Fatal(err)
			}
			patches := []struct {
				name  string
				patch []byte
			}{{"ours", resp.Patch}, {"gomodules.xyz/jsonpatch", gm}}
			for _, opts := range []struct {
				name string
				opts []jsondiff.Option
			}{{"wI2L/jsondiff", nil}, {"wI2L/jsondiff LCS", []jsondiff.Option{jsondiff.LCS()}}} {
				p, err := jsondiff.CompareJSON(pod, after, opts.opts...)
				if err != nil {
					t.Fatal(err)
				}
				b, err := json.Marshal(p)
				if err != nil {
					t.Fatal(err)
				}
				patches = append(patches, struct {
					name  string
					patch []byte
				}{opts.name, b})
			}
			ops := map[string]int{}
			for _, p := range patches {
				if got := applyPatch(t, pod, p.patch); !jsonEqual(t, got, after) {
					t.Fatalf("%s's patch gives another pod:\n%s", p.name, got)
				}
				var list []json.RawMessage
				if err := json.Unmarshal(p.patch, &list); err != nil {
					t.Fatal(err)
				}
				ops[p.name] = len(list)
				t.Logf("%-24s %3d operations, %5d bytes", p.name, len(list), len(p.patch))
			}
			// jsondiff's LCS pairs equal items only: it finds ours when
			// the items of the list are unchanged, not when they gain an
			// env var.
			for _, p := range patches[1:] {
				smaller := ops[p.name] > ops["ours"] && len(p.patch) > len(resp.Patch)
				if p.name == "wI2L/jsondiff LCS" && !c.beatsLCS {
					smaller = ops[p.name] >= ops["ours"] && len(p.patch) >= len(resp.Patch)-1 // it may write a value a byte shorter
				}
				if !smaller {
					t.Errorf("%s: %d operations, %d bytes; ours %d, %d", p.name, ops[p.name], len(p.patch), ops["ours"], len(resp.Patch))
				}
			}
			// The libraries rewrite the app's (init) container in place;
			// ours only adds.
			if strings.Contains(string(resp.Patch), `"op":"replace"`) || strings.Contains(string(resp.Patch), `"op":"remove"`) {
				t.Errorf("our patch rewrites: %s", resp.Patch)
			}
		})
	}
}
