package manifest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"gopkg.in/yaml.v3"

	"github.com/shiplane/shiplane/magefiles/diag"
	"github.com/shiplane/shiplane/magefiles/graph"
	"github.com/shiplane/shiplane/magefiles/version"
)

// Error is one validation problem: where it is, what is wrong and how to fix it.
type Error struct {
	File      string
	Line      int
	Component string
	Problem   string
	Fix       string
}

func (e *Error) Error() string {
	scope := ""
	if e.Component != "" {
		scope = fmt.Sprintf("component %q", e.Component)
	}
	return diag.Format(e.File, e.Line, scope, e.Problem, nil, e.Fix)
}

// Errors is every problem found in one manifest, in file order.
type Errors []*Error

func (es Errors) Error() string { return diag.Lines(es) }

// Unwrap lets errors.As find each *Error.
func (es Errors) Unwrap() []error { return diag.Unwrap(es) }

// Load reads and validates the manifest at file (relative to root unless absolute). Paths inside the
// manifest are relative to root. All problems are reported at once as Errors.
func Load(root, file string) (*Manifest, error) {
	absRoot, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("resolving repository root %q: %w", root, err)
	}
	full := file
	if !filepath.IsAbs(full) {
		full = filepath.Join(absRoot, file)
	}
	data, err := os.ReadFile(full)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, &Error{File: file, Problem: "components file not found",
				Fix: "create it (see README.md, \"The components file\") or set SHIPLANE_COMPONENTS to its path"}
		}
		return nil, fmt.Errorf("reading %s: %w", file, err)
	}
	m, errs := Parse(file, data)
	if len(errs) == 0 {
		m.Root = absRoot
		errs = append(errs, m.checkFiles()...)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return m, nil
}

// Parse decodes and validates the manifest's structure without touching the file system: unknown
// keys, types, required fields, duplicate names, unknown dependencies and cycles.
func Parse(file string, data []byte) (*Manifest, Errors) {
	p := &parser{file: file}
	m := p.parse(data)
	if m == nil || len(p.errs) > 0 {
		return nil, p.errs
	}
	p.checkGraph(m)
	if len(p.errs) > 0 {
		return nil, p.errs
	}
	return m, nil
}

type parser struct {
	file string
	errs Errors
}

func (p *parser) fail(line int, component, problem, fix string) {
	p.errs = append(p.errs, &Error{File: p.file, Line: line, Component: component, Problem: problem, Fix: fix})
}

var (
	topKeys       = []string{"project", "source", "license", "platform", "components", "bundles"}
	platformKeys  = []string{"version_file", "chart"}
	componentKeys = []string{"name", "description", "paths", "version_file", "image", "chart", "compose", "depends_on", "publish"}
	imageKeys     = []string{"name", "dockerfile", "main", "from"}
	bundleKeys    = []string{"name", "components"}
)

func (p *parser) parse(data []byte) *Manifest {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		p.fail(0, "", diag.YAMLProblem(err), "correct the YAML syntax")
		return nil
	}
	if len(doc.Content) == 0 {
		p.fail(0, "", "the file is empty", "add a components: list")
		return nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		p.fail(root.Line, "", "the top level must be a mapping", "start with keys such as project: and components:")
		return nil
	}
	m := &Manifest{File: p.file}
	var compsNode, bundlesNode *yaml.Node
	p.fields(root, "", topKeys, func(key string, v *yaml.Node) {
		switch key {
		case "project":
			m.Project = p.str(v, "")
		case "source":
			m.Source = p.str(v, "")
		case "license":
			m.License = p.str(v, "")
		case "platform":
			m.Platform.Line = v.Line
			p.fields(v, "", platformKeys, func(key string, v *yaml.Node) {
				switch key {
				case "version_file":
					m.Platform.VersionFile = p.str(v, "")
				case "chart":
					m.Platform.Chart = p.str(v, "")
				}
			})
		case "components":
			compsNode = v
		case "bundles":
			bundlesNode = v
		}
	})
	if m.Project == "" {
		p.fail(root.Line, "", "missing project", "add project: <name> (it names the compose project and the local image prefix)")
	}
	if m.Platform.VersionFile == "" {
		m.Platform.VersionFile = "VERSION"
	}
	if compsNode == nil {
		p.fail(root.Line, "", "missing components", "add a components: list")
		return m
	}
	seen := map[string]int{}
	for _, cn := range p.seq(compsNode, "") {
		c := p.component(cn)
		if c == nil {
			continue
		}
		if first, dup := seen[c.Name]; dup {
			p.fail(c.Line, c.Name, fmt.Sprintf("duplicate component name (first defined at line %d)", first), "rename one of them")
			continue
		}
		seen[c.Name] = c.Line
		m.Components = append(m.Components, c)
	}
	if bundlesNode != nil {
		for _, bn := range p.seq(bundlesNode, "") {
			p.bundle(m, bn)
		}
	}
	return m
}

