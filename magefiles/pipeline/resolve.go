package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"

	"github.com/shiplane/shiplane/magefiles/redact"
)

// resolver turns templates into values: it reads the environment, runs sh! commands and gpg,
// and resolves each var once.
type resolver struct {
	ctx     context.Context
	file    string
	root    string
	environ []string
	env     map[string]string
	red     *Redactor
	shell   []string
	vars    map[string]*varDef
	cache   map[string]*resolved
	// validateOnly: sh! commands and gpg are not run (ValidateOnly).
	validateOnly bool
}

type resolved struct {
	v    value
	err  *Error
	busy bool
}

// value is a resolved string; secret is true when it holds a registered secret (a decrypted
// message, a secret-looking variable, or a var built from one).
type value struct {
	s      string
	secret bool
}

func (r *resolver) fail(line int, goalName, varName, problem, fix string, cause error) *Error {
	return &Error{File: r.file, Line: line, Goal: goalName, Var: varName, Problem: problem, Fix: fix, Err: cause, red: r.red}
}

func (r *resolver) template(t *template, goalName, varName string) (value, *Error) {
	if t.pgp != "" {
		return r.decrypt(t, goalName, varName)
	}
	return r.expr(t.expr, goalName, varName)
}

func (r *resolver) expr(e expr, goalName, varName string) (value, *Error) {
	var b strings.Builder
	secret := false
	for _, p := range e {
		if p.ref == nil {
			b.WriteString(p.lit)
			continue
		}
		v, err := r.ref(p.ref, goalName, varName)
		if err != nil {
			return value{}, err
		}
		b.WriteString(v.s)
		secret = secret || v.secret
	}
	return value{s: b.String(), secret: secret}, nil
}

// ref resolves a reference; a declared secret is registered before it is returned.
func (r *resolver) ref(rf *ref, goalName, varName string) (value, *Error) {
	v, err := r.source(rf, goalName, varName)
	if err == nil && rf.secret {
		r.red.Add(v.s)
		v.secret = v.secret || v.s != ""
	}
	return v, err
}

func (r *resolver) source(rf *ref, goalName, varName string) (value, *Error) {
	switch rf.src {
	case srcEnv:
		s, ok := r.env[rf.name]
		if !ok {
			if r.validateOnly && rf.secret {
				// A declared secret is the CI's to give: checking a file on a laptop does not
				// need it.
				return value{secret: true}, nil
			}
			if !rf.optional {
				return value{}, r.fail(rf.line, goalName, varName, fmt.Sprintf("environment variable %s is not set (%s)", rf.name, rf.text),
					fmt.Sprintf("set it, or write env!%s? (empty when unset) or env!%s?default", rf.name, rf.name), nil)
			}
			return r.expr(rf.def, goalName, varName)
		}
		secret := false
		if redact.LooksSecret(rf.name) {
			r.red.AddGuessed(s)
			secret = r.red.Has(s)
		}
		return value{s: s, secret: secret}, nil
	case srcVar:
		return r.variable(rf.name)
	case srcSh:
		values, _, err := r.script(rf.script, goalName, varName)
		if err != nil {
			return value{}, err
		}
		if r.validateOnly {
			return value{}, nil // its own references were resolved above
		}
		argv := append(append([]string(nil), r.shell...), rf.script.text)
		environ := overlay(r.environ, values)
		out, cerr := output(r.ctx, argv, nil, r.root, environ, rf.body, r.red)
		if cerr != nil {
			return value{}, r.fail(rf.line, goalName, varName, "sh! reference failed",
				"run the command in the repository root to see why it fails, then correct it", cerr)
		}
		return value{s: out}, nil
	}
	return value{}, r.fail(rf.line, goalName, varName, "unknown reference source "+rf.src, "", nil)
}

// script resolves the references of a shell script: the environment entries ("SHIPLANE_VALUE_1=…")
// that carry their values, and whether the script, resolved, would be only white space.
func (r *resolver) script(s *shellScript, goalName, varName string) ([]string, bool, *Error) {
	blank := s.blank
	values := make([]string, 0, len(s.refs))
	for i, rf := range s.refs {
		v, err := r.ref(rf, goalName, varName)
		if err != nil {
			return nil, false, err
		}
		values = append(values, valueVar(i+1)+"="+v.s)
		blank = blank && strings.TrimSpace(v.s) == ""
	}
	return values, blank, nil
}

// variable resolves a var once; its error, if any, is reported once, at the var.
func (r *resolver) variable(name string) (value, *Error) {
	if c := r.cache[name]; c != nil {
		if c.busy { // Load checks for cycles first; this only guards the recursion.
			return value{}, r.fail(r.vars[name].line, "", name, "var refers to itself", "make it a plain value", nil)
		}
		return c.v, c.err
	}
	c := &resolved{busy: true}
	r.cache[name] = c
	def := r.vars[name]
	v, err := r.template(def.t, "", name)
	if err == nil && (v.secret || redact.LooksSecret(name)) {
		r.red.AddGuessed(v.s)
		v.secret = v.secret || r.red.Has(v.s)
	}
	c.v, c.err, c.busy = v, err, false
	return v, err
}

// gpgDecrypt is the command that decrypts an armored message given on stdin.
var gpgDecrypt = []string{"gpg", "--batch", "--quiet", "--decrypt"}

// decrypt runs gpg on an armored message; the plaintext (trailing newlines removed) is a secret,
// registered before it is returned.
func (r *resolver) decrypt(t *template, goalName, varName string) (value, *Error) {
	if r.validateOnly {
		return value{}, nil
	}
	out, err := output(r.ctx, gpgDecrypt, strings.NewReader(t.pgp), r.root, r.environ, strings.Join(gpgDecrypt, " "), r.red)
	if err != nil {
		fix := "check that gpg has the secret key the message was encrypted to (GNUPGHOME selects the keyring) and can use it without a prompt"
		if errors.Is(err, exec.ErrNotFound) {
			fix = "install GnuPG (Debian: apt-get install gnupg)"
		}
		return value{}, r.fail(t.line, goalName, varName, "decrypting the PGP message", fix, err)
	}
	r.red.Add(out)
	return value{s: out, secret: out != ""}, nil
}
