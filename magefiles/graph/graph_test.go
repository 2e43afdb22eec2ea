package graph

import (
	"errors"
	"reflect"
	"testing"
)

// platform is the reference platform of DESIGN.md.
func platform() []Node {
	return []Node{
		{Name: "platform", DependsOn: []string{"base", "core", "connector-fs", "connector-webhook", "scanner"}, Publish: true},
		{Name: "connector-webhook", DependsOn: []string{"base", "core"}, Publish: true},
		{Name: "connector-fs", DependsOn: []string{"base", "core"}, Publish: true},
		{Name: "scanner", DependsOn: []string{"base"}, Publish: true},
		{Name: "core", DependsOn: []string{"base"}, Publish: true},
		{Name: "base", Publish: true},
	}
}

func mustNew(t testing.TB, nodes []Node) *Graph {
	t.Helper()
	g, err := New(nodes)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return g
}

func TestNewErrors(t *testing.T) {
	_, err := New([]Node{
		{Name: "a", DependsOn: []string{"b", "ghost"}},
		{Name: "b"},
		{Name: "a"},
		{Name: "", DependsOn: []string{"a"}},
	})
	if err == nil {
		t.Fatal("New accepted an invalid graph")
	}
	var unknown *UnknownDependencyError
	if !errors.As(err, &unknown) || unknown.Node != "a" || unknown.Dep != "ghost" {
		t.Errorf("want *UnknownDependencyError{a, ghost}, got %v", err)
	}
	var dup *DuplicateError
	if !errors.As(err, &dup) || dup.Name != "a" {
		t.Errorf("want *DuplicateError{a}, got %v", err)
	}
	var empty *EmptyNameError
	if !errors.As(err, &empty) || empty.Index != 3 {
		t.Errorf("want *EmptyNameError{3}, got %v", err)
	}
	want := "building dependency graph: " +
		`component "a" is defined more than once; give each component a unique name` + "\n" +
		`component #4 has no name (depends on [a]); give it a name` + "\n" +
		`component "a" depends on "ghost", which is not a component; define "ghost" or remove it from "a"'s dependencies`
	if err.Error() != want {
		t.Errorf("message:\n got %s\nwant %s", err, want)
	}
}

