package nodejson

// Scanning without building: the webhook reads the AdmissionReview envelope
// and a pod's metadata this way, in one pass, and builds a tree only for
// pods the engine has to look at.

// Scanner reads a JSON document value by value. Object calls back for each
// member with the scanner at the member's value, which the callback must
// consume with exactly one of Skip, Delimit, String, Null or Object.
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
		key, err := d.string()
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
	if err := s.d.skip(0); err != nil {
		return nil, err
	}
	raw := s.d.data[start:s.d.pos]
	s.d.skipSpace()
	return raw, nil
}

// Delimit returns the raw bytes of the next value without validating them:
// strings and nesting are followed, nothing else is checked. The caller
// validates them later (with Valid or Decode) before trusting them. The
// webhook validates a pod once, while building its tree, this way.
func (s *Scanner) Delimit() ([]byte, error) {
	start := s.d.pos
	if err := s.d.delimit(); err != nil {
		return nil, err
	}
	raw := s.d.data[start:s.d.pos]
	s.d.skipSpace()
	return raw, nil
}

// String reads a string, or null as "". ok is false, and the value
// validated and skipped, for anything else.
func (s *Scanner) String() (v string, ok bool, err error) {
	switch s.Peek() {
	case '"':
		v, err = s.d.string()
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
	if err := d.skip(0); err != nil {
		return err
	}
	return d.end()
}

// skip moves past one value, validating it.
func (d *decoder) skip(depth int) error {
	if d.pos >= len(d.data) {
		return d.errorf("unexpected end of input")
	}
	switch c := d.data[d.pos]; {
	case c == '{' || c == '[':
		if depth+1 > MaxDepth {
			return d.errorf("nested deeper than %d", MaxDepth)
		}
		return d.skipContainer(depth + 1)
	case c == '"':
		return d.skipString()
	case c == '-' || (c >= '0' && c <= '9'):
		_, err := d.number()
		return err
	case d.literal("true"), d.literal("false"), d.literal("null"):
		return nil
	}
	return d.errorf("unexpected %s, expected a value", d.describe())
}

func (d *decoder) skipContainer(depth int) error {
	closing := byte('}')
	if d.data[d.pos] == '[' {
		closing = ']'
	}
	d.pos++
	d.skipSpace()
	if d.pos < len(d.data) && d.data[d.pos] == closing {
		d.pos++
		return nil
	}
	for {
		if closing == '}' {
			if d.pos >= len(d.data) || d.data[d.pos] != '"' {
				return d.errorf("unexpected %s, expected a string key", d.describe())
			}
			if err := d.skipString(); err != nil {
				return err
			}
			d.skipSpace()
			if d.pos >= len(d.data) || d.data[d.pos] != ':' {
				return d.errorf("unexpected %s, expected ':'", d.describe())
			}
			d.pos++
			d.skipSpace()
		}
		if err := d.skip(depth); err != nil {
			return err
		}
		d.skipSpace()
		if d.pos >= len(d.data) {
			return d.errorf("unexpected end of input")
		}
		switch d.data[d.pos] {
		case ',':
			d.pos++
			d.skipSpace()
		case closing:
			d.pos++
			return nil
		default:
			return d.errorf("unexpected %s, expected ',' or '%c'", d.describe(), closing)
		}
	}
}

func (d *decoder) skipString() error {
	i := d.pos + 1
	for {
		i = scanPlain(d.data, i)
		if i >= len(d.data) {
			d.pos = len(d.data)
			return d.errorf("unterminated string")
		}
		switch c := d.data[i]; {
		case c == '"':
			d.pos = i + 1
			return nil
		case c < 0x20:
			d.pos = i
			return d.errorf("control character %#02x in a string", c)
		}
		// a backslash
		if i+1 >= len(d.data) {
			d.pos = len(d.data)
			return d.errorf("unterminated string")
		}
		switch d.data[i+1] {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			i += 2
		case 'u':
			if _, ok := hex4(d.data, i+2); !ok {
				d.pos = i + 2
				return d.errorf("bad \\u escape")
			}
			i += 6
		default:
			d.pos = i
			return d.errorf("bad escape \\%c", d.data[i+1])
		}
	}
}

// delimit moves past one value without validating it. It always moves
// forward or fails, whatever the input.
func (d *decoder) delimit() error {
	if d.pos >= len(d.data) {
		return d.errorf("unexpected end of input")
	}
	switch d.data[d.pos] {
	case '"':
		return d.delimitString()
	case '{', '[':
		depth := 0
		for d.pos < len(d.data) {
			switch d.data[d.pos] {
			case '"':
				if err := d.delimitString(); err != nil {
					return err
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					d.pos++
					return nil
				}
			}
			d.pos++
		}
		return d.errorf("unexpected end of input")
	}
	start := d.pos
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			if d.pos == start {
				return d.errorf("unexpected %s, expected a value", d.describe())
			}
			return nil
		}
		d.pos++
	}
	return nil
}

func (d *decoder) delimitString() error {
	i := d.pos + 1
	for {
		i = scanPlain(d.data, i)
		switch {
		case i >= len(d.data):
			d.pos = len(d.data)
			return d.errorf("unterminated string")
		case d.data[i] == '"':
			d.pos = i + 1
			return nil
		case d.data[i] == '\\':
			i += 2
		default: // a control character: invalid, left for validation to report
			i++
		}
	}
}
