package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sidecar-injector/sidecar-injector/manifest"
	"github.com/sidecar-injector/sidecar-injector/transformer"
)

// transformOptions are the flags of inject and uninject.
type transformOptions struct {
	uninject   bool
	config     string
	files      stringList
	inPlace    bool
	output     string
	prefix     string
	quiet      bool
	maxInputMB int
}

// defaultMaxInputMB bounds what one run reads: a stream larger than this is
// almost surely a mistake (a binary, a log), and everything is held in memory
// so that a failing run writes nothing.
const defaultMaxInputMB = 32

func transformFlags(mode string, args []string, stderr io.Writer) (*transformOptions, error) {
	o := &transformOptions{uninject: mode == "uninject"}
	fs := flag.NewFlagSet(mode, flag.ContinueOnError)
	fs.SetOutput(stderr)
	for _, name := range []string{"c", "config"} {
		fs.StringVar(&o.config, name, "", "config file: a SidecarInjector, or the tutorial's ConfigMap")
	}
	for _, name := range []string{"f", "filename"} {
		fs.Var(&o.files, name, "manifest file, directory (recursive, *.yaml, *.yml and *.json) or - for stdin; repeatable")
	}
	fs.BoolVar(&o.inPlace, "in-place", false, "rewrite the files instead of printing the result")
	for _, name := range []string{"o", "output"} {
		fs.StringVar(&o.output, name, "", "write the result to this file instead of stdout")
	}
	fs.StringVar(&o.prefix, "annotation-prefix", "", "annotation prefix, overriding the config's (e.g. sidecar-injector-webhook.morven.me)")
	for _, name := range []string{"q", "quiet"} {
		fs.BoolVar(&o.quiet, name, false, "do not report each resource on stderr")
	}
	fs.IntVar(&o.maxInputMB, "max-input-mb", defaultMaxInputMB, "refuse inputs larger than this many MiB in total")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: sidecar-injector %s -c CONFIG -f FILE|DIR|- [flags]\n\n", mode)
		if mode == "uninject" {
			fmt.Fprintf(stderr, "-c is optional for uninject: the status annotation lists what to remove.\n\n")
		}
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	o.files = append(o.files, fs.Args()...)
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

func runTransform(mode string, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	o, err := transformFlags(mode, args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "sidecar-injector %s: %v (see -h)\n", mode, err)
		return 2
	}
	if err := o.run(stdin, stdout, stderr); err != nil {
		for _, e := range transformer.ErrorList(err) {
			fmt.Fprintf(stderr, "error: %v\n", e)
		}
		fmt.Fprintln(stderr, "sidecar-injector: nothing written")
		return 1
	}
	return 0
}

func (o *transformOptions) run(stdin io.Reader, stdout, stderr io.Writer) error {
	cfg, err := o.loadConfig()
	if err != nil {
		return err
	}
	streams, err := o.read(stdin)
	if err != nil {
		return err
	}
	in := &transformer.Injector{Config: cfg, Uninject: o.uninject}
	var errs transformer.Errors
	var results []transformer.Result
	for _, s := range streams {
		for _, d := range s.Docs {
			if d.Node == nil {
				continue
			}
			r, err := in.Apply(d.Node, fmt.Sprintf("%s:%d", s.Path, d.Line))
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if r.Change != nil {
				d.Rewrote(r.Change.Node, r.Change.Original)
			}
			if r.Action != transformer.Ignored {
				results = append(results, r)
			}
		}
	}
	if len(errs) > 0 {
		return errs
	}
	if err := o.write(streams, stdout); err != nil {
		return err
	}
	if !o.quiet {
		report(stderr, results)
	}
	return nil
}

