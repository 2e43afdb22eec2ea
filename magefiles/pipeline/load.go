package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"

	"github.com/shiplane/shiplane/magefiles/diag"
	"github.com/shiplane/shiplane/magefiles/goal"
	"github.com/shiplane/shiplane/magefiles/graph"
	"github.com/shiplane/shiplane/magefiles/progress"
	"github.com/shiplane/shiplane/magefiles/redact"
)

// DefaultFile is the release file's path relative to the repository root.
const DefaultFile = "deploy/release.yaml"

// Component is the component every verify goal is reported under.
const Component = "verify"

// The sections of the release file, in the order their goals run.
const (
	SectionVerify       = "verify"
	SectionPublish      = "publish"
	SectionAfterPublish = "after_publish"
)

// Sections are the release file's goal sections in the order they run.
var Sections = []string{SectionVerify, SectionPublish, SectionAfterPublish}

// The built-in publish goals, as publish: names them, in the order they run.
const (
	BuiltinImages        = "images"
	BuiltinCharts        = "charts"
	BuiltinComponentTags = "component-tags"
	BuiltinGitHubRelease = "github-release"
)

// Builtins are the built-in publish goals in the order they run.
var Builtins = []string{BuiltinImages, BuiltinCharts, BuiltinComponentTags, BuiltinGitHubRelease}

// components are what the goals of each section are reported under.
var components = map[string]string{SectionVerify: Component, SectionPublish: "publish", SectionAfterPublish: "after-publish"}

// ComponentOf is the component the goals of section are reported under: verify, publish,
// after-publish.
func ComponentOf(section string) string { return components[section] }

// Option configures Load.
type Option func(*config)

type config struct {
	environ  []string
	progress io.Writer
	red      *Redactor
	validate bool
	services any
	defaults []Default
}

// WithEnviron sets the environment ("KEY=value" entries) that env! references read and sh!
// commands and gpg run with; a later entry for a key wins. GNUPGHOME in it selects gpg's keyring.
// Goals run with it less publishing credentials (see Spec.Environ). Default: os.Environ() when
// Load is called.
func WithEnviron(environ []string) Option {
	return func(c *config) { c.environ = append([]string(nil), environ...) }
}

// WithProgress sets where goals write their human output (masked, line-prefixed with the goal's
// name). Default: io.Discard.
func WithProgress(w io.Writer) Option {
	return func(c *config) {
		if w != nil {
			c.progress = w
		}
	}
}

// WithRedactor sets the secret set Load feeds and every output path is masked with, so the caller
// can share it with the rest of a release (and Add its own secrets, before or after Load).
// Default: a new Redactor, returned by (*Pipeline).Redactor.
func WithRedactor(r *Redactor) Option {
	return func(c *config) {
		if r != nil {
			c.red = r
		}
	}
}

// ValidateOnly loads the file to check it, not to run it: it is parsed and validated, every kind
// makes its goals from the values as written (Spec.Validating), and every env! and var! reference
// a goal uses is resolved, so an unset variable is refused as a full load refuses it (except one
// declared secret!env!, which only the CI has); but no sh!
// command runs and no PGP message is decrypted (each stands for an empty value). The goals must
// not be run. Default: off (Load resolves every reference it uses).
func ValidateOnly() Option { return func(c *config) { c.validate = true } }

// WithServices hands s to every Factory as Spec.Services: what a caller's own kinds act with (a
// release's registry and GitHub clients). Default: nil.
func WithServices(s any) Option { return func(c *config) { c.services = s } }

// Default is a goal a section has unless the file says otherwise: it is added, after the file's
// own goals, when the file has no entry of its kind in the section; an entry of that kind with
// enabled: false turns it off.
type Default struct {
	Section, Name, Kind string
}

// WithDefault adds d to the goals the file is given when it has no entry of d.Kind in
// d.Section. Default: none.
func WithDefault(d Default) Option { return func(c *config) { c.defaults = append(c.defaults, d) } }

// Pipeline is a loaded release file: its goals, ready to run, and what it lists.
type Pipeline struct {
	// File is the release file as given to Load; Root is the absolute repository root.
	File string
	Root string

	names   []string
	nodes   []*goal.Node
	entries []Entry
	stages  []Stage
	after   []*goal.Node
	red     *Redactor
}

