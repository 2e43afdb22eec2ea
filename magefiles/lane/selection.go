package lane

import (
	"fmt"
	"io"
	"strings"

	"github.com/shiplane/shiplane/magefiles/diag"
	"github.com/shiplane/shiplane/magefiles/manifest"
)

// Selection is the components a local run is limited to (buildAllLocal -only=…, composeUpLocal
// -only=…, or $COMPONENTS), validated against the manifest once by Workspace.Select and then read by
// the build nodes and the compose files. The zero value selects every component.
type Selection struct {
	// Asked are the components named, in the order given, without repeats. Empty: every component.
	Asked []string
	// Source says where the names came from: "-only" or "COMPONENTS" ("" when none were asked).
	Source string
}

// All reports whether the selection is every component (none were named).
func (s Selection) All() bool { return len(s.Asked) == 0 }

// UnknownSelectionError is a selected name that is no component of the manifest.
type UnknownSelectionError struct {
	// Name is the unknown name; Source is where it came from ("-only" or "COMPONENTS").
	Name, Source string
	// File is the components file; Known are its component names, in file order.
	File  string
	Known []string
}

func (e *UnknownSelectionError) Error() string {
	var fix string
	if best := diag.Closest(e.Name, e.Known); best != "" {
		fix = fmt.Sprintf("did you mean %q? ", best)
	}
	fix += "name components of " + e.File + ", separated by commas"
	return diag.Format(e.File, 0, "", fmt.Sprintf("%s names %q, which is no component; the components are %s",
		e.Source, e.Name, strings.Join(e.Known, ", ")), nil, fix)
}

// NothingSelectedError is a selection that leaves nothing to do: none of the components selected
// (or pulled in) has what the run needs, an image to build or a compose file to start.
type NothingSelectedError struct {
	Selection Selection
	File      string
	// Lacks is what every selected component lacks ("an image", "a compose file").
	Lacks string
}

func (e *NothingSelectedError) Error() string {
	return diag.Format(e.File, 0, "", fmt.Sprintf("%s=%s selects nothing to run: none of them has %s",
		e.Selection.Source, strings.Join(e.Selection.Asked, ","), e.Lacks), nil,
		"select components with "+e.Lacks+", or add one to them in the components file")
}

// Select validates the local lane's selection, once: Config.Only, else $COMPONENTS (blank and
// repeated names ignored). Every name must be a component of the manifest, or nothing is selected
// and the error is an *UnknownSelectionError naming the components file and its components. The
// result is kept in w.Selection.
func (w *Workspace) Select() error {
	names, source := w.Config.Only, "-only"
	if len(names) == 0 {
		names, source = w.Env.Components, "COMPONENTS"
	}
	s := Selection{}
	seen := map[string]bool{}
	for _, n := range names {
		if n = strings.TrimSpace(n); n == "" || seen[n] {
			continue
		}
		seen[n] = true
		if w.Manifest.Component(n) == nil {
			return &UnknownSelectionError{Name: n, Source: source, File: w.Manifest.File, Known: w.Manifest.Names()}
		}
		s.Asked = append(s.Asked, n)
	}
	if len(s.Asked) > 0 {
		s.Source = source
	}
	w.Selection = s
	return nil
}

// need is a relation between components: the names c needs for a run, and why ("built FROM it").
type need struct {
	names func(c *manifest.Component) []string
	why   string
}

// imageFrom: an image needs the image of ours it is built FROM.
var imageFrom = need{
	names: func(c *manifest.Component) []string {
		if c.Image == nil || c.Image.From == "" || c.Image.From == c.Name {
			return nil
		}
		return []string{c.Image.From}
	},
	why: "its image is built FROM it",
}

// dependsOn: a running component needs the components it depends on.
var dependsOn = need{
	names: func(c *manifest.Component) []string { return c.DependsOn },
	why:   "depends_on",
}

