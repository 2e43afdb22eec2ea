package pipeline

import (
	"fmt"
	"slices"
	"strings"

	"github.com/shiplane/shiplane/magefiles/diag"
)

// The reference sources. secret! is not a source of its own: it declares the value of the
// reference after it (secret!env!NAME, secret!sh!command, secret!var!name) a secret.
const (
	srcEnv    = "env"
	srcSh     = "sh"
	srcVar    = "var"
	srcSecret = "secret"
)

var (
	sources      = []string{srcEnv, srcSecret, srcSh, srcVar}
	valueSources = []string{srcEnv, srcSh, srcVar}
)

// pgpHeader starts an ASCII-armored PGP message.
const pgpHeader = "-----BEGIN PGP MESSAGE-----"

// expr is a string with references: literal text and references, concatenated.
type expr []piece

type piece struct {
	lit string
	ref *ref
}

// ref is one reference: env!NAME[?default], sh!command or var!name, maybe declared secret.
type ref struct {
	src  string
	name string // env and var
	// secret is true for a reference written secret!<src>!…: its value is a secret.
	secret bool
	// optional is true for env!NAME? and env!NAME?default; def is the default.
	optional bool
	def      expr
	cmd      expr // sh
	// script is cmd as the shell runs it, with its references taken out; body is the command as
	// written (errors show it).
	script *shellScript
	body   string
	text   string
	line   int
}

// template is a value from the file: an expression, or an armored PGP message to decrypt.
type template struct {
	expr expr
	pgp  string
	line int
}

// refs calls f for every reference in e, including those nested in sh! commands and defaults.
func (e expr) refs(f func(*ref)) {
	for _, p := range e {
		if p.ref == nil {
			continue
		}
		f(p.ref)
		p.ref.def.refs(f)
		p.ref.cmd.refs(f)
	}
}

func (t *template) refs(f func(*ref)) {
	if t != nil {
		t.expr.refs(f)
	}
}

// exprParser parses the strings of one YAML scalar; lineAt maps a byte offset to a file line.
type exprParser struct {
	s      string
	lineAt func(off int) int
	errs   []refError
}

type refError struct {
	line         int
	problem, fix string
}

func (p *exprParser) fail(off int, problem, fix string) {
	p.errs = append(p.errs, refError{p.lineAt(off), problem, fix})
}

// parseValue parses a value in value position: an armored PGP message, a whole-value reference
// (env!NAME, sh!cmd, var!name — as if wrapped in ${…}), or a string with ${…} references.
func (p *exprParser) parseValue() *template {
	if strings.HasPrefix(strings.TrimSpace(p.s), pgpHeader) {
		return &template{pgp: p.s, line: p.lineAt(0)}
	}
	if src := refSource(p.s, 0); src != "" && slices.Contains(sources, src) {
		r := p.parseRef(0, len(p.s), p.s)
		if r == nil {
			return nil
		}
		return &template{expr: expr{{ref: r}}, line: p.lineAt(0)}
	}
	return p.parseString()
}

// parseString parses a string with ${…} references only (a run: script).
func (p *exprParser) parseString() *template {
	e, ok := p.interp(0, len(p.s))
	if !ok {
		return nil
	}
	return &template{expr: e, line: p.lineAt(0)}
}

// refSource returns the identifier at s[i:] when it is followed by "!", else "".
func refSource(s string, i int) string {
	j := i
	for j < len(s) && (isLetter(s[j]) || j > i && isDigit(s[j])) {
		j++
	}
	if j > i && j < len(s) && s[j] == '!' {
		return s[i:j]
	}
	return ""
}

// interp parses s[start:end] as literal text with ${src!…} references. "$${src!" writes a
// literal "${src!". Any other "$" is literal, so the shell's own ${HOME} and $(cmd) pass through.
func (p *exprParser) interp(start, end int) (expr, bool) {
	var out expr
	var lit strings.Builder
	ok := true
	flush := func() {
		if lit.Len() > 0 {
			out = append(out, piece{lit: lit.String()})
			lit.Reset()
		}
	}
	s := p.s[:end]
	for i := start; i < end; {
		if strings.HasPrefix(s[i:], "$${") && refSource(s, i+3) != "" {
			lit.WriteString("${")
			i += 3
			continue
		}
		if strings.HasPrefix(s[i:], "${") && refSource(s, i+2) != "" {
			close := matchBrace(s, i+2)
			if close < 0 {
				p.fail(i, fmt.Sprintf("unterminated reference %q", abbreviate(s[i:])), "close it with } (braces inside a reference must balance)")
				return nil, false
			}
			r := p.parseRef(i+2, close, s[i:close+1])
			if r == nil {
				ok = false
			} else {
				flush()
				out = append(out, piece{ref: r})
			}
			i = close + 1
			continue
		}
		lit.WriteByte(s[i])
		i++
	}
	flush()
	return out, ok
}

