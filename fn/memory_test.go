//go:build !race

package fn_test

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/sidecar-injector/sidecar-injector/bench/workload"
)

// maxRSSPerInputByte bounds how much the function's peak memory grows per
// byte of input, for lists as kustomize and kpt write them: up to 6.5 here
// (the garbage collector's timing moves it), about 3 at the 64 MiB limit
// (docs/BENCHMARKS.md); before the lists were read item by item, 65
// (Deployments) to 170 (small Pods).
const maxRSSPerInputByte = 10.0

// The function's peak memory grows with its input by a bounded factor,
// whatever its items: measured as whole processes (peak RSS) at two sizes,
// so that what the runtime takes whatever the input cancels out. Not under
// the race detector, which multiplies memory.
func TestPeakMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the function on 15 MiB of lists")
	}
	if runtime.GOOS != "linux" {
		t.Skip("reads the peak RSS as Linux reports it")
	}
	for _, shape := range []workload.Shape{workload.Deployments, workload.Pods, workload.SkippedPods} {
		t.Run(string(shape), func(t *testing.T) {
			t.Parallel() // each process's own peak: they do not disturb each other
			small, large := workload.ResourceListUpTo(shape, 1<<20, workload.Options{}), workload.ResourceListUpTo(shape, 4<<20, workload.Options{})
			lo, hi := peakRSS(t, small), peakRSS(t, large)
			perByte := float64(hi-lo) / float64(len(large)-len(small))
			t.Logf("%.2f bytes of peak RSS per byte of input (%d KiB, %d KiB)", perByte, lo>>10, hi>>10)
			if perByte > maxRSSPerInputByte {
				t.Errorf("%.1f bytes of peak RSS per byte of input, want at most %.1f", perByte, maxRSSPerInputByte)
			}
		})
	}
}

// peakRSS runs the function on in as a process and returns its peak RSS,
// as the process reads it from /proc before it exits: the parent's usage
// report would not do, since a process started with vfork, as Go starts
// them, reports at least the RSS of its parent at exec.
func peakRSS(t *testing.T, in []byte) int64 {
	t.Helper()
	peakR, peakW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer peakR.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), runFunctionEnv+"="+reportPeakRSS)
	cmd.Stdin = bytes.NewReader(in)
	cmd.Stdout = io.Discard
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.ExtraFiles = []*os.File{peakW}
	err = cmd.Run()
	peakW.Close()
	if err != nil {
		t.Fatalf("%v: %s", err, stderr.String())
	}
	out, err := io.ReadAll(peakR)
	if err != nil {
		t.Fatal(err)
	}
	peak, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if err != nil {
		t.Fatalf("the function's peak RSS %q: %v", out, err)
	}
	return peak
}
