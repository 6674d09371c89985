package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"slices"
	"syscall"

	"github.com/sidecar-injector/sidecar-injector/internal/filetx"
	"github.com/sidecar-injector/sidecar-injector/internal/inputs"
	"github.com/sidecar-injector/sidecar-injector/manifest"
	"github.com/sidecar-injector/sidecar-injector/transformer"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// transformOptions are the flags of inject and uninject.
type transformOptions struct {
	inputOptions
	uninject bool
	inPlace  bool
	output   string
	quiet    bool
}

// inputOptions are the flags of every mode that reads manifests with a
// config: inject, uninject, check and report.
type inputOptions struct {
	config     string
	files      stringList
	prefix     string
	kube       string
	maxInputMB int
}

// declare declares the input flags into fs.
func (o *inputOptions) declare(fs *flag.FlagSet) {
	for _, name := range []string{"c", "config"} {
		fs.StringVar(&o.config, name, "", "config file: a SidecarInjector, or the tutorial's ConfigMap")
	}
	for _, name := range []string{"f", "filename"} {
		fs.Var(&o.files, name, "manifest file, directory (recursive, *.yaml, *.yml and *.json) or - for stdin; repeatable")
	}
	fs.StringVar(&o.prefix, "annotation-prefix", "", "annotation prefix, overriding the config's (e.g. sidecar-injector-webhook.morven.me)")
	fs.StringVar(&o.kube, "kube-version", "", kubeVersionUsage)
	fs.IntVar(&o.maxInputMB, "max-input-mb", defaultMaxInputMB, "refuse inputs larger than this many MiB in total")
}

// defaultMaxInputMB bounds what one run reads: a stream larger than this is
// almost surely a mistake (a binary, a log), and everything is held in memory
// so that a failing run writes nothing.
const defaultMaxInputMB = 32

// documentLimit bounds one document (an eighth of the input limit): the
// run holds one document's tree at a time, and a document of small nodes
// (a List from kubectl) takes up to 160 times its text while it is parsed,
// edited and spliced (docs/security.md), so this bounds the run's memory.
func documentLimit(maxInputMB int) int { return maxInputMB << 20 / 8 }

// transformFlagSet declares the flags of inject or uninject into o.
func transformFlagSet(mode string, o *transformOptions) *flag.FlagSet {
	fs := flag.NewFlagSet(mode, flag.ContinueOnError)
	o.inputOptions.declare(fs)
	fs.BoolVar(&o.inPlace, "in-place", false, "rewrite the files instead of printing the result")
	for _, name := range []string{"o", "output"} {
		fs.StringVar(&o.output, name, "", "write the result to this file instead of stdout")
	}
	for _, name := range []string{"q", "quiet"} {
		fs.BoolVar(&o.quiet, name, false, "do not report each resource on stderr")
	}
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: sidecar-injector %s -c CONFIG -f FILE|DIR|- [flags]\n\n", mode)
		if mode == "uninject" {
			fmt.Fprintf(fs.Output(), "-c is optional for uninject: the status annotation lists what to remove.\n\n")
		}
		fs.PrintDefaults()
	}
	return fs
}

// transformFlags parses the flags of inject or uninject. With
// stdinByDefault, naming no file means stdin (-f -).
func transformFlags(mode string, args []string, stdinByDefault bool, stdout, stderr io.Writer) (*transformOptions, error) {
	o := &transformOptions{uninject: mode == "uninject"}
	fs := transformFlagSet(mode, o)
	if err := parseFlags(fs, args, stdout, stderr); err != nil {
		return nil, err
	}
	o.files = append(o.files, fs.Args()...)
	if len(o.files) == 0 && stdinByDefault {
		o.files = stringList{inputs.Stdin}
	}
	switch {
	case o.config == "" && !o.uninject:
		return nil, errors.New("missing -c CONFIG")
	case len(o.files) == 0:
		return nil, errors.New("missing -f FILE|DIR|-")
	case o.inPlace && o.output != "":
		return nil, errors.New("--in-place and -o exclude each other")
	case o.inPlace && slices.Contains(o.files, "-"):
		return nil, errors.New("--in-place cannot rewrite stdin")
	case o.maxInputMB <= 0:
		return nil, errors.New("--max-input-mb must be positive")
	}
	return o, nil
}

func transform(mode string, args []string, stdinByDefault bool, stdin io.Reader, stdout, stderr io.Writer) int {
	o, err := transformFlags(mode, args, stdinByDefault, stdout, stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case err != nil:
		err = usageError{err}
	default:
		err = o.run(stdin, stdout, stderr)
	}
	var usage usageError
	var incomplete *filetx.IncompleteError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &usage):
		fmt.Fprintf(stderr, "sidecar-injector %s: %v (see -h)\n", mode, usage.error)
		return 2
	case errors.As(err, &incomplete):
		err = incomplete.Err
	}
	for _, e := range transformer.ErrorList(err) {
		fmt.Fprintf(stderr, "error: %v\n", e)
	}
	// the last line says what happened to the files
	if incomplete != nil && len(incomplete.Written) > 0 {
		fmt.Fprintf(stderr, "sidecar-injector: %s\n", incomplete.Describe())
	} else {
		fmt.Fprintln(stderr, "sidecar-injector: nothing written")
	}
	return 1
}

