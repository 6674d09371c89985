package udiff

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func TestUnified(t *testing.T) {
	a := "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n"
	cases := map[string]struct {
		b, want string
	}{
		"equal": {a, ""},
		"one line changed": {strings.Replace(a, "e\n", "E\n", 1), `--- a
+++ b
@@ -2,7 +2,7 @@
 b
 c
 d
-e
+E
 f
 g
 h
`},
		"two hunks": {strings.Replace(strings.Replace(a, "a\n", "A\n", 1), "j\n", "J\n", 1), `--- a
+++ b
@@ -1,4 +1,4 @@
-a
+A
 b
 c
 d
@@ -7,4 +7,4 @@
 g
 h
 i
-j
+J
`},
		"insert at end without newline": {a + "k", `--- a
+++ b
@@ -8,3 +8,4 @@
 h
 i
 j
+k
\ No newline at end of file
`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := string(Unified("a", "b", [][]byte{[]byte(a)}, [][]byte{[]byte(tc.b)}, Colors{}))
			if got != tc.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

// Documents that line up are diffed one by one, and the hunks' line
// numbers are those of the whole file; applying the diff gives b back.
func TestUnifiedApplies(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 300 {
		var a, b [][]byte
		for range 1 + r.IntN(5) {
			doc := randomDoc(r, 1+r.IntN(12))
			a = append(a, doc)
			if r.IntN(2) == 0 {
				b = append(b, doc)
			} else {
				b = append(b, mutate(r, doc))
			}
		}
		patch := Unified("a", "b", a, b, Colors{})
		got, err := apply(bytes.Join(a, nil), patch)
		if err != nil {
			t.Fatalf("case %d: %v\n%s", i, err, patch)
		}
		if want := bytes.Join(b, nil); !bytes.Equal(got, want) {
			t.Fatalf("case %d: applying the diff gives\n%q\nwant\n%q\npatch:\n%s", i, got, want, patch)
		}
		if (patch == nil) != bytes.Equal(bytes.Join(a, nil), bytes.Join(b, nil)) {
			t.Fatalf("case %d: a diff for equal texts, or none for different ones", i)
		}
	}
}

// A document too different for the search is shown replaced whole, and the
// diff still applies.
func TestUnifiedLargeEdit(t *testing.T) {
	var a, b bytes.Buffer
	for i := range 3 * maxEdits {
		fmt.Fprintf(&a, "a%d\n", i)
		fmt.Fprintf(&b, "b%d\n", i)
	}
	patch := Unified("a", "b", [][]byte{a.Bytes()}, [][]byte{b.Bytes()}, Colors{})
	got, err := apply(a.Bytes(), patch)
	if err != nil || !bytes.Equal(got, b.Bytes()) {
		t.Fatalf("large edit does not apply: %v", err)
	}
}

func TestColors(t *testing.T) {
	got := string(Unified("a", "b", [][]byte{[]byte("x\n")}, [][]byte{[]byte("y\n")}, ANSI))
	for _, want := range []string{"\x1b[31m-x\x1b[0m", "\x1b[32m+y\x1b[0m", "\x1b[36m@@ -1 +1 @@\x1b[0m"} {
		if !strings.Contains(got, want) {
			t.Errorf("coloured diff lacks %q:\n%q", want, got)
		}
	}
}

func randomDoc(r *rand.Rand, n int) []byte {
	var b bytes.Buffer
	for range n {
		fmt.Fprintf(&b, "l%d\n", r.IntN(6))
	}
	return b.Bytes()
}

func mutate(r *rand.Rand, doc []byte) []byte {
	lines := splitLines(doc)
	var out [][]byte
	for _, l := range lines {
		switch r.IntN(5) {
		case 0: // drop
		case 1:
			out = append(out, l, []byte(fmt.Sprintf("n%d\n", r.IntN(6))))
		default:
			out = append(out, l)
		}
	}
	return bytes.Join(out, nil)
}

var hunkHeader = regexp.MustCompile(`^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@$`)

// apply applies a unified diff the way patch does, checking every context
// and deleted line.
func apply(a, patch []byte) ([]byte, error) {
	src := splitLines(a)
	var out [][]byte
	pos := 0
	lines := strings.Split(string(patch), "\n")
	for i := 2; i < len(lines); i++ {
		m := hunkHeader.FindStringSubmatch(lines[i])
		if m == nil {
			if lines[i] == "" && i == len(lines)-1 {
				break
			}
			return nil, fmt.Errorf("line %d: not a hunk header: %q", i, lines[i])
		}
		start, _ := strconv.Atoi(m[1])
		count := 1
		if m[2] != "" {
			count, _ = strconv.Atoi(m[2])
		}
		if count > 0 {
			start--
		}
		out = append(out, src[pos:start]...)
		pos = start
		for i+1 < len(lines) && len(lines[i+1]) > 0 && strings.ContainsRune(" -+\\", rune(lines[i+1][0])) {
			i++
			l := lines[i]
			text := []byte(l[1:] + "\n")
			if i+1 < len(lines) && strings.HasPrefix(lines[i+1], `\ No newline`) {
				text = text[:len(text)-1]
				i++
			}
			switch l[0] {
			case ' ', '-':
				if pos >= len(src) || !bytes.Equal(src[pos], text) {
					return nil, fmt.Errorf("line %d: %q does not match the source", i, l)
				}
				if l[0] == ' ' {
					out = append(out, text)
				}
				pos++
			case '+':
				out = append(out, text)
			}
		}
	}
	out = append(out, src[pos:]...)
	return bytes.Join(out, nil), nil
}
