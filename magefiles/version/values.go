package version

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Value is one string value to write into a YAML values file.
type Value struct {
	// Path is the value's key path from the top-level mapping, keys joined by dots, e.g.
	// "image.tag". A key that itself contains a dot cannot be named.
	Path string
	// Value is the string to write.
	Value string
}

// PlanValues plans writing string values into a YAML file whose top level is a mapping, such as
// a Helm chart's values.yaml, without writing anything. Every other byte of the file is kept, as
// SetChartVersion keeps it:
//
//   - a value that is present is replaced in its quoting style (a plain value that would not read
//     back as the same string is double-quoted), a null one (~, null or nothing after the colon)
//     included;
//   - a value whose last key is missing is added to its mapping, which must exist, on the line
//     after the entry of the previous Value in the same mapping, or else after the mapping's last
//     entry with a one-line value, at that entry's indentation.
//
// A missing mapping on the way, an alias, an anchor, a block scalar or a layout the edit cannot
// keep is refused with a *FileError naming the line and the fix. The planned content is checked
// to parse back to the intended tree; Apply writes it.
func PlanValues(path string, values ...Value) (*Edit, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &FileError{Path: path, Problem: "cannot read values file: " + errText(err), Fix: "check the chart path", Err: err}
	}
	d, err := parseValues(path, data)
	if err != nil {
		return nil, err
	}
	e := newEditor(d)
	seen := map[string]bool{}
	// inserted counts the entries added after each anchor entry, so that several additions after
	// one entry keep their order in the tree as in the text.
	inserted := map[*yaml.Node]int{}
	// last is, per mapping, the source entry of the previous Value set or added after.
	last := map[*yaml.Node]keyValue{}
	for _, v := range values {
		keys, err := splitPath(v.Path)
		if err != nil {
			return nil, &FileError{Path: path, Problem: err.Error(), Fix: "name the value by its keys joined with dots, e.g. image.tag"}
		}
		if seen[v.Path] {
			return nil, &FileError{Path: path, Problem: fmt.Sprintf("value %s is given twice", v.Path), Fix: "set each value once"}
		}
		seen[v.Path] = true
		m, err := d.mapping(keys[:len(keys)-1])
		if err != nil {
			return nil, err
		}
		entries, err := mappingKeys(path, m, strings.Join(keys[:len(keys)-1], ".")+dotIf(len(keys) > 1))
		if err != nil {
			return nil, err
		}
		leaf := keys[len(keys)-1]
		if kv, ok := entries[leaf]; ok {
			if err := e.setValue(kv, v.Path, v.Value); err != nil {
				return nil, err
			}
			last[m] = kv
			continue
		}
		after, ok := last[m]
		if !ok {
			if after, ok = lastScalarEntry(e, m); !ok {
				return nil, &FileError{Path: path, Line: m.Line, Problem: fmt.Sprintf("cannot add %s: its mapping has no entry with a one-line value to add it after", v.Path),
					Fix: fmt.Sprintf("add %s: \"\" to the file by hand", leaf)}
			}
		}
		n := inserted[after.key]
		inserted[after.key] = n + 1
		at := after
		at.index = slices.Index(m.Content, after.key) + 2*n // earlier additions may have moved it
		if err := e.insertAfter(m, at, leaf, v.Value, yaml.DoubleQuotedStyle); err != nil {
			return nil, err
		}
		last[m] = after
	}
	return e.result()
}

func dotIf(b bool) string {
	if b {
		return "."
	}
	return ""
}

// splitPath splits a dotted key path, refusing empty keys.
func splitPath(p string) ([]string, error) {
	keys := strings.Split(p, ".")
	for _, k := range keys {
		if k == "" || strings.TrimSpace(k) != k {
			return nil, fmt.Errorf("%q is not a key path", p)
		}
	}
	return keys, nil
}

