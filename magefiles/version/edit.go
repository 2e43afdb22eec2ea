package version

import (
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/Masterminds/semver/v3"
	yaml2 "go.yaml.in/yaml/v2"
	"go.yaml.in/yaml/v3"
)

// SetChartVersion sets a Chart.yaml's version and appVersion to version, a
// strict semantic version. Only the two values change, in their original
// quoting style (a plain value that would not read back as the same string is
// double-quoted); every other byte of the file is kept. A missing appVersion
// is added, double-quoted, on the line after version. The file is rewritten
// atomically, and not at all when nothing changes. It is PlanChartVersion
// followed by Apply.
func SetChartVersion(path, version string) error {
	e, err := PlanChartVersion(path, version)
	if err != nil {
		return err
	}
	if err := e.Apply(); err != nil {
		return fmt.Errorf("setting chart version to %s: %w", version, err)
	}
	return nil
}

// PlanChartVersion computes and checks SetChartVersion's edit without writing
// anything: it fails exactly where SetChartVersion would, with the same errors,
// and otherwise returns the edit for Apply or ApplyAll.
func PlanChartVersion(path, version string) (*Edit, error) {
	if _, err := Parse(version); err != nil {
		return nil, fmt.Errorf("setting chart version in %s: %w", path, err)
	}
	d, err := loadChart(path)
	if err != nil {
		return nil, fmt.Errorf("setting chart version to %s: %w", version, err)
	}
	e := newEditor(d)
	ver, ok := d.keys["version"]
	if !ok {
		return nil, &FileError{Path: path, Problem: "chart has no version key", Fix: fmt.Sprintf("add a top-level line version: %s", version)}
	}
	err = e.set(ver, "version", version)
	if err == nil {
		if app, ok := d.keys["appVersion"]; ok {
			err = e.set(app, "appVersion", version)
		} else {
			err = e.insertAfter(d.root, ver, "appVersion", version, yaml.DoubleQuotedStyle)
		}
	}
	var edit *Edit
	if err == nil {
		edit, err = e.result()
	}
	if err != nil {
		return nil, fmt.Errorf("setting chart version to %s: %w", version, err)
	}
	return edit, nil
}

// SetDependencyVersion sets the version of every entry of a Chart.yaml's
// dependencies named depName (entries with aliases included) to version, an
// exact version or a semver constraint. Layout, quoting and comments are kept
// as SetChartVersion does; an entry without a version gets one on the line
// after its name. It fails with *DependencyNotFoundError when no entry has
// that name and *ConstraintError for an invalid version. It is
// PlanDependencyVersion followed by Apply.
func SetDependencyVersion(path, depName, version string) error {
	e, err := PlanDependencyVersion(path, depName, version)
	if err != nil {
		return err
	}
	if err := e.Apply(); err != nil {
		return fmt.Errorf("setting dependency %s to %s: %w", depName, version, err)
	}
	return nil
}

// PlanDependencyVersion computes and checks SetDependencyVersion's edit
// without writing anything, failing exactly where SetDependencyVersion would.
func PlanDependencyVersion(path, depName, version string) (*Edit, error) {
	if err := checkConstraint(version); err != nil {
		return nil, fmt.Errorf("setting dependency %s in %s: %w", depName, path, err)
	}
	d, err := loadChart(path)
	if err != nil {
		return nil, fmt.Errorf("setting dependency %s to %s: %w", depName, version, err)
	}
	var items []depItem
	if kv, ok := d.keys["dependencies"]; ok {
		if items, err = d.dependencies(kv.value); err != nil {
			return nil, fmt.Errorf("setting dependency %s to %s: %w", depName, version, err)
		}
	}
	e := newEditor(d)
	var names []string
	found := false
	for _, it := range items {
		nameKV, ok := it.keys["name"]
		if !ok {
			continue
		}
		name, err := d.scalar(nameKV, "dependencies[].name")
		if err != nil {
			return nil, fmt.Errorf("setting dependency %s to %s: %w", depName, version, err)
		}
		names = append(names, name)
		if name != depName {
			continue
		}
		found = true
		if vkv, ok := it.keys["version"]; ok {
			err = e.set(vkv, "dependencies["+depName+"].version", version)
		} else {
			err = e.insertAfter(it.node, nameKV, "version", version, 0)
		}
		if err != nil {
			return nil, fmt.Errorf("setting dependency %s to %s: %w", depName, version, err)
		}
	}
	if !found {
		return nil, &DependencyNotFoundError{Path: path, Name: depName, Available: names}
	}
	edit, err := e.result()
	if err != nil {
		return nil, fmt.Errorf("setting dependency %s to %s: %w", depName, version, err)
	}
	return edit, nil
}

func checkConstraint(v string) error {
	if !printable(v) {
		return &ConstraintError{Value: v, Err: fmt.Errorf("empty, or contains control characters")}
	}
	if _, err := semver.NewConstraint(v); err != nil {
		return &ConstraintError{Value: v, Err: err}
	}
	return nil
}

func printable(s string) bool {
	if s == "" || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || r == '\ufeff' {
			return false
		}
	}
	return true
}

