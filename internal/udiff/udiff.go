// Package udiff writes unified diffs (`diff -u`, what `git apply` and
// `patch` read) of manifests. The texts come as documents that line up one
// to one, as inject leaves them: equal documents are context only, and only
// changed ones are diffed, so a large file with a few changed documents
// costs little.
package udiff

import (
	"bytes"
	"fmt"

	"github.com/sidecar-injector/sidecar-injector/internal/linediff"
)

// Context is the number of unchanged lines shown around a change.
const Context = 3

// maxEdits bounds the edit distance searched within one document: Myers'
// algorithm keeps a trace that grows with it. A document that differs more
// (a List of thousands of changed items) is shown deleted and added whole.
const maxEdits = 2000

// Colors are the ANSI escapes of a coloured diff; the zero value is plain.
type Colors struct {
	Header, Hunk, Delete, Insert, Reset string
}

// ANSI colours, as git diff shows them.
var ANSI = Colors{Header: "\x1b[1m", Hunk: "\x1b[36m", Delete: "\x1b[31m", Insert: "\x1b[32m", Reset: "\x1b[0m"}

type op = linediff.Op

const (
	equal = linediff.Equal
	del   = linediff.Delete
	ins   = linediff.Insert
)

// Unified returns the unified diff from a to b, given as the same number of
// documents in the same order, or nil when they are equal. nameA and nameB
// head the diff (--- nameA, +++ nameB).
func Unified(nameA, nameB string, a, b [][]byte, c Colors) []byte {
	if len(a) != len(b) { // not aligned: compare the whole texts
		a, b = [][]byte{bytes.Join(a, nil)}, [][]byte{bytes.Join(b, nil)}
	}
	var la, lb [][]byte
	var ops []op
	changed := false
	for i := range a {
		da, db := splitLines(a[i]), splitLines(b[i])
		offA, offB := len(la), len(lb)
		la, lb = append(la, da...), append(lb, db...)
		if bytes.Equal(a[i], b[i]) {
			for j := range da {
				ops = append(ops, op{Kind: equal, A: offA + j, B: offB + j})
			}
			continue
		}
		changed = true
		for _, o := range diff(da, db) {
			o.A, o.B = o.A+offA, o.B+offB
			ops = append(ops, o)
		}
	}
	if !changed {
		return nil
	}
	var out bytes.Buffer
	fmt.Fprintf(&out, "%s--- %s%s\n%s+++ %s%s\n", c.Header, nameA, c.Reset, c.Header, nameB, c.Reset)
	for _, h := range hunks(ops) {
		writeHunk(&out, ops[h[0]:h[1]], la, lb, c)
	}
	return out.Bytes()
}

// splitLines cuts text into lines, each with its newline (the last one may
// have none).
func splitLines(text []byte) [][]byte {
	var out [][]byte
	for len(text) > 0 {
		i := bytes.IndexByte(text, '\n')
		if i < 0 {
			return append(out, text)
		}
		out = append(out, text[:i+1])
		text = text[i+1:]
	}
	return out
}

// hunks groups an edit script into hunks: [start, end) ranges of ops with
// their context, merging changes less than 2*Context lines apart.
func hunks(ops []op) [][2]int {
	var out [][2]int
	for i := 0; i < len(ops); {
		if ops[i].Kind == equal {
			i++
			continue
		}
		start := max(0, i-Context)
		end := i
		for end < len(ops) {
			if ops[end].Kind != equal {
				end++
				continue
			}
			run := end
			for run < len(ops) && ops[run].Kind == equal {
				run++
			}
			if run == len(ops) || run-end > 2*Context {
				end = min(end+Context, len(ops))
				break
			}
			end = run
		}
		if n := len(out); n > 0 && start <= out[n-1][1] {
			out[n-1][1] = end
		} else {
			out = append(out, [2]int{start, end})
		}
		i = end
	}
	return out
}

func writeHunk(out *bytes.Buffer, ops []op, la, lb [][]byte, c Colors) {
	startA, startB, countA, countB := -1, -1, 0, 0
	for _, o := range ops {
		if o.Kind != ins {
			if startA < 0 {
				startA = o.A
			}
			countA++
		}
		if o.Kind != del {
			if startB < 0 {
				startB = o.B
			}
			countB++
		}
	}
	fmt.Fprintf(out, "%s@@ -%s +%s @@%s\n", c.Hunk, span(startA, countA, ops, true), span(startB, countB, ops, false), c.Reset)
	for _, o := range ops {
		switch o.Kind {
		case equal:
			line(out, " ", la[o.A], "", "")
		case del:
			line(out, "-", la[o.A], c.Delete, c.Reset)
		case ins:
			line(out, "+", lb[o.B], c.Insert, c.Reset)
		}
	}
}

// span renders a hunk's range as diff -u does: "start,count", with the
// line before the hunk as start when it holds no line of that side.
func span(start, count int, ops []op, sideA bool) string {
	if count == 0 {
		// an empty side: the line after which the change goes
		o := ops[0]
		if sideA {
			return fmt.Sprintf("%d,0", o.A)
		}
		return fmt.Sprintf("%d,0", o.B)
	}
	if count == 1 {
		return fmt.Sprintf("%d", start+1)
	}
	return fmt.Sprintf("%d,%d", start+1, count)
}

func line(out *bytes.Buffer, mark string, text []byte, color, reset string) {
	out.WriteString(color)
	out.WriteString(mark)
	out.Write(bytes.TrimSuffix(text, []byte("\n")))
	out.WriteString(reset)
	out.WriteByte('\n')
	if !bytes.HasSuffix(text, []byte("\n")) {
		out.WriteString("\\ No newline at end of file\n")
	}
}

// diff is Myers' O(ND) line diff; beyond maxEdits, a and b are shown
// deleted and inserted whole.
func diff(a, b [][]byte) []op {
	if ops, ok := linediff.Lines(a, b, maxEdits); ok {
		return ops
	}
	n := len(a)
	ops := make([]op, 0, n+len(b))
	for i := range a {
		ops = append(ops, op{Kind: del, A: i})
	}
	for j := range b {
		ops = append(ops, op{Kind: ins, A: n, B: j})
	}
	return ops
}
