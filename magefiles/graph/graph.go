// Package graph orders a repository's components by their dependencies and
// finds the publishable components that cannot be published because something
// they depend on is not publishable.
//
// A Graph is immutable once built by New and safe for concurrent use. Every
// operation is linear in the number of components plus dependencies, apart
// from the sorting of names that keeps results deterministic.
//
// The package is pure: it does no I/O and imports only the standard library.
package graph

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Node is one component as the graph sees it.
type Node struct {
	// Name identifies the component; it must be unique and non-empty.
	Name string
	// DependsOn names the components this one needs published first. Every
	// name must be a Node of the same graph. Repeated names are ignored; a
	// node naming itself is a cycle.
	DependsOn []string
	// Publish is false for components that are never published (a local-only
	// or optional component). Publishable components depending on them are
	// blocked; see Graph.Blocked.
	Publish bool
}

// Graph is a validated dependency graph. The zero value is an empty graph.
type Graph struct {
	names   []string         // sorted; a node's index is its rank by name
	index   map[string]int   // name -> index
	deps    [][]int          // direct dependencies, sorted, deduplicated
	rdeps   [][]int          // direct dependents, sorted
	publish []bool           // per index
	nodes   map[string]*Node // copies of the input, for Node
}

// DuplicateError reports a component name given to New more than once.
type DuplicateError struct {
	// Name is the repeated component name.
	Name string
}

// Error implements error.
func (e *DuplicateError) Error() string {
	return fmt.Sprintf("component %q is defined more than once; give each component a unique name", e.Name)
}

// EmptyNameError reports a node without a name.
type EmptyNameError struct {
	// Index is the position of the nameless node in the slice given to New.
	Index int
	// DependsOn is the nameless node's dependency list, to help find it.
	DependsOn []string
}

// Error implements error.
func (e *EmptyNameError) Error() string {
	return fmt.Sprintf("component #%d has no name (depends on [%s]); give it a name", e.Index+1, strings.Join(e.DependsOn, ", "))
}

// UnknownDependencyError reports a dependency on a component the graph does
// not contain.
type UnknownDependencyError struct {
	// Node is the component declaring the dependency.
	Node string
	// Dep is the missing component it depends on.
	Dep string
}

// Error implements error.
func (e *UnknownDependencyError) Error() string {
	return fmt.Sprintf("component %q depends on %q, which is not a component; define %q or remove it from %q's dependencies", e.Node, e.Dep, e.Dep, e.Node)
}

// UnknownNodeError reports a name, given to a query, that is not in the graph.
type UnknownNodeError struct {
	// Name is the unknown component name.
	Name string
}

// Error implements error.
func (e *UnknownNodeError) Error() string {
	return fmt.Sprintf("unknown component %q", e.Name)
}

// CycleError reports a dependency cycle, which makes an order impossible.
type CycleError struct {
	// Cycle lists every member of one cycle in dependency order, starting at
	// the member with the smallest name: each member depends on the next,
	// and the last depends on the first. A self-dependency is a cycle of one.
	Cycle []string
}

// Error implements error.
func (e *CycleError) Error() string {
	if len(e.Cycle) == 0 {
		return "dependency cycle"
	}
	return "dependency cycle: " + strings.Join(e.Cycle, " -> ") + " -> " + e.Cycle[0]
}

