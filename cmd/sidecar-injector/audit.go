package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/sidecar-injector/sidecar-injector/internal/inputs"
	"github.com/sidecar-injector/sidecar-injector/internal/udiff"
	"github.com/sidecar-injector/sidecar-injector/manifest"
	"github.com/sidecar-injector/sidecar-injector/transformer"
)

// check and report read manifests like inject and write nothing: check is
// a CI gate (is every file as inject would leave it?), report an audit of
// every workload, from files or from live objects.

// auditOptions are the flags of check and report.
type auditOptions struct {
	inputOptions
	quiet  bool
	diff   bool
	color  string
	output string
}

// auditFlagSet declares the flags of check or report into o.
func auditFlagSet(mode string, o *auditOptions) *flag.FlagSet {
	fs := flag.NewFlagSet(mode, flag.ContinueOnError)
	o.inputOptions.declare(fs)
	if mode == "check" {
		fs.BoolVar(&o.diff, "diff", false, "also print the unified diff inject would apply")
		fs.StringVar(&o.color, "color", "auto", "colour the diff: auto (on a terminal, unless NO_COLOR is set), always or never")
		for _, name := range []string{"q", "quiet"} {
			fs.BoolVar(&o.quiet, name, false, "no summary or warnings on stderr")
		}
	} else {
		for _, name := range []string{"o", "output"} {
			fs.StringVar(&o.output, name, "table", "table, json or yaml")
		}
	}
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: sidecar-injector %s -c CONFIG -f FILE|DIR|- [flags]\n\n", mode)
		if mode == "check" {
			fmt.Fprint(fs.Output(), "Exits 0 when every workload is as inject would leave it, 1 otherwise (one line per\nstale workload on stdout, with file:line and the reason), 2 on bad usage. Writes nothing.\n\n")
		} else {
			fmt.Fprint(fs.Output(), "Lists every workload: its sets, digest and state. Objects read back from the API\nserver (`kubectl get ... -o yaml`) are judged by meaning, not bytes. Writes nothing.\n\n")
		}
		fs.PrintDefaults()
	}
	return fs
}

func auditFlags(mode string, args []string, stdout, stderr io.Writer) (*auditOptions, error) {
	o := &auditOptions{}
	fs := auditFlagSet(mode, o)
	if err := parseFlags(fs, args, stdout, stderr); err != nil {
		return nil, err
	}
	o.files = append(o.files, fs.Args()...)
	switch {
	case o.config == "":
		return nil, errors.New("missing -c CONFIG")
	case len(o.files) == 0:
		return nil, errors.New("missing -f FILE|DIR|-")
	case o.maxInputMB <= 0:
		return nil, errors.New("--max-input-mb must be positive")
	case mode == "check" && o.color != "auto" && o.color != "always" && o.color != "never":
		return nil, fmt.Errorf("--color: expected auto, always or never, got %q", o.color)
	case mode == "report" && o.output != "table" && o.output != "json" && o.output != "yaml":
		return nil, fmt.Errorf("-o: expected table, json or yaml, got %q", o.output)
	}
	return o, nil
}

// audited is what check and report found in the inputs.
type audited struct {
	sources  []*source
	findings [][]docFindings    // by source, then document
	parseErr transformer.Errors // manifests that could not be read as YAML
	in       *transformer.Injector
}

type docFindings struct {
	doc      *manifest.Document
	findings []transformer.Finding
}

// audit reads the inputs and audits every document. Errors that stop it
// (files, the config, the input limit) are returned; a manifest that is not
// YAML is a finding of its own.
func (o *auditOptions) audit(stdin io.Reader) (*audited, error) {
	files, err := inputs.Find(o.files, manifestExts)
	if err != nil {
		return nil, err
	}
	budget := inputs.NewBudget(o.maxInputMB)
	cfg, err := loadConfig(budget, o.config, o.prefix, o.kube)
	if err != nil {
		return nil, err
	}
	a := &audited{in: &transformer.Injector{Config: cfg}}
	if a.sources, a.parseErr, err = read(files, budget, stdin, true); err != nil {
		return nil, err
	}
	for _, s := range a.sources {
		var docs []docFindings
		for _, d := range s.Docs {
			if d.Node == nil {
				continue
			}
			docs = append(docs, docFindings{d, a.in.Audit(d.Node, originOf(s.Stream, d))})
		}
		a.findings = append(a.findings, docs)
	}
	return a, nil
}

// startAudit parses the flags of check or report and audits the inputs.
// A nil audited means the run is over, with the exit code given: -h, bad
// usage, or an error that stopped the audit (reported on stderr).
func startAudit(mode string, args []string, stdin io.Reader, stdout, stderr io.Writer) (*auditOptions, *audited, int) {
	o, err := auditFlags(mode, args, stdout, stderr)
	if code, done := flagOutcome(mode, err, stderr); done {
		return nil, nil, code
	}
	a, err := o.audit(stdin)
	if err != nil {
		return nil, nil, runFailed(err, stderr)
	}
	return o, a, 0
}

