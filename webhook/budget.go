package webhook

import (
	"context"
	"sync"
	"time"
)

// Budget bounds the memory that requests in flight may hold, in bytes of
// their estimated weight (see Handler). A request that does not fit waits
// a little for others to finish, then is refused: waiting is short and
// the waiters few, so that an overloaded webhook answers at once rather
// than queueing what it cannot serve.
type Budget struct {
	limit    int64
	maxWait  time.Duration
	maxQueue int

	mu      sync.Mutex
	used    int64
	waiting int
	freed   chan struct{} // closed, and replaced, whenever bytes are released
}

// Defaults for NewBudget: the wait covers a large request's handling (a
// 6 MB pod takes about 50 ms), and the waiters hold no body yet.
const (
	DefaultBudgetWait    = 100 * time.Millisecond
	DefaultBudgetWaiters = 64
	// DefaultMaxInflightBytes fits the example Deployment's 128 MiB limit
	// with GOMEMLIMIT at 80 MiB (docs/webhook.md, "Memory").
	DefaultMaxInflightBytes = 40 << 20
)

// NewBudget returns a budget of limit bytes.
func NewBudget(limit int64, maxWait time.Duration, maxWaiters int) *Budget {
	return &Budget{limit: limit, maxWait: maxWait, maxQueue: maxWaiters, freed: make(chan struct{})}
}

// Limit returns the budget's size.
func (b *Budget) Limit() int64 { return b.limit }

// InUse returns the bytes reserved now.
func (b *Budget) InUse() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

// Reserve takes n bytes of the budget, waiting up to the budget's wait for
// other requests to release theirs. It reports false, having taken
// nothing, when they were not released in time, when too many requests
// are waiting already, when ctx ends, or when n exceeds the whole budget.
func (b *Budget) Reserve(ctx context.Context, n int64) bool {
	if n > b.limit {
		return false
	}
	var timeout <-chan time.Time
	b.mu.Lock()
	for {
		if b.used+n <= b.limit {
			b.used += n
			b.mu.Unlock()
			return true
		}
		if timeout == nil {
			if b.waiting >= b.maxQueue || b.maxWait <= 0 {
				b.mu.Unlock()
				return false
			}
			t := time.NewTimer(b.maxWait)
			defer t.Stop()
			timeout = t.C
		}
		b.waiting++
		freed := b.freed
		b.mu.Unlock()
		expired := false
		select {
		case <-freed:
		case <-timeout:
			expired = true
		case <-ctx.Done():
			expired = true
		}
		b.mu.Lock()
		b.waiting--
		if expired {
			b.mu.Unlock()
			return false
		}
	}
}

// Release returns n bytes to the budget and wakes the waiters.
func (b *Budget) Release(n int64) {
	if n == 0 {
		return
	}
	b.mu.Lock()
	b.used -= n
	if b.used < 0 {
		panic("webhook: budget released more than was reserved")
	}
	close(b.freed)
	b.freed = make(chan struct{})
	b.mu.Unlock()
}
