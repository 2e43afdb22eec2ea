package diag

import (
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Mapping is a YAML mapping as a loader reads it: the keys it accepts and where it sits, so that
// a key it does not accept, but the mapping above it or one beside it does, is reported as
// indented under the wrong key, with the column that puts it right.
type Mapping struct {
	// Name is how a problem inside it names it ("image"), or "" (the top level, a list entry).
	Name string
	// Node is the mapping node; Key is the key whose value it is (a list entry's: the list's key),
	// or nil at the top level.
	Node, Key *yaml.Node
	// Keys are the keys it accepts.
	Keys []string
	// Nested are the keys the mappings under its keys accept, by key ("image" → name,
	// dockerfile, …), for a key written beside its parent instead of under it.
	Nested map[string][]string
	// Parent is the mapping it is in, or nil.
	Parent *Mapping
}

// Child is the mapping n, the value of key k of m (k the list's key for an entry of a list
// under m), accepting keys.
func (m *Mapping) Child(name string, k, n *yaml.Node, keys []string, nested map[string][]string) *Mapping {
	return &Mapping{Name: name, Node: n, Key: k, Keys: keys, Nested: nested, Parent: m}
}

// Unknown is the problem and the fix for key k of m, which m does not accept: a key of a mapping
// above m (indented too far), of a mapping under one of m's other keys (not indented enough), or
// else the nearest valid name.
func (m *Mapping) Unknown(k *yaml.Node) (problem, fix string) {
	prefix := ""
	if m.Name != "" {
		prefix = m.Name + ": "
	}
	problem = fmt.Sprintf("%sunknown key %q", prefix, k.Value)
	// Beside its parent: a key of the mapping under one of m's keys, written at m's column.
	for i := 0; i+1 < len(m.Node.Content); i += 2 {
		pk, pv := m.Node.Content[i], m.Node.Content[i+1]
		if pk == k || !slices.Contains(m.Nested[pk.Value], k.Value) {
			continue
		}
		col := pk.Column + 2
		if pv.Kind == yaml.MappingNode && len(pv.Content) > 0 && pv.Style&yaml.FlowStyle == 0 {
			col = pv.Column
		}
		return fmt.Sprintf("%s (it is a key of %s:, line %d, but is not indented under it)", problem, pk.Value, pk.Line),
			fmt.Sprintf("move %s: right to column %d, under %s:", k.Value, col, pk.Value)
	}
	// Under the wrong parent: a key of a mapping above, indented as if it were m's.
	if m.Key != nil {
		under := m
		for a := m.Parent; a != nil; a = a.Parent {
			if slices.Contains(a.Keys, k.Value) && under.Key != nil {
				return fmt.Sprintf("%s (it is indented under %s:, line %d)", problem, m.Key.Value, m.Key.Line),
					fmt.Sprintf("move %s: left to align with %s: (column %d)", k.Value, under.Key.Value, under.Key.Column)
			}
			under = a
		}
	}
	return problem, Suggest(k.Value, m.Keys)
}

// Duplicate is the problem and the fix for key k, given a second time in one mapping (first at
// line first). yaml.v3 keeps both in a node tree without a word.
func Duplicate(k *yaml.Node, first int) (problem, fix string) {
	return fmt.Sprintf("key %q given twice (first at line %d)", k.Value, first), "keep one of them"
}

// NotMapping is the problem and the fix for m's node, which is not a mapping: "expected a
// mapping"; when it is text starting with one of m's keys and a space, that key's ":" is missing.
func (m *Mapping) NotMapping() (problem, fix string) {
	n := m.Node
	problem, fix = fmt.Sprintf("expected a mapping, found %s", NodeKind(n)), "write key: value pairs here"
	if m.Name != "" {
		problem = m.Name + ": " + problem
	}
	if n.Kind == yaml.ScalarNode {
		if k, v, ok := strings.Cut(n.Value, " "); ok && slices.Contains(m.Keys, k) {
			return problem + fmt.Sprintf(" (%s has no \":\" after it)", k), fmt.Sprintf("write %s: %s", k, strings.TrimSpace(v))
		}
	}
	return problem, fix
}

// Walk calls f for each key of m that m accepts (every key when Keys is nil), in file order, and
// reports through fail, with the line and the fix, a node that is not a mapping (NotMapping), a
// key given twice (Duplicate) and a key m does not accept (Unknown).
func (m *Mapping) Walk(fail func(line int, problem, fix string), f func(k, v *yaml.Node)) {
	n := m.Node
	if n.Kind != yaml.MappingNode {
		problem, fix := m.NotMapping()
		fail(n.Line, problem, fix)
		return
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if first, dup := seen[k.Value]; dup {
			problem, fix := Duplicate(k, first)
			fail(k.Line, problem, fix)
			continue
		}
		seen[k.Value] = k.Line
		if m.Keys != nil && !slices.Contains(m.Keys, k.Value) {
			problem, fix := m.Unknown(k)
			fail(k.Line, problem, fix)
			continue
		}
		f(k, n.Content[i+1])
	}
}
