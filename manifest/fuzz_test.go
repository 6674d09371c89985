package manifest

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/yaml"
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

// FuzzJSON: in a JSON document, a member added to every object and an
// element added to every array are written as JSON that reads back as the
// edit, and removing them gives back the input byte for byte.
func FuzzJSON(f *testing.F) {
	for _, seed := range []string{
		"{\"a\": {\"b\": [1, {\"c\": null}]}, \"d\": []}\n",
		"{\r\n\t\"a\": {},\r\n\t\"b\": [ ]\r\n}",
		`{"a":{"b":[{"c":"d"}]},"e":{}}`,
		"# Source: x.json\n{\n    \"a\": [\n        {\"b\": 1}\n    ]\n}\n# end\n",
	} {
		f.Add([]byte(seed))
	}
	for _, file := range []string{"testdata/corpus/kubectl-get-deployment.json", "testdata/corpus/tab-indented.json", "../testdata/cases/json-file/input.json"} {
		if data, err := os.ReadFile(file); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 16<<10 || !json.Valid(bytes.TrimSpace(data)) {
			return
		}
		before := SpliceMismatches()
		out, spliced, ok := editJSON(t, data, addEverywhere)
		if !ok {
			return
		}
		if n := SpliceMismatches() - before; n > 0 {
			t.Fatalf("the JSON splice did not read back as the edit")
		}
		if !json.Valid(out) {
			t.Fatalf("not JSON:\n%s", out)
		}
		back, splicedBack, _ := editJSON(t, out, removeEverywhere)
		if spliced && splicedBack && !bytes.Equal(back, data) {
			t.Fatalf("removing the added members gave\n%q\nwant\n%q", back, data)
		}
	})
}

// editJSON parses a one-document stream whose root is an object, edits it
// and writes it.
func editJSON(t *testing.T, data []byte, edit func(n *yaml.Node)) ([]byte, bool, bool) {
	s, err := Parse(data, "fuzz.json")
	if err != nil || len(s.Docs) != 1 || s.Docs[0].Node == nil || s.Docs[0].Node.YNode().Kind != yaml.MappingNode {
		return nil, false, false
	}
	out := editFirst(t, s, edit)
	return out, s.Docs[0].Spliced, true
}

const addedKey = "x-added"

func addEverywhere(n *yaml.Node) {
	for _, c := range n.Content {
		addEverywhere(c)
	}
	switch n.Kind {
	case yaml.MappingNode:
		n.Content = append(n.Content, str(addedKey), &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{
			str("k"), {Kind: yaml.SequenceNode, Content: []*yaml.Node{{Kind: yaml.ScalarNode, Tag: "!!int", Value: "1"}, str("s\n\"")}}}})
	case yaml.SequenceNode:
		n.Content = append(n.Content, str(addedKey))
	}
}

func removeEverywhere(n *yaml.Node) {
	switch k := len(n.Content); {
	case n.Kind == yaml.MappingNode && k >= 2 && n.Content[k-2].Value == addedKey:
		n.Content = n.Content[:k-2]
	case n.Kind == yaml.SequenceNode && k >= 1 && n.Content[k-1].Value == addedKey:
		n.Content = n.Content[:k-1]
	}
	for _, c := range n.Content {
		removeEverywhere(c)
	}
}