// Entry is one goal of the file as the plan lists it.
type Entry struct {
	// Section is the goal's section; Name its name.
	Section, Name string
	// Kind is its kind, or "" for a built-in publish goal.
	Kind string
	// Builtin is true for a built-in publish goal (images, charts, …): the release makes it.
	Builtin bool
	// Optional, Effectful and Enabled are as the file sets them or as defaulted.
	Optional, Effectful, Enabled bool
	// Default is true for a goal the file does not list (see WithDefault).
	Default bool
	// After names the goals of its section it runs after.
	After []string
	// Line is its line in the file, or 0 for a default.
	Line int
}

// Stage is one element of the publish: list: a built-in (Builtin set) or a goal of the file's
// (Node set, component "publish"). A release runs each after everything before it in the list.
type Stage struct {
	Builtin string
	Node    *goal.Node
}

// Entries lists every goal of every section in run order, the built-in publish goals and the
// defaults included, disabled ones too (Enabled false): what a plan prints.
func (p *Pipeline) Entries() []Entry { return append([]Entry(nil), p.entries...) }

// PublishStages returns the publish: list in order; every built-in is in it, and when the file
// has no publish: it is the built-ins alone.
func (p *Pipeline) PublishStages() []Stage { return append([]Stage(nil), p.stages...) }

// AfterPublish returns one node per enabled after_publish goal (component "after-publish"),
// in file order, defaults last; a release runs them after everything is published.
func (p *Pipeline) AfterPublish() []*goal.Node { return append([]*goal.Node(nil), p.after...) }

// Nodes returns one node per verify goal, in file order, with component Component and After
// following the after: lists. The same nodes are returned on every call, so a caller can make its
// own goals run after them (a release makes every publish goal depend on all of them).
func (p *Pipeline) Nodes() []*goal.Node { return append([]*goal.Node(nil), p.nodes...) }

// Names returns the verify goals' names in file order.
func (p *Pipeline) Names() []string { return append([]string(nil), p.names...) }

// Redactor returns the secret set the pipeline masks its output with.
func (p *Pipeline) Redactor() *Redactor { return p.red }

