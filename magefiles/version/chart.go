package version

import (
	"fmt"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

// LicenseAnnotation is the Chart.yaml annotation holding a chart's license
// (an SPDX expression). Helm copies chart annotations into the OCI manifest
// when it pushes a chart, so this key becomes the chart artifact's
// org.opencontainers.image.licenses annotation, matching the image label.
const LicenseAnnotation = "org.opencontainers.image.licenses"

// Chart is what the release needs from a Helm Chart.yaml.
type Chart struct {
	// Path is the file the chart was read from.
	Path string
	// APIVersion, Name, Version, AppVersion, Description and Home are the
	// top-level fields of the same names, as written (a scalar's source text,
	// "" when absent or null).
	APIVersion, Name, Version, AppVersion, Description, Home string
	// Sources lists the chart's source URLs.
	Sources []string
	// Maintainers lists the chart's maintainers.
	Maintainers []Maintainer
	// HasMaintainers reports whether the maintainers key is present at all,
	// even if empty.
	HasMaintainers bool
	// Annotations are the chart's annotations (scalar values as written).
	Annotations map[string]string
	// Dependencies are the chart's dependencies, in file order.
	Dependencies []Dependency
	// VersionLine and AppVersionLine are the 1-based lines of the version and
	// appVersion values, 0 when the key is absent.
	VersionLine, AppVersionLine int
}

// License returns the chart's LicenseAnnotation, "" when absent.
func (c *Chart) License() string { return c.Annotations[LicenseAnnotation] }

// Maintainer is one entry of a chart's maintainers list.
type Maintainer struct {
	// Name, Email and URL are the entry's fields, "" when absent.
	Name, Email, URL string
}

// Dependency is one entry of a chart's dependencies list.
type Dependency struct {
	// Name, Version, Repository, Condition and Alias are the entry's fields,
	// "" when absent. Version may be a constraint.
	Name, Version, Repository, Condition, Alias string
	// Line is the 1-based line where the entry starts.
	Line int
}

// DependencyNotFoundError reports a dependency name a Chart.yaml does not
// list.
type DependencyNotFoundError struct {
	// Path is the Chart.yaml; Name the missing dependency.
	Path, Name string
	// Available are the dependency names the chart does list.
	Available []string
}

// Error implements error.
func (e *DependencyNotFoundError) Error() string {
	have := "it has no dependencies"
	if len(e.Available) > 0 {
		have = "it lists " + strings.Join(e.Available, ", ")
	}
	return fmt.Sprintf("%s: no dependency named %q (%s); add it under dependencies: or check the name", e.Path, e.Name, have)
}

// ConstraintError reports a dependency version that is not a valid semver
// constraint.
type ConstraintError struct {
	// Value is the rejected version.
	Value string
	// Err is the semver library's reason.
	Err error
}

// Error implements error.
func (e *ConstraintError) Error() string {
	return fmt.Sprintf("invalid dependency version %q: %v; want a version such as %s or a constraint such as ^%s", e.Value, e.Err, Example, Example)
}

// Unwrap returns the semver library's error.
func (e *ConstraintError) Unwrap() error { return e.Err }

// ReadChart reads a Chart.yaml. Structural problems are *FileError values
// naming path:line and the fix; they never panic, whatever the input.
func ReadChart(path string) (*Chart, error) {
	doc, err := loadChart(path)
	if err != nil {
		return nil, err
	}
	c := &Chart{Path: path}
	fields := []struct {
		key  string
		dst  *string
		line *int
	}{
		{"apiVersion", &c.APIVersion, nil},
		{"name", &c.Name, nil},
		{"version", &c.Version, &c.VersionLine},
		{"appVersion", &c.AppVersion, &c.AppVersionLine},
		{"description", &c.Description, nil},
		{"home", &c.Home, nil},
	}
	for _, f := range fields {
		kv, ok := doc.keys[f.key]
		if !ok {
			continue
		}
		if *f.dst, err = doc.scalar(kv, f.key); err != nil {
			return nil, err
		}
		if f.line != nil {
			*f.line = kv.value.Line
		}
	}
	if kv, ok := doc.keys["sources"]; ok {
		if c.Sources, err = doc.stringList(kv.value, "sources"); err != nil {
			return nil, err
		}
	}
	if kv, ok := doc.keys["maintainers"]; ok {
		c.HasMaintainers = true
		if c.Maintainers, err = doc.maintainers(kv.value); err != nil {
			return nil, err
		}
	}
	if kv, ok := doc.keys["annotations"]; ok {
		if c.Annotations, err = doc.stringMap(kv.value, "annotations"); err != nil {
			return nil, err
		}
	}
	if kv, ok := doc.keys["dependencies"]; ok {
		items, err := doc.dependencies(kv.value)
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			d := Dependency{Line: it.node.Line}
			for _, f := range []struct {
				key string
				dst *string
			}{{"name", &d.Name}, {"version", &d.Version}, {"repository", &d.Repository}, {"condition", &d.Condition}, {"alias", &d.Alias}} {
				if kv, ok := it.keys[f.key]; ok {
					if *f.dst, err = doc.scalar(kv, "dependencies[]."+f.key); err != nil {
						return nil, err
					}
				}
			}
			c.Dependencies = append(c.Dependencies, d)
		}
	}
	return c, nil
}

// chartDoc is a parsed Chart.yaml with its source bytes.
type chartDoc struct {
	path string
	data []byte
	doc  *yaml.Node // the document node
	root *yaml.Node // its top-level mapping
	keys map[string]keyValue
}

// keyValue is one mapping entry; index is the key's position in Content.
type keyValue struct {
	key, value *yaml.Node
	index      int
}