func (p *parser) component(n *yaml.Node) *Component {
	if n.Kind != yaml.MappingNode {
		p.fail(n.Line, "", "a component must be a mapping", "write - name: <component> with its keys")
		return nil
	}
	c := &Component{Line: n.Line, Publish: true}
	// The name first, so that every later error can say which component it is about.
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "name" {
			c.Name = p.str(n.Content[i+1], "")
		}
	}
	if c.Name == "" {
		p.fail(n.Line, "", "component without a name", "add name: <component>")
		return nil
	}
	if !validName(c.Name) {
		p.fail(n.Line, c.Name, "invalid component name", "use lower-case letters, digits and dashes, starting with a letter")
	}
	p.fields(n, c.Name, componentKeys, func(key string, v *yaml.Node) {
		switch key {
		case "description":
			c.Description = p.str(v, c.Name)
		case "paths":
			c.Paths = p.strs(v, c.Name)
		case "version_file":
			c.VersionFile = p.str(v, c.Name)
		case "chart":
			c.Chart = p.str(v, c.Name)
		case "compose":
			c.Compose = p.str(v, c.Name)
		case "depends_on":
			c.DependsOn = p.strs(v, c.Name)
		case "publish":
			b, err := strconv.ParseBool(v.Value)
			if v.Kind != yaml.ScalarNode || err != nil {
				p.fail(v.Line, c.Name, fmt.Sprintf("publish must be true or false, not %q", v.Value), "write publish: false, or remove the key (default true)")
			}
			c.Publish = b
		case "image":
			c.Image = &Image{}
			p.fields(v, c.Name, imageKeys, func(key string, v *yaml.Node) {
				switch key {
				case "name":
					c.Image.Name = p.str(v, c.Name)
				case "dockerfile":
					c.Image.Dockerfile = p.str(v, c.Name)
				case "main":
					c.Image.Main = p.str(v, c.Name)
				case "from":
					c.Image.From = p.str(v, c.Name)
				}
			})
			if c.Image.Name == "" {
				c.Image.Name = c.Name
			}
			if c.Image.Dockerfile == "" {
				p.fail(v.Line, c.Name, "image without a dockerfile", "add dockerfile: <path to Dockerfile>")
			}
		}
	})
	if len(c.Paths) == 0 {
		p.fail(n.Line, c.Name, "no input paths", "add paths: [<the directories this component is built from>]")
	}
	if c.VersionFile == "" {
		p.fail(n.Line, c.Name, "no version_file", "add version_file: <path>/VERSION")
	}
	return c
}

func (p *parser) bundle(m *Manifest, n *yaml.Node) {
	b := &Bundle{Line: n.Line}
	p.fields(n, "", bundleKeys, func(key string, v *yaml.Node) {
		switch key {
		case "name":
			b.Name = p.str(v, "")
		case "components":
			b.Components = p.strs(v, "")
		}
	})
	if b.Name == "" {
		p.fail(n.Line, "", "bundle without a name", "add name: <bundle>")
		return
	}
	if m.Bundle(b.Name) != nil {
		p.fail(n.Line, "", fmt.Sprintf("duplicate bundle %q", b.Name), "rename one of them")
		return
	}
	for _, name := range b.Components {
		c := m.Component(name)
		switch {
		case c == nil:
			p.fail(n.Line, "", fmt.Sprintf("bundle %q names unknown component %q", b.Name, name), diag.Suggest(name, m.Names()))
		case c.Bundle != "":
			p.fail(n.Line, "", fmt.Sprintf("component %q is in bundles %q and %q", name, c.Bundle, b.Name), "keep it in one bundle")
		default:
			c.Bundle = b.Name
		}
	}
	m.Bundles = append(m.Bundles, b)
}

func (p *parser) checkGraph(m *Manifest) {
	nodes := make([]graph.Node, 0, len(m.Components))
	for _, c := range m.Components {
		for _, d := range c.DependsOn {
			if m.Component(d) == nil {
				p.fail(c.Line, c.Name, fmt.Sprintf("depends_on names unknown component %q", d), diag.Suggest(d, m.Names()))
			}
		}
		if c.Image != nil && c.Image.From != "" {
			from := m.Component(c.Image.From)
			switch {
			case from == nil:
				p.fail(c.Line, c.Name, fmt.Sprintf("image.from names unknown component %q", c.Image.From), diag.Suggest(c.Image.From, m.Names()))
			case from.Image == nil:
				p.fail(c.Line, c.Name, fmt.Sprintf("image.from names %q, which has no image", c.Image.From), "point from: at a component with an image")
			case !slices.Contains(c.DependsOn, c.Image.From):
				p.fail(c.Line, c.Name, fmt.Sprintf("image is built from %q but does not depend on it", c.Image.From), fmt.Sprintf("add %q to depends_on", c.Image.From))
			}
		}
		nodes = append(nodes, graph.Node{Name: c.Name, DependsOn: c.DependsOn, Publish: c.Publish})
	}
	if len(p.errs) > 0 {
		return
	}
	g, err := graph.New(nodes)
	if err == nil {
		_, err = g.Levels()
	}
	var cyc *graph.CycleError
	if errors.As(err, &cyc) && len(cyc.Cycle) > 0 {
		c := m.Component(cyc.Cycle[0])
		p.fail(c.Line, "", err.Error(), "remove one of these depends_on entries")
	} else if err != nil {
		p.fail(0, "", err.Error(), "correct depends_on")
	}
}

