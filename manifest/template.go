package manifest

import (
	"bytes"
	"fmt"

	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/sidecar-injector/sidecar-injector/internal/yamltree"
)

// A post-renderer reads Helm's output on stdin, which has no file names.
// Helm names the chart template each document came from: Helm 3 (and
// `helm template`) with a "# Source: chart/templates/x.yaml" comment line
// opening the document, Helm 4 (for post-renderers) with an annotation it
// removes again afterwards. Messages name that template next to the line.

// HelmFilenameAnnotation is where Helm 4 records, for a post-renderer, the
// template a resource was rendered from.
const HelmFilenameAnnotation = "postrenderer.helm.sh/postrender-filename"

var sourcePrefix = []byte("# Source: ")

// Template returns the chart template a document was rendered from, as
// Helm names it ("shop/templates/deployment.yaml"), or "" when the document
// does not say.
func (d *Document) Template() string {
	// The comment: among the comment lines that open the document.
	for rest := d.Raw; len(rest) > 0; {
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line, rest = rest[:i], rest[i+1:]
		} else {
			rest = nil
		}
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		if line[0] != '#' {
			break
		}
		if name, ok := bytes.CutPrefix(line, sourcePrefix); ok {
			return string(bytes.TrimSpace(name))
		}
	}
	// The annotation, when it is a plain string.
	if d.Node == nil {
		return ""
	}
	ann := yamltree.Get(yamltree.Get(d.Node.YNode(), "metadata"), "annotations")
	if v := yamltree.Get(ann, HelmFilenameAnnotation); v != nil && v.Kind == yaml.ScalarNode {
		return v.Value
	}
	return ""
}

// Where names a line of one of the stream's documents for messages:
// "stdin:52", or "stdin:52, template shop/templates/deployment.yaml" when
// Helm named the document's template.
func (s *Stream) Where(d *Document, line int) string {
	return where(s.Path, d, line)
}

func where(path string, d *Document, line int) string {
	if t := d.Template(); t != "" {
		return fmt.Sprintf("%s:%d, template %s", path, line, t)
	}
	return fmt.Sprintf("%s:%d", path, line)
}
