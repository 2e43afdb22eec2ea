package graph_test

import (
	"slices"
	"testing"

	"github.com/shiplane/shiplane/magefiles/graph"
)

func TestFindCycle(t *testing.T) {
	for _, tc := range []struct {
		name  string
		roots []string
		deps  map[string][]string
		want  []string
	}{
		{"none", []string{"a", "b", "c"}, map[string][]string{"a": {"b"}, "b": {"c"}}, nil},
		{"self", []string{"a"}, map[string][]string{"a": {"a"}}, []string{"a", "a"}},
		{"first in root order", []string{"x", "a", "b"},
			map[string][]string{"x": {"y"}, "a": {"b"}, "b": {"c"}, "c": {"b"}}, []string{"b", "c", "b"}},
		{"reached through a tail", []string{"a"},
			map[string][]string{"a": {"b"}, "b": {"c"}, "c": {"d"}, "d": {"b"}}, []string{"b", "c", "d", "b"}},
	} {
		got := graph.FindCycle(tc.roots, func(n string) []string { return tc.deps[n] })
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: FindCycle = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestFindCycleNilDependency: a nil entry in a dependency list is walked like any node, handed to
// next, and neither panics nor counts as a cycle.
func TestFindCycleNilDependency(t *testing.T) {
	type node struct{ after []*node }
	a, b := &node{}, &node{}
	a.after = []*node{nil, b}
	b.after = []*node{nil}
	var asked []*node
	next := func(n *node) []*node {
		asked = append(asked, n)
		if n == nil {
			return nil
		}
		return n.after
	}
	if got := graph.FindCycle([]*node{a, nil, b}, next); got != nil {
		t.Fatalf("FindCycle = %v, want none", got)
	}
	if !slices.Contains(asked, nil) {
		t.Errorf("next was not asked about the nil dependency: %v", asked)
	}
	b.after = append(b.after, a)
	if got := graph.FindCycle([]*node{a}, next); !slices.Equal(got, []*node{a, b, a}) {
		t.Errorf("FindCycle with a nil beside a cycle = %v, want [a b a]", got)
	}
}
