package main

import (
	"bytes"
	"os"
	"testing"
)

// Every request's pod must differ, as the API server's do, in each place
// the token volume is named (the volume and every container's mount).
func TestTokenVolumeNamesVary(t *testing.T) {
	pod, err := os.ReadFile("../../webhook/testdata/bench-pod.json")
	if err != nil {
		t.Fatal(err)
	}
	body := review(bytes.TrimSpace(pod))
	at := tokenVolumeNames(body)
	if len(at) != bytes.Count(body, []byte(tokenVolumePrefix)) || len(at) < 2 {
		t.Fatalf("found %d token volume names in %s", len(at), body)
	}
	seen := map[string]bool{}
	for n := uint64(0); n < 1000; n++ {
		s := tokenSuffix(n)
		if seen[string(s[:])] {
			t.Fatalf("request %d repeats suffix %s", n, s)
		}
		seen[string(s[:])] = true
	}
	buf := bytes.Clone(body)
	s := tokenSuffix(42)
	for _, i := range at {
		copy(buf[i:i+5], s[:])
	}
	if bytes.Count(buf, []byte(tokenVolumePrefix+string(s[:]))) != len(at) || len(buf) != len(body) {
		t.Errorf("suffix not written in place: %s", buf)
	}
}
