package fn

import (
	"bufio"
	"bytes"
	"compress/flate"
	"fmt"
	"io"

	kptfn "github.com/GoogleContainerTools/kpt-functions-sdk/go/fn"
	"github.com/sidecar-injector/sidecar-injector/api/v1alpha1"
	"github.com/sidecar-injector/sidecar-injector/transformer"
	"sigs.k8s.io/kustomize/kyaml/kio/kioutil"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// run is the function on a ResourceList in kustomize's and kpt's layout,
// one item at a time, so that only one item's tree is in memory at once.
// All or nothing, as Process, and without holding the output (which the
// sidecars can make many times larger than the input): a first pass reads
// every item and runs the engine on it, keeping only the results, as
// compressed text;
// a second pass writes the items, as they came if anything failed, else
// run through the engine again (it gives the same result for the same
// input). The output is byte for byte what Process and Write give for the
// same list; written says whether any of it was. It returns the errors and
// warnings. documentLimit bounds what is parsed at once (one item; the
// list without its items).
func (l *layout) run(documentLimit int, stdout io.Writer) (problems kptfn.Results, written bool, err error) {
	if n := len(l.head()) + len(l.tail()); n > documentLimit {
		return nil, false, fmt.Errorf("reading the ResourceList: its text other than the items is %s, over the limit of %s for one document (%s)",
			size(n), size(documentLimit), documentLimitNote)
	}
	rl, err := l.readHead()
	if err != nil {
		return nil, false, err
	}
	var results deflated
	cfg, err := loadConfig(rl.FunctionConfig)
	failed := err != nil
	if failed {
		problems = configResults(err, rl.FunctionConfig)
	}
	if cfg != nil && cfg.FunctionMode == v1alpha1.FunctionPolicy {
		return nil, false, errNotLayout // a generator: its input is small, read whole (generatePolicy)
	}
	in := &transformer.Injector{Config: cfg}
	validating := cfg != nil && cfg.FunctionMode == v1alpha1.FunctionValidate
	for i := range l.len() {
		item, err := l.readItemWithin(i, documentLimit)
		if err != nil {
			return nil, false, err
		}
		if cfg == nil {
			continue // read, so that the second pass cannot fail to
		}
		if validating { // judge, change nothing
			for _, res := range validateItem(in, item, i) {
				problems = append(problems, res)
				if err := encodeItem(&results, resultNode(res)); err != nil {
					return nil, false, err
				}
			}
			continue
		}
		// an item is one resource, or a List of them
		where := origin(item)
		rs, err := in.ApplyDocument(item, func(*yaml.Node) string { return where })
		if err != nil {
			if !failed {
				problems, failed = nil, true
			}
			for _, e := range transformer.ErrorList(err) {
				problems = append(problems, errorResult(e, func(int) *yaml.RNode { return item }))
			}
			continue
		}
		if failed {
			continue
		}
		for _, r := range rs {
			for _, res := range workloadResults(r, item) {
				if res.Severity == kptfn.Warning {
					problems = append(problems, res)
				}
				if err := encodeItem(&results, resultNode(res)); err != nil {
					return nil, false, err
				}
			}
		}
	}
	if failed {
		results = deflated{}
		for _, r := range problems {
			if err := encodeItem(&results, resultNode(r)); err != nil {
				return nil, false, err
			}
		}
	}

	bw := bufio.NewWriterSize(stdout, 64<<10)
	if err := writeHead(bw, rl.APIVersion, true); err != nil {
		return nil, true, err
	}
	for i := range l.len() {
		item, err := l.readItem(i)
		if err == nil && !failed && !validating {
			where := origin(item)
			_, err = in.ApplyDocument(item, func(*yaml.Node) string { return where })
		}
		if err != nil {
			return nil, true, fmt.Errorf("internal error: the item at line %d failed on the second pass only: %w", l.line(l.starts[i]), err)
		}
		if err := encodeItem(bw, item.YNode()); err != nil {
			return nil, true, err
		}
	}
	if err := writeTail(bw, rl.FunctionConfig, rl.Results, &results); err != nil {
		return nil, true, err
	}
	if err := bw.Flush(); err != nil {
		return nil, true, fmt.Errorf("writing the ResourceList: %w", err)
	}
	return problems, true, nil
}

// origin is where an item came from, for messages: its file, as kpt and
// kustomize record it.
func origin(item *yaml.RNode) string {
	path, _, _ := kioutil.GetFileAnnotations(item)
	return path
}

// readItemWithin reads item i if it is within the limit for one document.
func (l *layout) readItemWithin(i, limit int) (*yaml.RNode, error) {
	if n := len(l.item(i)); n > limit {
		return nil, &itemError{l.line(l.starts[i]), fmt.Errorf("it is %s, over the limit of %s for one item (%s)",
			size(n), size(limit), documentLimitNote)}
	}
	return l.readItem(i)
}

// deflated holds text compressed. A large list's results are the same few
// lines over and over: about 200 bytes per workload, more than a small
// Pod's own text, and they compress tenfold or more.
type deflated struct {
	buf  bytes.Buffer
	w    *flate.Writer
	size int // before compression
}

func (d *deflated) Write(p []byte) (int, error) {
	if d.w == nil {
		d.w, _ = flate.NewWriter(&d.buf, flate.BestSpeed) // only fails for a bad level
	}
	d.size += len(p)
	return d.w.Write(p)
}

// WriteTo writes the text; nothing can be written to d afterwards.
func (d *deflated) WriteTo(w io.Writer) (int64, error) {
	if d.w == nil {
		return 0, nil
	}
	if err := d.w.Close(); err != nil {
		return 0, err
	}
	return io.Copy(w, flate.NewReader(&d.buf))
}
