package git

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// LastChanges returns, for every named set of paths, the newest commit at or before rev that
// changed any of them: the commit `git log -1 <rev> -- <paths>` names, whose tree holds the same
// content at those paths as rev. A set no commit touched maps to a zero Commit. Sets holding the
// same paths share one git process; there is one per distinct set (at most four at once), and one
// more when a commit found has no parent (to tell a root commit from a shallow clone's boundary).
//
// In a shallow clone, a set whose last change is older than the history the clone holds seems
// changed by the boundary commit (every file appears there): the map still holds that commit for
// it, and the error is a *ShallowError naming the sets that could not be told.
func (r *Repo) LastChanges(ctx context.Context, rev string, sets map[string][]string) (map[string]Commit, error) {
	names := make([]string, 0, len(sets))
	for n := range sets {
		names = append(names, n)
	}
	sort.Strings(names)
	type found struct {
		paths []string
		c     Commit
		root  bool
		err   error
	}
	byPaths := map[string]*found{}
	var distinct []*found
	keyOf := map[string]string{}
	for _, n := range names {
		paths := append([]string(nil), sets[n]...)
		sort.Strings(paths)
		key := strings.Join(paths, "\x00")
		keyOf[n] = key
		if _, seen := byPaths[key]; !seen {
			f := &found{paths: paths}
			byPaths[key] = f
			if len(paths) > 0 {
				distinct = append(distinct, f)
			}
		}
	}
	// At most lastChangeWorkers git processes at once: each is a walk of history, mostly waiting.
	var wg sync.WaitGroup
	sem := make(chan struct{}, lastChangeWorkers)
	for _, f := range distinct {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			f.c, f.root, f.err = r.lastChange(ctx, rev, f.paths)
		}()
	}
	wg.Wait()
	var roots []string // the sets whose commit has no parent
	out := make(map[string]Commit, len(sets))
	for _, n := range names {
		f := byPaths[keyOf[n]]
		if f.err != nil {
			return nil, f.err
		}
		out[n] = f.c
		if f.root {
			roots = append(roots, n)
		}
	}
	if len(roots) == 0 {
		return out, nil
	}
	shallow, err := r.out(ctx, "rev-parse", "--is-shallow-repository")
	if err != nil {
		return nil, fmt.Errorf("checking whether the clone is shallow: %w", err)
	}
	if shallow != "true" {
		return out, nil
	}
	e := &ShallowError{Rev: rev, Sets: roots, Boundary: out[roots[0]].Hash}
	return out, e
}

// lastChangeWorkers bounds LastChanges' git processes running at once.
const lastChangeWorkers = 4

// lastChange is one `git log -1`; root reports a commit found without parents.
func (r *Repo) lastChange(ctx context.Context, rev string, paths []string) (c Commit, root bool, err error) {
	args := append([]string{"log", "-1", "--format=%H %ct %P", rev, "--"}, paths...)
	line, err := r.out(ctx, args...)
	if err != nil {
		return Commit{}, false, fmt.Errorf("finding the last commit that changed %s: %w", strings.Join(paths, " "), err)
	}
	if line == "" {
		return Commit{}, false, nil
	}
	f := strings.Fields(line)
	var sec int64
	if len(f) >= 2 {
		sec, err = strconv.ParseInt(f[1], 10, 64)
	}
	if len(f) < 2 || err != nil {
		return Commit{}, false, fmt.Errorf("finding the last commit that changed %s: unexpected git output %q", strings.Join(paths, " "), line)
	}
	return Commit{Hash: f[0], Time: time.Unix(sec, 0).UTC()}, len(f) == 2, nil
}

// ShallowError is a shallow clone whose history stops before the last change of some paths: the
// commit that changed them last, and so its time and hash, cannot be told.
type ShallowError struct {
	Rev string
	// Sets names the sets of paths that could not be told.
	Sets []string
	// Boundary is a commit the clone's history stops at (the first set's).
	Boundary string
}

func (e *ShallowError) Error() string {
	return fmt.Sprintf("this clone is shallow: its history stops at %s, before the last change of the inputs of %s; fetch the whole history (git fetch --unshallow; in GitHub Actions, actions/checkout with fetch-depth: 0)",
		Commit{Hash: e.Boundary}.Short(), strings.Join(e.Sets, ", "))
}