// checkFiles reports input paths, VERSION files, Dockerfiles, main packages, charts and compose
// files that do not exist, and VERSION files that are not semver.
func (m *Manifest) checkFiles() Errors {
	var errs Errors
	fail := func(line int, comp, problem, fix string) {
		errs = append(errs, &Error{File: m.File, Line: line, Component: comp, Problem: problem, Fix: fix})
	}
	exists := func(p string, dir bool) bool {
		st, err := os.Stat(filepath.Join(m.Root, filepath.FromSlash(p)))
		return err == nil && st.IsDir() == dir
	}
	readVersion := func(line int, comp, file string) string {
		if !exists(file, false) {
			fail(line, comp, fmt.Sprintf("version file %s does not exist", file), fmt.Sprintf("create %s containing a version such as 0.1.0", file))
			return ""
		}
		v, err := version.ReadFile(filepath.Join(m.Root, filepath.FromSlash(file)))
		var fe *version.FileError
		if errors.As(err, &fe) {
			fe.Path = file // name it as the manifest does, not by its absolute path
			fail(line, comp, fe.Error(), fmt.Sprintf("write a semantic version such as 1.2.3 into %s", file))
			return ""
		} else if err != nil {
			fail(line, comp, fmt.Sprintf("%s: %v", file, err), fmt.Sprintf("write a semantic version such as 1.2.3 into %s", file))
			return ""
		}
		return v.String()
	}
	m.Platform.Version = readVersion(m.Platform.Line, "", m.Platform.VersionFile)
	if m.Platform.Chart != "" && !exists(filepath.Join(m.Platform.Chart, "Chart.yaml"), false) {
		fail(m.Platform.Line, "", fmt.Sprintf("umbrella chart %s has no Chart.yaml", m.Platform.Chart), "correct platform.chart")
	}
	for _, c := range m.Components {
		for _, p := range c.Paths {
			if _, err := os.Stat(filepath.Join(m.Root, filepath.FromSlash(p))); err != nil {
				fail(c.Line, c.Name, fmt.Sprintf("input path %s does not exist", p), "correct paths: or create it")
			}
		}
		c.Version = readVersion(c.Line, c.Name, c.VersionFile)
		if c.Image != nil {
			if !exists(c.Image.Dockerfile, false) {
				fail(c.Line, c.Name, fmt.Sprintf("Dockerfile %s does not exist", c.Image.Dockerfile), "create it or correct image.dockerfile")
			}
			if c.Image.Main != "" && !exists(c.Image.Main, true) {
				fail(c.Line, c.Name, fmt.Sprintf("main package %s does not exist", c.Image.Main), "correct image.main (a directory holding package main)")
			}
		}
		if c.Chart != "" && !exists(filepath.Join(c.Chart, "Chart.yaml"), false) {
			fail(c.Line, c.Name, fmt.Sprintf("chart %s has no Chart.yaml", c.Chart), "correct chart: or create the chart")
		}
		if c.Compose != "" && !exists(c.Compose, false) {
			fail(c.Line, c.Name, fmt.Sprintf("compose file %s does not exist", c.Compose), "correct compose: or create the file")
		}
	}
	return errs
}

// fields walks a mapping, reporting unknown keys with the nearest valid one.
func (p *parser) fields(n *yaml.Node, comp string, keys []string, f func(key string, v *yaml.Node)) {
	if n.Kind != yaml.MappingNode {
		p.fail(n.Line, comp, fmt.Sprintf("expected a mapping, found %s", diag.NodeKind(n)), "write key: value pairs here")
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if !slices.Contains(keys, k.Value) {
			p.fail(k.Line, comp, fmt.Sprintf("unknown key %q", k.Value), diag.Suggest(k.Value, keys))
			continue
		}
		f(k.Value, n.Content[i+1])
	}
}

func (p *parser) str(n *yaml.Node, comp string) string {
	if n.Kind != yaml.ScalarNode {
		p.fail(n.Line, comp, fmt.Sprintf("expected a string, found %s", diag.NodeKind(n)), "write a single value")
		return ""
	}
	return n.Value
}

func (p *parser) strs(n *yaml.Node, comp string) []string {
	var out []string
	for _, e := range p.seq(n, comp) {
		if s := p.str(e, comp); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func (p *parser) seq(n *yaml.Node, comp string) []*yaml.Node {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		p.fail(n.Line, comp, fmt.Sprintf("expected a list, found %s", diag.NodeKind(n)), "write a list, e.g. [a, b]")
		return nil
	}
	return n.Content
}

func validName(s string) bool {
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z':
		case i > 0 && (r >= '0' && r <= '9' || r == '-'):
		default:
			return false
		}
	}
	return s != ""
}

// Suggest returns "did you mean …" or the list of valid choices, for callers that reject a name.
func Suggest(got string, valid []string) string { return diag.Suggest(got, valid) }

// Distance is the Levenshtein edit distance between a and b.
func Distance(a, b string) int { return diag.Distance(a, b) }
