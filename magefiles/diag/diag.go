// Package diag renders the problems shiplane's file loaders find (the components file, the release
// file) in one shape, "file:line: scope: problem: cause; fix: how", and suggests the nearest valid
// name for a misspelt one. It holds no error type of its own: each loader keeps its typed errors
// and formats them here.
package diag

import (
	"fmt"
	"sort"
	"strings"
)

// Format renders one problem located in a file: "file:line: scope: problem: cause; fix: fix".
// line 0 (the whole file) drops ":line"; an empty scope, a nil cause and an empty fix drop their
// parts.
func Format(file string, line int, scope, problem string, cause error, fix string) string {
	var b strings.Builder
	b.WriteString(file)
	if line > 0 {
		fmt.Fprintf(&b, ":%d", line)
	}
	b.WriteString(": ")
	if scope != "" {
		b.WriteString(scope)
		b.WriteString(": ")
	}
	b.WriteString(problem)
	if cause != nil {
		b.WriteString(": ")
		b.WriteString(cause.Error())
	}
	if fix != "" {
		b.WriteString("; fix: ")
		b.WriteString(fix)
	}
	return b.String()
}

// Lines renders errs one per line, for the Error method of a list of problems.
func Lines[E error](errs []E) string {
	lines := make([]string, len(errs))
	for i, e := range errs {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns errs as a []error, for the Unwrap method of a list of problems (so errors.Is/As
// reach each of them).
func Unwrap[E error](errs []E) []error {
	out := make([]error, len(errs))
	for i, e := range errs {
		out[i] = e
	}
	return out
}

// Suggest returns "did you mean …?" naming the valid choice closest to got, or, when none is
// close, "use one of: " and every choice, sorted.
func Suggest(got string, valid []string) string {
	if best := Closest(got, valid); best != "" {
		return fmt.Sprintf("did you mean %q?", best)
	}
	sorted := append([]string(nil), valid...)
	sort.Strings(sorted)
	return "use one of: " + strings.Join(sorted, ", ")
}

// Closest returns the valid choice closest to got, or "" when none is close enough to be a
// likely misspelling (an edit distance under half of got's length plus two).
func Closest(got string, valid []string) string {
	best, bestD := "", len(got)/2+2
	for _, v := range valid {
		if d := Distance(got, v); d < bestD {
			best, bestD = v, d
		}
	}
	return best
}

// Distance is the Levenshtein edit distance between a and b (in bytes).
func Distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