// Load reads the release file at file (relative to root unless absolute), validates it, resolves
// every reference it uses (running sh! commands and gpg in root, reading the environment) and
// makes the goals. Validation problems are all reported at once as Errors of *Error, each with
// the file, the line and a fix; a reference that cannot be resolved is an *Error whose cause is a
// *CommandError for a failing command. Every secret met on the way is added to the Redactor
// before anything that could show it is returned.
func Load(ctx context.Context, root, file string, opts ...Option) (*Pipeline, error) {
	cfg := config{progress: io.Discard}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.environ == nil {
		cfg.environ = os.Environ()
	}
	if cfg.red == nil {
		cfg.red = NewRedactor()
	}
	env := map[string]string{}
	for _, kv := range cfg.environ {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	// Every secret-looking variable a command could print is known before any command runs.
	for k, v := range env {
		if redact.LooksSecret(k) {
			cfg.red.AddGuessed(v)
		}
	}

	absRoot, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("resolving repository root %q: %w", root, err)
	}
	full := file
	if !filepath.IsAbs(full) {
		full = filepath.Join(absRoot, file)
	}
	data, err := os.ReadFile(full)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &Error{File: file, Problem: "release file not found", Err: fs.ErrNotExist, red: cfg.red,
			Fix: "create it (see the comment at the top of deploy/release.yaml in shiplane) or point the lane at another file"}
	} else if err != nil {
		return nil, fmt.Errorf("reading release file %s: %w", file, err)
	}

	p := &parser{file: file, red: cfg.red}
	f := p.parse(data)
	if f != nil && len(p.errs) == 0 {
		p.addDefaults(f, cfg.defaults)
		p.check(f)
	}
	if len(p.errs) > 0 {
		return nil, sectioned(f, p.sorted())
	}

	// Environment variables read as secret!env!NAME are secrets before any command runs, and
	// goals run without them.
	declared := map[string]bool{}
	f.refs(func(r *ref) {
		if r.secret && r.src == srcEnv {
			declared[r.name] = true
			if !cfg.validate {
				cfg.red.Add(env[r.name])
			}
		}
	})

	r := &resolver{ctx: ctx, file: file, root: absRoot, environ: cfg.environ, env: env, red: cfg.red,
		shell: shellCommand(), vars: f.vars, cache: map[string]*resolved{}, validateOnly: cfg.validate}
	pl := &Pipeline{File: file, Root: absRoot, red: cfg.red}
	goalEnviron := withoutCredentials(cfg.environ, declared)
	out := progress.Locked(cfg.progress)
	byName := map[string]*goal.Node{}
	var errs Errors
	seen := map[*Error]bool{}
	report := func(e *Error) {
		if !seen[e] {
			seen[e] = true
			errs = append(errs, e)
		}
	}
	for _, g := range f.goals {
		if g.builtin {
			pl.entries = append(pl.entries, Entry{Section: g.section, Name: g.name, Builtin: true, Enabled: true, Line: g.line})
			pl.stages = append(pl.stages, Stage{Builtin: g.name})
			continue
		}
		k, _ := kind(g.kind)
		spec := Spec{Name: g.name, Kind: g.kind, Section: g.section, Optional: k.Optional, Effectful: k.Effectful,
			Validating: cfg.validate, Services: cfg.services, Root: absRoot, File: file, Line: g.line,
			Env: map[string]string{}, With: map[string]string{},
			environ: goalEnviron, iso: &isolation{}, progress: out, red: cfg.red, keyLines: g.keyLines}
		if g.optional != nil {
			spec.Optional = *g.optional
		}
		if g.effectful != nil {
			spec.Effectful = *g.effectful
		}
		pl.entries = append(pl.entries, Entry{Section: g.section, Name: g.name, Kind: g.kind, Optional: spec.Optional,
			Effectful: spec.Effectful, Enabled: g.enabled, Default: g.line == 0, After: g.after, Line: g.line})
		if !g.enabled {
			continue
		}
		ok := true
		spec.runBlank = true
		if g.script != nil {
			if cfg.validate {
				// Every env! and var! reference is resolved (an unset variable is refused here,
				// not first in CI); sh! commands and gpg are not run.
				if _, _, e := r.script(g.script, g.name, ""); e != nil {
					report(e)
					ok = false
				}
				spec.Run, spec.runBlank = g.script.text, g.script.blank && len(g.script.refs) == 0
			} else {
				values, blank, e := r.script(g.script, g.name, "")
				if e != nil {
					report(e)
					ok = false
				}
				spec.Run, spec.values, spec.runBlank = g.script.text, values, blank
			}
		}
		for _, set := range []struct {
			kvs []kv
			dst map[string]string
		}{{g.env, spec.Env}, {g.with, spec.With}} {
			for _, e := range set.kvs {
				if cfg.validate {
					if _, rerr := r.template(e.t, g.name, ""); rerr != nil {
						report(rerr)
						ok = false
					}
					set.dst[e.key] = e.t.text()
					continue
				}
				v, rerr := r.template(e.t, g.name, "")
				if rerr != nil {
					report(rerr)
					ok = false
					continue
				}
				if v.secret || redact.LooksSecret(e.key) {
					cfg.red.AddGuessed(v.s)
				}
				set.dst[e.key] = v.s
			}
		}
		if !ok {
			continue
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("loading release file %s: %w", file, ctx.Err())
		}
		gl, err := k.New(spec)
		if err != nil {
			var fe *Error
			if !errors.As(err, &fe) {
				fe = &Error{File: file, Line: g.line, Goal: g.name, Problem: "kind " + g.kind + " refused the entry", Err: err, red: cfg.red}
			}
			report(fe)
			continue
		}
		if gl == nil {
			report(&Error{File: file, Line: g.line, Goal: g.name, Problem: "kind " + g.kind + " made no goal", red: cfg.red})
			continue
		}
		n := &goal.Node{Component: components[g.section], Optional: spec.Optional,
			Goal: &fileGoal{name: g.name, file: file, line: g.line, inner: gl, red: cfg.red, iso: spec.iso, check: !spec.Effectful}}
		byName[g.name] = n
		switch g.section {
		case SectionVerify:
			pl.names = append(pl.names, g.name)
			pl.nodes = append(pl.nodes, n)
		case SectionPublish:
			pl.stages = append(pl.stages, Stage{Node: n})
		case SectionAfterPublish:
			pl.after = append(pl.after, n)
		}
	}
	if len(errs) > 0 {
		return nil, sectioned(f, errs)
	}
	if f.publishLine == 0 {
		stages := make([]Stage, 0, len(Builtins)+len(pl.stages))
		var entries []Entry
		for _, b := range Builtins {
			stages = append(stages, Stage{Builtin: b})
			entries = append(entries, Entry{Section: SectionPublish, Name: b, Builtin: true, Enabled: true, Default: true})
		}
		pl.stages = append(stages, pl.stages...)
		at := slices.IndexFunc(pl.entries, func(e Entry) bool { return e.Section != SectionVerify })
		if at < 0 {
			at = len(pl.entries)
		}
		pl.entries = slices.Insert(pl.entries, at, entries...)
	}
	for _, g := range f.goals {
		for _, a := range g.after {
			byName[g.name].After = append(byName[g.name].After, byName[a])
		}
	}
	return pl, nil
}