func runCheck(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	o, a, code := startAudit("check", args, stdin, stdout, stderr)
	if a == nil {
		return code
	}
	var out bytes.Buffer
	stale, workloads := 0, 0
	for _, e := range a.parseErr {
		fmt.Fprintln(&out, e)
	}
	for _, docs := range a.findings {
		for _, df := range docs {
			for _, f := range df.findings {
				workloads++
				if !o.quiet {
					for _, w := range f.Warnings {
						fmt.Fprintf(stderr, "warning: %s: %s\n", f.Resource, w)
					}
				}
				if !f.Stale() {
					continue
				}
				stale++
				for _, p := range f.Problems() {
					fmt.Fprintf(&out, "%s: %s: %s\n", f.Resource.Origin, named(f.Resource), p.Text)
				}
			}
		}
	}
	if o.diff {
		out.Write(a.diff(o.colors(stdout)))
	}
	if _, err := stdout.Write(out.Bytes()); err != nil {
		return runFailed(err, stderr)
	}
	if !o.quiet {
		switch {
		case stale+len(a.parseErr) == 0:
			fmt.Fprintf(stderr, "sidecar-injector check: %d workloads, all as inject leaves them\n", workloads)
		default:
			unreadable := ""
			if n := len(a.parseErr); n > 0 {
				unreadable = fmt.Sprintf(", %d manifests unreadable", n)
			}
			fmt.Fprintf(stderr, "sidecar-injector check: %d of %d workloads stale%s\n", stale, workloads, unreadable)
		}
	}
	if stale+len(a.parseErr) > 0 {
		return 1
	}
	return 0
}

// named is a resource without its origin: "Deployment shop/web".
func named(r transformer.Resource) string {
	r.Origin = ""
	return r.String()
}

// diff applies inject to the documents that are stale and renders the
// unified diff of every file that changes. A document inject would reject
// is left out: inject would change nothing there.
func (a *audited) diff(c udiff.Colors) []byte {
	var out bytes.Buffer
	for i, s := range a.sources {
		for _, df := range a.findings[i] {
			if !anyStale(df.findings) {
				continue
			}
			rs, err := a.in.ApplyDocument(df.doc.Node, originOf(s.Stream, df.doc))
			if err != nil {
				continue
			}
			for _, r := range rs {
				if r.Change != nil {
					df.doc.Rewrote(r.Change.Node, r.Change.Original)
				}
			}
		}
		if !s.Changed() {
			continue
		}
		after, err := s.Bytes()
		if err != nil {
			fmt.Fprintf(&out, "# %s: %v\n", s.Path, err)
			continue
		}
		before, docsAfter := docBytes(s.Stream), [][]byte{after}
		if p, err := manifest.Parse(after, s.Path); err == nil && len(p.Docs) == len(s.Docs) {
			docsAfter = docBytes(p)
		}
		out.Write(udiff.Unified("a/"+s.Path, "b/"+s.Path, before, docsAfter, c))
	}
	return out.Bytes()
}

// docBytes returns a stream's documents as read, separator first.
func docBytes(s *manifest.Stream) [][]byte {
	out := make([][]byte, len(s.Docs))
	for i, d := range s.Docs {
		out[i] = append(append([]byte(nil), d.Sep...), d.Raw...)
	}
	return out
}

func anyStale(fs []transformer.Finding) bool {
	for _, f := range fs {
		if f.Stale() {
			return true
		}
	}
	return false
}

// colors decides whether the diff is coloured: --color, else a terminal
// without NO_COLOR (https://no-color.org).
func (o *auditOptions) colors(stdout io.Writer) udiff.Colors {
	switch o.color {
	case "always":
		return udiff.ANSI
	case "never":
		return udiff.Colors{}
	}
	if isTerminal(stdout) && os.Getenv("NO_COLOR") == "" {
		return udiff.ANSI
	}
	return udiff.Colors{}
}

// flagOutcome handles a flag parsing result: -h exits 0, bad usage 2.
func flagOutcome(mode string, err error, stderr io.Writer) (int, bool) {
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0, true
	case err != nil:
		fmt.Fprintf(stderr, "sidecar-injector %s: %v (see -h)\n", mode, err)
		return 2, true
	}
	return 0, false
}

// runFailed reports an error that stopped a run: exit 1.
func runFailed(err error, stderr io.Writer) int {
	for _, e := range transformer.ErrorList(err) {
		fmt.Fprintf(stderr, "error: %v\n", e)
	}
	return 1
}
