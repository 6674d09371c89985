package manifest

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse: any input parses or fails cleanly, and a stream nobody changed
// is written back byte for byte.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("../testdata/cases/*/input.*")
	corpus, _ := filepath.Glob("testdata/corpus/*")
	files = append(files, corpus...)
	for _, file := range files {
		if data, err := os.ReadFile(file); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data, "fuzz.yaml")
		if err != nil {
			return
		}
		out, err := s.Bytes()
		if err != nil || !bytes.Equal(out, data) {
			t.Fatalf("unchanged stream not written back as read (%v)", err)
		}
	})
}
