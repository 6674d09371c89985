package manifest

import (
	"bytes"
	"slices"
	"sort"
	"strings"

	"github.com/sidecar-injector/sidecar-injector/internal/yamltree"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// Splicing writes a changed document by editing its original text: entries
// the edit did not touch keep their exact bytes, and only added, removed or
// changed entries are rendered. It relies on YAML's block structure: an
// entry of a block mapping or list spans its first line plus every following
// line indented deeper than the entry's column.
//
// Nodes the engine kept carry their source line; new ones have line 0. That
// lines up the edited tree with the original one without a tree diff.

type splicer struct {
	origins
	lines [][]byte // the original lines, each with its newline (the last may lack it)
	style Style
	edits []edit
	ok    bool
}

// origins lines the edited tree up with the original one. originals maps
// nodes rewritten in place to their previous content; dirty holds them and
// their ancestors. Outside dirty nodes, the edited and the original tree
// share their nodes, so nothing there is compared. With no originals, the
// original tree is a parse of the text and every node is compared.
type origins struct {
	originals map[*yaml.Node]*yaml.Node
	dirty     map[*yaml.Node]bool
}

func newOrigins(originals map[*yaml.Node]*yaml.Node, edited *yaml.Node) origins {
	o := origins{originals: originals}
	if originals != nil {
		o.dirty = map[*yaml.Node]bool{}
		o.markDirty(edited)
	}
	return o
}

// edit replaces del lines starting at line at (0-based) by text.
type edit struct {
	at, del int
	text    []byte
	seq     int // creation order, to keep insertions at one place in order
}

// entry is one key/value pair of a mapping or one item of a list, with the
// lines it spans: head (its head comments), start, end (inclusive).
type entry struct {
	key, val          *yaml.Node // key is nil for list items
	head, start, end  int
	startsOnParentRow bool // first line is shared with a parent list's dash
}

// splice renders edited (the engine's result) as a patch of raw. The
// original tree is either a parse of raw (originals nil), or edited itself
// with the rewritten nodes mapped back by originals. It reports false when
// the document is not plain block YAML.
func splice(raw []byte, original, edited *yaml.Node, originals map[*yaml.Node]*yaml.Node, style Style) ([]byte, bool) {
	if original.Kind != yaml.DocumentNode || edited.Kind != yaml.DocumentNode ||
		len(original.Content) != 1 || len(edited.Content) != 1 {
		return nil, false
	}
	s := &splicer{origins: newOrigins(originals, edited), lines: rawLines(raw), style: style, ok: true}
	o, n := s.origOf(original.Content[0]), edited.Content[0]
	if !isBlock(o, yaml.MappingNode) || !isBlock(n, yaml.MappingNode) || n.Line != o.Line {
		return nil, false
	}
	s.mapping(o, n, len(s.lines))
	if !s.ok {
		return nil, false
	}
	return s.apply(), true
}

// markDirty marks the rewritten nodes under n and their ancestors.
func (s *origins) markDirty(n *yaml.Node) bool {
	dirty := s.originals[n] != nil
	for _, c := range n.Content {
		if s.markDirty(c) {
			dirty = true
		}
	}
	if dirty {
		s.dirty[n] = true
	}
	return dirty
}

func (s *origins) origOf(n *yaml.Node) *yaml.Node {
	if o := s.originals[n]; o != nil {
		return o
	}
	return n
}

// changed reports whether the edited node w differs from the original t
// as written: an alias is the same as an alias of the same name, whatever
// the node it names, and differs from that node written out.
func (s *origins) changed(t, w *yaml.Node) bool {
	switch {
	case s.dirty[w]:
		return true
	case t == w:
		return false
	}
	return !yamltree.Same(t, w)
}

func isBlock(n *yaml.Node, kind yaml.Kind) bool {
	return n != nil && n.Kind == kind && n.Style&yaml.FlowStyle == 0 && len(n.Content) > 0 && n.Line > 0
}

func rawLines(raw []byte) [][]byte {
	var lines [][]byte
	for len(raw) > 0 {
		i := bytes.IndexByte(raw, '\n')
		if i < 0 {
			lines = append(lines, raw)
			break
		}
		lines = append(lines, raw[:i+1])
		raw = raw[i+1:]
	}
	return lines
}

// indent returns the line's indentation, or -1 for a blank line.
func (s *splicer) indent(l int) int {
	line := s.lines[l]
	for i, ch := range line {
		switch ch {
		case ' ':
			continue
		case '\n', '\r':
			return -1
		}
		return i
	}
	return -1
}

func (s *splicer) isComment(l int) bool {
	i := s.indent(l)
	return i >= 0 && s.lines[l][i] == '#'
}

// isDashAt reports whether line l holds a list dash at column col.
func (s *splicer) isDashAt(l, col int) bool {
	line := s.lines[l]
	if s.indent(l) != col || line[col] != '-' {
		return false
	}
	return col+1 == len(line) || bytes.IndexByte([]byte(" \t\r\n"), line[col+1]) >= 0
}

// spans computes the lines of entries starting at the given lines, whose
// content is indented deeper than col, within [.., limit).
func (s *splicer) spans(es []entry, col, limit int, compactSeq func(i int) bool) {
	for i := range es {
		floor := -1
		if i > 0 {
			floor = es[i-1].start
		}
		h := es[i].start
		for h-1 > floor && s.isComment(h-1) && s.indent(h-1) <= col {
			h--
		}
		es[i].head = h
	}
	for i := range es {
		bound := limit
		if i+1 < len(es) {
			bound = es[i+1].head
		}
		end := es[i].start
		for l := es[i].start + 1; l < bound; l++ {
			ind := s.indent(l)
			switch {
			case ind < 0:
			case ind > col:
				end = l
			case compactSeq != nil && compactSeq(i) && s.isDashAt(l, col):
				end = l
			case s.isComment(l):
			default:
				s.ok = false // not the block structure we expect
				return
			}
		}
		if s.keepsTrailingBlanks(es[i].val) {
			for end+1 < bound && s.indent(end+1) < 0 {
				end++
			}
		}
		if es[i].key != nil && onKeyLine(es[i].key, es[i].val) {
			// A value written on the key's line (empty, null, `{}`) has no
			// lines below it: comment lines there are the next entry's head
			// comment (yaml.v3 attaches them so), not the entry's. Leave them
			// out, so that replacing the entry keeps them where they are.
			end = es[i].start
		}
		es[i].end = end
	}
}

// trailingComments returns the last line of an entry before the comment
// (and blank) lines that end it, below the last line of its value's nodes;
// e.end when there are none. A line misread as a comment (the continuation
// of a quoted scalar) would change the value: the splice check catches it.
func (s *splicer) trailingComments(e entry) int {
	last := lastNodeLine(e.val) - 1
	if last < e.start || last >= e.end || endsWithBlockScalar(e.val) {
		return e.end
	}
	for l := last + 1; l <= e.end; l++ {
		if s.indent(l) >= 0 && !s.isComment(l) {
			return e.end
		}
	}
	return last
}

// endsWithBlockScalar reports whether the last value under n is a block
// scalar, whose text runs past its node's line.
func endsWithBlockScalar(n *yaml.Node) bool {
	for len(n.Content) > 0 {
		n = n.Content[len(n.Content)-1]
	}
	return n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0
}

// lastNodeLine is the largest source line of a node's tree.
func lastNodeLine(n *yaml.Node) int {
	line := n.Line
	for _, c := range n.Content {
		line = max(line, lastNodeLine(c))
	}
	return line
}

// onKeyLine reports whether a value is written entirely on its key's line:
// null, or an empty flow collection (`{}`, `[]`). An edited value (line 0)
// is rendered on its key's line when it is so.
func onKeyLine(k, v *yaml.Node) bool {
	if v == nil || k == nil || v.Line != k.Line && v.Line != 0 {
		return false
	}
	switch v.Kind {
	case yaml.ScalarNode:
		return v.ShortTag() == "!!null" && v.Style&(yaml.LiteralStyle|yaml.FoldedStyle|yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) == 0
	case yaml.MappingNode, yaml.SequenceNode:
		return v.Style&yaml.FlowStyle != 0 && len(v.Content) == 0
	}
	return false
}

// keepsTrailingBlanks reports whether the last value under n is a block
// scalar with keep chomping ("|+", ">2+"): the blank lines after its text
// are part of its value, so they belong to its entry, and anything inserted
// after the entry goes after them.
func (s *splicer) keepsTrailingBlanks(n *yaml.Node) bool {
	for (n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode) && n.Style&yaml.FlowStyle == 0 && len(n.Content) > 0 {
		n = s.origOf(n.Content[len(n.Content)-1])
	}
	if n.Kind != yaml.ScalarNode || n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) == 0 || n.Line < 1 || n.Line > len(s.lines) {
		return false
	}
	// the header starts at the node's column, after any tag or anchor
	header := []rune(string(s.lines[n.Line-1]))
	i := n.Column - 1
	for i < len(header) && header[i] != '|' && header[i] != '>' {
		i++
	}
	for i++; i < len(header); i++ {
		switch c := header[i]; {
		case c == '+':
			return true
		case c == '-' || (c >= '1' && c <= '9'):
		default:
			return false
		}
	}
	return false
}

