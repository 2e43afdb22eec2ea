package diag

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	yaml4 "go.yaml.in/yaml/v4"
)

// Syntax is YAML the parser refused, said so that it points at the mistake: the line to correct,
// what is wrong there and what was expected.
type Syntax struct {
	// Line is the 1-based line to correct (0 when the parser named none); Column the 1-based
	// column there (0 when unknown).
	Line, Column int
	// Problem starts with "not valid YAML: " and says what is wrong at Line.
	Problem string
	// Fix says what to write instead.
	Fix string
}

// The parser's own problem and context texts (libyaml's, as yaml.v3 and v4 both report them): the
// parser classifies its errors by these strings and nothing else.
const (
	yamlNoKey         = "did not find expected key"
	yamlNoDash        = "did not find expected '-' indicator"
	yamlNoColon       = "could not find expected ':'"
	yamlValueHere     = "mapping values are not allowed in this context"
	yamlSeqHere       = "block sequence entries are not allowed in this context"
	yamlEndOfStream   = "found unexpected end of stream"
	yamlFlowSeqEnd    = "did not find expected ',' or ']'"
	yamlFlowMapEnd    = "did not find expected ',' or '}'"
	yamlQuotedContext = "while scanning a quoted scalar"
)

// SyntaxOf explains err, the error yaml.v3 returned for data, at the parser's own positions. yaml.v3
// reports a parser error at the line before the construct it was reading, not at the mistake; so
// data is parsed once more with yaml v4, whose errors carry the problem's line and column and the
// construct's (the same parser), and the problem is described from those and from the nearest
// key above. An error v4 does not position keeps v3's line and message.
func SyntaxOf(data []byte, err error) Syntax {
	var le *yaml4.LoadError
	var probe yaml4.Node
	if perr := yaml4.Unmarshal(data, &probe); errors.As(perr, &le) && le.Mark.Line > 0 {
		return explain(splitLines(data), le)
	}
	s := Syntax{Problem: YAMLProblem(err), Fix: "correct the YAML syntax"}
	if m := v3Line.FindStringSubmatch(err.Error()); m != nil {
		s.Line, _ = strconv.Atoi(m[1])
	}
	return s
}

var v3Line = regexp.MustCompile(`^yaml: line (\d+):`)

func splitLines(data []byte) []string {
	return strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
}

// text is one line of the file, with the helpers that describe it.
type text struct {
	lines []string
}

func (t text) line(n int) string {
	if n < 1 || n > len(t.lines) {
		return ""
	}
	return t.lines[n-1]
}

// at is the character at line n, column c (1-based), or 0.
func (t text) at(n, c int) byte {
	l := t.line(n)
	if c < 1 || c > len(l) {
		return 0
	}
	return l[c-1]
}

// indent is the column of line n's first character that is not a space or a tab.
func (t text) indent(n int) int {
	l := t.line(n)
	return len(l) - len(strings.TrimLeft(l, " \t")) + 1
}

// blank reports a line with nothing but spaces, tabs or a comment.
func (t text) blank(n int) bool {
	s := strings.TrimSpace(t.line(n))
	return s == "" || strings.HasPrefix(s, "#")
}

// keyOf returns the key written on line n ("paths" for "  - paths: [a]") and its column, or ""
// when the line holds no key.
func (t text) keyOf(n int) (string, int) {
	l := t.line(n)
	col := t.indent(n)
	rest := l[col-1:]
	for strings.HasPrefix(rest, "- ") {
		rest = strings.TrimLeft(rest[1:], " ")
		col = len(l) - len(rest) + 1
	}
	k, _, ok := strings.Cut(rest, ":")
	if !ok || k == "" || strings.ContainsAny(k, " \t\"'[]{},#") {
		return "", 0
	}
	return k, col
}

// keyAbove finds the nearest key above line n, at or after line from, whose column is col (any
// column when col is 0): its name and line, or "" and 0.
func (t text) keyAbove(n, from, col int) (string, int) {
	for l := n - 1; l >= max(from, 1); l-- {
		if t.blank(l) {
			continue
		}
		if k, c := t.keyOf(l); k != "" && (col == 0 || c == col) {
			return k, l
		}
	}
	return "", 0
}

