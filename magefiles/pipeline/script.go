package pipeline

import (
	"fmt"
	"strconv"
	"strings"
)

// ValuePrefix starts the names of the environment variables that carry the values a run: script
// or a sh! command refers to: SHIPLANE_VALUE_1 is its first reference, SHIPLANE_VALUE_2 the second.
const ValuePrefix = "SHIPLANE_VALUE_"

// valueVar names the variable of the n-th (1-based) reference of a script.
func valueVar(n int) string { return ValuePrefix + strconv.Itoa(n) }

// shellScript is a run: script or a sh! command with its references taken out of the text: the
// text refers to the value of refs[i] as the variable valueVar(i+1), which the command's
// environment sets. No value is ever part of the text the shell parses, nor of a command line.
type shellScript struct {
	text string
	refs []*ref
	// blank is true when the text, without its references, is only white space.
	blank bool
}

// shellForm makes the shellScript of e, the text of a shell script with references. Each reference
// becomes an expansion of its variable that fits where it stands in the shell's grammar, so the
// value arrives unchanged and is never parsed as shell:
//
//	outside quotes (also in $(…) and `…`)   ${V:+"${V}"}  one word, as if quoted; none when empty
//	in "…", an unquoted here-document, $((…))  ${V}
//	in ${…}                                  as in what encloses it
//	in '…'                                   '"${V}"'     (the quotes are closed around it)
//	in $'…'                                  '"${V}"$'
//	in a # comment                           ${V}
//
// A reference right after a backslash, in a here-document whose delimiter is quoted, or in a
// here-document's delimiter is an error: the shell would not expand it there. The lexer knows the
// shell well enough for scripts as people write them; what it misreads (a case pattern's ")"
// inside $(…)) can only make a reference expand as one word where it stands.
func shellForm(e expr) (*shellScript, []refError) {
	var src strings.Builder
	l := &lexer{refAt: map[int]int{}, stack: []frame{{kind: fCode}}}
	blank := true
	for _, p := range e {
		if p.ref == nil {
			src.WriteString(p.lit)
			blank = blank && strings.TrimSpace(p.lit) == ""
			continue
		}
		l.refAt[src.Len()] = len(l.refs)
		l.refs = append(l.refs, p.ref)
		src.WriteByte(0) // a placeholder: the lexer looks refAt up, never at the byte
	}
	l.src = src.String()
	l.run()
	return &shellScript{text: l.out.String(), refs: l.refs, blank: blank}, l.errs
}

type frameKind int

const (
	fCode    frameKind = iota // the script itself, $(…) or `…`
	fDouble                   // "…"
	fSingle                   // '…'
	fANSI                     // $'…'
	fParam                    // ${…}
	fArith                    // $((…))
	fHeredoc                  // the body of a here-document with an unquoted delimiter
)

type frame struct {
	kind frameKind
	// closer ends a fCode frame: ')' for $(…), '`' for `…`, 0 for the script.
	closer byte
	// depth counts the open ( of fCode and fArith frames and the open { of a fParam frame.
	depth int
	// quoted is true for a fParam frame inside "…" or a here-document.
	quoted bool
	doc    *heredoc
}

type heredoc struct {
	delim  string
	strip  bool // <<-: leading tabs are removed
	quoted bool // the delimiter was quoted: the shell expands nothing in the body
}

type lexer struct {
	src   string
	refAt map[int]int // placeholder offset -> index in refs
	refs  []*ref
	i     int
	out   strings.Builder
	stack []frame
	docs  []*heredoc // here-documents whose delimiter is read and whose body has not begun
	errs  []refError
}

func (l *lexer) top() *frame { return &l.stack[len(l.stack)-1] }

func (l *lexer) push(f frame) { l.stack = append(l.stack, f) }

func (l *lexer) pop() {
	if len(l.stack) > 1 {
		l.stack = l.stack[:len(l.stack)-1]
	}
}

// peek returns the byte k after the current one, or 0 past the end or at a reference.
func (l *lexer) peek(k int) byte {
	j := l.i + k
	if j >= len(l.src) {
		return 0
	}
	if _, ok := l.refAt[j]; ok {
		return 0
	}
	return l.src[j]
}

// emit copies n bytes of the source (none of them a reference) to the output.
func (l *lexer) emit(n int) {
	n = min(n, len(l.src)-l.i)
	l.out.WriteString(l.src[l.i : l.i+n])
	l.i += n
}

func (l *lexer) ref(at int) (*ref, int, bool) {
	n, ok := l.refAt[at]
	if !ok {
		return nil, 0, false
	}
	return l.refs[n], n, true
}

func (l *lexer) fail(r *ref, problem, fix string) {
	l.errs = append(l.errs, refError{line: r.line, problem: problem, fix: fix})
}

