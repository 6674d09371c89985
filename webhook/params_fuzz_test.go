package webhook

import (
	"testing"

	"github.com/sidecar-injector/sidecar-injector/internal/fixture"
	"github.com/sidecar-injector/sidecar-injector/transformer"
)

// paramsConfig declares parameters of each type, one derived from the
// app's requests, for FuzzAdmitParams.
var paramsConfig = `apiVersion: sidecar-injector.io/v1alpha1
kind: SidecarInjector
metadata:
  name: params
spec:
  sidecars:
` + fixture.Indent(fixture.NginxSetWith(`env: [{name: WORKERS, value: "2"}]
args: ["--mode", "fast"]
`, ""), 2) + `    parameters:
    - {name: cpu, type: quantity, default: 100m, min: 50m, max: "1", defaultFrom: {resource: requests.cpu, percent: 25}, paths: ["containers.[name=sidecar-nginx].resources.requests.cpu"]}
    - {name: memory, type: quantity, default: 64Mi, min: 32Mi, max: 512Mi, paths: ["containers.[name=sidecar-nginx].resources.limits.memory"]}
    - {name: workers, type: integer, default: 2, min: 1, max: 16, paths: ["containers.[name=sidecar-nginx].env.[name=WORKERS].value"]}
    - {name: mode, type: string, pattern: '.{0,32}', default: fast, paths: ["containers.[name=sidecar-nginx].args.[=fast]"]}
    - {name: tty, type: boolean, default: false, paths: ["containers.[name=sidecar-nginx].tty"]}
    - {name: image, type: image, pattern: 'nginx:1\.(12|14)\.[0-9]+', default: nginx:1.12.2, paths: ["containers.[name=sidecar-nginx].image"]}
`

// FuzzAdmitParams is FuzzAdmit with parameter annotations: whatever values
// a pod carries, the webhook denies it or patches it exactly as the engine
// injects it, and leaves the patched pod alone.
func FuzzAdmitParams(f *testing.F) {
	for _, pod := range []string{
		`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","annotations":{"sidecar-injector.io/inject":"true"}},"spec":{"containers":[{"name":"a","image":"a","resources":{"requests":{"cpu":"2"}}}]}}`,
		`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","annotations":{"sidecar-injector.io/inject":"true","sidecar-injector.io/nginx.cpu":"250m","sidecar-injector.io/nginx.memory":"128Mi","sidecar-injector.io/nginx.workers":"4","sidecar-injector.io/nginx.mode":"\": x\n- y","sidecar-injector.io/nginx.tty":"true","sidecar-injector.io/nginx.image":"nginx:1.14.2"}},"spec":{"containers":[{"name":"a","image":"a"}]}}`,
		`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","annotations":{"sidecar-injector.io/inject":"nginx","sidecar-injector.io/nginx.cpu":"2"}},"spec":{"containers":[{"name":"a","image":"a"}]}}`,
		`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","annotations":{"sidecar-injector.io/inject":"nginx","sidecar-injector.io/nginx.cpuu":"1"}},"spec":{"containers":[{"name":"a","image":"a"}]}}`,
		`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","annotations":{"sidecar-injector.io/inject":"nginx","sidecar-injector.io/nginx.mode":"on"}},"spec":{"containers":[{"name":"a","image":"a","resources":{"requests":{"cpu":"x"}}}]}}`,
	} {
		f.Add([]byte(pod))
	}
	inj := []*transformer.Injector{loadInjector(f, paramsConfig)}
	f.Fuzz(func(t *testing.T, pod []byte) {
		for _, in := range inj {
			admitMatchesEngine(t, in, pod)
		}
	})
}