// token is what starts at line n, column c: "name:" for a key, "-" for a list entry, else the
// first word or character.
func (t text) token(n, c int) string {
	l := t.line(n)
	if c < 1 || c > len(l) {
		return ""
	}
	rest := l[c-1:]
	if strings.HasPrefix(rest, "-") {
		return "-"
	}
	if k, _, ok := strings.Cut(rest, ":"); ok && k != "" && !strings.ContainsAny(k, " \t\"'[]{},#") {
		return k + ":"
	}
	if i := strings.IndexAny(rest, " \t"); i > 0 {
		return rest[:i]
	}
	return rest
}

func explain(lines []string, le *yaml4.LoadError) Syntax {
	t := text{lines}
	line, col := le.Mark.Line, le.Mark.Column
	ctx := le.ContextMark
	s := Syntax{Line: line, Column: col}
	// A tab where the parser stopped, or in the indentation of that line: YAML indents with
	// spaces only.
	if tl := tabLine(t, line, col); tl > 0 {
		s.Line, s.Column = tl, strings.IndexByte(t.line(tl), '\t')+1
		s.Problem = fmt.Sprintf("not valid YAML: a tab indents line %d (column %d); YAML indents with spaces only", tl, s.Column)
		s.Fix = "replace the tab with spaces"
		if k, at := t.keyAbove(tl, 1, 0); k != "" {
			_, c := t.keyOf(at)
			s.Fix += fmt.Sprintf(" (%s: on line %d is at column %d)", k, at, c)
		}
		return s
	}
	atEnd := strings.TrimSpace(strings.Join(t.lines[min(line-1, len(t.lines)):], "\n")) == ""
	switch {
	case atEnd && le.ContextMsg != yamlQuotedContext && unclosedFlow(t).line > 0:
		o := unclosedFlow(t)
		end, what := "]", "list"
		if o.ch == '{' {
			end, what = "}", "mapping"
		}
		s.Line, s.Column = o.line, o.col
		s.Problem = fmt.Sprintf("not valid YAML: the file ends inside the %s opened with %c at line %d, column %d", what, o.ch, o.line, o.col)
		s.Fix = fmt.Sprintf("close it with %s", end)
	case le.ContextMsg == yamlQuotedContext:
		q := string(t.at(ctx.Line, ctx.Column))
		s.Line, s.Column = ctx.Line, ctx.Column
		s.Problem = fmt.Sprintf("not valid YAML: the quoted value that starts with %s at line %d, column %d is never closed", q, ctx.Line, ctx.Column)
		s.Fix = fmt.Sprintf("end the value with %s on line %d, or remove the opening %s", q, ctx.Line, q)
	case le.Message == yamlFlowSeqEnd || le.Message == yamlFlowMapEnd:
		open, end, what := "[", "]", "list"
		if le.Message == yamlFlowMapEnd {
			open, end, what = "{", "}", "mapping"
		}
		if ctx.Line > 0 {
			s.Line, s.Column = ctx.Line, ctx.Column
		}
		s.Problem = fmt.Sprintf("not valid YAML: the %s opened with %s at line %d, column %d is not closed: expected \",\" or %q at line %d, column %d", what, open, s.Line, s.Column, end, line, col)
		s.Fix = fmt.Sprintf("close it with %s on line %d (items are separated by commas)", end, s.Line)
	case le.Message == yamlNoColon:
		if ctx.Line > 0 {
			s.Line, s.Column = ctx.Line, ctx.Column
		}
		written := strings.TrimSpace(t.line(s.Line))
		s.Problem = fmt.Sprintf("not valid YAML: %q has no \":\" after its key", written)
		s.Fix = "write key: value"
		if k, v, ok := strings.Cut(strings.TrimPrefix(written, "- "), " "); ok {
			s.Fix = fmt.Sprintf("write %s: %s", k, strings.TrimSpace(v))
		}
	case le.Message == yamlValueHere && missingColonAbove(t, line) > 0:
		above := missingColonAbove(t, line)
		written := strings.TrimSpace(t.line(above))
		s.Line, s.Column = above, t.indent(above)
		s.Problem = fmt.Sprintf("not valid YAML: %q has no \":\", so line %d reads as more of its text", written, line)
		s.Fix = fmt.Sprintf("write %s:", written)
	case le.Message == yamlValueHere && continued(t, line) > 0:
		above := continued(t, line)
		k, _ := t.keyOf(line)
		ak, ac := t.keyOf(above)
		s.Column = t.indent(line)
		s.Problem = fmt.Sprintf("not valid YAML: %s: is indented further (column %d) than %s: on line %d (column %d), so it reads as more of %s:'s value, where a key is not allowed", k, s.Column, ak, above, ac, ak)
		s.Fix = fmt.Sprintf("move %s: left to column %d, to align with %s: (line %d)", k, ac, ak, above)
	case le.Message == yamlValueHere:
		k, _ := t.keyOf(line)
		s.Problem = fmt.Sprintf("not valid YAML: a second \": \" at column %d", col)
		s.Fix = "quote the value if it holds \": \" (key: \"a: b\"), or put the key on its own line"
		if k != "" {
			s.Fix = fmt.Sprintf("quote the value of %s: if it holds \": \" (%s: \"a: b\"), or put the second key on its own line", k, k)
		}
	case (le.Message == yamlNoKey || le.Message == yamlNoDash || le.Message == yamlSeqHere) && col == t.indent(line):
		s.Problem, s.Fix = misaligned(t, le)
	case le.Message == yamlNoKey || le.Message == yamlNoDash:
		tok := t.token(line, col)
		s.Problem = fmt.Sprintf("not valid YAML: unexpected %q at column %d (%s)", tok, col, le.Message)
		s.Fix = fmt.Sprintf("remove %s, or quote the value it is part of", tok)
	case le.Message == yamlEndOfStream && ctx.Line > 0:
		s.Line, s.Column = ctx.Line, ctx.Column
		s.Problem = fmt.Sprintf("not valid YAML: the file ends %s that starts at line %d, column %d", strings.TrimPrefix(le.ContextMsg, "while scanning "), ctx.Line, ctx.Column)
		s.Fix = "complete it"
	default:
		s.Problem = "not valid YAML: " + le.Message
		if ctx.Line > 0 {
			s.Problem += fmt.Sprintf(" (%s that starts at line %d, column %d)", strings.TrimPrefix(strings.TrimPrefix(le.ContextMsg, "while scanning "), "while parsing "), ctx.Line, ctx.Column)
		}
		s.Problem += fmt.Sprintf(" at column %d", col)
		s.Fix = "correct the YAML syntax at that column (quote a value that holds YAML punctuation)"
	}
	return s
}

