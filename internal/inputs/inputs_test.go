package inputs

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var yamlExts = []string{".yaml", ".yml"}

// files makes the files under dir: a value starting with "->" makes a
// symlink to the rest.
func files(t *testing.T, dir string, tree map[string]string) {
	t.Helper()
	for name, content := range tree {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		if target, ok := strings.CutPrefix(content, "->"); ok {
			err = os.Symlink(target, path)
		} else {
			err = os.WriteFile(path, []byte(content), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

func names(in []Input) string {
	var s []string
	for _, i := range in {
		s = append(s, i.Name)
	}
	return strings.Join(s, " ")
}

func TestFind(t *testing.T) {
	cases := map[string]struct {
		tree map[string]string
		args []string
		want string // names found, or part of the error
		err  bool
	}{
		"walk order, hidden and other names skipped": {
			tree: map[string]string{"m/b.yaml": "b", "m/a/z.yml": "z", "m/.git/x.yaml": "x", "m/.h.yaml": "h", "m/notes.txt": "n"},
			args: []string{"m"}, want: "m/a/z.yml m/b.yaml"},
		"a file named explicitly, whatever its name": {
			tree: map[string]string{"notes.txt": "n"},
			args: []string{"notes.txt"}, want: "notes.txt"},
		"stdin once": {args: []string{"-", "-"}, want: "stdin"},
		"same file by two spellings": {
			tree: map[string]string{"m/a.yaml": "a"},
			args: []string{"m/a.yaml", "./m/../m/a.yaml"}, want: "m/a.yaml"},
		"directory and a file in it": {
			tree: map[string]string{"m/a.yaml": "a", "m/b.yaml": "b"},
			args: []string{"m/b.yaml", "m"}, want: "m/b.yaml m/a.yaml"},
		"directory twice": {
			tree: map[string]string{"m/a.yaml": "a"},
			args: []string{"m", "m/"}, want: "m/a.yaml"},
		"symlinked file outside the directory given": {
			tree: map[string]string{"m/base/a.yaml": "a", "m/prod/a.yaml": "->../base/a.yaml", "m/prod/b.yaml": "->../base/a.yaml"},
			args: []string{"m/prod"}, err: true, want: "m/prod/a.yaml: symlink to "},
		"symlinked file inside another root": {
			tree: map[string]string{"base/a.yaml": "a", "prod/a.yaml": "->../base/a.yaml"},
			args: []string{"prod", "base"}, want: "prod/a.yaml"},
		"symlinked directory argument": {
			tree: map[string]string{"real/a.yaml": "a", "link": "->real"},
			args: []string{"link"}, want: "link/a.yaml"},
		"symlinked hidden directory inside the tree": {
			tree: map[string]string{"m/.shared/a.yaml": "a", "m/apps": "->.shared"},
			args: []string{"m"}, want: "m/apps/a.yaml"},
		"cycle": {
			tree: map[string]string{"m/a/x.yaml": "x", "m/a/up": "->..", "m/b": "->a"},
			args: []string{"m"}, want: "m/a/x.yaml"},
		"symlinked directory outside": {
			tree: map[string]string{"m/a.yaml": "a", "m/ext": "->../outside", "outside/x.yaml": "x"},
			args: []string{"m"}, err: true, want: "m/ext: symlink to "},
		"broken link to a manifest": {
			tree: map[string]string{"m/a.yaml": "->gone.yaml"},
			args: []string{"m"}, err: true, want: "m/a.yaml: lstat"},
		"broken or outside link that is no manifest": {
			tree: map[string]string{"m/a.yaml": "a", "m/README": "->gone", "m/LICENSE": "->../../../../../etc/hostname"},
			args: []string{"m"}, want: "m/a.yaml"},
		"missing": {args: []string{"nope.yaml"}, err: true, want: "nope.yaml: no such file or directory"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			files(t, ".", tc.tree)
			got, err := Find(tc.args, yamlExts)
			switch {
			case tc.err && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			case !tc.err && err != nil:
				t.Fatal(err)
			case !tc.err && names(got) != tc.want:
				t.Fatalf("found %q, want %q", names(got), tc.want)
			}
		})
	}
}

// TestFindPaths: Path is the resolved file, which a rewrite replaces; an
// outside link's error names its target.
func TestFindPaths(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	dir, _ = filepath.EvalSymlinks(dir)
	files(t, ".", map[string]string{"base/a.yaml": "a", "prod/a.yaml": "->../base/a.yaml", "other/x.yaml": "x", "m/x.yaml": "->../other/x.yaml"})
	got, err := Find([]string{"prod", "base"}, yamlExts)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Path != filepath.Join(dir, "base/a.yaml") || !got[0].Regular {
		t.Fatalf("%+v", got)
	}
	_, err = Find([]string{"m"}, yamlExts)
	if want := "m/x.yaml: symlink to " + filepath.Join(dir, "other/x.yaml") + ", outside the paths given with -f"; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Fatalf("error %v, want %q", err, want)
	}
}

// countingReader is an endless stream that counts what was read from it.
type countingReader struct{ n int64 }

func (c *countingReader) Read(p []byte) (int, error) {
	clear(p)
	c.n += int64(len(p))
	return len(p), nil
}

func TestBudget(t *testing.T) {
	const mib = 1 << 20
	b := NewBudget(1)
	first, err := b.Read("first", bytes.NewReader(make([]byte, mib-10)), 0)
	if err != nil || len(first) != mib-10 {
		t.Fatalf("%d bytes, %v", len(first), err)
	}
	// exactly at the limit is fine
	if got, err := b.Read("second", bytes.NewReader(make([]byte, 10)), 10); err != nil || len(got) != 10 {
		t.Fatalf("at the limit: %d bytes, %v", len(got), err)
	}
	// one byte over is not, and names the input
	_, err = b.Read("third", strings.NewReader("x"), 0)
	var le *LimitError
	if !errors.As(err, &le) || err.Error() != "third: inputs exceed 1 MiB in total; raise --max-input-mb if this is intended" {
		t.Fatalf("error %v", err)
	}

	// an endless stream: stops one byte past the limit, whatever it claims
	for _, hint := range []int64{0, 5, 100 * mib} {
		endless := &countingReader{}
		_, err := NewBudget(2).Read("endless", endless, hint)
		if !errors.As(err, &le) || le.Name != "endless" {
			t.Fatalf("hint %d: error %v", hint, err)
		}
		if endless.n != 2*mib+1 {
			t.Errorf("hint %d: read %d bytes for a 2 MiB limit, want %d", hint, endless.n, 2*mib+1)
		}
	}

	// a read error names the input
	_, err = NewBudget(1).Read("stdin", io.MultiReader(strings.NewReader("a"), errReader{}), 0)
	if err == nil || err.Error() != "stdin: broken" {
		t.Errorf("error %v", err)
	}
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("broken") }

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a.yaml")
	if err := os.WriteFile(path, []byte("a: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b := NewBudget(1)
	data, info, err := b.ReadFile("a.yaml", path)
	if err != nil || string(data) != "a: 1\n" || !info.Mode().IsRegular() {
		t.Fatalf("%q %v %v", data, info, err)
	}
	if _, _, err := b.ReadFile("gone.yaml", filepath.Join(dir, "gone.yaml")); err == nil || !strings.HasPrefix(err.Error(), "gone.yaml: open ") {
		t.Errorf("error %v", err)
	}
	if _, _, err := b.ReadFile("zero", os.DevNull); err != nil {
		t.Errorf("%s: %v", os.DevNull, err)
	}
}
