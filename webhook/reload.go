package webhook

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"os"
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

// ConfigStore holds the sidecar config in force, loaded from a file.
type ConfigStore struct {
	Path string
	// Prefix, when set, overrides the config's annotation prefix.
	Prefix string

	mu   sync.Mutex // one load at a time
	last []byte
	read bool
	cur  atomic.Pointer[transformer.Injector]
}

// Injector returns the engine with the last good config, or nil.
func (s *ConfigStore) Injector() *transformer.Injector { return s.cur.Load() }

// Load reads the file and, when its content changed, parses it. A config that
// fails to load is reported once and the last good one stays in force.
func (s *ConfigStore) Load() Change {
	s.mu.Lock()
	defer s.mu.Unlock()
	data, err := os.ReadFile(s.Path)
	if err != nil {
		return Change{Err: err}
	}
	if s.read && bytes.Equal(data, s.last) {
		return Change{} // unchanged, whether it loaded or not: reported once
	}
	s.read, s.last = true, data
	cfg, err := transformer.LoadConfig(data, s.Path)
	if err == nil && s.Prefix != "" {
		if err = cfg.SetAnnotationPrefix(s.Prefix); err != nil {
			err = fmt.Errorf("--annotation-prefix: %w", err)
		}
	}
	if err != nil {
		return Change{Changed: true, Err: err}
	}
	s.cur.Store(NewInjector(cfg))
	return Change{Changed: true}
}

// CertStore holds the serving certificate, loaded from a PEM certificate
// (chain) file and a PEM key file.
type CertStore struct {
	CertFile, KeyFile string

	mu                sync.Mutex
	lastCert, lastKey []byte
	cur               atomic.Pointer[tls.Certificate]
}

// GetCertificate is the tls.Config hook: every handshake gets the current
// certificate, so a replaced one is served without a restart.
func (s *CertStore) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	c := s.cur.Load()
	if c == nil {
		return nil, errors.New("no serving certificate loaded")
	}
	return c, nil
}

// Current returns the certificate in use, or nil.
func (s *CertStore) Current() *tls.Certificate { return s.cur.Load() }

// Load reads both files and, when either changed, loads the pair. A pair that
// does not load (a key written before its certificate, say) is reported and
// the previous one stays until the next poll finds a good pair.
func (s *CertStore) Load() Change {
	s.mu.Lock()
	defer s.mu.Unlock()
	certPEM, err := os.ReadFile(s.CertFile)
	if err != nil {
		return Change{Err: err}
	}
	keyPEM, err := os.ReadFile(s.KeyFile)
	if err != nil {
		return Change{Err: err}
	}
	if s.lastCert != nil && bytes.Equal(certPEM, s.lastCert) && bytes.Equal(keyPEM, s.lastKey) {
		return Change{} // unchanged, whether it loaded or not: reported once
	}
	s.lastCert, s.lastKey = certPEM, keyPEM
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return Change{Changed: true, Err: fmt.Errorf("loading %s and %s: %w", s.CertFile, s.KeyFile, err)}
	}
	s.cur.Store(&pair)
	return Change{Changed: true}
}

// Valid reports whether a certificate is loaded and valid now.
func (s *CertStore) Valid(now time.Time) error {
	c := s.cur.Load()
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
