package nodejson

// Reading without building: the webhook reads an AdmissionReview this way
// (finding the pod and reading its metadata),
// and builds a tree only for pods the engine has to look at.

// Scanner reads a JSON document value by value, with the walker Decode
// uses, building nothing. Object calls back for each member with the
// scanner at the member's value, which the callback must consume with
// exactly one of Skip, String, Null or Object.
type Scanner struct{ d decoder }

// NewScanner returns a scanner at the start of data.
func NewScanner(data []byte) *Scanner {
	s := &Scanner{d: decoder{data: data}}
	s.d.skipSpace()
	return s
}

// Peek returns the first byte of the next value, or 0 at the end.
func (s *Scanner) Peek() byte {
	if s.d.pos >= len(s.d.data) {
		return 0
	}
	return s.d.data[s.d.pos]
}

// Object reads an object, calling member for each key. It returns
// ErrNotObject, having validated and skipped the value, if the next value
// is not an object.
func (s *Scanner) Object(member func(key string) error) error {
	d := &s.d
	if s.Peek() != '{' {
		if _, err := s.Skip(); err != nil {
			return err
		}
		return ErrNotObject
	}
	d.pos++
	d.skipSpace()
	if d.pos < len(d.data) && d.data[d.pos] == '}' {
		d.pos++
		d.skipSpace()
		return nil
	}
	for {
		if d.pos >= len(d.data) || d.data[d.pos] != '"' {
			return d.errorf("unexpected %s, expected a string key", d.describe())
		}
		key, err := d.string(true)
		if err != nil {
			return err
		}
		d.skipSpace()
		if d.pos >= len(d.data) || d.data[d.pos] != ':' {
			return d.errorf("unexpected %s, expected ':'", d.describe())
		}
		d.pos++
		d.skipSpace()
		start := d.pos
		if err := member(key); err != nil {
			return err
		}
		if d.pos == start {
			return d.errorf("member %q: value not read", key)
		}
		d.skipSpace()
		if d.pos >= len(d.data) {
			return d.errorf("unexpected end of input in an object")
		}
		switch d.data[d.pos] {
		case ',':
			d.pos++
			d.skipSpace()
		case '}':
			d.pos++
			d.skipSpace()
			return nil
		default:
			return d.errorf("unexpected %s, expected ',' or '}'", d.describe())
		}
	}
}

// Skip validates the next value and returns its raw bytes.
func (s *Scanner) Skip() ([]byte, error) {
	start := s.d.pos
	if _, err := s.d.value(0); err != nil {
		return nil, err
	}
	raw := s.d.data[start:s.d.pos]
	s.d.skipSpace()
	return raw, nil
}

// SkipItems is Skip that returns the number of members or elements of
// the value when it is an object or an array.
func (s *Scanner) SkipItems() (int, error) {
	s.d.items = 0
	_, err := s.Skip()
	return s.d.items, err
}

// String reads a string, or null as "". ok is false, and the value
// validated and skipped, for anything else.
func (s *Scanner) String() (v string, ok bool, err error) {
	switch s.Peek() {
	case '"':
		v, err = s.d.string(true)
		s.d.skipSpace()
		return v, err == nil, err
	case 'n':
		if s.d.literal("null") {
			s.d.skipSpace()
			return "", true, nil
		}
	}
	_, err = s.Skip()
	return "", false, err
}

// Null consumes a null and reports whether the next value was one.
func (s *Scanner) Null() bool {
	if s.d.literal("null") {
		s.d.skipSpace()
		return true
	}
	return false
}

// Pos returns the offset of the next byte to read.
func (s *Scanner) Pos() int { return s.d.pos }

// End reports an error unless the input is fully read.
func (s *Scanner) End() error { return s.d.end() }

func (d *decoder) end() error {
	d.skipSpace()
	if d.pos != len(d.data) {
		return d.errorf("unexpected %s after the value", d.describe())
	}
	return nil
}

// Valid reports whether data is one JSON value (with optional whitespace).
func Valid(data []byte) error {
	d := decoder{data: data}
	d.skipSpace()
	if _, err := d.value(0); err != nil {
		return err
	}
	return d.end()
}