// editor collects byte splices over a chart's source and applies the same
// changes to its parsed tree, which then serves as the expectation the edited
// bytes must parse back to.
type editor struct {
	d      *chartDoc
	starts []int // byte offset of each line's start, by YAML's line breaks
	splice []splice
	spans  map[*yaml.Node][2]int // source spans of scalars already edited
}

type splice struct {
	start, end int
	text       string
}

func newEditor(d *chartDoc) *editor {
	return &editor{d: d, starts: lineStarts(d.data), spans: make(map[*yaml.Node][2]int)}
}

// set replaces kv's scalar value with value.
func (e *editor) set(kv keyValue, field, value string) error {
	v := kv.value
	fail := func(problem, fix string) error {
		return &FileError{Path: e.d.path, Line: v.Line, Problem: field + " " + problem, Fix: fix}
	}
	switch {
	case v.Kind == yaml.AliasNode:
		return fail("is an alias (*"+v.Value+")", fmt.Sprintf("replace the alias with the value: %s: %s", kv.key.Value, value))
	case v.Kind != yaml.ScalarNode:
		return fail("is not a single value", fmt.Sprintf("write it as %s: %s", kv.key.Value, value))
	case v.Anchor != "":
		return fail("carries an anchor (&"+v.Anchor+")", fmt.Sprintf("edit it by hand to %s", value))
	case v.Tag == "!!null":
		return fail("has no value", fmt.Sprintf("write %s: %s", kv.key.Value, value))
	case v.Style&(yaml.TaggedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		return fail("is written with a tag or as a block scalar", fmt.Sprintf("write it as %s: %s", kv.key.Value, value))
	}
	start, end, ok := e.span(v)
	if !ok {
		return fail("could not be located in the file's text", fmt.Sprintf("write it on one line as %s: %s", kv.key.Value, value))
	}
	text, style := render(value, v.Style)
	e.splice = append(e.splice, splice{start: start, end: end, text: text})
	e.spans[v] = [2]int{start, end}
	v.Value, v.Style, v.Tag = value, style, "!!str"
	return nil
}

// insertAfter adds key: value to mapping m on the line after the one ending
// with after's value, at after's key's indentation.
func (e *editor) insertAfter(m *yaml.Node, after keyValue, key, value string, style yaml.Style) error {
	fail := func(problem string) error {
		return &FileError{Path: e.d.path, Line: after.key.Line, Problem: problem, Fix: fmt.Sprintf("add %s: %s by hand", key, value)}
	}
	v := resolve(after.value)
	if after.value.Kind != yaml.ScalarNode || v.Style&(yaml.LiteralStyle|yaml.FoldedStyle|yaml.TaggedStyle) != 0 || v.Anchor != "" {
		return fail(fmt.Sprintf("cannot add %s after %s, whose value is not a simple scalar", key, after.key.Value))
	}
	keyOff, ok := e.offset(after.key.Line, after.key.Column)
	_, end, ok2 := e.span(v)
	if !ok || !ok2 {
		return fail(fmt.Sprintf("cannot add %s: %s could not be located in the file's text", key, after.key.Value))
	}
	indent := strings.Repeat(" ", utf8.RuneCount(e.d.data[e.starts[after.key.Line-1]:keyOff]))
	br, at := "\n", len(e.d.data)
	if i := bytes.IndexAny(e.d.data[end:], "\r\n"); i >= 0 {
		at = end + i
		if bytes.HasPrefix(e.d.data[at:], []byte("\r\n")) {
			br = "\r\n"
		}
	}
	text, style := render(value, style)
	e.splice = append(e.splice, splice{start: at, end: at, text: br + indent + key + ": " + text})
	k := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key}
	val := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: value, Style: style}
	m.Content = slices.Insert(m.Content, after.index+2, k, val)
	return nil
}

// result applies the splices in memory and checks that the result parses to
// the expected tree; it writes nothing.
func (e *editor) result() (*Edit, error) {
	slices.SortStableFunc(e.splice, func(a, b splice) int { return a.start - b.start })
	var out bytes.Buffer
	prev := 0
	for _, s := range e.splice {
		if s.start < prev {
			return nil, &FileError{Path: e.d.path, Problem: "edits overlap", Fix: "edit the file by hand"}
		}
		out.Write(e.d.data[prev:s.start])
		out.WriteString(s.text)
		prev = s.end
	}
	out.Write(e.d.data[prev:])
	edited := out.Bytes()
	if bytes.Equal(edited, e.d.data) {
		return &Edit{Path: e.d.path, old: e.d.data, new: e.d.data, existed: true}, nil
	}
	var got yaml.Node
	if err := yaml.Unmarshal(edited, &got); err != nil || !sameTree(&got, e.d.doc, 0) {
		return nil, &FileError{Path: e.d.path, Problem: "the edit would change more than the intended values (unusual layout)", Fix: "edit the file by hand"}
	}
	return &Edit{Path: e.d.path, old: e.d.data, new: edited, existed: true}, nil
}