func (l *lexer) run() {
	for l.i < len(l.src) {
		if _, n, ok := l.ref(l.i); ok {
			l.out.WriteString(expansion(valueVar(n+1), *l.top()))
			l.i++
			continue
		}
		switch l.top().kind {
		case fSingle:
			if l.src[l.i] == '\'' {
				l.pop()
			}
			l.emit(1)
		case fANSI:
			switch l.src[l.i] {
			case '\\':
				l.escape()
			case '\'':
				l.pop()
				l.emit(1)
			default:
				l.emit(1)
			}
		case fDouble, fHeredoc:
			l.double()
		case fParam:
			l.param()
		default:
			l.code()
		}
	}
}

// expansion is how a reference to the variable v is written in the frame f.
func expansion(v string, f frame) string {
	word := "${" + v + ":+\"${" + v + "}\"}"
	switch f.kind {
	case fCode:
		return word
	case fParam:
		if !f.quoted {
			return word
		}
	case fSingle:
		return `'"${` + v + `}"'`
	case fANSI:
		return `'"${` + v + `}"$'`
	}
	return "${" + v + "}"
}

// escape copies a backslash and the byte it escapes; a reference cannot be escaped.
func (l *lexer) escape() {
	l.emit(1)
	if r, _, ok := l.ref(l.i); ok {
		l.fail(r, fmt.Sprintf("a backslash before %s would stop the shell from expanding its value", r.text),
			fmt.Sprintf("remove the backslash (the value is passed as it is, never parsed as shell), or write $%s for the literal text %s", r.text, r.text))
		return
	}
	l.emit(1)
}

// dollar reads what a $ starts; unquoted is true where $'…' and $"…" are quotes.
func (l *lexer) dollar(unquoted bool) {
	switch l.peek(1) {
	case '(':
		if l.peek(2) == '(' {
			l.push(frame{kind: fArith})
			l.emit(3)
			return
		}
		l.push(frame{kind: fCode, closer: ')'})
		l.emit(2)
	case '{':
		t := l.top()
		quoted := t.kind == fDouble || t.kind == fHeredoc || t.kind == fArith || t.kind == fParam && t.quoted
		l.push(frame{kind: fParam, depth: 1, quoted: quoted})
		l.emit(2)
	case '\'':
		if !unquoted {
			l.emit(1)
			return
		}
		l.push(frame{kind: fANSI})
		l.emit(2)
	case '"':
		if !unquoted {
			l.emit(1)
			return
		}
		l.push(frame{kind: fDouble})
		l.emit(2)
	default:
		l.emit(1)
	}
}

// code reads one element of a fCode or fArith frame.
func (l *lexer) code() {
	f := l.top()
	c := l.src[l.i]
	switch {
	case c == '\\':
		l.escape()
	case c == '\'':
		l.push(frame{kind: fSingle})
		l.emit(1)
	case c == '"':
		l.push(frame{kind: fDouble})
		l.emit(1)
	case c == '`':
		if f.kind == fCode && f.closer == '`' {
			l.pop()
		} else {
			l.push(frame{kind: fCode, closer: '`'})
		}
		l.emit(1)
	case c == '$':
		l.dollar(true)
	case c == '(':
		f.depth++
		l.emit(1)
	case c == ')':
		switch {
		case f.depth > 0:
			f.depth--
		case f.kind == fArith:
			l.pop()
			if l.peek(1) == ')' {
				l.emit(1)
			}
		case f.closer == ')':
			l.pop()
		}
		l.emit(1)
	case f.kind == fArith:
		l.emit(1)
	case c == '#' && l.wordStart():
		l.comment()
	case c == '<' && l.peek(1) == '<':
		l.hereOperator()
	case c == '\n':
		l.emit(1)
		l.startDocs()
	default:
		l.emit(1)
	}
}

// double reads one element of "…" or of an unquoted here-document's body.
func (l *lexer) double() {
	f := l.top()
	switch c := l.src[l.i]; {
	case c == '\\':
		l.escape()
	case c == '"' && f.kind == fDouble:
		l.pop()
		l.emit(1)
	case c == '`':
		l.push(frame{kind: fCode, closer: '`'})
		l.emit(1)
	case c == '$':
		l.dollar(false)
	case c == '\n' && f.kind == fHeredoc:
		l.emit(1)
		l.docLine()
	default:
		l.emit(1)
	}
}