// closure is the set of the asked components and, transitively, what they need.
func (s Selection) closure(m *manifest.Manifest, n need) map[string]bool {
	in := map[string]bool{}
	var walk func(name string)
	walk = func(name string) {
		if in[name] {
			return
		}
		c := m.Component(name)
		if c == nil {
			return
		}
		in[name] = true
		for _, d := range n.names(c) {
			walk(d)
		}
	}
	for _, a := range s.Asked {
		walk(a)
	}
	return in
}

// filter keeps the components of comps in the selection's closure under n, in their order; every
// one when nothing was selected.
func (s Selection) filter(m *manifest.Manifest, n need, comps []*manifest.Component) []*manifest.Component {
	if s.All() {
		return comps
	}
	in := s.closure(m, n)
	var out []*manifest.Component
	for _, c := range comps {
		if in[c.Name] {
			out = append(out, c)
		}
	}
	return out
}

// selectedBuilds keeps the components of comps that w.Selection builds: the selected ones and the
// images they are built FROM, transitively (every component when nothing was selected).
func (w *Workspace) selectedBuilds(comps []*manifest.Component) []*manifest.Component {
	return w.Selection.filter(w.Manifest, imageFrom, comps)
}

// describe says what the selection takes for a run: the components asked for, those pulled in
// ("core needs base (its image is built FROM it)") and the asked ones that have nothing for it
// (has reports whether a component has what the run uses). The empty string when nothing was
// selected.
func (s Selection) describe(m *manifest.Manifest, n need, has func(*manifest.Component) bool, lacks string) string {
	if s.All() {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "selected (%s): %s", s.Source, strings.Join(s.Asked, ", "))
	asked := map[string]bool{}
	for _, a := range s.Asked {
		asked[a] = true
	}
	in := s.closure(m, n)
	var pulled []string
	for _, c := range m.Components {
		if !in[c.Name] {
			continue
		}
		for _, d := range n.names(c) {
			if dc := m.Component(d); dc != nil && !asked[d] && has(dc) {
				pulled = append(pulled, fmt.Sprintf("%s needs %s (%s)", c.Name, d, n.why))
			}
		}
	}
	if len(pulled) > 0 {
		fmt.Fprintf(&b, "; pulled in: %s", strings.Join(pulled, ", "))
	}
	var without []string
	for _, a := range s.Asked {
		if !has(m.Component(a)) {
			without = append(without, a)
		}
	}
	if len(without) > 0 {
		fmt.Fprintf(&b, "; %s: without %s, nothing to do for %s", strings.Join(without, ", "), lacks, pronoun(len(without)))
	}
	return b.String()
}

func pronoun(n int) string {
	if n == 1 {
		return "it"
	}
	return "them"
}

func hasImage(c *manifest.Component) bool   { return c.Image != nil }
func hasCompose(c *manifest.Component) bool { return c.Compose != "" }

// selectForBuild validates the selection (Select), prints what it builds, and refuses a selection
// with no image to build (*NothingSelectedError).
func (w *Workspace) selectForBuild(out io.Writer) error {
	return w.selectFor(out, imageFrom, hasImage, "an image")
}

// selectForCompose validates the selection (Select), prints what it starts, and refuses a
// selection with no compose file to start (*NothingSelectedError).
func (w *Workspace) selectForCompose(out io.Writer) error {
	return w.selectFor(out, dependsOn, hasCompose, "a compose file")
}

func (w *Workspace) selectFor(out io.Writer, n need, has func(*manifest.Component) bool, lacks string) error {
	if err := w.Select(); err != nil {
		return err
	}
	s := w.Selection
	if s.All() {
		return nil
	}
	fmt.Fprintln(out, s.describe(w.Manifest, n, has, lacks))
	for _, c := range s.filter(w.Manifest, n, w.Manifest.Components) {
		if has(c) {
			return nil
		}
	}
	return &NothingSelectedError{Selection: s, File: w.Manifest.File, Lacks: lacks}
}
