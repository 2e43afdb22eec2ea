package graph

// FindCycle walks depth first from each of roots in turn (skipping those already walked), following
// next (a node's dependencies, in order), and returns the first cycle it meets: its members in
// walking order with the first repeated at the end (a self-dependency is [n n]), or nil when there
// is none. For graphs other than a Graph's components: goals' After lists, a file's references.
//
// FindCycle itself never dereferences a node: next is called once for every node reached, the
// zero value (a nil pointer) included when a dependency list holds one, so next must answer for it
// (typically nil: no dependencies). Reporting such an entry is the caller's business.
func FindCycle[T comparable](roots []T, next func(T) []T) []T {
	const (
		white = iota
		grey
		black
	)
	color := map[T]int{}
	var stack, found []T
	var visit func(n T) bool
	visit = func(n T) bool {
		color[n] = grey
		stack = append(stack, n)
		for _, d := range next(n) {
			switch color[d] {
			case grey:
				for k := len(stack) - 1; k >= 0; k-- {
					if stack[k] == d {
						found = append(append([]T(nil), stack[k:]...), d)
						break
					}
				}
				return true
			case white:
				if visit(d) {
					return true
				}
			}
		}
		stack = stack[:len(stack)-1]
		color[n] = black
		return false
	}
	for _, n := range roots {
		if color[n] == white && visit(n) {
			return found
		}
	}
	return nil
}