// addDefaults adds each default goal whose kind the file does not use in its section.
func (p *parser) addDefaults(f *fileSpec, defaults []Default) {
	for _, d := range defaults {
		if slices.ContainsFunc(f.goals, func(g *goalDef) bool { return g.section == d.Section && g.kind == d.Kind }) {
			continue
		}
		if slices.ContainsFunc(f.goals, func(g *goalDef) bool { return g.name == d.Name }) {
			p.fail(0, d.Name, "", fmt.Sprintf("the name %q is the default %s goal's", d.Name, d.Section),
				fmt.Sprintf("rename your goal, or list the default with kind: %s", d.Kind))
			continue
		}
		at := len(f.goals)
		if i := slices.IndexFunc(f.goals, func(g *goalDef) bool { return slices.Index(Sections, g.section) > slices.Index(Sections, d.Section) }); i >= 0 {
			at = i
		}
		f.goals = slices.Insert(f.goals, at, &goalDef{name: d.Name, kind: d.Kind, section: d.Section, enabled: true, keyLines: map[string]int{}})
	}
}

// sectioned sets the section of every problem in a goal outside verify:.
func sectioned(f *fileSpec, errs Errors) Errors {
	if f == nil {
		return errs
	}
	sections := map[string]string{}
	for _, g := range f.goals {
		sections[g.name] = g.section
	}
	for _, e := range errs {
		if s := sections[e.Goal]; s != SectionVerify {
			e.Section = s
		}
	}
	return errs
}

// fileGoal is what the engine runs: the kind's goal, reported under the entry's name, with
// every error and note masked and located in the file, and its own empty Docker config while it
// is achieved. A check (effectful: false) is missing until it has passed in this process.
type fileGoal struct {
	name  string
	file  string
	line  int
	inner goal.Goal
	red   *Redactor
	iso   *isolation
	check bool

	mu     sync.Mutex
	passed bool
}

var _ goal.Goal = (*fileGoal)(nil)

func (g *fileGoal) String() string { return g.name }

func (g *fileGoal) Assess(ctx context.Context) (goal.State, error) {
	st, err := g.inner.Assess(ctx)
	if err != nil {
		return goal.State{}, &GoalError{Goal: g.name, File: g.file, Line: g.line, Err: fmt.Errorf("assessing: %w", err), red: g.red}
	}
	g.mu.Lock()
	passed := g.passed
	g.mu.Unlock()
	if g.check && st.Achieved && !passed {
		st = goal.State{Skip: st.Skip, Detail: "a check: it runs in every release"}
	}
	st.Skip, st.Detail, st.Digest = g.red.String(st.Skip), g.red.String(st.Detail), g.red.String(st.Digest)
	return st, nil
}

func (g *fileGoal) Achieve(ctx context.Context) error {
	end, err := g.iso.begin()
	if err == nil {
		err = g.inner.Achieve(ctx)
		if eerr := end(); err == nil {
			err = eerr
		}
	}
	if err != nil {
		return &GoalError{Goal: g.name, File: g.file, Line: g.line, Err: err, red: g.red}
	}
	g.mu.Lock()
	g.passed = true
	g.mu.Unlock()
	return nil
}