type opener struct {
	line, col int
	ch        byte
}

// unclosedFlow returns the first "[" or "{" the file never closes (outside quotes and comments),
// or a zero opener.
func unclosedFlow(t text) opener {
	var stack []opener
	for n, l := range t.lines {
		var quote byte
		for i := 0; i < len(l); i++ {
			c := l[i]
			switch {
			case quote != 0:
				if c == quote {
					quote = 0
				}
			case c == '"' || c == '\'':
				if i == 0 || strings.ContainsRune(" \t[{,:", rune(l[i-1])) {
					quote = c
				}
			case c == '#' && (i == 0 || l[i-1] == ' ' || l[i-1] == '\t'):
				i = len(l)
			case c == '[' || c == '{':
				stack = append(stack, opener{n + 1, i + 1, c})
			case (c == ']' || c == '}') && len(stack) > 0:
				stack = stack[:len(stack)-1]
			}
		}
	}
	if len(stack) == 0 {
		return opener{}
	}
	return stack[0]
}

// tabLine returns the line whose indentation holds the tab the parser stopped at (line, col), or 0.
func tabLine(t text, line, col int) int {
	if t.at(line, col) == '\t' || strings.Contains(t.line(line)[:t.indent(line)-1], "\t") {
		return line
	}
	return 0
}