// matchBrace returns the index of the "}" closing a "${" whose body starts at i, or -1.
func matchBrace(s string, i int) int {
	depth := 1
	for ; i < len(s); i++ {
		switch s[i] {
		case '{':
			depth++
		case '}':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}

// parseRef parses the body s[start:end] ("env!NAME", "sh!cmd", …) of a reference written as text.
func (p *exprParser) parseRef(start, end int, text string) *ref {
	body := p.s[start:end]
	bang := strings.IndexByte(body, '!')
	src, rest := body[:bang], start+bang+1
	r := &ref{src: src, text: text, line: p.lineAt(start)}
	switch src {
	case srcSecret:
		if inner := refSource(p.s[:end], rest); !slices.Contains(valueSources, inner) {
			p.fail(start, fmt.Sprintf("%s: secret! must be followed by env!, sh! or var!", text),
				"write secret!env!NAME, secret!sh!command or secret!var!name (a literal secret belongs in a PGP message)")
			return nil
		}
		if r = p.parseRef(rest, end, text); r != nil {
			r.secret = true
		}
		return r
	case srcEnv:
		n := rest
		for n < end && (isLetter(p.s[n]) || n > rest && isDigit(p.s[n])) {
			n++
		}
		r.name = p.s[rest:n]
		switch {
		case r.name == "":
			p.fail(start, fmt.Sprintf("%s names no environment variable", text), "write env!NAME, env!NAME? (empty when unset) or env!NAME?default")
			return nil
		case n == end:
		case p.s[n] == '?':
			r.optional = true
			def, ok := p.interp(n+1, end)
			if !ok {
				return nil
			}
			r.def = def
		default:
			p.fail(start, fmt.Sprintf("%s: %q is not an environment variable name", text, p.s[rest:end]),
				"names are letters, digits and _; write env!NAME?default for a default")
			return nil
		}
	case srcVar:
		r.name = p.s[rest:end]
		if !validVarName(r.name) {
			p.fail(start, fmt.Sprintf("%s: %q is not a var name", text, r.name), "var names are letters, digits, _ and -, starting with a letter or _")
			return nil
		}
	case srcSh:
		if strings.TrimSpace(p.s[rest:end]) == "" {
			p.fail(start, fmt.Sprintf("%s has no command", text), "write sh!<command>")
			return nil
		}
		cmd, ok := p.interp(rest, end)
		if !ok {
			return nil
		}
		script, errs := shellForm(cmd)
		if len(errs) > 0 {
			p.errs = append(p.errs, errs...)
			return nil
		}
		r.cmd, r.script, r.body = cmd, script, p.s[rest:end]
	default:
		p.fail(start, fmt.Sprintf("%s: unknown reference source %q", text, src), diag.Suggest(src, sources))
		return nil
	}
	return r
}

func isLetter(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }

// validVarName: letters, digits, "_" and "-", starting with a letter or "_".
func validVarName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isLetter(c) && (i == 0 || !isDigit(c) && c != '-') {
			return false
		}
	}
	return s != ""
}

// validEnvName: letters, digits and "_", not starting with a digit.
func validEnvName(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isLetter(s[i]) && (i == 0 || !isDigit(s[i])) {
			return false
		}
	}
	return s != ""
}

func abbreviate(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return s
}

// text is the value as written, references as their text: what a validate-only load gives
// factories.
func (t *template) text() string {
	if t.pgp != "" {
		return "(encrypted)"
	}
	var b strings.Builder
	for _, p := range t.expr {
		if p.ref == nil {
			b.WriteString(p.lit)
		} else {
			b.WriteString(p.ref.text)
		}
	}
	return b.String()
}