// parser reads the file's structure into a fileSpec, collecting every problem.
type parser struct {
	file string
	red  *Redactor
	errs Errors
}

type fileSpec struct {
	vars        map[string]*varDef
	order       []string
	goals       []*goalDef // every section's, in file order: verify, publish, after_publish
	publishLine int        // the publish: list's line, or 0 when the file has none
}

// refs calls f for every reference in the file.
func (f *fileSpec) refs(fn func(*ref)) {
	for _, name := range f.order {
		f.vars[name].t.refs(fn)
	}
	for _, g := range f.goals {
		g.run.refs(fn)
		for _, e := range append(append([]kv(nil), g.env...), g.with...) {
			e.t.refs(fn)
		}
	}
}

type varDef struct {
	name string
	line int
	t    *template
}

type goalDef struct {
	name, kind string
	section    string
	builtin    bool  // a built-in publish goal named in publish: (no kind, no keys)
	optional   *bool // as written, or nil for the kind's default
	effectful  *bool
	enabled    bool
	line       int
	keyLines   map[string]int
	run        *template
	script     *shellScript // run as the shell runs it
	env, with  []kv
	after      []string
	afterLine  int
}

type kv struct {
	key string
	t   *template
}

var (
	topKeys  = []string{"vars", SectionVerify, SectionPublish, SectionAfterPublish}
	goalKeys = []string{"name", "kind", "run", "env", "with", "after", "optional", "effectful", "enabled"}
)

func (p *parser) fail(line int, goalName, varName, problem, fix string) {
	p.errs = append(p.errs, &Error{File: p.file, Line: line, Goal: goalName, Var: varName, Problem: problem, Fix: fix, red: p.red})
}

// sorted returns the problems in file order (problems about the whole file first).
func (p *parser) sorted() Errors {
	sort.SliceStable(p.errs, func(i, j int) bool { return p.errs[i].Line < p.errs[j].Line })
	return p.errs
}

func (p *parser) parse(data []byte) *fileSpec {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		sx := diag.SyntaxOf(data, err)
		p.fail(sx.Line, "", "", sx.Problem, sx.Fix)
		return nil
	}
	if len(doc.Content) == 0 {
		p.fail(0, "", "", "the file is empty", "add a verify: list")
		return nil
	}
	root := deref(doc.Content[0])
	if root.Kind != yaml.MappingNode {
		p.fail(root.Line, "", "", "the top level must be a mapping", "start with vars: and verify:")
		return nil
	}
	f := &fileSpec{vars: map[string]*varDef{}}
	sections, sectionKeys := map[string]*yaml.Node{}, map[string]*yaml.Node{}
	top := &diag.Mapping{Node: root, Keys: topKeys}
	p.fields(top, "", func(key string, k, v *yaml.Node) {
		switch key {
		case "vars":
			p.vars(f, top.Child("vars", k, v, nil, nil))
		default:
			sections[key], sectionKeys[key] = v, k
		}
	})
	if sections[SectionVerify] == nil {
		p.fail(root.Line, "", "", "missing verify", "add a verify: list of goals (verify: [] for none)")
		return f
	}
	seen := map[string]int{}
	add := func(g *goalDef) {
		if first, dup := seen[g.name]; dup {
			p.fail(g.line, g.name, "", fmt.Sprintf("duplicate name (first defined at line %d)", first), "rename one of them (names are unique in the whole file)")
			return
		}
		seen[g.name] = g.line
		f.goals = append(f.goals, g)
	}
	for _, section := range Sections {
		v := sections[section]
		if v == nil {
			continue
		}
		if section == SectionPublish {
			f.publishLine = deref(v).Line
		}
		for _, n := range p.seq(v, "") {
			if section == SectionPublish && deref(n).Kind == yaml.ScalarNode {
				if b := p.builtin(f, n); b != "" {
					add(&goalDef{name: b, section: section, line: n.Line, builtin: true, enabled: true, keyLines: map[string]int{}})
				}
				continue
			}
			if g := p.goal(top.Child("", sectionKeys[section], deref(n), goalKeys, nil), section); g != nil {
				add(g)
			}
		}
	}
	return f
}