func (o *transformOptions) loadConfig() (*transformer.Config, error) {
	var cfg *transformer.Config
	if o.config == "" {
		cfg = &transformer.Config{AnnotationPrefix: transformer.DefaultAnnotationPrefix}
	} else {
		data, err := os.ReadFile(o.config)
		if err != nil {
			return nil, err
		}
		if cfg, err = transformer.LoadConfig(data, o.config); err != nil {
			return nil, err
		}
	}
	if o.prefix != "" {
		if err := cfg.SetAnnotationPrefix(o.prefix); err != nil {
			return nil, fmt.Errorf("--annotation-prefix: %w", err)
		}
	}
	return cfg, nil
}

// read loads and parses every input, within the size limit.
func (o *transformOptions) read(stdin io.Reader) ([]*manifest.Stream, error) {
	limit := int64(o.maxInputMB) << 20
	var total int64
	var streams []*manifest.Stream
	var errs transformer.Errors
	add := func(path string, data []byte) error {
		total += int64(len(data))
		if total > limit {
			return fmt.Errorf("%s: inputs exceed %d MiB in total; raise --max-input-mb if this is intended", path, o.maxInputMB)
		}
		s, err := manifest.Parse(data, path)
		if err != nil {
			errs = append(errs, err)
			return nil
		}
		streams = append(streams, s)
		return nil
	}
	for _, f := range o.files {
		if f == "-" {
			data, err := io.ReadAll(io.LimitReader(stdin, limit-total+1))
			if err != nil {
				return nil, fmt.Errorf("stdin: %w", err)
			}
			if err := add("stdin", data); err != nil {
				return nil, err
			}
			continue
		}
		paths, err := manifestFiles(f)
		if err != nil {
			return nil, err
		}
		for _, p := range paths {
			if st, err := os.Stat(p); err == nil && st.Size() > limit-total {
				return nil, fmt.Errorf("%s: inputs exceed %d MiB in total; raise --max-input-mb if this is intended", p, o.maxInputMB)
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return nil, err
			}
			if err := add(p, data); err != nil {
				return nil, err
			}
		}
	}
	return streams, errs.ErrOrNil()
}

// manifestFiles expands a directory into its YAML files, recursively and in
// lexical order, skipping hidden files and directories (.git).
func manifestFiles(path string) ([]string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return []string{path}, nil
	}
	var paths []string
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != path && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if ext := filepath.Ext(p); !d.IsDir() && (ext == ".yaml" || ext == ".yml" || ext == ".json") {
			paths = append(paths, p)
		}
		return nil
	})
	return paths, err
}

func (o *transformOptions) write(streams []*manifest.Stream, stdout io.Writer) error {
	if o.inPlace {
		// render everything first: an encoding error must not leave some files rewritten
		rendered := map[string][]byte{}
		for _, s := range streams {
			if s.Changed() {
				b, err := s.Bytes()
				if err != nil {
					return err
				}
				rendered[s.Path] = b
			}
		}
		for _, s := range streams {
			if b, ok := rendered[s.Path]; ok {
				if err := writeFileAtomic(s.Path, b); err != nil {
					return err
				}
			}
		}
		return nil
	}
	var out bytes.Buffer
	for i, s := range streams {
		if i > 0 && len(s.Docs) > 0 {
			if out.Len() > 0 && !bytes.HasSuffix(out.Bytes(), []byte("\n")) {
				out.WriteByte('\n')
			}
			if len(s.Docs[0].Sep) == 0 {
				out.WriteString("---\n")
			}
		}
		if err := s.WriteTo(&out); err != nil {
			return err
		}
	}
	if o.output != "" {
		return writeFileAtomic(o.output, out.Bytes())
	}
	_, err := stdout.Write(out.Bytes())
	return err
}

// writeFileAtomic replaces a file through a temporary file and a rename, so
// that a reader never sees half a file. It keeps the file's permissions.
func writeFileAtomic(path string, data []byte) error {
	mode := fs.FileMode(0o644)
	if st, err := os.Stat(path); err == nil {
		mode = st.Mode().Perm()
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func report(w io.Writer, results []transformer.Result) {
	io.WriteString(w, transformer.Report(results))
}
