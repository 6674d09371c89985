package linediff

import (
	"bytes"
	"math/rand"
	"testing"
)

// The script rebuilds b from a, and it is a shortest one: its edits match
// the longest common subsequence computed the slow way.
func TestLines(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for range 500 {
		a, b := randomLines(rng), randomLines(rng)
		ops, ok := Lines(a, b, len(a)+len(b))
		if !ok {
			t.Fatalf("no script within %d edits", len(a)+len(b))
		}
		var rebuilt [][]byte
		edits := 0
		for _, o := range ops {
			switch o.Kind {
			case Equal:
				if !bytes.Equal(a[o.A], b[o.B]) {
					t.Fatalf("Equal op on different lines %q %q", a[o.A], b[o.B])
				}
				rebuilt = append(rebuilt, a[o.A])
			case Insert:
				rebuilt = append(rebuilt, b[o.B])
				edits++
			case Delete:
				edits++
			}
		}
		if !bytes.Equal(bytes.Join(rebuilt, nil), bytes.Join(b, nil)) {
			t.Fatalf("script does not rebuild b:\na=%q\nb=%q\nops=%v", a, b, ops)
		}
		if want := len(a) + len(b) - 2*lcs(a, b); edits != want {
			t.Fatalf("%d edits, the shortest script has %d", edits, want)
		}
	}
}

func TestLinesBound(t *testing.T) {
	a := [][]byte{[]byte("a\n"), []byte("b\n"), []byte("c\n")}
	b := [][]byte{[]byte("x\n"), []byte("y\n"), []byte("z\n")}
	if _, ok := Lines(a, b, 5); ok {
		t.Fatal("6 edits found within a bound of 5")
	}
	if _, ok := Lines(a, b, 6); !ok {
		t.Fatal("6 edits not found within a bound of 6")
	}
}

func randomLines(rng *rand.Rand) [][]byte {
	lines := make([][]byte, rng.Intn(12))
	for i := range lines {
		lines[i] = []byte{byte('a' + rng.Intn(4)), '\n'}
	}
	return lines
}

func lcs(a, b [][]byte) int {
	dp := make([][]int, len(a)+1)
	for i := range dp {
		dp[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if bytes.Equal(a[i], b[j]) {
				dp[i][j] = dp[i+1][j+1] + 1
			} else {
				dp[i][j] = max(dp[i+1][j], dp[i][j+1])
			}
		}
	}
	return dp[0][0]
}
