package graph

import "math/bits"

// Block explains why a publishable component cannot be published.
type Block struct {
	// Immediate lists, sorted, the component's own dependencies that stop it:
	// those that are not publishable or are blocked themselves.
	Immediate []string
	// Causes lists, sorted, every non-publishable component among the
	// component's direct and transitive dependencies: all of them must become
	// publishable before it can be published.
	Causes []string
}

// Blocked returns the publishable components that depend, directly or
// transitively, on a component that is not publishable, each with its Block.
// Non-publishable components are causes, never blocked themselves. The result
// is empty (never nil) when nothing is blocked. Cycles are allowed and change
// nothing: a cycle is blocked when any member reaches a cause.
//
// Cost: finding the blocked set and the immediate blockers is one walk of the
// reverse graph from all causes together, O(V+E). Causes are propagated as
// bit sets over the strongly connected components of the blocked region (one
// iterative Tarjan pass, sinks first, so every set is computed once), which
// costs O((V+E)·⌈C/64⌉) word operations for C non-publishable components:
// linear for the few causes a real repository has. The output itself can be
// as large as V·C names.
func (g *Graph) Blocked() map[string]Block {
	n := len(g.names)
	out := make(map[string]Block)

	// Causes are numbered in name order, so a set's bits come out sorted.
	causeID := make([]int32, n)
	var causes []int
	for i := range n {
		causeID[i] = -1
		if !g.publish[i] {
			causeID[i] = int32(len(causes))
			causes = append(causes, i)
		}
	}
	if len(causes) == 0 {
		return out
	}

	// relevant = causes plus everything depending on one (the blocked set):
	// exactly the nodes that can reach a cause. One reverse walk from all
	// causes at once.
	relevant := make([]bool, n)
	queue := make([]int, 0, len(causes))
	for _, c := range causes {
		relevant[c] = true
		queue = append(queue, c)
	}
	blocked := 0
	for head := 0; head < len(queue); head++ {
		for _, j := range g.rdeps[queue[head]] {
			if !relevant[j] {
				relevant[j] = true
				queue = append(queue, j)
				blocked++
			}
		}
	}
	if blocked == 0 {
		return out
	}

	sets := g.causeSets(relevant, causeID, len(causes))

	// All lists share two backing arrays; each Block gets a capacity-clipped
	// window, so a caller appending to one cannot overwrite another.
	out = make(map[string]Block, blocked)
	var immediate, reached []string
	for i := range n {
		if !relevant[i] || !g.publish[i] {
			continue
		}
		from := len(immediate)
		for _, j := range g.deps[i] {
			if relevant[j] {
				immediate = append(immediate, g.names[j])
			}
		}
		b := Block{Immediate: immediate[from:len(immediate):len(immediate)]}
		from = len(reached)
		for w, word := range sets.of(i) {
			for word != 0 {
				bit := bits.TrailingZeros64(word)
				word &= word - 1
				reached = append(reached, g.names[causes[w*64+bit]])
			}
		}
		b.Causes = reached[from:len(reached):len(reached)]
		out[g.names[i]] = b
	}
	return out
}

// causeSets holds one bit set of causes per strongly connected component.
type causeSets struct {
	words int
	comp  []int32  // node -> component, -1 outside the relevant region
	bits  []uint64 // component c's set is bits[c*words : (c+1)*words]
}

func (s *causeSets) of(node int) []uint64 {
	c := int(s.comp[node])
	return s.bits[c*s.words : (c+1)*s.words]
}

// causeSets runs Tarjan's algorithm iteratively over the relevant region and
// fills each component's set as the component completes. Tarjan completes a
// component only after every component it can reach, so the sets of all its
// dependencies are final by then.
func (g *Graph) causeSets(relevant []bool, causeID []int32, numCauses int) *causeSets {
	n := len(g.names)
	words := (numCauses + 63) / 64
	s := &causeSets{words: words, comp: make([]int32, n)}
	size := 0
	for i := range n {
		s.comp[i] = -1
		if relevant[i] {
			size++
		}
	}
	s.bits = make([]uint64, size*words)

	order := make([]int32, n) // discovery order + 1; 0 means unvisited
	low := make([]int32, n)
	onStack := make([]bool, n)
	var (
		stack   []int // Tarjan's stack
		counter int32
		comps   int32
	)
	type frame struct{ node, edge int }
	var calls []frame

	for root := range n {
		if !relevant[root] || order[root] != 0 {
			continue
		}
		calls = append(calls, frame{node: root})
		for len(calls) > 0 {
			f := &calls[len(calls)-1]
			v := f.node
			if f.edge == 0 && order[v] == 0 {
				counter++
				order[v], low[v] = counter, counter
				stack = append(stack, v)
				onStack[v] = true
			}
			descended := false
			for f.edge < len(g.deps[v]) {
				w := g.deps[v][f.edge]
				f.edge++
				if !relevant[w] {
					continue
				}
				if order[w] == 0 {
					calls = append(calls, frame{node: w})
					descended = true
					break
				}
				if onStack[w] && order[w] < low[v] {
					low[v] = order[w]
				}
			}
			if descended {
				continue
			}
			if low[v] == order[v] {
				c := comps
				comps++
				set := s.bits[int(c)*words : int(c+1)*words]
				start := len(stack) - 1
				for stack[start] != v {
					start--
				}
				members := stack[start:]
				for _, m := range members {
					onStack[m] = false
					s.comp[m] = c
				}
				for _, m := range members {
					if id := causeID[m]; id >= 0 {
						set[id/64] |= 1 << (uint(id) % 64)
					}
					for _, w := range g.deps[m] {
						if dc := s.comp[w]; dc >= 0 && dc != c {
							for k, word := range s.bits[int(dc)*words : int(dc+1)*words] {
								set[k] |= word
							}
						}
					}
				}
				stack = stack[:start]
			}
			calls = calls[:len(calls)-1]
			if len(calls) > 0 {
				if p := calls[len(calls)-1].node; low[v] < low[p] {
					low[p] = low[v]
				}
			}
		}
	}
	return s
}