// builtin reads a built-in publish goal's name from the publish: list.
func (p *parser) builtin(f *fileSpec, n *yaml.Node) string {
	name := p.str(n, "")
	if !slices.Contains(Builtins, name) {
		p.fail(n.Line, "", "", fmt.Sprintf("unknown built-in publish goal %q", name),
			diag.Suggest(name, Builtins)+" (the built-ins are "+strings.Join(Builtins, ", ")+"; a goal of your own is a mapping: - name: …, kind: …)")
		return ""
	}
	return name
}

func (p *parser) vars(f *fileSpec, m *diag.Mapping) {
	if isNull(deref(m.Node)) {
		return
	}
	p.fields(m, "", func(name string, k, v *yaml.Node) {
		if !validVarName(name) {
			p.fail(k.Line, "", name, "invalid var name", "use letters, digits, _ and -, starting with a letter or _")
			return
		}
		t := p.template(v, "", name, true)
		if t == nil {
			return
		}
		f.vars[name] = &varDef{name: name, line: k.Line, t: t}
		f.order = append(f.order, name)
	})
}

func (p *parser) goal(gm *diag.Mapping, section string) *goalDef {
	n := gm.Node
	if n.Kind != yaml.MappingNode {
		p.fail(n.Line, "", "", "a "+section+" goal must be a mapping", "write - name: <goal> with run: and its other keys")
		return nil
	}
	g := &goalDef{line: n.Line, section: section, enabled: true, keyLines: map[string]int{}}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "name" {
			g.name = p.str(n.Content[i+1], "")
		}
	}
	if strings.TrimSpace(g.name) == "" {
		p.fail(n.Line, "", "", section+" goal without a name", "add name: <what it checks> (other goals refer to it in after:)")
		return nil
	}
	p.fields(gm, g.name, func(key string, k, v *yaml.Node) {
		g.keyLines[key] = k.Line
		switch key {
		case "kind":
			g.kind = p.str(v, g.name)
		case "run":
			if g.run = p.template(v, g.name, "", false); g.run != nil {
				script, errs := shellForm(g.run.expr)
				for _, e := range errs {
					p.fail(e.line, g.name, "", e.problem, e.fix)
				}
				g.script = script
			}
		case "env":
			g.env = p.mapping(gm.Child("env", k, v, nil, nil), g.name, true)
		case "with":
			g.with = p.mapping(gm.Child("with", k, v, nil, nil), g.name, false)
		case "optional":
			g.optional = p.boolean(v, g.name)
		case "effectful":
			g.effectful = p.boolean(v, g.name)
		case "enabled":
			if b := p.boolean(v, g.name); b != nil {
				g.enabled = *b
			}
		case "after":
			g.afterLine = v.Line
			for _, e := range p.seq(v, g.name) {
				if s := p.str(e, g.name); s != "" {
					g.after = append(g.after, s)
				}
			}
		}
	})
	if g.kind == "" {
		g.kind = KindShell
	}
	return g
}

// mapping reads a mapping of names to values (env: or with:).
func (p *parser) mapping(m *diag.Mapping, goalName string, envNames bool) []kv {
	if isNull(deref(m.Node)) {
		return nil
	}
	var out []kv
	p.fields(m, goalName, func(key string, k, v *yaml.Node) {
		if envNames && !validEnvName(key) {
			p.fail(k.Line, goalName, "", fmt.Sprintf("%q is not an environment variable name", key), "use letters, digits and _, not starting with a digit")
			return
		}
		if envNames && strings.HasPrefix(key, ValuePrefix) {
			p.fail(k.Line, goalName, "", fmt.Sprintf("%q is reserved: %s<n> variables carry the values run: refers to", key, ValuePrefix), "choose another name")
			return
		}
		if t := p.template(v, goalName, "", true); t != nil {
			out = append(out, kv{key: key, t: t})
		}
	})
	return out
}

