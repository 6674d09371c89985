package fn

import (
	"github.com/sidecar-injector/sidecar-injector/api/v1alpha1"
	"github.com/sidecar-injector/sidecar-injector/transformer"
	"sigs.k8s.io/kustomize/kyaml/kio/kioutil"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// configSource names the functionConfig in messages when no file is known.
const configSource = "functionConfig"

// loadConfig parses the functionConfig: a SidecarInjector or the tutorial's
// ConfigMap (data.sidecarconfig.yaml, with optional data.annotationPrefix,
// data.policy and data.onConflict), exactly as the other fronts do.
func loadConfig(fc *yaml.RNode) (*transformer.Config, error) {
	if fc == nil || isPlaceholder(fc) {
		return nil, &transformer.ConfigError{Source: configSource, Msg: "missing: expected kind " +
			v1alpha1.Kind + " (apiVersion " + v1alpha1.APIVersion + ") or a ConfigMap with data." +
			transformer.TutorialConfigKey + " (a Kptfile's configPath, kpt fn eval --fn-config, or the kustomize transformer resource itself)"}
	}
	source := configSource
	if path, _, _ := kioutil.GetFileAnnotations(fc); path != "" {
		source = path // kpt: the Kptfile's configPath
	}
	return transformer.ParseConfig(fc, source)
}

// isPlaceholder recognises what kpt passes when a function is given no
// config: an empty ConfigMap named function-input.
func isPlaceholder(fc *yaml.RNode) bool {
	if yaml.IsYNodeEmptyMap(fc.YNode()) {
		return true
	}
	meta, err := fc.GetMeta()
	if err != nil || meta.Kind != "ConfigMap" || meta.Name != "function-input" {
		return false
	}
	data := fc.Field("data")
	return data == nil || data.Value.IsNilOrEmpty()
}