// sameTree compares two YAML trees by kind, style, tag, value, anchor and
// shape, ignoring positions and comments (the bytes of comments are never
// touched by an edit; only their attachment in the tree could move).
func sameTree(a, b *yaml.Node, depth int) bool {
	if a == nil || b == nil || depth > 10000 {
		return a == b
	}
	if a.Kind != b.Kind || a.Style != b.Style || a.Tag != b.Tag || a.Value != b.Value || a.Anchor != b.Anchor || len(a.Content) != len(b.Content) {
		return false
	}
	if a.Kind == yaml.AliasNode {
		return true // Value holds the alias name; the target is compared where it is defined
	}
	for i := range a.Content {
		if !sameTree(a.Content[i], b.Content[i], depth+1) {
			return false
		}
	}
	return true
}

// render writes value in style, falling back from plain to double quotes when
// the plain text would not read back as the same string.
func render(value string, style yaml.Style) (string, yaml.Style) {
	switch {
	case style == yaml.SingleQuotedStyle:
		return "'" + strings.ReplaceAll(value, "'", "''") + "'", style
	case style == yaml.DoubleQuotedStyle || !plainSafe(value):
		return strconv.Quote(value), yaml.DoubleQuotedStyle
	}
	return value, 0
}

// plainSafe reports whether value, written unquoted, reads back as the string
// value in both block and flow context, for YAML 1.2 readers and for the YAML
// 1.1 rules Helm reads Chart.yaml and values.yaml with (sigs.k8s.io/yaml, over
// yaml.v2), where yes, on, 0755 and 1:20 are not strings.
func plainSafe(value string) bool {
	if !plainSafe12(value) {
		return false
	}
	var m map[string]any
	if err := yaml2.Unmarshal([]byte("k: "+value+"\n"), &m); err != nil {
		return false
	}
	s, ok := m["k"].(string)
	return ok && s == value
}

func plainSafe12(value string) bool {
	if value == "" || strings.ContainsAny(value, ",[]{}#\"'") || strings.TrimSpace(value) != value {
		return false
	}
	var n yaml.Node
	if err := yaml.Unmarshal([]byte("k: "+value+"\n"), &n); err != nil || len(n.Content) != 1 {
		return false
	}
	m := n.Content[0]
	if m.Kind != yaml.MappingNode || len(m.Content) != 2 {
		return false
	}
	v := m.Content[1]
	return v.Kind == yaml.ScalarNode && v.Style == 0 && v.Tag == "!!str" && v.Value == value
}

// span returns the byte range of scalar v's source text, quotes included. It
// handles single-line plain, single- and double-quoted scalars and reports
// false for anything else.
func (e *editor) span(v *yaml.Node) (start, end int, ok bool) {
	if s, done := e.spans[v]; done {
		return s[0], s[1], true
	}
	data := e.d.data
	start, ok = e.offset(v.Line, v.Column)
	if !ok {
		return 0, 0, false
	}
	switch v.Style {
	case 0:
		if v.Value == "" || !bytes.HasPrefix(data[start:], []byte(v.Value)) {
			return 0, 0, false
		}
		return start, start + len(v.Value), true
	case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		q := byte('"')
		if v.Style == yaml.SingleQuotedStyle {
			q = '\''
		}
		if start >= len(data) || data[start] != q {
			return 0, 0, false
		}
		for i := start + 1; i < len(data); i++ {
			switch c := data[i]; {
			case c == '\r' || c == '\n':
				return 0, 0, false // multi-line quoted scalars are left alone
			case q == '"' && c == '\\':
				i++
			case c == q && q == '\'' && i+1 < len(data) && data[i+1] == '\'':
				i++
			case c == q:
				return start, i + 1, true
			}
		}
	}
	return 0, 0, false
}

// offset converts a yaml/v3 position (1-based line and column, columns
// counted in characters) into a byte offset.
func (e *editor) offset(line, column int) (int, bool) {
	if line < 1 || line > len(e.starts) || column < 1 {
		return 0, false
	}
	data := e.d.data
	off := e.starts[line-1]
	for range column - 1 {
		if off >= len(data) || breakLen(data, off) > 0 {
			return 0, false
		}
		_, size := utf8.DecodeRune(data[off:])
		off += size
	}
	return off, true
}

// lineStarts returns the offset of every line's start, breaking lines where
// yaml/v3 does: CRLF, CR, LF, NEL, LS and PS.
func lineStarts(data []byte) []int {
	starts := []int{0}
	for i := 0; i < len(data); {
		if n := breakLen(data, i); n > 0 {
			i += n
			starts = append(starts, i)
			continue
		}
		i++
	}
	return starts
}

// breakLen returns the length of the line break at data[i:], 0 if none.
func breakLen(data []byte, i int) int {
	rest := data[i:]
	switch {
	case bytes.HasPrefix(rest, []byte("\r\n")):
		return 2
	case len(rest) > 0 && (rest[0] == '\r' || rest[0] == '\n'):
		return 1
	case bytes.HasPrefix(rest, []byte("\u0085")):
		return 2
	case bytes.HasPrefix(rest, []byte("\u2028")), bytes.HasPrefix(rest, []byte("\u2029")):
		return 3
	}
	return 0
}
