package fn

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
)

// The function holds its input in memory, and its peak memory grows with
// it (docs/BENCHMARKS.md measures it at the limit), so the input is
// bounded.
const (
	// DefaultMaxInputMB bounds the ResourceList: almost seven times the
	// largest benchmark package (10,000 Deployments, 9.3 MiB), for a peak
	// RSS at the limit of about 170 MiB for lists as kustomize and kpt
	// write them, and 430 MiB for the worst we could make.
	DefaultMaxInputMB = 64
	// MaxInputEnv overrides it (a KRM function takes no flags).
	MaxInputEnv = "SIDECAR_INJECTOR_MAX_INPUT_MB"
	// documentShare: text read as one YAML document (one item, or a
	// ResourceList not in kustomize's and kpt's layout, see layout.go)
	// takes up to 150 times its size in memory at once (go-yaml's tree,
	// and its emitter's queue of every event of the document), so it is
	// limited to this share of the input limit: 2 MiB by default, more
	// than the API server stores (1.5 MiB in etcd) and than the largest
	// object we know of (Argo CD's ApplicationSet CRD, 1.4 MB of YAML).
	documentShare = 32
)

// documentLimitNote says where the limit for one document comes from.
const documentLimitNote = "1/32 of the input limit, " + MaxInputEnv

// size formats a number of bytes for messages.
func size(n int) string {
	if n < 1<<20 {
		return strconv.FormatFloat(float64(n)/(1<<10), 'f', 1, 64) + " KiB"
	}
	return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB"
}

// limits are the input limits in bytes.
type limits struct {
	input, document int
}

// inputLimits reads the limit from the environment (unset or empty: the
// default).
func inputLimits() (limits, error) {
	mb := DefaultMaxInputMB
	if v := os.Getenv(MaxInputEnv); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 || n > 1<<20 {
			return limits{}, fmt.Errorf("%s=%q: expected a whole number of MiB, at least 1", MaxInputEnv, v)
		}
		mb = n
	}
	return newLimits(mb), nil
}

func newLimits(mb int) limits {
	return limits{input: mb << 20, document: mb << 20 / documentShare}
}

// errTooLarge: the input passed the limit, and reading stopped there.
var errTooLarge = errors.New("too large")

// readInput reads r up to limit bytes and stops after one byte more,
// whatever r holds (a stream that never ends is read no further). It reads
// into blocks and copies them into one slice at the end: io.ReadAll's
// growing buffers would take up to three times the input meanwhile.
func readInput(r io.Reader, limit int) ([]byte, error) {
	r = io.LimitReader(r, int64(limit)+1)
	var blocks [][]byte
	total, size := 0, 64<<10
	for {
		b := make([]byte, size)
		n, err := io.ReadFull(r, b)
		blocks, total, size = append(blocks, b[:n]), total+n, 1<<20
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	if total > limit {
		return nil, errTooLarge
	}
	if len(blocks) == 1 {
		return blocks[0], nil
	}
	data := make([]byte, 0, total)
	for _, b := range blocks {
		data = append(data, b...)
	}
	// The blocks are garbage now, but the collector may have set its next
	// goal (twice what was live) while they and the copy were both live:
	// collect, so that the goal follows what stays live.
	runtime.GC()
	return data, nil
}