func (s *splicer) mapping(o, n *yaml.Node, limit int) {
	col := o.Content[0].Column - 1
	es := make([]entry, 0, len(o.Content)/2)
	for i := 0; i+1 < len(o.Content); i += 2 {
		k := o.Content[i]
		if k.Column-1 != col || k.Line < 1 {
			s.ok = false
			return
		}
		es = append(es, entry{key: k, val: s.origOf(o.Content[i+1]), start: k.Line - 1, startsOnParentRow: s.indent(k.Line-1) < col})
	}
	s.spans(es, col, limit, func(i int) bool {
		v := es[i].val
		return v.Kind == yaml.SequenceNode && v.Style&yaml.FlowStyle == 0 && len(v.Content) > 0 && s.dashColumn(v) == col
	})
	var edited [][2]*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		edited = append(edited, [2]*yaml.Node{n.Content[i], n.Content[i+1]})
	}
	s.align(es, len(edited), func(j int) int { return edited[j][0].Line },
		func(e entry, j int) { s.pair(e, edited[j][0], edited[j][1], col) },
		func(j int) []byte { return s.renderPair(edited[j][0], edited[j][1], col) })
}

func (s *splicer) sequence(o, n *yaml.Node, limit int) {
	col := s.dashColumn(o)
	es := make([]entry, 0, len(o.Content))
	for _, it := range o.Content {
		it = s.origOf(it)
		l := it.Line - 1
		for l >= 0 && !s.isDashAt(l, col) {
			l--
		}
		if l < 0 || (len(es) > 0 && l <= es[len(es)-1].start) {
			s.ok = false // two items on one line, or no dash found
			return
		}
		es = append(es, entry{val: it, start: l, startsOnParentRow: s.indent(l) < col})
	}
	s.spans(es, col, limit, nil)
	s.align(es, len(n.Content), func(j int) int { return n.Content[j].Line },
		func(e entry, j int) { s.item(e, n.Content[j], col) },
		func(j int) []byte { return s.renderItem(n.Content[j], col) })
}

