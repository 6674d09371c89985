// Package linediff is Myers' O(ND) line diff. The YAML writer uses it to
// line the encoder's output up with the original text (to put back blank
// lines), and check --diff to write unified diffs.
package linediff

// Kind is what an Op does to a line.
type Kind uint8

const (
	Equal  Kind = iota // the line is in both texts
	Delete             // the line of a is not in b
	Insert             // the line of b is not in a
)

// Op is one step of an edit script.
type Op struct {
	Kind Kind
	A, B int // line indexes in a (Equal, Delete) and b (Equal, Insert)
}

// Lines returns an edit script from a to b, or false when more than maxD
// lines differ: the trace Myers' algorithm keeps grows with the distance,
// so callers bound it.
func Lines(a, b [][]byte, maxD int) ([]Op, bool) {
	ids := map[string]int{}
	intern := func(lines [][]byte) []int {
		out := make([]int, len(lines))
		for i, l := range lines {
			id, ok := ids[string(l)]
			if !ok {
				id = len(ids)
				ids[string(l)] = id
			}
			out[i] = id
		}
		return out
	}
	A, B := intern(a), intern(b)
	n, m := len(A), len(B)
	limit := min(n+m, maxD)
	off := limit + 1
	v := make([]int, 2*limit+3)
	var trace [][]int
	for d := 0; d <= limit; d++ {
		trace = append(trace, append([]int(nil), v...))
		for k := -d; k <= d; k += 2 {
			var x int
			if k == -d || (k != d && v[off+k-1] < v[off+k+1]) {
				x = v[off+k+1]
			} else {
				x = v[off+k-1] + 1
			}
			y := x - k
			for x < n && y < m && A[x] == B[y] {
				x, y = x+1, y+1
			}
			v[off+k] = x
			if x >= n && y >= m {
				return backtrack(trace, off, n, m), true
			}
		}
	}
	return nil, false
}

func backtrack(trace [][]int, off, n, m int) []Op {
	var ops []Op
	x, y := n, m
	for d := len(trace) - 1; d >= 0; d-- {
		v := trace[d]
		k := x - y
		var prevK int
		if k == -d || (k != d && v[off+k-1] < v[off+k+1]) {
			prevK = k + 1
		} else {
			prevK = k - 1
		}
		prevX := v[off+prevK]
		prevY := prevX - prevK
		for x > prevX && y > prevY {
			x, y = x-1, y-1
			ops = append(ops, Op{Equal, x, y})
		}
		if d > 0 {
			if x == prevX {
				ops = append(ops, Op{Insert, x, y - 1})
			} else {
				ops = append(ops, Op{Delete, x - 1, y})
			}
		}
		x, y = prevX, prevY
	}
	for i, j := 0, len(ops)-1; i < j; i, j = i+1, j-1 {
		ops[i], ops[j] = ops[j], ops[i]
	}
	return ops
}
