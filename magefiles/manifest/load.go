package manifest

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/Masterminds/semver/v3"
	"go.yaml.in/yaml/v3"

	"github.com/shiplane/shiplane/magefiles/diag"
	"github.com/shiplane/shiplane/magefiles/graph"
	"github.com/shiplane/shiplane/magefiles/platform"
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

// Location is where the problem is: the components file and the 1-based line (0: the whole file).
func (e *Error) Location() (file string, line int) { return e.File, e.Line }

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
	topKeys       = []string{"project", "source", "license", "platform", "platforms", "components", "bundles"}
	platformKeys  = []string{"version_file", "chart"}
	componentKeys = []string{"name", "description", "paths", "version_file", "image", "chart", "chart_image_values", "compose", "depends_on", "publish", "umbrella"}
	imageKeys     = []string{"name", "dockerfile", "main", "from", "platforms"}
	chartImgKeys  = []string{"repository", "tag", "digest"}
	bundleKeys    = []string{"name", "components"}
	// componentNested are the keys of a component's mappings, for a key written beside them.
	componentNested = map[string][]string{"image": imageKeys, "chart_image_values": chartImgKeys}
)

func (p *parser) parse(data []byte) *Manifest {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		s := diag.SyntaxOf(data, err)
		p.fail(s.Line, "", s.Problem, s.Fix)
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
	var compsNode, bundlesNode, compsKey, bundlesKey *yaml.Node
	top := &diag.Mapping{Node: root, Keys: topKeys, Nested: map[string][]string{"platform": platformKeys}}
	p.fields(top, "", func(key string, k, v *yaml.Node) {
		switch key {
		case "project":
			m.Project = p.str(v, "")
		case "source":
			m.Source = p.str(v, "")
		case "license":
			m.License = p.str(v, "")
		case "platform":
			m.Platform.Line = v.Line
			p.fields(top.Child("platform", k, v, platformKeys, nil), "", func(key string, _, v *yaml.Node) {
				switch key {
				case "version_file":
					m.Platform.VersionFile = p.path(v, "", "platform.version_file")
				case "chart":
					m.Platform.Chart = p.path(v, "", "platform.chart")
					m.Platform.chartLine = v.Line
				}
			})
		case "platforms":
			m.Platforms = p.platforms(v, "", "platforms")
		case "components":
			compsNode, compsKey = v, k
		case "bundles":
			bundlesNode, bundlesKey = v, k
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
		c := p.component(top.Child("", compsKey, cn, componentKeys, componentNested))
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
	p.checkUnique(m)
	for _, c := range m.Components {
		if c.Image != nil && c.lines["image.platforms"] == 0 {
			c.Image.Platforms = m.Platforms
		}
	}
	if bundlesNode != nil {
		for _, bn := range p.seq(bundlesNode, "") {
			p.bundle(m, top.Child("", bundlesKey, bn, bundleKeys, nil))
		}
	}
	return m
}

// checkUnique refuses two images with one repository name and two charts with one directory base
// name (the name a chart is pushed and depended on by), the umbrella chart included.
func (p *parser) checkUnique(m *Manifest) {
	type owner struct {
		comp string
		line int
		dir  string
	}
	images := map[string]owner{}
	charts := map[string]owner{}
	if m.Platform.Chart != "" {
		charts[path.Base(m.Platform.Chart)] = owner{line: m.Platform.chartLine, dir: m.Platform.Chart}
	}
	for _, c := range m.Components {
		if c.Image != nil && c.Image.Name != "" {
			if o, dup := images[c.Image.Name]; dup {
				p.fail(c.line("image.name"), c.Name, fmt.Sprintf("image name %q is also the image of component %q (line %d)", c.Image.Name, o.comp, o.line),
					"give each image its own name: set image.name")
			} else {
				images[c.Image.Name] = owner{comp: c.Name, line: c.line("image.name")}
			}
		}
		if c.Chart != "" {
			base := path.Base(c.Chart)
			if o, dup := charts[base]; dup {
				other := fmt.Sprintf("component %q's chart %s (line %d)", o.comp, o.dir, o.line)
				if o.comp == "" {
					other = fmt.Sprintf("the umbrella chart %s (line %d)", o.dir, o.line)
				}
				p.fail(c.line("chart"), c.Name, fmt.Sprintf("chart %s has the same directory name %q as %s; charts are pushed and depended on by that name", c.Chart, base, other),
					"rename one of the chart directories")
			} else {
				charts[base] = owner{comp: c.Name, line: c.line("chart"), dir: c.Chart}
			}
		}
	}
}

func (p *parser) component(cm *diag.Mapping) *Component {
	n := cm.Node
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
	if c.Name == ReservedName {
		p.fail(n.Line, c.Name, fmt.Sprintf("the name %q is reserved: it is the umbrella release (root VERSION and umbrella chart; bump %s bumps it)", ReservedName, ReservedName),
			"rename the component")
	}
	// mark records where a field's value is, when it has one: a value rejected as a path is then
	// not also reported as missing.
	c.lines = map[string]int{}
	mark := func(field string, v *yaml.Node) {
		if v.Kind == yaml.ScalarNode && v.Value != "" {
			c.lines[field] = v.Line
		}
	}
	p.fields(cm, c.Name, func(key string, k, v *yaml.Node) {
		switch key {
		case "description":
			c.Description = p.str(v, c.Name)
		case "paths":
			c.Paths = p.inputPaths(c, v)
		case "version_file":
			c.VersionFile = p.path(v, c.Name, "version_file")
			mark(key, v)
		case "chart":
			c.Chart = p.path(v, c.Name, "chart")
			mark(key, v)
		case "chart_image_values":
			c.lines[key] = v.Line
			p.fields(cm.Child("chart_image_values", k, v, chartImgKeys, nil), c.Name, func(key string, _, v *yaml.Node) {
				field := "chart_image_values." + key
				s := p.str(v, c.Name)
				mark(field, v)
				if s == "" {
					if v.Kind == yaml.ScalarNode {
						p.fail(v.Line, c.Name, field+" is empty", fmt.Sprintf("name the value, e.g. %s, or remove the key for the default", defaultChartImageValue(key)))
					}
					return
				}
				if !validValuesPath(s) {
					p.fail(v.Line, c.Name, fmt.Sprintf("%s %q is not a values path", field, s),
						fmt.Sprintf("write the keys from the top of values.yaml joined with dots, e.g. %s (keys of letters, digits, \"_\" and \"-\")", defaultChartImageValue(key)))
					s = ""
				}
				switch key {
				case "repository":
					c.ChartImageValues.Repository = s
				case "tag":
					c.ChartImageValues.Tag = s
				case "digest":
					c.ChartImageValues.Digest = s
				}
			})
		case "compose":
			c.Compose = p.path(v, c.Name, "compose")
		case "depends_on":
			c.DependsOn = p.strs(v, c.Name)
		case "publish":
			b, err := strconv.ParseBool(v.Value)
			if v.Kind != yaml.ScalarNode || err != nil {
				p.fail(v.Line, c.Name, fmt.Sprintf("publish must be true or false, not %q", v.Value), "write publish: false, or remove the key (default true)")
			}
			c.Publish = b
		case "umbrella":
			b, err := strconv.ParseBool(v.Value)
			if v.Kind != yaml.ScalarNode || err != nil {
				p.fail(v.Line, c.Name, fmt.Sprintf("umbrella must be true or false, not %q", v.Value),
					"write umbrella: false to keep the component's chart out of the umbrella chart, or remove the key (default true)")
			} else {
				c.UmbrellaExcluded = !b
			}
			c.lines[key] = v.Line
		case "image":
			c.Image = &Image{}
			c.lines["image.name"] = v.Line
			p.fields(cm.Child("image", k, v, imageKeys, nil), c.Name, func(key string, _, v *yaml.Node) {
				switch key {
				case "name":
					c.Image.Name = p.str(v, c.Name)
					mark("image.name", v)
				case "dockerfile":
					c.Image.Dockerfile = p.path(v, c.Name, "image.dockerfile")
					mark("image.dockerfile", v)
				case "main":
					c.Image.Main = p.path(v, c.Name, "image.main")
					mark("image.main", v)
				case "from":
					c.Image.From = p.str(v, c.Name)
				case "platforms":
					c.Image.Platforms = p.platforms(v, c.Name, "image.platforms")
					c.lines["image.platforms"] = v.Line
				}
			})
			named := c.Image.Name != ""
			if !named {
				c.Image.Name = c.Name
			}
			if (named || validName(c.Name)) && !validRepository(c.Image.Name) {
				p.fail(c.line("image.name"), c.Name, fmt.Sprintf("image name %q is not a valid repository name", c.Image.Name),
					"use lower-case letters and digits, separated by single dots, dashes or underscores (e.g. core or connector-fs); set image.name")
			}
			if c.Image.Dockerfile == "" && c.lines["image.dockerfile"] == 0 { // not a rejected one
				p.fail(v.Line, c.Name, "image without a dockerfile", "add dockerfile: <path to Dockerfile>")
			}
		}
	})
	if len(c.Paths) == 0 && c.lines["paths rejected"] == 0 {
		p.fail(n.Line, c.Name, "no input paths", "add paths: [<the directories this component is built from>]")
	}
	if c.VersionFile == "" && c.lines["version_file"] == 0 { // not a rejected one
		p.fail(n.Line, c.Name, "no version_file", "add version_file: <path>/VERSION")
	}
	if c.UmbrellaExcluded && c.Chart == "" && c.lines["chart"] == 0 {
		p.fail(c.line("umbrella"), c.Name, "umbrella: false on a component without a chart: the umbrella chart lists charts, and this component has none",
			"remove umbrella: false, or add chart: <chart directory>")
	}
	p.chartImageValues(c)
	return c
}

// chartImageValues fills in the defaults of a component's chart_image_values and checks them: they
// need a chart and an image, and must name three values, none inside another.
func (p *parser) chartImageValues(c *Component) {
	declared := c.lines["chart_image_values"] > 0
	switch {
	case declared && c.Chart == "" && c.lines["chart"] == 0: // not a rejected one
		p.fail(c.line("chart_image_values"), c.Name, "chart_image_values without a chart: they say where the chart keeps its image",
			"add chart: <chart directory>, or remove chart_image_values")
		return
	case declared && c.Image == nil:
		p.fail(c.line("chart_image_values"), c.Name, "chart_image_values without an image: the component has no image for its chart to point at",
			"add image:, or remove chart_image_values")
		return
	case c.Chart == "" || c.Image == nil:
		c.ChartImageValues = ChartImageValues{}
		return
	}
	v, def := &c.ChartImageValues, DefaultChartImageValues()
	fields := []struct {
		key      string
		got      *string
		fallback string
	}{{"repository", &v.Repository, def.Repository}, {"tag", &v.Tag, def.Tag}, {"digest", &v.Digest, def.Digest}}
	for _, f := range fields {
		if *f.got == "" {
			if c.lines["chart_image_values."+f.key] > 0 {
				return // named but refused, and reported
			}
			*f.got = f.fallback
		}
	}
	named := []struct{ key, path string }{{"repository", v.Repository}, {"tag", v.Tag}, {"digest", v.Digest}}
	for i, a := range named {
		for _, b := range named[i+1:] {
			line := c.line("chart_image_values." + b.key)
			if c.lines["chart_image_values."+b.key] == 0 {
				line = c.line("chart_image_values." + a.key)
			}
			var problem string
			switch {
			case a.path == b.path:
				problem = fmt.Sprintf("chart_image_values.%s and chart_image_values.%s both name %s", a.key, b.key, a.path)
			case strings.HasPrefix(b.path, a.path+"."):
				problem = fmt.Sprintf("chart_image_values.%s %s holds chart_image_values.%s %s", a.key, a.path, b.key, b.path)
			case strings.HasPrefix(a.path, b.path+"."):
				problem = fmt.Sprintf("chart_image_values.%s %s holds chart_image_values.%s %s", b.key, b.path, a.key, a.path)
			default:
				continue
			}
			p.fail(line, c.Name, problem+" (unnamed ones default to image.repository, image.tag and image.digest)",
				"name three different values, none inside another")
		}
	}
}

func defaultChartImageValue(key string) string { return "image." + key }

// validValuesPath reports whether s is a key path into values.yaml: keys of letters, digits, "_"
// and "-", joined by dots.
func validValuesPath(s string) bool {
	for _, k := range strings.Split(s, ".") {
		if k == "" {
			return false
		}
		for _, r := range k {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
				return false
			}
		}
	}
	return true
}

func (p *parser) bundle(m *Manifest, bm *diag.Mapping) {
	n := bm.Node
	b := &Bundle{Line: n.Line}
	p.fields(bm, "", func(key string, _, v *yaml.Node) {
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
			default:
				p.checkBasePlatforms(c, from)
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

// checkBasePlatforms refuses an image built for a platform its base image is not built for: it
// would be built FROM a base that is never published for that platform.
func (p *parser) checkBasePlatforms(c, from *Component) {
	if len(c.Image.Platforms) == 0 {
		return // the engine's own platform, whatever it is
	}
	line := c.line("image.platforms")
	if len(from.Image.Platforms) == 0 {
		p.fail(line, c.Name, fmt.Sprintf("image is built for %s, but its base %q names no platforms (it is built for the engine's own only)", list(c.Image.Platforms), from.Name),
			fmt.Sprintf("give %q image.platforms covering these, or set a top-level platforms: for every image", from.Name))
		return
	}
	var missing []platform.Platform
	for _, pl := range c.Image.Platforms {
		if !slices.Contains(from.Image.Platforms, pl) {
			missing = append(missing, pl)
		}
	}
	if len(missing) > 0 {
		p.fail(line, c.Name, fmt.Sprintf("image is built for %s, but its base %q is not (it is built for %s)", list(missing), from.Name, list(from.Image.Platforms)),
			fmt.Sprintf("add %s to %q's image.platforms, or remove it from this component's", list(missing), from.Name))
	}
}

func list(ps []platform.Platform) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ", ")
}

// checkFiles reports input paths, VERSION files, Dockerfiles, main packages, charts and compose
// files that do not exist; input paths and chart directories that are (or lie behind) symbolic
// links; VERSION files that are not semver, or whose component version carries build metadata; and
// images built from files outside the component's input paths.
func (m *Manifest) checkFiles() Errors {
	var errs Errors
	fail := func(line int, comp, problem, fix string) {
		errs = append(errs, &Error{File: m.File, Line: line, Component: comp, Problem: problem, Fix: fix})
	}
	exists := func(p string, dir bool) bool {
		st, err := os.Stat(filepath.Join(m.Root, filepath.FromSlash(p)))
		return err == nil && st.IsDir() == dir
	}
	readVersion := func(line int, comp, file string) *semver.Version {
		if !exists(file, false) {
			fail(line, comp, fmt.Sprintf("version file %s does not exist", file), fmt.Sprintf("create %s containing a version such as 0.1.0", file))
			return nil
		}
		v, err := version.ReadFile(filepath.Join(m.Root, filepath.FromSlash(file)))
		var fe *version.FileError
		if errors.As(err, &fe) {
			fe.Path = file // name it as the manifest does, not by its absolute path
			fail(line, comp, fe.Error(), fmt.Sprintf("write a semantic version such as 1.2.3 into %s", file))
			return nil
		} else if err != nil {
			fail(line, comp, fmt.Sprintf("%s: %v", file, err), fmt.Sprintf("write a semantic version such as 1.2.3 into %s", file))
			return nil
		}
		return v
	}
	// linked reports a symbolic link at p or at one of its parent directories: git records a link
	// as the text of its target, so edits behind it would never change an input key.
	linked := func(line int, comp, what, p, fix string) bool {
		link, target := m.symlink(p)
		if link == "" {
			return false
		}
		where := fmt.Sprintf("%s %s is a symbolic link (to %s)", what, p, target)
		if link != p {
			where = fmt.Sprintf("%s %s lies behind the symbolic link %s (to %s)", what, p, link, target)
		}
		fail(line, comp, where+"; git records a link as the name of its target, so edits behind it would not change the key", fix)
		return true
	}
	if v := readVersion(m.Platform.Line, "", m.Platform.VersionFile); v != nil {
		m.Platform.Version = v.String()
	}
	if m.Platform.Chart != "" {
		line := m.Platform.chartLine
		if line == 0 {
			line = m.Platform.Line
		}
		if !linked(line, "", "umbrella chart", m.Platform.Chart, "point platform.chart at the real directory") &&
			!exists(filepath.Join(m.Platform.Chart, "Chart.yaml"), false) {
			fail(m.Platform.Line, "", fmt.Sprintf("umbrella chart %s has no Chart.yaml", m.Platform.Chart), "correct platform.chart")
		}
	}
	for _, c := range m.Components {
		pathsOK := true
		for _, p := range c.Paths {
			if linked(c.line("paths:"+p), c.Name, "input path", p, "list the real directory in paths: instead") {
				pathsOK = false
			} else if _, err := os.Stat(filepath.Join(m.Root, filepath.FromSlash(p))); err != nil {
				fail(c.Line, c.Name, fmt.Sprintf("input path %s does not exist", p), "correct paths: or create it")
				pathsOK = false
			}
		}
		if v := readVersion(c.Line, c.Name, c.VersionFile); v != nil {
			c.Version = v.String()
			if meta := v.Metadata(); meta != "" {
				bare := strings.TrimSuffix(v.Original(), "+"+meta)
				fail(c.line("version_file"), c.Name, fmt.Sprintf("%s: version %s carries build metadata (+%s), and \"+\" cannot appear in an image tag", c.VersionFile, v, meta),
					fmt.Sprintf("drop it: write %s into %s", bare, c.VersionFile))
			}
		}
		if c.Image != nil {
			if !exists(c.Image.Dockerfile, false) {
				fail(c.Line, c.Name, fmt.Sprintf("Dockerfile %s does not exist", c.Image.Dockerfile), "create it or correct image.dockerfile")
			} else if ctx := c.Image.Context(); pathsOK && !c.covers(ctx) {
				fail(c.line("image.dockerfile"), c.Name,
					fmt.Sprintf("image.dockerfile %s is outside the input paths: its directory %s is the build context, so the key would miss files that go into the image", c.Image.Dockerfile, ctx),
					fmt.Sprintf("add %s to paths:, or move the Dockerfile under one of %s", ctx, strings.Join(c.Paths, ", ")))
			}
			if c.Image.Main != "" && !exists(c.Image.Main, true) {
				fail(c.Line, c.Name, fmt.Sprintf("main package %s does not exist", c.Image.Main), "correct image.main (a directory holding package main)")
			} else if c.Image.Main != "" && pathsOK && !c.covers(c.Image.Main) {
				fail(c.line("image.main"), c.Name,
					fmt.Sprintf("image.main %s is outside the input paths, so the key would miss the code compiled into the image", c.Image.Main),
					fmt.Sprintf("add %s to paths:, or move the package under one of %s", c.Image.Main, strings.Join(c.Paths, ", ")))
			}
		}
		if c.Chart != "" && !linked(c.line("chart"), c.Name, "chart", c.Chart, "point chart: at the real directory") &&
			!exists(filepath.Join(c.Chart, "Chart.yaml"), false) {
			fail(c.Line, c.Name, fmt.Sprintf("chart %s has no Chart.yaml", c.Chart), "correct chart: or create the chart")
		}
		if c.Compose != "" && !exists(c.Compose, false) {
			fail(c.Line, c.Name, fmt.Sprintf("compose file %s does not exist", c.Compose), "correct compose: or create the file")
		}
	}
	return errs
}

// covers reports whether p (a normalised path) is one of c's input paths or lies under one.
func (c *Component) covers(p string) bool {
	for _, in := range c.Paths {
		if p == in || strings.HasPrefix(p, in+"/") {
			return true
		}
	}
	return false
}

// symlink returns the first of p and its parent directories, from the root down, that is a
// symbolic link, with the link's text; "" when there is none (or p does not exist).
func (m *Manifest) symlink(p string) (link, target string) {
	parts := strings.Split(p, "/")
	for i := range parts {
		prefix := strings.Join(parts[:i+1], "/")
		full := filepath.Join(m.Root, filepath.FromSlash(prefix))
		st, err := os.Lstat(full)
		if err != nil {
			return "", ""
		}
		if st.Mode()&os.ModeSymlink != 0 {
			target, _ := os.Readlink(full)
			return prefix, target
		}
	}
	return "", ""
}

// fields walks a mapping, reporting a key given twice, and an unknown key with where it belongs
// (indented under the wrong key) or the nearest valid one.
func (p *parser) fields(m *diag.Mapping, comp string, f func(key string, k, v *yaml.Node)) {
	m.Walk(func(line int, problem, fix string) { p.fail(line, comp, problem, fix) },
		func(k, v *yaml.Node) { f(k.Value, k, v) })
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

// path reads a path value: relative to the repository root, inside it, and normalised ("./c" and
// "c/" become "c"), so that the same content always gives the same input key. A rejected path
// reads as "".
func (p *parser) path(n *yaml.Node, comp, field string) string {
	s := p.str(n, comp)
	if s == "" {
		return ""
	}
	clean := path.Clean(s)
	switch {
	case path.IsAbs(s) || filepath.IsAbs(s):
		p.fail(n.Line, comp, fmt.Sprintf("%s %q is absolute", field, s), "write it relative to the repository root")
	case slices.Contains(strings.Split(s, "/"), ".."):
		p.fail(n.Line, comp, fmt.Sprintf("%s %q contains \"..\"", field, s), "write it from the repository root without \"..\": every path must lie inside the repository")
	case clean == ".":
		fix := "name a path inside the repository"
		if field == "input path" {
			fix = "list the directories the component is built from: the repository root would make every change anywhere a change of this component"
		}
		p.fail(n.Line, comp, fmt.Sprintf("%s %q is the repository root", field, s), fix)
	default:
		return clean
	}
	return ""
}

// platforms reads a list of target platforms ("linux/amd64"), normalised (platform.Parse):
// Linux only, known architectures, none twice, and not empty.
func (p *parser) platforms(n *yaml.Node, comp, field string) []platform.Platform {
	if n.Kind == yaml.SequenceNode && len(n.Content) == 0 {
		p.fail(n.Line, comp, field+" is empty: nothing would be built", "list at least one platform, e.g. [linux/amd64, linux/arm64], or remove the key for the default")
		return nil
	}
	var out []platform.Platform
	first := map[platform.Platform]int{}
	for _, e := range p.seq(n, comp) {
		s := p.str(e, comp)
		if s == "" {
			continue
		}
		pl, err := platform.Parse(s)
		var pe *platform.ParseError
		if errors.As(err, &pe) {
			p.fail(e.Line, comp, fmt.Sprintf("%s: %q: %s", field, s, pe.Problem), "write linux/<arch>[/<variant>], e.g. linux/amd64, linux/arm64 or linux/arm/v7 (architectures: "+strings.Join(platform.Architectures(), ", ")+")")
			continue
		} else if err != nil {
			p.fail(e.Line, comp, fmt.Sprintf("%s: %v", field, err), "write linux/<arch>, e.g. linux/arm64")
			continue
		}
		if line, dup := first[pl]; dup {
			same := ""
			if s != pl.String() {
				same = fmt.Sprintf(" (%s is %s)", s, pl)
			}
			p.fail(e.Line, comp, fmt.Sprintf("%s lists %s twice (first at line %d)%s", field, pl, line, same), "remove one of them")
			continue
		}
		first[pl] = e.Line
		out = append(out, pl)
	}
	return out
}

// inputPaths reads a component's paths, normalised, refusing one listed twice.
func (p *parser) inputPaths(c *Component, n *yaml.Node) []string {
	var out []string
	for _, e := range p.seq(n, c.Name) {
		reported := len(p.errs)
		s := p.path(e, c.Name, "input path")
		if s == "" {
			if len(p.errs) > reported { // refused, and said so: not also "no input paths"
				c.lines["paths rejected"] = e.Line
			}
			continue
		}
		if first, dup := c.lines["paths:"+s]; dup {
			p.fail(e.Line, c.Name, fmt.Sprintf("input path %s is listed twice (first at line %d)", s, first), "remove one of them")
			continue
		}
		c.lines["paths:"+s] = e.Line
		out = append(out, s)
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

// ReservedName is the component name the umbrella release goes by.
const ReservedName = "platform"

// validRepository reports whether s is one repository path component as registries accept it:
// [a-z0-9]+([._-][a-z0-9]+)*.
func validRepository(s string) bool {
	sep := true // at the start, or just after a separator: a letter or digit must follow
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; {
		case ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9':
			sep = false
		case (ch == '.' || ch == '_' || ch == '-') && !sep:
			sep = true
		default:
			return false
		}
	}
	return s != "" && !sep
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