func parseValues(path string, data []byte) (d *chartDoc, err error) {
	defer func() {
		if r := recover(); r != nil {
			d, err = nil, &FileError{Path: path, Problem: fmt.Sprintf("cannot parse values: YAML parser failed: %v", r), Fix: "check the file's YAML syntax"}
		}
	}()
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, &FileError{Path: path, Problem: "is not valid YAML: " + err.Error(), Fix: "fix the YAML syntax", Err: err}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, &FileError{Path: path, Line: 1, Problem: "values file is empty", Fix: "write the chart's default values as key: value lines"}
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, &FileError{Path: path, Line: root.Line, Problem: "values file is not a mapping of keys to values", Fix: "write the chart's default values as key: value lines"}
	}
	keys, err := mappingKeys(path, root, "")
	if err != nil {
		return nil, err
	}
	return &chartDoc{path: path, data: data, doc: &doc, root: root, keys: keys}, nil
}

// mapping follows keys from the top-level mapping to a nested mapping.
func (d *chartDoc) mapping(keys []string) (*yaml.Node, error) {
	m := d.root
	for i, k := range keys {
		entries, err := mappingKeys(d.path, m, strings.Join(keys[:i], ".")+dotIf(i > 0))
		if err != nil {
			return nil, err
		}
		name := strings.Join(keys[:i+1], ".")
		kv, ok := entries[k]
		switch {
		case !ok:
			return nil, &FileError{Path: d.path, Line: m.Line, Problem: fmt.Sprintf("has no %s", name), Fix: fmt.Sprintf("add the mapping %s to the file", name)}
		case kv.value.Kind == yaml.AliasNode:
			return nil, &FileError{Path: d.path, Line: kv.value.Line, Problem: fmt.Sprintf("%s is an alias (*%s); writing into it would change what else it names", name, kv.value.Value), Fix: "replace the alias with the mapping itself"}
		case kv.value.Kind != yaml.MappingNode:
			return nil, &FileError{Path: d.path, Line: kv.value.Line, Problem: fmt.Sprintf("%s is not a mapping", name), Fix: fmt.Sprintf("write %s as a mapping of keys to values", name)}
		case kv.value.Anchor != "":
			return nil, &FileError{Path: d.path, Line: kv.value.Line, Problem: fmt.Sprintf("%s carries an anchor (&%s); writing into it would change what its aliases name", name, kv.value.Anchor), Fix: "edit the file by hand"}
		}
		m = kv.value
	}
	return m, nil
}

// lastScalarEntry is m's last entry whose value is a one-line scalar the editor can locate.
func lastScalarEntry(e *editor, m *yaml.Node) (keyValue, bool) {
	for i := len(m.Content) - 2; i >= 0; i -= 2 {
		k, v := m.Content[i], m.Content[i+1]
		if v.Kind != yaml.ScalarNode || v.Anchor != "" || v.Style&(yaml.LiteralStyle|yaml.FoldedStyle|yaml.TaggedStyle) != 0 {
			continue
		}
		if _, _, ok := e.span(v); ok {
			return keyValue{key: k, value: v, index: i}, true
		}
	}
	return keyValue{}, false
}

// setValue is set for values files: it also replaces a null value, written as ~, null or
// nothing at all.
func (e *editor) setValue(kv keyValue, field, value string) error {
	v := kv.value
	if v.Kind != yaml.ScalarNode || v.Tag != "!!null" || v.Anchor != "" || v.Style != 0 {
		return e.set(kv, field, value)
	}
	if v.Value != "" {
		// ~ or null: a plain scalar the editor locates like any other.
		n := *v
		n.Tag = "!!str"
		if err := e.set(keyValue{key: kv.key, value: &n, index: kv.index}, field, value); err != nil {
			return err
		}
		*v = n
		e.spans[v] = e.spans[&n]
		return nil
	}
	// Nothing after the colon: write the value right after it.
	fail := &FileError{Path: e.d.path, Line: kv.key.Line, Problem: field + " has no value and its key could not be located in the file's text", Fix: fmt.Sprintf("write %s: \"\"", kv.key.Value)}
	_, end, ok := e.span(kv.key)
	if !ok || end >= len(e.d.data) || e.d.data[end] != ':' {
		return fail
	}
	text, style := render(value, yaml.DoubleQuotedStyle)
	e.splice = append(e.splice, splice{start: end + 1, end: end + 1, text: " " + text})
	v.Value, v.Style, v.Tag = value, style, "!!str"
	return nil
}