// usageError is a bad combination of flags and files found only on
// looking at the files (exit code 2).
type usageError struct{ error }

// manifestExts are the names a directory walk takes.
var manifestExts = []string{".yaml", ".yml", ".json"}

// writeFS is where --in-place and -o write; tests replace it to inject
// faults. No flag reaches it.
var writeFS filetx.FS = filetx.OS{}

// source is one input, parsed, with what is needed to write it back.
type source struct {
	*manifest.Stream
	input inputs.Input
	read  *filetx.Snapshot // nil for stdin and streams
}

func (o *transformOptions) run(stdin io.Reader, stdout, stderr io.Writer) error {
	files, err := inputs.Find(o.files, manifestExts)
	if err != nil {
		return err
	}
	if o.inPlace {
		for _, f := range files {
			if !f.Regular {
				return usageError{fmt.Errorf("--in-place: %s is not a regular file", f.Name)}
			}
		}
	}
	budget := inputs.NewBudget(o.maxInputMB)
	cfg, err := loadConfig(budget, o.config, o.prefix, o.kube)
	if err != nil {
		return err
	}
	sources, parseErr, err := read(files, budget, stdin, false)
	if err != nil {
		return err
	}
	if err := parseErr.ErrOrNil(); err != nil {
		return err
	}
	in := &transformer.Injector{Config: cfg, Uninject: o.uninject}
	var errs transformer.Errors
	var results []transformer.Result
	for _, s := range sources {
		for _, d := range s.Docs {
			// One document's tree at a time: parsed, edited, rendered to
			// text and let go (a tree takes tens of times its text).
			if len(d.Raw) > documentLimit(o.maxInputMB) {
				errs = append(errs, fmt.Errorf("%s: one document of %.1f MiB, over the limit of %.1f MiB for one document (an eighth of --max-input-mb); raise --max-input-mb if this is intended",
					s.Where(d, d.Line), float64(len(d.Raw))/(1<<20), float64(documentLimit(o.maxInputMB))/(1<<20)))
				continue
			}
			if err := s.ParseDoc(d); err != nil {
				errs = append(errs, err)
				continue
			}
			if d.Node == nil {
				continue
			}
			// A document is one resource, or a List of them.
			rs, err := in.ApplyDocument(d.Node, templateOriginOf(s.Stream, d))
			if err != nil {
				errs = append(errs, err)
				continue
			}
			for _, r := range rs {
				if r.Change != nil {
					d.Rewrote(r.Change.Node, r.Change.Original)
				}
				r.Change = nil // its nodes go with the tree
				results = append(results, r)
			}
			if err := s.Render(d); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if len(errs) > 0 {
		return errs
	}
	if err := o.write(sources, stdout, stderr); err != nil {
		return err
	}
	if !o.quiet {
		report(stderr, results)
	}
	return nil
}

// kubeVersionUsage documents --kube-version, shared by the commands.
const kubeVersionUsage = "oldest Kubernetes the output must suit, overriding the config's kubeVersion (e.g. 1.28: native sidecars, which pods that run to completion get, are an error before 1.29)"

// loadConfig reads the config file (none: uninject's default) and applies
// the flags that override it.
func loadConfig(budget *inputs.Budget, path, prefix, kube string) (*transformer.Config, error) {
	var cfg *transformer.Config
	if path == "" {
		cfg = &transformer.Config{AnnotationPrefix: transformer.DefaultAnnotationPrefix}
	} else {
		data, _, err := budget.ReadFile(path, path)
		if err != nil {
			return nil, err
		}
		if cfg, err = transformer.LoadConfig(data, path); err != nil {
			return nil, err
		}
	}
	if prefix != "" {
		if err := cfg.SetAnnotationPrefix(prefix); err != nil {
			return nil, fmt.Errorf("--annotation-prefix: %w", err)
		}
	}
	if kube != "" {
		if err := cfg.SetKubeVersion(kube); err != nil {
			return nil, fmt.Errorf("--kube-version: %w", err)
		}
	}
	return cfg, nil
}

// originOf names where a resource of a document is, for messages:
// "path:line".
func originOf(s *manifest.Stream, d *manifest.Document) func(*yaml.Node) string {
	return func(n *yaml.Node) string { return fmt.Sprintf("%s:%d", s.Path, lineOf(d, n)) }
}

// templateOriginOf is originOf naming also the Helm chart template the
// document came from, when Helm said (stdin has no file names): for
// inject's report and errors; check keeps its compiler-style prefix.
func templateOriginOf(s *manifest.Stream, d *manifest.Document) func(*yaml.Node) string {
	return func(n *yaml.Node) string { return s.Where(d, lineOf(d, n)) }
}

// lineOf is the line that names a resource: the document's first line, or
// the line of an item of a List.
func lineOf(d *manifest.Document, n *yaml.Node) int {
	if n != d.Node.YNode() {
		return d.LineOf(n)
	}
	return d.Line
}

// read loads every input within the budget, as readSource does, for
// inject, uninject, check and report. Inputs that are not YAML are
// collected in parseErr; going past the budget stops at once.
func read(files []inputs.Input, budget *inputs.Budget, stdin io.Reader, parse bool) (sources []*source, parseErr transformer.Errors, err error) {
	for _, f := range files {
		src, perr, err := readSource(f, budget, stdin, parse)
		switch {
		case err != nil:
			return nil, nil, err
		case perr != nil:
			parseErr = append(parseErr, perr)
		default:
			sources = append(sources, src)
		}
	}
	return sources, parseErr, nil
}

// readSource reads one input, split into documents, and parses them all
// when parse is set (inject and uninject parse each in turn, to hold one
// tree at a time): err when it cannot be read (or goes past the budget),
// parseErr when it is not YAML.
func readSource(f inputs.Input, budget *inputs.Budget, stdin io.Reader, parse bool) (src *source, parseErr, err error) {
	src = &source{input: f}
	var data []byte
	if f.Path == "" {
		data, err = budget.Read(f.Name, stdin, 0)
	} else {
		var info fs.FileInfo
		data, info, err = budget.ReadFile(f.Name, f.Path)
		if err == nil && info.Mode().IsRegular() {
			src.read = &filetx.Snapshot{Data: data, Info: info}
		}
	}
	if err != nil {
		return nil, nil, err
	}
	split := manifest.Split
	if parse {
		split = manifest.Parse
	}
	if src.Stream, parseErr = split(data, f.Name); parseErr != nil {
		return nil, parseErr, nil
	}
	return src, nil, nil
}

// write puts the result out: to stdout, or as one transaction to the files
// (--in-place) or to -o. Every changed document is rendered before this
// (run renders each as it goes), so an encoding error leaves everything as
// it was, and stdout is written as it goes rather than held twice.
func (o *transformOptions) write(sources []*source, stdout, stderr io.Writer) error {
	ctx, stop := interruptible(stderr)
	defer stop()
	if o.inPlace {
		var changes []filetx.Change
		for _, s := range sources {
			if s.Changed() {
				b, err := s.Bytes()
				if err != nil {
					return err
				}
				s.Docs = nil // the file's bytes hold it all now
				changes = append(changes, filetx.Change{Name: s.Path, Path: s.input.Path, Data: b, Read: s.read})
			}
		}
		return filetx.Commit(ctx, writeFS, changes)
	}
	var file bytes.Buffer
	var w io.Writer = &file
	var buffered *bufio.Writer
	if o.output == "" {
		buffered = bufio.NewWriterSize(stdout, 64<<10)
		w = buffered
	}
	out := &lastByte{w: w}
	for i, s := range sources {
		if i > 0 && len(s.Docs) > 0 {
			if out.n > 0 && out.last != '\n' {
				out.Write([]byte("\n"))
			}
			if len(s.Docs[0].Sep) == 0 {
				out.Write([]byte("---\n"))
			}
		}
		if _, err := s.WriteTo(out); err != nil {
			return err
		}
	}
	if buffered != nil {
		return buffered.Flush()
	}
	return filetx.WriteFile(ctx, writeFS, o.output, file.Bytes(), readSnapshot(o.output, sources))
}

// lastByte passes writes on, remembering the last byte written, to join
// streams with a line break where one is missing.
type lastByte struct {
	w    io.Writer
	n    int
	last byte
}

func (l *lastByte) Write(p []byte) (int, error) {
	if len(p) > 0 {
		l.n += len(p)
		l.last = p[len(p)-1]
	}
	return l.w.Write(p)
}

// readSnapshot is what -o's file held when it was read, if it is also an
// input: then the run fails, rather than losing an edit made meanwhile.
func readSnapshot(output string, sources []*source) *filetx.Snapshot {
	st, err := os.Stat(output)
	if err != nil {
		return nil
	}
	for _, s := range sources {
		if s.read != nil && os.SameFile(st, s.read.Info) {
			return s.read
		}
	}
	return nil
}

// interruptible returns a context done on SIGINT or SIGTERM, for the write
// phase: until then, a signal stops the process at once (nothing is written
// yet); from then on, the transaction decides where to stop. A signal is
// acknowledged on stderr as it arrives.
func interruptible(stderr io.Writer) (context.Context, func()) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		select {
		case <-ctx.Done():
			fmt.Fprintf(stderr, "sidecar-injector: %v: stopping at a safe point\n", context.Cause(ctx))
		case <-quit:
		}
	}()
	return ctx, func() {
		close(quit)
		<-done
		stop()
	}
}

func report(w io.Writer, results []transformer.Result) {
	io.WriteString(w, transformer.Report(results))
}