// param reads one element of ${…}.
func (l *lexer) param() {
	f := l.top()
	switch c := l.src[l.i]; c {
	case '\\':
		l.escape()
	case '{':
		f.depth++
		l.emit(1)
	case '}':
		if f.depth--; f.depth == 0 {
			l.pop()
		}
		l.emit(1)
	case '"':
		l.push(frame{kind: fDouble})
		l.emit(1)
	case '\'':
		if !f.quoted {
			l.push(frame{kind: fSingle})
		}
		l.emit(1)
	case '`':
		l.push(frame{kind: fCode, closer: '`'})
		l.emit(1)
	case '$':
		l.dollar(!f.quoted)
	default:
		l.emit(1)
	}
}

// wordStart reports whether the current byte begins a word (where # starts a comment).
func (l *lexer) wordStart() bool {
	if l.i == 0 {
		return true
	}
	if _, ok := l.refAt[l.i-1]; ok {
		return false
	}
	return strings.IndexByte(" \t\n;&|()<>", l.src[l.i-1]) >= 0
}

// comment copies a comment up to its newline.
func (l *lexer) comment() {
	for l.i < len(l.src) && l.src[l.i] != '\n' {
		l.copyByte()
	}
}

// copyByte copies one byte, or a reference as a plain ${V} where the shell does not expand it.
func (l *lexer) copyByte() {
	if _, n, ok := l.ref(l.i); ok {
		l.out.WriteString("${" + valueVar(n+1) + "}")
		l.i++
		return
	}
	l.emit(1)
}

// hereOperator reads << (and the delimiter after it, without consuming it) or <<<.
func (l *lexer) hereOperator() {
	if l.peek(2) == '<' {
		l.emit(3)
		return
	}
	d := &heredoc{}
	j := l.i + 2
	if j < len(l.src) && l.src[j] == '-' {
		d.strip = true
		j++
	}
	for j < len(l.src) && (l.src[j] == ' ' || l.src[j] == '\t') {
		j++
	}
	var delim strings.Builder
	bad := false
	take := func(j int) {
		if r, _, ok := l.ref(j); ok {
			if !bad {
				l.fail(r, fmt.Sprintf("%s is part of a here-document delimiter", r.text), "write the delimiter as plain text")
			}
			bad = true
			return
		}
		delim.WriteByte(l.src[j])
	}
	for j < len(l.src) && strings.IndexByte(" \t\n;&|<>()", l.src[j]) < 0 {
		switch q := l.src[j]; q {
		case '\\':
			d.quoted = true
			if j++; j < len(l.src) {
				take(j)
				j++
			}
		case '\'', '"':
			d.quoted = true
			for j++; j < len(l.src) && l.src[j] != q; j++ {
				take(j)
			}
			j++
		default:
			take(j)
			j++
		}
	}
	if d.delim = delim.String(); d.delim != "" && !bad {
		l.docs = append(l.docs, d)
	}
	l.emit(2)
}

// startDocs begins the bodies of the pending here-documents at the start of a line.
func (l *lexer) startDocs() {
	for len(l.docs) > 0 {
		d := l.docs[0]
		l.docs = l.docs[1:]
		if !d.quoted {
			l.push(frame{kind: fHeredoc, doc: d})
			l.docLine()
			return
		}
		for l.i < len(l.src) {
			end := l.lineEnd()
			last := l.isDelim(end, d)
			for ; l.i < end; l.i++ {
				if r, n, ok := l.ref(l.i); ok {
					l.fail(r, fmt.Sprintf("%s is in a here-document with a quoted delimiter (<<'%s'), where the shell expands nothing", r.text, d.delim),
						fmt.Sprintf("write the delimiter unquoted (<<%s) and put a backslash before the document's own $, ` and \\", d.delim))
					l.out.WriteString("${" + valueVar(n+1) + "}")
					continue
				}
				l.out.WriteByte(l.src[l.i])
			}
			l.emit(1) // the newline
			if last {
				break
			}
		}
	}
}

// docLine ends the current here-document when the line starting here is its delimiter.
func (l *lexer) docLine() {
	f := l.top()
	if f.kind != fHeredoc {
		return
	}
	end := l.lineEnd()
	if !l.isDelim(end, f.doc) {
		return
	}
	l.emit(end - l.i + 1)
	l.pop()
	l.startDocs()
}

func (l *lexer) lineEnd() int {
	if k := strings.IndexByte(l.src[l.i:], '\n'); k >= 0 {
		return l.i + k
	}
	return len(l.src)
}

// isDelim reports whether the line from the current byte to end closes d.
func (l *lexer) isDelim(end int, d *heredoc) bool {
	line := l.src[l.i:end]
	if d.strip {
		line = strings.TrimLeft(line, "\t")
	}
	if line != d.delim {
		return false
	}
	for j := l.i; j < end; j++ {
		if _, ok := l.refAt[j]; ok {
			return false
		}
	}
	return true
}