// dashColumn returns the column of a block list's dashes. A list with an
// anchor or a tag starts where they are, on its key's line (`volumes: &v`):
// its dashes are on the next line that holds anything.
func (s *splicer) dashColumn(o *yaml.Node) int {
	if o.Anchor == "" && o.Style&yaml.TaggedStyle == 0 {
		return o.Column - 1
	}
	for l := o.Line; l < len(s.lines); l++ {
		if s.indent(l) >= 0 && !s.isComment(l) {
			return s.indent(l)
		}
	}
	return -1
}

// align walks the edited entries in order. An entry with a source line is the
// original entry of that line (compared further); one without is new
// (rendered and inserted); original entries nobody kept are deleted.
func (s *splicer) align(es []entry, count int, lineOf func(j int) int, keep func(e entry, j int), render func(j int) []byte) {
	index := make(map[int]int, len(es))
	for i, e := range es {
		if e.key != nil {
			index[e.key.Line] = i
		} else {
			index[e.val.Line] = i
		}
	}
	prev := -1
	drop := func(upTo int) {
		for d := prev + 1; d < upTo; d++ {
			if es[d].startsOnParentRow {
				s.ok = false
				return
			}
			s.add(es[d].head, es[d].end-es[d].head+1, nil)
		}
	}
	for j := 0; j < count && s.ok; j++ {
		line := lineOf(j)
		if line == 0 {
			at := 0
			if prev >= 0 {
				at = es[prev].end + 1
			} else if len(es) > 0 && !es[0].startsOnParentRow {
				at = es[0].head
			} else {
				s.ok = false
				return
			}
			s.add(at, 0, render(j))
			continue
		}
		i, found := index[line]
		if !found || i <= prev {
			s.ok = false // reordered or duplicated: not an edit we can splice
			return
		}
		drop(i)
		keep(es[i], j)
		prev = i
	}
	drop(len(es))
}

