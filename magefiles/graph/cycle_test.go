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
