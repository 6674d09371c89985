//go:build !race

package fn_test

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"testing"

	"github.com/sidecar-injector/sidecar-injector/bench/workload"
)

// maxRSSPerInputByte bounds how much the function's peak memory grows per
// byte of input, for lists as kustomize and kpt write them: 2 to 4.5 here
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
			small, large := workload.ResourceListUpTo(shape, 1<<20, workload.Options{}), workload.ResourceListUpTo(shape, 4<<20, workload.Options{})
			perByte := float64(peakRSS(t, large)-peakRSS(t, small)) / float64(len(large)-len(small))
			t.Logf("%.2f bytes of peak RSS per byte of input", perByte)
			if perByte > maxRSSPerInputByte {
				t.Errorf("%.1f bytes of peak RSS per byte of input, want at most %.1f", perByte, maxRSSPerInputByte)
			}
		})
	}
}

// peakRSS runs the function on in as a process and returns its peak RSS.
func peakRSS(t *testing.T, in []byte) int64 {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), runFunctionEnv+"=1")
	cmd.Stdin = bytes.NewReader(in)
	cmd.Stdout = io.Discard
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v: %s", err, stderr.String())
	}
	return cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss << 10 // KiB on Linux
}