// continued returns the line above line whose key has a value on its own line, when line is a
// key indented further than it (so the parser read line as more of that value), or 0.
func continued(t text, line int) int {
	k, kc := t.keyOf(line)
	if k == "" || kc != t.indent(line) {
		return 0
	}
	for l := line - 1; l >= 1; l-- {
		if t.blank(l) {
			continue
		}
		ak, ac := t.keyOf(l)
		if ak == "" || ac >= kc {
			return 0
		}
		_, v, _ := strings.Cut(t.line(l)[ac-1:], ":")
		if v = strings.TrimSpace(v); v == "" || strings.HasPrefix(v, "#") || v == "|" || v == ">" {
			return 0
		}
		return l
	}
	return 0
}

// missingColonAbove returns the line above line that holds a lone word without ":" (a key whose
// colon is missing, which makes the next line a continuation of its text), or 0.
func missingColonAbove(t text, line int) int {
	for l := line - 1; l >= 1; l-- {
		if t.blank(l) {
			continue
		}
		s := strings.TrimSpace(t.line(l))
		if !strings.Contains(s, ":") && !strings.HasPrefix(s, "-") && !strings.ContainsAny(s, " \t\"'[]{}") {
			return l
		}
		return 0
	}
	return 0
}

// misaligned describes a line indented so that it fits none of the mappings and lists above it:
// the key or "-" it starts with, and the column it should start at, named by what is there above
// it. The parser's context (the mapping or list it was reading) gives the column it expected; the
// nearest key above, when its column is another, is the other likely intent.
func misaligned(t text, le *yaml4.LoadError) (problem, fix string) {
	line, col := le.Mark.Line, le.Mark.Column
	tok := t.token(line, col)
	ctx := le.ContextMark
	type place struct {
		col  int
		with string
	}
	var places []place
	if tok == "-" {
		// A list entry lines up with the "-" of the entry above.
		for l := line - 1; l >= 1; l-- {
			if !t.blank(l) && strings.HasPrefix(strings.TrimSpace(t.line(l)), "-") {
				places = append(places, place{t.indent(l), fmt.Sprintf(`the "-" on line %d`, l)})
				break
			}
		}
	} else {
		target := ctx.Column // a block mapping's keys, or a block list's "-"
		if le.Message == yamlNoDash {
			// A key inside a list entry: the entry's keys start after its "- ".
			if _, kc := t.keyOf(ctx.Line); kc > ctx.Column && col > ctx.Column {
				target = kc
			}
		}
		if ctx.Line > 0 && target > 0 {
			if k, at := t.keyAbove(line, ctx.Line, target); k != "" {
				places = append(places, place{target, fmt.Sprintf("%s: (line %d)", k, at)})
			}
		}
		if k, at := t.keyAbove(line, 1, 0); k != "" {
			if _, kc := t.keyOf(at); len(places) == 0 || kc != places[0].col {
				near := place{kc, fmt.Sprintf("%s: (line %d)", k, at)}
				// The nearest key above first: the likelier intent.
				places = append([]place{near}, places...)
			}
		}
	}
	if len(places) == 0 {
		return fmt.Sprintf("not valid YAML: %s at column %d does not line up with what is above it (%s)", tok, col, le.Message),
			"indent it as the key it belongs with"
	}
	var exp, moves []string
	for _, p := range places {
		exp = append(exp, fmt.Sprintf("column %d, as %s", p.col, p.with))
		dir := "left"
		if col < p.col {
			dir = "right"
		}
		moves = append(moves, fmt.Sprintf("%s to column %d, to align with %s", dir, p.col, p.with))
	}
	what := "a key"
	if tok == "-" {
		tok, what = `"-"`, `a "-"`
	}
	problem = fmt.Sprintf("not valid YAML: %s is at column %d, where the lines above it expect %s at %s", tok, col, what, strings.Join(exp, ", or at "))
	fix = fmt.Sprintf("move %s %s", tok, strings.Join(moves, ", or "))
	return problem, fix
}