// depItem is one dependencies entry.
type depItem struct {
	node *yaml.Node
	keys map[string]keyValue
}

func loadChart(path string) (*chartDoc, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &FileError{Path: path, Problem: "cannot read chart: " + errText(err), Fix: "check the chart path", Err: err}
	}
	return parseChart(path, data)
}

func parseChart(path string, data []byte) (d *chartDoc, err error) {
	// yaml/v3 reports malformed input as errors; a panic inside the parser
	// would be its bug, and is still reported as an error rather than taking
	// the caller down.
	defer func() {
		if r := recover(); r != nil {
			d, err = nil, &FileError{Path: path, Problem: fmt.Sprintf("cannot parse chart: YAML parser failed: %v", r), Fix: "check the file's YAML syntax"}
		}
	}()
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, &FileError{Path: path, Problem: "is not valid YAML: " + err.Error(), Fix: "fix the YAML syntax", Err: err}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, &FileError{Path: path, Line: 1, Problem: "chart file is empty", Fix: "write the chart's apiVersion, name and version"}
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, &FileError{Path: path, Line: root.Line, Problem: "chart file is not a mapping of keys to values", Fix: "start it with apiVersion: v2, name: and version: lines"}
	}
	keys, err := mappingKeys(path, root, "")
	if err != nil {
		return nil, err
	}
	return &chartDoc{path: path, data: data, doc: &doc, root: root, keys: keys}, nil
}

// mappingKeys indexes a mapping's scalar keys, refusing duplicates.
func mappingKeys(path string, m *yaml.Node, where string) (map[string]keyValue, error) {
	keys := make(map[string]keyValue, len(m.Content)/2)
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := m.Content[i]
		if k.Kind != yaml.ScalarNode {
			continue
		}
		if prev, dup := keys[k.Value]; dup {
			return nil, &FileError{Path: path, Line: k.Line, Problem: fmt.Sprintf("duplicate key %s%s (first at line %d)", where, k.Value, prev.key.Line), Fix: "remove one of them"}
		}
		keys[k.Value] = keyValue{key: k, value: m.Content[i+1], index: i}
	}
	return keys, nil
}

// resolve follows aliases to the node they name.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && n.Alias != nil && i < 64; i++ {
		n = n.Alias
	}
	return n
}

func (d *chartDoc) scalar(kv keyValue, field string) (string, error) {
	v := resolve(kv.value)
	if v == nil || v.Kind != yaml.ScalarNode {
		return "", &FileError{Path: d.path, Line: kv.value.Line, Problem: field + " must be a single value", Fix: fmt.Sprintf("write it as %s: <text> on one line", kv.key.Value)}
	}
	if v.Tag == "!!null" {
		return "", nil
	}
	return v.Value, nil
}

func (d *chartDoc) stringList(n *yaml.Node, field string) ([]string, error) {
	n = resolve(n)
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil, nil
	}
	if n.Kind != yaml.SequenceNode {
		return nil, &FileError{Path: d.path, Line: n.Line, Problem: field + " must be a list", Fix: fmt.Sprintf("write it as %s: followed by \"- <value>\" lines", field)}
	}
	out := make([]string, 0, len(n.Content))
	for _, item := range n.Content {
		item = resolve(item)
		if item.Kind != yaml.ScalarNode {
			return nil, &FileError{Path: d.path, Line: item.Line, Problem: field + " entries must be single values", Fix: "write each entry as \"- <value>\""}
		}
		out = append(out, item.Value)
	}
	return out, nil
}

func (d *chartDoc) stringMap(n *yaml.Node, field string) (map[string]string, error) {
	n = resolve(n)
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, &FileError{Path: d.path, Line: n.Line, Problem: field + " must be a mapping", Fix: fmt.Sprintf("write it as %s: followed by indented \"key: value\" lines", field)}
	}
	keys, err := mappingKeys(d.path, n, field+".")
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(keys))
	for k, kv := range keys {
		if out[k], err = d.scalar(kv, field+"."+k); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (d *chartDoc) maintainers(n *yaml.Node) ([]Maintainer, error) {
	n = resolve(n)
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil, nil
	}
	if n.Kind != yaml.SequenceNode {
		return nil, &FileError{Path: d.path, Line: n.Line, Problem: "maintainers must be a list", Fix: "write each maintainer as \"- name: <name>\" with optional email: and url:"}
	}
	var out []Maintainer
	for _, item := range n.Content {
		m, err := d.stringMap(item, "maintainers[]")
		if err != nil {
			return nil, err
		}
		out = append(out, Maintainer{Name: m["name"], Email: m["email"], URL: m["url"]})
	}
	return out, nil
}

func (d *chartDoc) dependencies(n *yaml.Node) ([]depItem, error) {
	n = resolve(n)
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil, nil
	}
	if n.Kind != yaml.SequenceNode {
		return nil, &FileError{Path: d.path, Line: n.Line, Problem: "dependencies must be a list", Fix: "write each dependency as \"- name: <chart>\" with version: and repository:"}
	}
	var out []depItem
	for _, item := range n.Content {
		item = resolve(item)
		if item.Kind != yaml.MappingNode {
			return nil, &FileError{Path: d.path, Line: item.Line, Problem: "dependencies entries must be mappings", Fix: "write each dependency as \"- name: <chart>\" with version: and repository:"}
		}
		keys, err := mappingKeys(d.path, item, "dependencies[].")
		if err != nil {
			return nil, err
		}
		out = append(out, depItem{node: item, keys: keys})
	}
	return out, nil
}
