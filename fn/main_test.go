package fn_test

import (
	"fmt"
	"os"
	"testing"

	"github.com/sidecar-injector/sidecar-injector/bench/hostile"
	"github.com/sidecar-injector/sidecar-injector/fn"
)

// runFunctionEnv makes the test binary run the function itself, as the
// command does, so that a test can measure it as a whole process. Set to
// reportPeakRSS, the process then writes its own peak RSS on fd 3.
const runFunctionEnv = "FN_TEST_RUN_FUNCTION"

const reportPeakRSS = "peak-rss"

func TestMain(m *testing.M) {
	if mode := os.Getenv(runFunctionEnv); mode != "" {
		code := fn.Run(os.Stdin, os.Stdout, os.Stderr)
		if mode == reportPeakRSS {
			peak, err := hostile.PeakRSS(os.Getpid())
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(fn.ExitFailed)
			}
			fmt.Fprintln(os.NewFile(3, "peak"), peak)
		}
		os.Exit(code)
	}
	os.Exit(m.Run())
}
