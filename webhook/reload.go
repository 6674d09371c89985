package webhook

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sidecar-injector/sidecar-injector/transformer"
)

// Hot reload by polling. Kubernetes updates a mounted ConfigMap or Secret by
// writing a new timestamped directory and swapping the `..data` symlink, so
// the files' own inodes never change and a watch on them sees nothing; a
// directory watch would need fsnotify. Reading two or three small files every
// few seconds and comparing their bytes is simpler and sees every update,
// however it is made.

// Change is the result of one poll of a file set.
type Change struct {
	Changed bool  // the content differed from the last poll
	Err     error // the new content could not be loaded (the old stays)
}

// filePoll is the state both stores share: the files' content at the last
// poll, and the value last parsed from it without error.
type filePoll[T any] struct {
	mu   sync.Mutex // one load at a time
	last [][]byte   // nil until the files are first read
	cur  atomic.Pointer[T]
}

// load reads the files and, when any changed since the last poll, parses
// them. Content that fails to parse is reported once, and the last good
// value stays in force.
func (p *filePoll[T]) load(parse func(data [][]byte) (*T, error), paths ...string) Change {
	p.mu.Lock()
	defer p.mu.Unlock()
	data := make([][]byte, len(paths))
	for i, path := range paths {
		var err error
		if data[i], err = os.ReadFile(path); err != nil {
			return Change{Err: err}
		}
	}
	if p.last != nil && slices.EqualFunc(data, p.last, bytes.Equal) {
		return Change{} // unchanged, whether it loaded or not: reported once
	}
	p.last = data
	v, err := parse(data)
	if err != nil {
		return Change{Changed: true, Err: err}
	}
	p.cur.Store(v)
	return Change{Changed: true}
}

// ConfigStore holds the sidecar config in force, loaded from a file.
type ConfigStore struct {
	Path string
	// Prefix, when set, overrides the config's annotation prefix.
	Prefix string

	poll filePoll[transformer.Injector]
}

// Injector returns the engine with the last good config, or nil.
func (s *ConfigStore) Injector() *transformer.Injector { return s.poll.cur.Load() }

// Load reads the file and, when its content changed, parses it. A config that
// fails to load is reported once and the last good one stays in force.
func (s *ConfigStore) Load() Change {
	return s.poll.load(func(data [][]byte) (*transformer.Injector, error) {
		cfg, err := transformer.LoadConfig(data[0], s.Path)
		if err != nil {
			return nil, err
		}
		if s.Prefix != "" {
			if err := cfg.SetAnnotationPrefix(s.Prefix); err != nil {
				return nil, fmt.Errorf("--annotation-prefix: %w", err)
			}
		}
		return NewInjector(cfg), nil
	}, s.Path)
}

// CertStore holds the serving certificate, loaded from a PEM certificate
// (chain) file and a PEM key file.
type CertStore struct {
	CertFile, KeyFile string

	poll filePoll[tls.Certificate]
}

// GetCertificate is the tls.Config hook: every handshake gets the current
// certificate, so a replaced one is served without a restart.
func (s *CertStore) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c := s.poll.cur.Load()
	if c == nil {
		return nil, errors.New("no serving certificate loaded")
	}
	return c, nil
}

// Current returns the certificate in use, or nil.
func (s *CertStore) Current() *tls.Certificate { return s.poll.cur.Load() }

// Load reads both files and, when either changed, loads the pair. A pair that
// does not load (a key written before its certificate, say) is reported and
// the previous one stays until the next poll finds a good pair.
func (s *CertStore) Load() Change {
	return s.poll.load(func(data [][]byte) (*tls.Certificate, error) {
		pair, err := tls.X509KeyPair(data[0], data[1])
		if err != nil {
			return nil, fmt.Errorf("loading %s and %s: %w", s.CertFile, s.KeyFile, err)
		}
		return &pair, nil
	}, s.CertFile, s.KeyFile)
}

// Valid reports whether a certificate is loaded and valid now.
func (s *CertStore) Valid(now time.Time) error {
	c := s.poll.cur.Load()
	switch {
	case c == nil:
		return errors.New("no serving certificate loaded")
	case c.Leaf == nil:
		return nil
	case now.Before(c.Leaf.NotBefore):
		return fmt.Errorf("serving certificate not valid before %s", c.Leaf.NotBefore.UTC().Format(time.RFC3339))
	case now.After(c.Leaf.NotAfter):
		return fmt.Errorf("serving certificate expired at %s", c.Leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	return nil
}