// New validates nodes and builds their graph. It reports every problem at once,
// joined with errors.Join: a *EmptyNameError, *DuplicateError or
// *UnknownDependencyError per offending node (in input order). Cycles are not
// an error here; Levels and Order report them.
func New(nodes []Node) (*Graph, error) {
	var errs []error
	index := make(map[string]int, len(nodes))
	for i, n := range nodes {
		switch _, dup := index[n.Name]; {
		case n.Name == "":
			errs = append(errs, &EmptyNameError{Index: i, DependsOn: slices.Clone(n.DependsOn)})
		case dup:
			errs = append(errs, &DuplicateError{Name: n.Name})
		default:
			index[n.Name] = -1
		}
	}
	names := make([]string, 0, len(index))
	for name := range index {
		names = append(names, name)
	}
	slices.Sort(names)
	for i, name := range names {
		index[name] = i
	}

	g := &Graph{
		names:   names,
		index:   index,
		deps:    make([][]int, len(names)),
		rdeps:   make([][]int, len(names)),
		publish: make([]bool, len(names)),
		nodes:   make(map[string]*Node, len(names)),
	}
	seen := make(map[string]bool, len(nodes))
	for _, n := range nodes {
		if n.Name == "" || seen[n.Name] {
			continue
		}
		seen[n.Name] = true
		i := index[n.Name]
		g.publish[i] = n.Publish
		g.nodes[n.Name] = &Node{Name: n.Name, DependsOn: slices.Clone(n.DependsOn), Publish: n.Publish}
		deps := make([]int, 0, len(n.DependsOn))
		for _, d := range n.DependsOn {
			j, ok := index[d]
			if !ok {
				errs = append(errs, &UnknownDependencyError{Node: n.Name, Dep: d})
				continue
			}
			deps = append(deps, j)
		}
		slices.Sort(deps)
		g.deps[i] = slices.Compact(deps)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("building dependency graph: %w", errors.Join(errs...))
	}
	// Filling dependents in index order keeps every rdeps list sorted.
	for i, deps := range g.deps {
		for _, j := range deps {
			g.rdeps[j] = append(g.rdeps[j], i)
		}
	}
	return g, nil
}

// Len returns the number of components.
func (g *Graph) Len() int { return len(g.names) }

// Names returns every component name, sorted.
func (g *Graph) Names() []string { return slices.Clone(g.names) }

// Has reports whether the graph contains the named component.
func (g *Graph) Has(name string) bool {
	_, ok := g.index[name]
	return ok
}

// Node returns a copy of the named node as given to New.
func (g *Graph) Node(name string) (Node, bool) {
	n, ok := g.nodes[name]
	if !ok {
		return Node{}, false
	}
	return Node{Name: n.Name, DependsOn: slices.Clone(n.DependsOn), Publish: n.Publish}, true
}

// DependsOn returns the direct dependencies of the named component, sorted and
// deduplicated, or nil when the component is unknown.
func (g *Graph) DependsOn(name string) []string {
	i, ok := g.index[name]
	if !ok {
		return nil
	}
	return g.namesOf(g.deps[i])
}

// Dependencies returns every component the named one depends on, directly or
// transitively, sorted; nil when it has none or is unknown. A component in a
// cycle is its own dependency.
func (g *Graph) Dependencies(name string) []string {
	i, ok := g.index[name]
	if !ok {
		return nil
	}
	return g.namesOf(g.reach([]int{i}, g.deps, false))
}

// Dependents returns every component that depends on the named one, directly
// or transitively, sorted; nil when it has none or is unknown. These are the
// components to rebuild when it changes.
func (g *Graph) Dependents(name string) []string {
	i, ok := g.index[name]
	if !ok {
		return nil
	}
	return g.namesOf(g.reach([]int{i}, g.rdeps, false))
}

// Closure returns the named components together with everything they depend
// on, transitively, sorted. It fails with *UnknownNodeError for a name that is
// not in the graph. Use it with Subgraph to release a selection of components
// with their prerequisites.
func (g *Graph) Closure(names ...string) ([]string, error) {
	start, err := g.indexes(names)
	if err != nil {
		return nil, err
	}
	return g.namesOf(g.reach(start, g.deps, true)), nil
}

// Subgraph returns the graph induced by the named components: only they, and
// only the dependencies among them. It fails with *UnknownNodeError for a name
// that is not in the graph.
func (g *Graph) Subgraph(names ...string) (*Graph, error) {
	idx, err := g.indexes(names)
	if err != nil {
		return nil, err
	}
	keep := make([]bool, len(g.names))
	for _, i := range idx {
		keep[i] = true
	}
	nodes := make([]Node, 0, len(idx))
	for i, name := range g.names {
		if !keep[i] {
			continue
		}
		var deps []string
		for _, j := range g.deps[i] {
			if keep[j] {
				deps = append(deps, g.names[j])
			}
		}
		nodes = append(nodes, Node{Name: name, DependsOn: deps, Publish: g.publish[i]})
	}
	return New(nodes)
}