// template parses a scalar; valuePos allows whole-value references and PGP messages.
func (p *parser) template(n *yaml.Node, goalName, varName string, valuePos bool) *template {
	n = deref(n)
	if n.Kind != yaml.ScalarNode {
		p.fail(n.Line, goalName, varName, fmt.Sprintf("expected a string, found %s", diag.NodeKind(n)), "write a single value (quote it if it holds YAML syntax)")
		return nil
	}
	value := n.Value
	if isNull(n) {
		value = ""
	}
	ep := &exprParser{s: value, lineAt: lineAt(n)}
	var t *template
	if valuePos {
		t = ep.parseValue()
	} else {
		t = ep.parseString()
	}
	for _, e := range ep.errs {
		p.fail(e.line, goalName, varName, e.problem, e.fix)
	}
	if len(ep.errs) > 0 {
		return nil
	}
	t.line = n.Line // where the value starts: the key's line for a block scalar
	return t
}

// lineAt maps an offset in a scalar's value to its file line: exact for literal blocks (|),
// the scalar's first line otherwise.
func lineAt(n *yaml.Node) func(int) int {
	if n.Style&yaml.LiteralStyle != 0 {
		return func(off int) int { return n.Line + 1 + strings.Count(n.Value[:min(off, len(n.Value))], "\n") }
	}
	return func(int) int { return n.Line }
}

// check validates what needs the whole file: var references, kinds, after: targets, cycles.
func (p *parser) check(f *fileSpec) {
	known := func(goalName, varName string) func(*ref) {
		return func(r *ref) {
			if r.src != srcVar || f.vars[r.name] != nil {
				return
			}
			fix := "define it under vars:"
			if len(f.order) > 0 {
				fix = diag.Suggest(r.name, f.order)
			}
			p.fail(r.line, goalName, varName, fmt.Sprintf("unknown var %q in %s", r.name, r.text), fix)
		}
	}
	for _, name := range f.order {
		f.vars[name].t.refs(known("", name))
	}
	for _, g := range f.goals {
		g.run.refs(known(g.name, ""))
		for _, e := range append(append([]kv(nil), g.env...), g.with...) {
			e.t.refs(known(g.name, ""))
		}
	}
	p.varCycles(f)

	byName := map[string]*goalDef{}
	for _, g := range f.goals {
		byName[g.name] = g
	}
	kinds := Kinds()
	for _, g := range f.goals {
		if g.builtin {
			continue
		}
		line := func(key string) int {
			if l, ok := g.keyLines[key]; ok {
				return l
			}
			return g.line
		}
		k, ok := kind(g.kind)
		if !ok {
			p.fail(line("kind"), g.name, "", fmt.Sprintf("unknown kind %q", g.kind), kindFix(g.kind, kinds))
		} else if g.effectful != nil && *g.effectful && !k.Effectful {
			p.fail(line("effectful"), g.name, "", fmt.Sprintf("kind %s cannot tell whether its effect already holds: its goals are checks, run every time", g.kind),
				"remove effectful: true (a check is effectful: false)")
		}
		var same []string
		for _, o := range f.goals {
			if o.section == g.section && !o.builtin && o != g {
				same = append(same, o.name)
			}
		}
		for _, a := range g.after {
			switch o := byName[a]; {
			case o == nil:
				p.fail(g.afterLine, g.name, "", fmt.Sprintf("after: names unknown %s goal %q", g.section, a), diag.Suggest(a, same))
			case o.builtin:
				p.fail(g.afterLine, g.name, "", fmt.Sprintf("after: names the built-in publish goal %q", a),
					"remove it from after: and list the goal after "+a+" in publish: (a goal there runs after what is listed before it)")
			case o.section != g.section:
				p.fail(g.afterLine, g.name, "", fmt.Sprintf("after: names %q, a goal of %s:", a, o.section),
					"remove it: every "+g.section+" goal already runs after "+strings.Join(before(g.section), " and ")+" (after: orders goals of one section)")
			case !o.enabled:
				p.fail(g.afterLine, g.name, "", fmt.Sprintf("after: names %q, which is enabled: false", a), "remove it from after:, or enable that goal")
			}
		}
	}
	p.checkPublish(f)
	if len(p.errs) == 0 {
		p.goalCycles(f, byName)
	}
}

// before names the sections whose goals all run before a goal of section.
func before(section string) []string {
	i := slices.Index(Sections, section)
	if i <= 0 {
		return []string{"nothing"}
	}
	out := make([]string, i)
	for j, s := range Sections[:i] {
		out[j] = s + ":"
	}
	return out
}

