package main

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/sidecar-injector/sidecar-injector/api/v1alpha1"
	"github.com/sidecar-injector/sidecar-injector/bench/workload"
)

// Every command of the table answers -h, --help and `help NAME` alike: its
// usage on stdout, nothing on stderr, exit 0; the command list names them all.
func TestHelp(t *testing.T) {
	table := commandTable()
	list, stderr, code := runCLI(t, nil, "help")
	if code != 0 || stderr != "" {
		t.Fatalf("help: exit %d, stderr %q", code, stderr)
	}
	for _, spelling := range [][]string{{"-h"}, {"--help"}, {"help", "-h"}} {
		if out, _, code := runCLI(t, nil, spelling...); code != 0 || out != list {
			t.Errorf("%v: exit %d, output differs from help's:\n%s", spelling, code, out)
		}
	}
	for _, c := range table {
		if !strings.Contains(list, "\n  "+c.name+" ") || !strings.Contains(list, c.summary) {
			t.Errorf("help does not list %s", c.name)
		}
		want, stderr, code := runCLI(t, nil, "help", c.name)
		if code != 0 || stderr != "" || !strings.HasPrefix(want, "Usage: sidecar-injector "+c.name) {
			t.Errorf("help %s: exit %d, stdout %q, stderr %q", c.name, code, want, stderr)
		}
		for _, h := range []string{"-h", "--help", "-help"} {
			got, stderr, code := runCLI(t, nil, c.name, h)
			if code != 0 || stderr != "" || got != want {
				t.Errorf("%s %s: exit %d, stderr %q, stdout differs from help %s:\n%s", c.name, h, code, stderr, c.name, got)
			}
		}
	}
	// Help after flags, as Go's flag package reads them: still help.
	if out, _, code := runCLI(t, nil, "inject", "-c", "x.yaml", "-h"); code != 0 || !strings.HasPrefix(out, "Usage: sidecar-injector inject") {
		t.Errorf("inject -c x.yaml -h: exit %d, stdout %q", code, out)
	}
	// A bad flag: the error and the usage on stderr, exit 2, as before.
	out, stderr, code := runCLI(t, nil, "check", "--nope")
	if code != 2 || out != "" || !strings.HasPrefix(stderr, "flag provided but not defined: -nope\nUsage: sidecar-injector check") ||
		!strings.HasSuffix(stderr, "sidecar-injector check: flag provided but not defined: -nope (see -h)\n") {
		t.Errorf("check --nope: exit %d, stdout %q, stderr:\n%s", code, out, stderr)
	}
}

func TestUnknownCommand(t *testing.T) {
	for _, args := range [][]string{{"frobnicate"}, {"-"}, {"help", "frobnicate"}} {
		out, stderr, code := runCLI(t, nil, args...)
		if code != 2 || out != "" || !strings.Contains(stderr, `unknown command "`+args[len(args)-1]+`"`) || !strings.Contains(stderr, "Commands:") {
			t.Errorf("%v: exit %d, stdout %q, stderr:\n%s", args, code, out, stderr)
		}
	}
}

// With no arguments the binary looks at the stdin it is given: piped, it is
// the KRM function; a terminal (any character device) gets the usage.
func TestNoArguments(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		w.Write(workload.ResourceList(1))
		w.Close()
	}()
	var out, errb bytes.Buffer
	if code := run(nil, r, &out, &errb); code != 0 || !strings.Contains(out.String(), "message: 'injected: nginx'") {
		t.Errorf("piped stdin: exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
	}
	r.Close()

	tty, err := os.Open(os.DevNull) // a character device, as a terminal is
	if err != nil {
		t.Fatal(err)
	}
	defer tty.Close()
	out.Reset()
	errb.Reset()
	if code := run(nil, tty, &out, &errb); code != 2 || out.Len() != 0 || !strings.Contains(errb.String(), "Commands:") {
		t.Errorf("terminal stdin: exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
	}
}

func TestVersion(t *testing.T) {
	if out, _, code := runCLI(t, nil, "version"); code != 0 || out != version+"\n" {
		t.Errorf("version: exit %d, %q", code, out)
	}
}

func TestSchema(t *testing.T) {
	out, _, code := runCLI(t, nil, "schema")
	if code != 0 || out != string(v1alpha1.Schema) || !json.Valid([]byte(out)) {
		t.Errorf("schema: exit %d, %d bytes, want the %d bytes of %s", code, len(out), len(v1alpha1.Schema), v1alpha1.SchemaFile)
	}
	if _, errOut, code := runCLI(t, nil, "schema", "extra"); code != 2 || !strings.Contains(errOut, "takes no arguments") {
		t.Errorf("schema extra: exit %d, %q", code, errOut)
	}
}
