package hostile

import (
	"bytes"
	"encoding/json"
	"testing"
)

// Every shape is a pod of at least the size asked, valid JSON, that asks
// for injection; wrapped, it is a valid AdmissionReview.
func TestShapes(t *testing.T) {
	for _, shape := range Shapes {
		pod, err := Pod(shape, 20_000)
		if err != nil {
			t.Fatal(err)
		}
		var p struct {
			Kind     string
			Metadata struct{ Annotations map[string]string }
			Spec     map[string]any
		}
		if err := json.Unmarshal(pod, &p); err != nil {
			t.Fatalf("%s: %v", shape, err)
		}
		if len(pod) < 20_000 || len(pod) > 30_000 || p.Kind != "Pod" || p.Metadata.Annotations["sidecar-injector.io/inject"] != "true" || p.Spec["containers"] == nil {
			t.Errorf("%s: %d bytes, %+v", shape, len(pod), p.Metadata)
		}
		head, tail := Review("u")
		if !json.Valid(bytes.Join([][]byte{head, pod, tail}, nil)) {
			t.Errorf("%s: the review is not JSON", shape)
		}
	}
	if _, err := Pod("nope", 10); err == nil {
		t.Error("an unknown shape was accepted")
	}
}