// checkPublish checks that a publish: list names every built-in, each once, in their order.
func (p *parser) checkPublish(f *fileSpec) {
	if f.publishLine == 0 {
		return
	}
	var listed []string
	lines := map[string]int{}
	for _, g := range f.goals {
		if g.builtin {
			listed = append(listed, g.name)
			lines[g.name] = g.line
		}
	}
	var missing []string
	for _, b := range Builtins {
		if _, ok := lines[b]; !ok {
			missing = append(missing, b)
		}
	}
	if len(missing) > 0 {
		p.fail(f.publishLine, "", "", "publish: does not list the built-in publish goal(s) "+strings.Join(missing, ", "),
			"list every built-in ("+strings.Join(Builtins, ", ")+"): they always run, and publish: only places your own goals between them; to publish nothing of a component, set publish: false in deploy/components.yaml")
		return
	}
	for i, b := range listed {
		if b != Builtins[i] {
			p.fail(lines[b], "", "", fmt.Sprintf("built-in publish goal %q is out of order", b),
				"list the built-ins in the order they run ("+strings.Join(Builtins, ", ")+"): each publishes what the next one references")
			return
		}
	}
}

func kindFix(got string, kinds []string) string {
	fix := diag.Suggest(got, kinds)
	if strings.HasPrefix(fix, "did you mean") {
		fix += " (registered kinds: " + strings.Join(kinds, ", ") + ")"
	}
	return fix
}

// varCycles reports vars that refer to themselves through var! references.
func (p *parser) varCycles(f *fileSpec) {
	deps := map[string][]string{}
	for _, name := range f.order {
		f.vars[name].t.refs(func(r *ref) {
			if r.src == srcVar && f.vars[r.name] != nil {
				deps[name] = append(deps[name], r.name)
			}
		})
	}
	if cyc := graph.FindCycle(f.order, func(n string) []string { return deps[n] }); cyc != nil {
		p.fail(f.vars[cyc[0]].line, "", cyc[0], "vars refer to each other in a cycle: "+strings.Join(cyc, " -> "), "make one of them a plain value")
	}
}

func (p *parser) goalCycles(f *fileSpec, byName map[string]*goalDef) {
	order := make([]string, len(f.goals))
	deps := map[string][]string{}
	for i, g := range f.goals {
		order[i] = g.name
		deps[g.name] = g.after
	}
	if cyc := graph.FindCycle(order, func(n string) []string { return deps[n] }); cyc != nil {
		g := byName[cyc[0]]
		p.fail(g.afterLine, cyc[0], "", "after: forms a cycle: "+strings.Join(cyc, " -> "), "remove one of these after: entries")
	}
}

// fields walks a mapping, reporting duplicate keys and, when m names its keys, unknown keys with
// where they belong (indented under the wrong key) or the nearest valid one.
func (p *parser) fields(m *diag.Mapping, goalName string, f func(key string, k, v *yaml.Node)) {
	m.Node = deref(m.Node)
	m.Walk(func(line int, problem, fix string) { p.fail(line, goalName, "", problem, fix) },
		func(k, v *yaml.Node) { f(k.Value, k, v) })
}

// boolean reads true or false; nil when the value is not one (the problem is reported).
func (p *parser) boolean(n *yaml.Node, goalName string) *bool {
	n = deref(n)
	if n.Kind == yaml.ScalarNode && n.Tag == "!!bool" {
		var b bool
		if err := n.Decode(&b); err == nil {
			return &b
		}
	}
	p.fail(n.Line, goalName, "", fmt.Sprintf("expected true or false, found %q", n.Value), "write true or false")
	return nil
}

func (p *parser) str(n *yaml.Node, goalName string) string {
	n = deref(n)
	if n.Kind != yaml.ScalarNode {
		p.fail(n.Line, goalName, "", fmt.Sprintf("expected a string, found %s", diag.NodeKind(n)), "write a single value")
		return ""
	}
	if isNull(n) {
		return ""
	}
	return n.Value
}

func (p *parser) seq(n *yaml.Node, goalName string) []*yaml.Node {
	n = deref(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		p.fail(n.Line, goalName, "", fmt.Sprintf("expected a list, found %s", diag.NodeKind(n)), "write a list, e.g. [a, b]")
		return nil
	}
	return n.Content
}

func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }
