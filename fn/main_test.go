package fn_test

import (
	"os"
	"testing"

	"github.com/sidecar-injector/sidecar-injector/fn"
)

// runFunctionEnv makes the test binary run the function itself, as the
// command does, so that a test can measure it as a whole process.
const runFunctionEnv = "FN_TEST_RUN_FUNCTION"

func TestMain(m *testing.M) {
	if os.Getenv(runFunctionEnv) == "1" {
		os.Exit(fn.Run(os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}