// Levels groups the components into topological levels: level 0 holds those
// without dependencies, and every other component sits one level above its
// deepest dependency, so the components of one level can be handled in
// parallel once the previous levels are done. Names are sorted within a level.
// A cycle makes levels impossible: Levels then returns a *CycleError naming
// every member of one cycle.
func (g *Graph) Levels() ([][]string, error) {
	n := len(g.names)
	pending := make([]int, n) // dependencies not yet placed
	var current []int
	for i := range n {
		pending[i] = len(g.deps[i])
		if pending[i] == 0 {
			current = append(current, i)
		}
	}
	var levels [][]string
	placed := 0
	for len(current) > 0 {
		slices.Sort(current)
		levels = append(levels, g.namesOf(current))
		placed += len(current)
		var next []int
		for _, i := range current {
			for _, j := range g.rdeps[i] {
				pending[j]--
				if pending[j] == 0 {
					next = append(next, j)
				}
			}
		}
		current = next
	}
	if placed < n {
		return nil, &CycleError{Cycle: g.findCycle(pending)}
	}
	return levels, nil
}

// Order returns the named components (all components when none are named) in
// an order where every component comes after its dependencies: level by level,
// by name within a level. Dependencies on components outside the selection
// are ignored; use Closure to include them. It fails with *UnknownNodeError for
// an unknown name and *CycleError when the selection contains a cycle.
func (g *Graph) Order(names ...string) ([]string, error) {
	sub := g
	if len(names) > 0 {
		var err error
		if sub, err = g.Subgraph(names...); err != nil {
			return nil, err
		}
	}
	levels, err := sub.Levels()
	if err != nil {
		return nil, err
	}
	order := make([]string, 0, sub.Len())
	for _, level := range levels {
		order = append(order, level...)
	}
	return order, nil
}

// findCycle returns one cycle among the nodes Levels could not place (those
// with pending > 0). Each such node has at least one unplaced dependency, so
// following unplaced dependencies from any of them must revisit a node; the
// walk from that node back to itself is a cycle. The result starts at its
// smallest member, so it does not depend on where the walk began.
func (g *Graph) findCycle(pending []int) []string {
	start := -1
	for i, p := range pending {
		if p > 0 {
			start = i
			break
		}
	}
	if start < 0 {
		return nil
	}
	pos := make(map[int]int) // node -> position on the walk
	var walk []int
	for i := start; ; {
		if at, ok := pos[i]; ok {
			cycle := walk[at:]
			least := 0
			for k, v := range cycle {
				if v < cycle[least] {
					least = k
				}
			}
			rotated := append(slices.Clone(cycle[least:]), cycle[:least]...)
			return g.namesOf(rotated)
		}
		pos[i] = len(walk)
		walk = append(walk, i)
		next := -1
		for _, j := range g.deps[i] {
			if pending[j] > 0 {
				next = j
				break
			}
		}
		if next < 0 { // cannot happen for an unplaced node; stay total anyway
			return g.namesOf(walk)
		}
		i = next
	}
}

// reach returns, sorted, the nodes reachable from start along edges; start
// nodes are included only when includeStart is set or they are reachable
// through a cycle.
func (g *Graph) reach(start []int, edges [][]int, includeStart bool) []int {
	seen := make([]bool, len(g.names))
	stack := make([]int, 0, len(start))
	var out []int
	for _, s := range start {
		if includeStart && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
		stack = append(stack, s)
	}
	for len(stack) > 0 {
		i := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, j := range edges[i] {
			if !seen[j] {
				seen[j] = true
				out = append(out, j)
				stack = append(stack, j)
			}
		}
	}
	slices.Sort(out)
	return out
}

func (g *Graph) indexes(names []string) ([]int, error) {
	out := make([]int, 0, len(names))
	for _, name := range names {
		i, ok := g.index[name]
		if !ok {
			return nil, &UnknownNodeError{Name: name}
		}
		out = append(out, i)
	}
	return out, nil
}

func (g *Graph) namesOf(idx []int) []string {
	if len(idx) == 0 {
		return nil
	}
	out := make([]string, len(idx))
	for k, i := range idx {
		out[k] = g.names[i]
	}
	return out
}
