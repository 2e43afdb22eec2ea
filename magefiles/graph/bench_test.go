package graph

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"
)

// referenceBlocked is the straightforward definition of Blocked, kept as an
// oracle: repeat passes over the nodes until the blocked set stops growing,
// then repeat passes until every node's set of reachable causes stops growing.
func referenceBlocked(nodes []Node) map[string]Block {
	publish := make(map[string]bool, len(nodes))
	for _, n := range nodes {
		publish[n.Name] = n.Publish
	}
	blocked := make(map[string]bool)
	for changed := true; changed; {
		changed = false
		for _, n := range nodes {
			if !n.Publish || blocked[n.Name] {
				continue
			}
			for _, d := range n.DependsOn {
				if !publish[d] || blocked[d] {
					blocked[n.Name] = true
					changed = true
					break
				}
			}
		}
	}
	causes := make(map[string]map[string]bool)
	for changed := true; changed; {
		changed = false
		for _, n := range nodes {
			set := causes[n.Name]
			if set == nil {
				set = make(map[string]bool)
				causes[n.Name] = set
			}
			add := func(c string) {
				if !set[c] {
					set[c] = true
					changed = true
				}
			}
			for _, d := range n.DependsOn {
				if !publish[d] {
					add(d)
				}
				for c := range causes[d] {
					add(c)
				}
			}
		}
	}
	out := make(map[string]Block)
	for _, n := range nodes {
		if !blocked[n.Name] {
			continue
		}
		var b Block
		for _, d := range n.DependsOn {
			if (!publish[d] || blocked[d]) && !slices.Contains(b.Immediate, d) {
				b.Immediate = append(b.Immediate, d)
			}
		}
		for c := range causes[n.Name] {
			b.Causes = append(b.Causes, c)
		}
		slices.Sort(b.Immediate)
		slices.Sort(b.Causes)
		out[n.Name] = b
	}
	return out
}

// names returns n distinct component names in a random order, so that name
// order says nothing about dependency order.
func names(r *rand.Rand, n int) []string {
	out := make([]string, n)
	for i, p := range r.Perm(n) {
		out[i] = fmt.Sprintf("c%05d", p)
	}
	return out
}

func shuffled(r *rand.Rand, nodes []Node) []Node {
	r.Shuffle(len(nodes), func(i, j int) { nodes[i], nodes[j] = nodes[j], nodes[i] })
	return nodes
}

// chain: node i depends on node i+1; the last node, the root, is not
// publishable, so every other node is blocked by it.
func chain(r *rand.Rand, n int) []Node {
	name := names(r, n)
	nodes := make([]Node, n)
	for i := range n {
		nodes[i] = Node{Name: name[i], Publish: i != n-1}
		if i+1 < n {
			nodes[i].DependsOn = []string{name[i+1]}
		}
	}
	return shuffled(r, nodes)
}

// fan: four roots (two not publishable), a wide middle where every node
// depends on one or two roots, and one umbrella depending on the whole middle.
func fan(r *rand.Rand, n int) []Node {
	name := names(r, n)
	const roots = 4
	nodes := make([]Node, n)
	for i := range roots {
		nodes[i] = Node{Name: name[i], Publish: i >= 2}
	}
	umbrella := Node{Name: name[n-1], Publish: true}
	for i := roots; i < n-1; i++ {
		deps := []string{name[r.IntN(roots)]}
		if r.IntN(2) == 0 {
			deps = append(deps, name[r.IntN(roots)])
		}
		nodes[i] = Node{Name: name[i], DependsOn: deps, Publish: true}
		umbrella.DependsOn = append(umbrella.DependsOn, name[i])
	}
	nodes[n-1] = umbrella
	return shuffled(r, nodes)
}

// randomDAG: node i depends on up to four earlier nodes, so there is no cycle;
// five of the first tenth are not publishable.
func randomDAG(r *rand.Rand, n int) []Node {
	name := names(r, n)
	nodes := make([]Node, n)
	for i := range n {
		nodes[i] = Node{Name: name[i], Publish: true}
		if i == 0 {
			continue
		}
		for range r.IntN(5) {
			nodes[i].DependsOn = append(nodes[i].DependsOn, name[r.IntN(i)])
		}
	}
	for range 5 {
		nodes[r.IntN(max(n/10, 1))].Publish = false
	}
	return shuffled(r, nodes)
}

// randomAny: arbitrary edges, cycles and self-dependencies included.
func randomAny(r *rand.Rand, n int) []Node {
	name := names(r, n)
	nodes := make([]Node, n)
	density := r.IntN(4) + 1
	for i := range n {
		nodes[i] = Node{Name: name[i], Publish: r.IntN(6) != 0}
		for range r.IntN(density + 1) {
			nodes[i].DependsOn = append(nodes[i].DependsOn, name[r.IntN(n)])
		}
	}
	return nodes
}

func TestBlockedAgreesWithReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	gens := []func(*rand.Rand, int) []Node{chain, fan, randomDAG, randomAny}
	for i := range 2000 {
		gen := gens[i%len(gens)]
		nodes := gen(r, 5+r.IntN(60))
		got := mustNew(t, nodes).Blocked()
		if want := referenceBlocked(nodes); !reflect.DeepEqual(got, want) {
			t.Fatalf("graph %d disagrees with the reference\nnodes %v\n got  %v\n want %v", i, nodes, got, want)
		}
	}
}

type shape struct {
	name string
	gen  func(*rand.Rand, int) []Node
}

var shapes = []shape{{"chain", chain}, {"fan", fan}, {"randomDAG", randomDAG}}

func benchGraphs(b *testing.B, run func(b *testing.B, nodes []Node, g *Graph)) {
	for _, s := range shapes {
		for _, n := range []int{1000, 10000} {
			b.Run(fmt.Sprintf("%s/%d", s.name, n), func(b *testing.B) {
				nodes := s.gen(rand.New(rand.NewPCG(uint64(n), 7)), n)
				g := mustNew(b, nodes)
				run(b, nodes, g)
			})
		}
	}
}

func BenchmarkBlocked(b *testing.B) {
	benchGraphs(b, func(b *testing.B, _ []Node, g *Graph) {
		for b.Loop() {
			g.Blocked()
		}
	})
}

func BenchmarkLevels(b *testing.B) {
	benchGraphs(b, func(b *testing.B, _ []Node, g *Graph) {
		for b.Loop() {
			if _, err := g.Levels(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkNew measures building the graph, which a caller pays once.
func BenchmarkNew(b *testing.B) {
	benchGraphs(b, func(b *testing.B, nodes []Node, _ *Graph) {
		for b.Loop() {
			if _, err := New(nodes); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkCompare times the fixed-point reference once per graph and reports
// how many times faster Blocked is ("x-faster"), with the reference's time in
// milliseconds ("ref-ms").
func BenchmarkCompare(b *testing.B) {
	benchGraphs(b, func(b *testing.B, nodes []Node, g *Graph) {
		start := time.Now()
		want := referenceBlocked(nodes)
		ref := time.Since(start)
		if got := g.Blocked(); !reflect.DeepEqual(got, want) {
			b.Fatal("Blocked disagrees with the reference")
		}
		for b.Loop() {
			g.Blocked()
		}
		ours := b.Elapsed() / time.Duration(b.N)
		b.ReportMetric(float64(ref)/float64(ours), "x-faster")
		b.ReportMetric(float64(ref)/float64(time.Millisecond), "ref-ms")
	})
}