// pair compares an original mapping entry with its edited version.
func (s *splicer) pair(e entry, k, v *yaml.Node, col int) {
	switch {
	case k.Value != e.key.Value:
		s.ok = false
	case !s.changed(e.val, v):
	case v.Line == e.val.Line && isBlock(e.val, yaml.MappingNode) && isBlock(v, yaml.MappingNode):
		s.mapping(e.val, v, e.end+1)
	case v.Line == e.val.Line && isBlock(e.val, yaml.SequenceNode) && isBlock(v, yaml.SequenceNode):
		s.sequence(e.val, v, e.end+1)
	case onKeyLine(e.key, e.val):
		// the comment lines below stay where they are (see spans): do not
		// render them again from the nodes yaml.v3 attached them to
		key, val := *k, *v
		key.FootComment, val.FootComment = "", ""
		s.replace(e, s.renderPair(&key, &val, col))
	case onKeyLine(k, v) && s.trailingComments(e) < e.end:
		// the value goes back onto the key's line: the comment lines after
		// its last line stay where they are (what the case above keeps)
		key, val := *k, *v
		key.FootComment, val.FootComment = "", ""
		shorter := e
		shorter.end = s.trailingComments(e)
		s.replace(shorter, s.renderPair(&key, &val, col))
	default:
		s.replace(e, s.renderPair(k, v, col))
	}
}

// item compares an original list item with its edited version.
func (s *splicer) item(e entry, v *yaml.Node, col int) {
	switch {
	case !s.changed(e.val, v):
	case v.Line == e.val.Line && isBlock(e.val, yaml.MappingNode) && isBlock(v, yaml.MappingNode):
		s.mapping(e.val, v, e.end+1)
	default:
		s.replace(e, s.renderItem(v, col))
	}
}

func (s *splicer) add(at, del int, text []byte) {
	s.edits = append(s.edits, edit{at: at, del: del, text: text, seq: len(s.edits)})
}

// replace re-renders an entry, carrying the trailing blanks of its first
// line over to the new first line: they mean nothing outside block scalar
// content (which a first line never is), and a value replaced and later
// restored then leaves "key: {}  " as it found it. Not after a double
// quote's line-continuing backslash, where a blank would be an escape.
func (s *splicer) replace(e entry, text []byte) {
	line := bytes.TrimRight(s.lines[e.start], "\r\n")
	if e.startsOnParentRow && e.key != nil {
		// the first entry of a list item (`- key: ...`): keep the dash,
		// where render put the entry's indentation
		if col := e.key.Column - 1; col < len(line) && len(text) >= col {
			text = slices.Concat(line[:col], text[col:])
		}
	}
	blanks := line[len(bytes.TrimRight(line, " \t")):]
	first, rest, found := bytes.Cut(text, []byte("\n"))
	if len(blanks) > 0 && found && len(first) > 0 && strings.IndexByte("\\ \t", first[len(first)-1]) < 0 {
		text = slices.Concat(first, blanks, []byte("\n"), rest)
	}
	s.add(e.start, e.end-e.start+1, text)
}

// renderPair encodes one mapping entry at a column. Head comments stay
// where they are in the original text, so they are not rendered again.
func (s *splicer) renderPair(k, v *yaml.Node, col int) []byte {
	key := *k
	key.HeadComment = ""
	return s.render(&yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: []*yaml.Node{&key, v}}, col)
}

func (s *splicer) renderItem(v *yaml.Node, col int) []byte {
	item := *v
	item.HeadComment = ""
	if item.Kind == yaml.MappingNode && len(item.Content) > 0 {
		first := *item.Content[0]
		first.HeadComment = ""
		item.Content = append([]*yaml.Node{&first}, item.Content[1:]...)
	}
	return s.render(&yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: []*yaml.Node{&item}}, col)
}

