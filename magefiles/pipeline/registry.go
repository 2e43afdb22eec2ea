package pipeline

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	"github.com/shiplane/shiplane/magefiles/goal"
	"github.com/shiplane/shiplane/magefiles/progress"
)

// Factory makes the goal for one entry of a kind. It validates the entry (returning
// spec.Invalid for a problem the file's author must fix) and must not start any work: the goal
// does its work in Achieve. A check's Assess (see Kind.Effectful) may report it achieved or
// missing as it likes: until Achieve has succeeded in this process the pipeline reports it
// missing. An effectful goal's Assess reports whether its effect holds, and when not, what is
// missing (State.Detail). Either may report a skip. When spec.Validating is true, the goal is
// only made to validate the entry and is never run.
type Factory func(spec Spec) (goal.Goal, error)

// Spec is one entry, with every reference resolved, as a Factory receives it.
type Spec struct {
	// Name is the entry's name, unique in the file; the goal is reported under it.
	Name string
	// Section is the entry's section: SectionVerify, SectionPublish or SectionAfterPublish.
	Section string
	// Optional and Effectful are the entry's optional: and effectful:, or the kind's defaults.
	Optional, Effectful bool
	// Validating is true when the pipeline is loaded only to validate it (ValidateOnly): no
	// reference is resolved, so Run, Env and With hold the values as written (a reference as
	// its text, ${sh!…}; a PGP message as "(encrypted)"); check their form, not their values.
	Validating bool
	// Services is what the caller gave Load (WithServices) for its own kinds to act with, or nil.
	Services any
	// Kind is the entry's kind ("shell").
	Kind string
	// Run is the run: script as a shell runs it, or "" when the entry has none. Its references are
	// not pasted in: each is an expansion of an environment variable (SHIPLANE_VALUE_1, …; see
	// ValuePrefix) that Environ sets to the resolved value, so run Run with Environ.
	Run string
	// Env is the resolved env: mapping (only what the file sets; see Environ).
	Env map[string]string
	// With is the resolved with: mapping of kind-specific parameters.
	With map[string]string
	// Root is the absolute repository root; commands run there.
	Root string
	// File and Line locate the entry in the release file.
	File string
	Line int

	environ  []string // the pipeline's, without credentials
	iso      *isolation
	values   []string  // "SHIPLANE_VALUE_<n>=value", for Run
	runBlank bool      // Run, resolved, would be only white space
	progress io.Writer // serialised
	red      *Redactor
	keyLines map[string]int
}

// Environ returns the environment a command of this goal runs with: the pipeline's environment
// (see WithEnviron) without publishing credentials, with Env laid over it, and the values Run
// refers to. Left out are GITHUB_TOKEN, GH_TOKEN, registry passwords, every variable whose name
// looks secret, SSH_AUTH_SOCK and what points at other credentials (DOCKER_AUTH_CONFIG,
// REGISTRY_AUTH_FILE); DOCKER_CONFIG is an empty directory made when the goal's Achieve starts
// and removed when it returns, and HELM_REGISTRY_CONFIG a file in another (outside Achieve both
// name os.DevNull). A goal that needs one of them sets it in its env:, e.g.
// GITHUB_TOKEN: env!GITHUB_TOKEN.
func (s Spec) Environ() []string {
	keys := make([]string, 0, len(s.Env))
	for k := range s.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var layer []string
	if s.iso != nil {
		layer = s.iso.environ()
	}
	for _, k := range keys {
		layer = append(layer, k+"="+s.Env[k])
	}
	return overlay(s.environ, append(layer, s.values...))
}

// overlay returns base with over laid on it: one entry per key, the last one given.
func overlay(base, over []string) []string {
	all := append(append([]string(nil), base...), over...)
	last := make(map[string]int, len(all))
	for i, kv := range all {
		k, _, _ := strings.Cut(kv, "=")
		last[k] = i
	}
	out := make([]string, 0, len(last))
	for i, kv := range all {
		if k, _, _ := strings.Cut(kv, "="); last[k] == i {
			out = append(out, kv)
		}
	}
	return out
}

// Output returns a fresh writer for the goal's human output: every line is prefixed with
// "<name> | ", secrets are masked, and lines from concurrent goals never interleave. Flush it when
// the output ends.
func (s Spec) Output() *RedactWriter {
	return s.red.Writer(progress.Prefix(s.progress, s.Name+" | "))
}

// Redactor returns the pipeline's secret set, for masking anything else the goal shows.
func (s Spec) Redactor() *Redactor { return s.red }

// Invalid returns the error a Factory returns for a problem in the entry: it is reported as an
// *Error at the line of key (or of the entry when key is "" or absent) with the fix.
func (s Spec) Invalid(key, problem, fix string) error {
	line := s.Line
	if l, ok := s.keyLines[key]; ok {
		line = l
	}
	return &Error{File: s.File, Line: line, Goal: s.Name, Problem: problem, Fix: fix, red: s.red}
}

// ErrKindRegistered is returned by Register for a kind that already has a factory.
var ErrKindRegistered = errors.New("kind is already registered")

// ErrInvalidKind is returned by Register for an invalid kind name or a nil factory.
var ErrInvalidKind = errors.New("invalid kind")

// Kind is a registered goal kind: its factory and the defaults of its entries.
type Kind struct {
	// New makes the goal of one entry. Required.
	New Factory
	// Effectful is true when the kind's goals change the world and can tell, by assessing it,
	// that their effect already holds (a notification recorded as sent): such a goal may be
	// "already achieved" and is then not achieved again. False (the default) makes its goals
	// checks: they run in every release, never "already achieved"; an entry may not set
	// effectful: true then. An entry of an effectful kind may set effectful: false.
	Effectful bool
	// Optional is the default of the entries' optional: (default false): a failed optional goal
	// is reported "failed (optional: <reason>)", fails nothing and blocks nothing.
	Optional bool
}

var registry = struct {
	sync.RWMutex
	kinds map[string]Kind
}{kinds: map[string]Kind{KindShell: {New: newShellGoal}}}

// Register adds a goal kind whose goals are checks and required by default:
// RegisterKind(kind, Kind{New: f}).
func Register(kind string, f Factory) error { return RegisterKind(kind, Kind{New: f}) }

// RegisterKind adds a goal kind: entries with kind: <kind>, in any section, are made by k.New.
// Kind names are lower-case letters, digits and "-", starting with a letter. A kind can be
// registered once (the built-in "shell" included); registering it again returns
// ErrKindRegistered. Kinds are usually registered from an init function or TestMain, before Load.
func RegisterKind(kind string, k Kind) error {
	if k.New == nil || !validKind(kind) {
		return fmt.Errorf("registering goal kind %q: %w (names are lower-case letters, digits and -, and the factory must not be nil)", kind, ErrInvalidKind)
	}
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.kinds[kind]; dup {
		return fmt.Errorf("registering goal kind %q: %w", kind, ErrKindRegistered)
	}
	registry.kinds[kind] = k
	return nil
}

// Kinds returns the registered kind names, sorted.
func Kinds() []string {
	registry.RLock()
	defer registry.RUnlock()
	out := make([]string, 0, len(registry.kinds))
	for k := range registry.kinds {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func kind(name string) (Kind, bool) {
	registry.RLock()
	defer registry.RUnlock()
	k, ok := registry.kinds[name]
	return k, ok
}

func validKind(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || i > 0 && (isDigit(c) || c == '-')) {
			return false
		}
	}
	return s != ""
}
