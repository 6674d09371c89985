package v1alpha1_test

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/sidecar-injector/sidecar-injector/api/v1alpha1"
	"github.com/sidecar-injector/sidecar-injector/transformer"
)

// A config built in Go, written as YAML, is a config every front reads.
func Example() {
	cfg := v1alpha1.SidecarInjector{
		TypeMeta:   metav1.TypeMeta{APIVersion: v1alpha1.APIVersion, Kind: v1alpha1.Kind},
		ObjectMeta: metav1.ObjectMeta{Name: "platform"},
		Spec: v1alpha1.SidecarInjectorSpec{
			OnConflict: v1alpha1.ConflictSkip,
			Sidecars: []v1alpha1.SidecarSet{{
				Name:       "nginx",
				Default:    true,
				Containers: []corev1.Container{{Name: "sidecar-nginx", Image: "nginx:1.12.2"}},
			}},
		},
	}
	data, err := yaml.Marshal(cfg)
	if err != nil {
		panic(err)
	}
	loaded, err := transformer.LoadConfig(data, "platform.yaml")
	if err != nil {
		panic(err)
	}
	fmt.Println(loaded.SetNames(), loaded.OnConflict, loaded.Policy)
	// Output: [nginx] skip opt-in
}