func (s *splicer) render(n *yaml.Node, col int) []byte {
	out, err := snippets.encode(n, s.style)
	if err != nil {
		s.ok = false
		return nil
	}
	out = plainAgain(out, n)
	if col == 0 {
		return out
	}
	pad := bytes.Repeat([]byte{' '}, col)
	var b bytes.Buffer
	for _, line := range rawLines(out) {
		if len(line) > 1 { // leave blank lines (inside block scalars) blank
			b.Write(pad)
		}
		b.Write(line)
	}
	return b.Bytes()
}

// apply writes the original lines with the edits made.
func (s *splicer) apply() []byte {
	sort.SliceStable(s.edits, func(i, j int) bool {
		a, b := s.edits[i], s.edits[j]
		if a.at != b.at {
			return a.at < b.at
		}
		return a.seq < b.seq
	})
	crlf := len(s.lines) > 0 && bytes.HasSuffix(s.lines[0], []byte("\r\n"))
	var out bytes.Buffer
	deleted := make([]bool, len(s.lines)+1)
	for _, e := range s.edits {
		for l := e.at; l < e.at+e.del && l < len(deleted); l++ {
			deleted[l] = true
		}
	}
	next := 0
	for l := 0; l <= len(s.lines); l++ {
		for next < len(s.edits) && s.edits[next].at == l {
			text := s.edits[next].text
			if len(text) > 0 && out.Len() > 0 && !bytes.HasSuffix(out.Bytes(), []byte("\n")) {
				out.WriteString(map[bool]string{true: "\r\n", false: "\n"}[crlf])
			}
			if crlf {
				text = bytes.ReplaceAll(text, []byte("\n"), []byte("\r\n"))
			}
			out.Write(text)
			next++
		}
		if l < len(s.lines) && !deleted[l] {
			out.Write(s.lines[l])
		}
	}
	// a document that did not end with a newline still does not
	if n := len(s.lines); n > 0 && !bytes.HasSuffix(s.lines[n-1], []byte("\n")) {
		return bytes.TrimRight(out.Bytes(), "\r\n")
	}
	return out.Bytes()
}

// plainAgain writes plain again the scalars that were plain in the source
// and that the encoder quoted inside a flow collection: it quotes any value
// holding a colon there (`{image: 'app:1'}`), which YAML allows plain. Only
// values that are plain-safe in a flow collection are unquoted, and only
// when every quoted occurrence of the value in out is such a scalar; the
// splice is then checked to parse back to the edited tree, as every splice.
func plainAgain(out []byte, n *yaml.Node) []byte {
	if !bytes.Contains(out, []byte(":")) || !bytes.Contains(out, []byte("'")) {
		return out
	}
	plain := map[string]int{}
	other := map[string]bool{}
	var walk func(n *yaml.Node, inFlow bool)
	walk = func(n *yaml.Node, inFlow bool) {
		inFlow = inFlow || n.Style&yaml.FlowStyle != 0
		if n.Kind == yaml.ScalarNode {
			if inFlow && n.Style == 0 && n.Line > 0 && n.Tag == "!!str" && plainInFlow(n.Value) {
				plain[n.Value]++
			} else {
				other[n.Value] = true
			}
		}
		for _, c := range n.Content {
			walk(c, inFlow)
		}
	}
	walk(n, false)
	for v, count := range plain {
		quoted := []byte("'" + v + "'")
		if other[v] || bytes.Count(out, quoted) != count {
			continue
		}
		out = bytes.ReplaceAll(out, quoted, []byte(v))
	}
	return out
}

// plainInFlow reports whether a string that resolved as a string when
// written plain can be written plain inside a flow collection: a colon
// only when a non-space follows it, no flow indicators, comments, quotes
// or indicators in front ("-", "?" and ":" only before a non-space).
func plainInFlow(v string) bool {
	if v == "" || !strings.Contains(v, ":") || strings.TrimSpace(v) != v ||
		strings.ContainsAny(v, ",[]{}#'\"\n\r\t") || strings.Contains(v, ": ") || strings.HasSuffix(v, ":") ||
		strings.IndexByte("&*!|>%@`", v[0]) >= 0 {
		return false
	}
	// "-", "?" and ":" start a plain scalar when a non-space follows
	return strings.IndexByte("-?:", v[0]) < 0 || (len(v) > 1 && v[1] != ' ')
}
