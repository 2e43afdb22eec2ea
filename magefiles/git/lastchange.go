package git

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// LastChanges returns, for every named set of paths, the newest commit at or before rev that
// changed any of them: the commit `git log -1 <rev> -- <paths>` names, whose tree holds the same
// content at those paths as rev. A set no commit touched maps to a zero Commit.
//
// It costs one git process, whatever the number of sets: one walk of rev's history limited to
// the union of every set's paths (`git log --name-only`, merges compared with all their parents),
// read until every set has found its commit. One more process runs when a commit found has no
// parent, to tell a root commit from a shallow clone's boundary.
//
// In a shallow clone, a set whose last change is older than the history the clone holds seems
// changed by the boundary commit (every file appears there): the map still holds that commit for
// it, and the error is a *ShallowError naming the sets that could not be told.
func (r *Repo) LastChanges(ctx context.Context, rev string, sets map[string][]string) (map[string]Commit, error) {
	names := make([]string, 0, len(sets))
	union := map[string]bool{}
	for n, paths := range sets {
		names = append(names, n)
		for _, p := range paths {
			union[p] = true
		}
	}
	sort.Strings(names)
	out := make(map[string]Commit, len(sets))
	for _, n := range names {
		out[n] = Commit{} // until a commit is found: none touched the set
	}
	root := map[string]bool{}
	if len(union) > 0 {
		pending := map[string][]string{}
		for _, n := range names {
			if len(sets[n]) > 0 {
				pending[n] = sets[n]
			}
		}
		err := r.walkChanges(ctx, rev, slices.Sorted(maps.Keys(union)), func(c Commit, parents bool, files []string) bool {
			for n, paths := range pending {
				if touches(files, paths) {
					out[n], root[n] = c, !parents
					delete(pending, n)
				}
			}
			return len(pending) > 0
		})
		if err != nil {
			return nil, fmt.Errorf("finding the last commit that changed each component's inputs: %w", err)
		}
	}
	var roots []string // the sets whose commit has no parent
	for _, n := range names {
		if root[n] {
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

// walkChanges runs one `git log` of rev limited to paths and calls visit with each commit, newest
// first: its hash and time, whether it has parents, and the files it changed under paths. The walk
// stops (and git is stopped) when visit returns false.
func (r *Repo) walkChanges(ctx context.Context, rev string, paths []string, visit func(c Commit, parents bool, files []string) bool) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	args := append([]string{"log", "-z", "-c", "--name-only", "--format=%x01%H %ct %P", rev, "--"}, paths...)
	cmd := r.command(ctx, nil, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return &Error{Args: args, Err: err}
	}
	// Each commit is "\x01<hash> <time> <parents>\x00\n<file>\x00<file>\x00…".
	br := bufio.NewReaderSize(stdout, 64<<10)
	if _, err := br.ReadString('\x01'); err != nil && err != io.EOF {
		return err
	}
	stopped := false
	for !stopped {
		rec, rerr := br.ReadString('\x01')
		rec = strings.TrimSuffix(rec, "\x01")
		if rec != "" {
			header, rest, _ := strings.Cut(rec, "\x00")
			f := strings.Fields(header)
			var sec int64
			var perr error
			if len(f) >= 2 {
				sec, perr = strconv.ParseInt(f[1], 10, 64)
			}
			if len(f) < 2 || perr != nil {
				return fmt.Errorf("unexpected git log output %q", header)
			}
			var files []string
			for _, name := range strings.Split(strings.TrimPrefix(rest, "\n"), "\x00") {
				if name = strings.TrimPrefix(name, "\n"); name != "" {
					files = append(files, name)
				}
			}
			stopped = !visit(Commit{Hash: f[0], Time: time.Unix(sec, 0).UTC()}, len(f) > 2, files)
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return rerr
		}
	}
	if stopped {
		cancel() // the rest of history is not needed
		_ = cmd.Wait()
		return nil
	}
	if err := cmd.Wait(); err != nil {
		return &Error{Args: args, Stderr: stderr.String(), Err: err}
	}
	return nil
}

// touches reports whether any of files is one of paths or lies under one of them.
func touches(files, paths []string) bool {
	for _, f := range files {
		for _, p := range paths {
			p = strings.TrimSuffix(p, "/")
			if p == "." || p == "" || f == p || strings.HasPrefix(f, p+"/") {
				return true
			}
		}
	}
	return false
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