func TestLevels(t *testing.T) {
	tests := []struct {
		name  string
		nodes []Node
		want  [][]string
		cycle []string // non-nil: want a *CycleError with this cycle
		msg   string
	}{
		{name: "empty", nodes: nil, want: nil},
		{name: "single", nodes: []Node{{Name: "a"}}, want: [][]string{{"a"}}},
		{
			name:  "reference platform",
			nodes: platform(),
			want:  [][]string{{"base"}, {"core", "scanner"}, {"connector-fs", "connector-webhook"}, {"platform"}},
		},
		{
			name: "diamond",
			nodes: []Node{
				{Name: "top", DependsOn: []string{"left", "right"}},
				{Name: "right", DependsOn: []string{"bottom"}},
				{Name: "left", DependsOn: []string{"bottom"}},
				{Name: "bottom"},
			},
			want: [][]string{{"bottom"}, {"left", "right"}, {"top"}},
		},
		{
			name: "level is one above the deepest dependency",
			nodes: []Node{
				{Name: "a"},
				{Name: "b", DependsOn: []string{"a"}},
				{Name: "c", DependsOn: []string{"b"}},
				{Name: "d", DependsOn: []string{"a", "c"}},
			},
			want: [][]string{{"a"}, {"b"}, {"c"}, {"d"}},
		},
		{
			name:  "repeated dependency counts once",
			nodes: []Node{{Name: "a"}, {Name: "b", DependsOn: []string{"a", "a"}}},
			want:  [][]string{{"a"}, {"b"}},
		},
		{
			name: "cycle names every member",
			nodes: []Node{
				{Name: "c", DependsOn: []string{"a"}},
				{Name: "b", DependsOn: []string{"c"}},
				{Name: "a", DependsOn: []string{"b"}},
			},
			cycle: []string{"a", "b", "c"},
			msg:   "dependency cycle: a -> b -> c -> a",
		},
		{
			name: "cycle behind a tail, members only",
			nodes: []Node{
				{Name: "app", DependsOn: []string{"y"}},
				{Name: "y", DependsOn: []string{"z", "base"}},
				{Name: "z", DependsOn: []string{"x"}},
				{Name: "x", DependsOn: []string{"y"}},
				{Name: "base"},
			},
			cycle: []string{"x", "y", "z"},
			msg:   "dependency cycle: x -> y -> z -> x",
		},
		{
			name:  "self-dependency",
			nodes: []Node{{Name: "base"}, {Name: "core", DependsOn: []string{"base", "core"}}},
			cycle: []string{"core"},
			msg:   "dependency cycle: core -> core",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := mustNew(t, tt.nodes)
			got, err := g.Levels()
			if tt.cycle != nil {
				var ce *CycleError
				if !errors.As(err, &ce) {
					t.Fatalf("want *CycleError, got levels %v, err %v", got, err)
				}
				if !reflect.DeepEqual(ce.Cycle, tt.cycle) || err.Error() != tt.msg {
					t.Fatalf("got cycle %v %q, want %v %q", ce.Cycle, err, tt.cycle, tt.msg)
				}
				return
			}
			if err != nil {
				t.Fatalf("Levels: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestBlocked(t *testing.T) {
	tests := []struct {
		name  string
		nodes []Node
		want  map[string]Block
	}{
		{name: "empty graph", nodes: nil, want: map[string]Block{}},
		{name: "all publishable", nodes: platform(), want: map[string]Block{}},
		{
			name:  "non-publishable leaf blocks nothing",
			nodes: []Node{{Name: "a", Publish: true}, {Name: "b", DependsOn: []string{"a"}}},
			want:  map[string]Block{},
		},
		{
			name: "direct",
			nodes: []Node{
				{Name: "scanner"},
				{Name: "core", DependsOn: []string{"scanner"}, Publish: true},
			},
			want: map[string]Block{"core": {Immediate: []string{"scanner"}, Causes: []string{"scanner"}}},
		},
		{
			name: "blocked through two levels",
			nodes: func() []Node {
				n := platform()
				n[3].Publish = false // scanner
				n[4].DependsOn = append(n[4].DependsOn, "scanner")
				return n
			}(),
			want: map[string]Block{
				"core":              {Immediate: []string{"scanner"}, Causes: []string{"scanner"}},
				"connector-fs":      {Immediate: []string{"core"}, Causes: []string{"scanner"}},
				"connector-webhook": {Immediate: []string{"core"}, Causes: []string{"scanner"}},
				"platform":          {Immediate: []string{"connector-fs", "connector-webhook", "core", "scanner"}, Causes: []string{"scanner"}},
			},
		},
		{
			name: "diamond with a cause on each side",
			nodes: []Node{
				{Name: "top", DependsOn: []string{"left", "right", "ok"}, Publish: true},
				{Name: "left", DependsOn: []string{"x"}, Publish: true},
				{Name: "right", DependsOn: []string{"y", "ok"}, Publish: true},
				{Name: "ok", Publish: true},
				{Name: "x"},
				{Name: "y"},
			},
			want: map[string]Block{
				"top":   {Immediate: []string{"left", "right"}, Causes: []string{"x", "y"}},
				"left":  {Immediate: []string{"x"}, Causes: []string{"x"}},
				"right": {Immediate: []string{"y"}, Causes: []string{"y"}},
			},
		},
		{
			name: "causes include non-publishable dependencies of causes",
			nodes: []Node{
				{Name: "app", DependsOn: []string{"x"}, Publish: true},
				{Name: "x", DependsOn: []string{"y"}},
				{Name: "y"},
			},
			want: map[string]Block{"app": {Immediate: []string{"x"}, Causes: []string{"x", "y"}}},
		},
		{
			name: "cycle among publishable components",
			nodes: []Node{
				{Name: "a", DependsOn: []string{"b"}, Publish: true},
				{Name: "b", DependsOn: []string{"c"}, Publish: true},
				{Name: "c", DependsOn: []string{"a", "x"}, Publish: true},
				{Name: "d", DependsOn: []string{"a"}, Publish: true},
				{Name: "e", DependsOn: []string{"f"}, Publish: true},
				{Name: "f", DependsOn: []string{"e"}, Publish: true},
				{Name: "x"},
			},
			want: map[string]Block{
				"a": {Immediate: []string{"b"}, Causes: []string{"x"}},
				"b": {Immediate: []string{"c"}, Causes: []string{"x"}},
				"c": {Immediate: []string{"a", "x"}, Causes: []string{"x"}},
				"d": {Immediate: []string{"a"}, Causes: []string{"x"}},
			},
		},
		{
			name: "cycle through a cause",
			nodes: []Node{
				{Name: "a", DependsOn: []string{"x"}, Publish: true},
				{Name: "x", DependsOn: []string{"a"}},
			},
			want: map[string]Block{"a": {Immediate: []string{"x"}, Causes: []string{"x"}}},
		},
		{
			name: "self-dependency",
			nodes: []Node{
				{Name: "a", DependsOn: []string{"a"}, Publish: true},
				{Name: "b", DependsOn: []string{"b", "x"}, Publish: true},
				{Name: "x", DependsOn: []string{"x"}},
			},
			want: map[string]Block{"b": {Immediate: []string{"b", "x"}, Causes: []string{"x"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mustNew(t, tt.nodes).Blocked()
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %v\nwant %v", got, tt.want)
			}
			if ref := referenceBlocked(tt.nodes); !reflect.DeepEqual(ref, tt.want) {
				t.Errorf("reference disagrees with the table: %v", ref)
			}
		})
	}
}

func TestQueries(t *testing.T) {
	g := mustNew(t, platform())
	if got, want := g.Dependents("core"), []string{"connector-fs", "connector-webhook", "platform"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Dependents(core) = %v, want %v", got, want)
	}
	if got := g.Dependents("platform"); got != nil {
		t.Errorf("Dependents(platform) = %v, want nil", got)
	}
	if got := g.Dependents("ghost"); got != nil {
		t.Errorf("Dependents(ghost) = %v, want nil", got)
	}
	if got, want := g.Dependencies("connector-fs"), []string{"base", "core"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Dependencies(connector-fs) = %v, want %v", got, want)
	}
	if got, want := g.DependsOn("platform"), []string{"base", "connector-fs", "connector-webhook", "core", "scanner"}; !reflect.DeepEqual(got, want) {
		t.Errorf("DependsOn(platform) = %v, want %v", got, want)
	}
	if got, want := g.Names(), []string{"base", "connector-fs", "connector-webhook", "core", "platform", "scanner"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Names = %v, want %v", got, want)
	}
	if n, ok := g.Node("scanner"); !ok || n.Name != "scanner" || !n.Publish || !reflect.DeepEqual(n.DependsOn, []string{"base"}) {
		t.Errorf("Node(scanner) = %+v, %v", n, ok)
	}
	if !g.Has("core") || g.Has("ghost") || g.Len() != 6 {
		t.Errorf("Has/Len wrong")
	}

	order, err := g.Order()
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"base", "core", "scanner", "connector-fs", "connector-webhook", "platform"}; !reflect.DeepEqual(order, want) {
		t.Errorf("Order() = %v, want %v", order, want)
	}
	order, err = g.Order("connector-fs", "base")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"base", "connector-fs"}; !reflect.DeepEqual(order, want) {
		t.Errorf("Order(connector-fs, base) = %v, want %v", order, want)
	}
	closure, err := g.Closure("connector-fs")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"base", "connector-fs", "core"}; !reflect.DeepEqual(closure, want) {
		t.Errorf("Closure(connector-fs) = %v, want %v", closure, want)
	}
	order, err = g.Order(closure...)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"base", "core", "connector-fs"}; !reflect.DeepEqual(order, want) {
		t.Errorf("Order(closure) = %v, want %v", order, want)
	}

	var unknown *UnknownNodeError
	if _, err := g.Order("ghost"); !errors.As(err, &unknown) || unknown.Name != "ghost" {
		t.Errorf("Order(ghost) err = %v, want *UnknownNodeError", err)
	}
	if _, err := g.Closure("core", "ghost"); !errors.As(err, &unknown) {
		t.Errorf("Closure(ghost) err = %v, want *UnknownNodeError", err)
	}

	cyc := mustNew(t, []Node{{Name: "a", DependsOn: []string{"b"}}, {Name: "b", DependsOn: []string{"a"}}, {Name: "c"}})
	var ce *CycleError
	if _, err := cyc.Order(); !errors.As(err, &ce) {
		t.Errorf("Order on a cycle: %v", err)
	}
	if order, err := cyc.Order("a", "c"); err != nil || !reflect.DeepEqual(order, []string{"a", "c"}) {
		t.Errorf("Order(a, c) leaving the cycle out = %v, %v", order, err)
	}
	if got := cyc.Dependencies("a"); !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Errorf("Dependencies in a cycle = %v", got)
	}

	var zero Graph
	if levels, err := zero.Levels(); err != nil || levels != nil || len(zero.Blocked()) != 0 {
		t.Errorf("zero Graph not empty: %v %v", levels, err)
	}
}
