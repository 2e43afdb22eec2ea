// Package git is the git backend: input tree hashes, commit facts, tags. It runs the git command;
// it decides nothing.
package git

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Repo is a git work tree.
type Repo struct {
	dir     string
	env     []string
	counter *Counter
}

// Option configures a Repo.
type Option func(*Repo)

// WithEnv adds environment variables (KEY=VALUE) to every git command. Default: none beyond the
// process environment.
func WithEnv(kv ...string) Option { return func(r *Repo) { r.env = append(r.env, kv...) } }

// WithCounter counts every git process the Repo starts in c (git still runs). Default: nothing
// is counted.
func WithCounter(c *Counter) Option { return func(r *Repo) { r.counter = c } }

// Counter counts git processes by subcommand. It is safe for concurrent use; the zero value is
// ready.
type Counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *Counter) add(args []string) {
	sub := ""
	if len(args) > 0 {
		sub = args[0]
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[sub]++
}

// Total is the number of git processes started.
func (c *Counter) Total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := 0
	for _, n := range c.n {
		t += n
	}
	return t
}

// BySubcommand maps each git subcommand ("cat-file", "log", …) to the processes started for it.
func (c *Counter) BySubcommand() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.n)
}

// Reset forgets every count.
func (c *Counter) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n = nil
}

// Open returns the repository whose work tree contains dir.
func Open(ctx context.Context, dir string, opts ...Option) (*Repo, error) {
	r := &Repo{dir: dir}
	for _, o := range opts {
		o(r)
	}
	top, err := r.out(ctx, "rev-parse", "--show-toplevel")
	if err != nil {
		var ge *Error
		if errors.As(err, &ge) && strings.Contains(ge.Stderr, "not a git repository") {
			return nil, fmt.Errorf("%s is not inside a git repository: shiplane derives every artifact's identity from git; run it from a clone (or git init && git add -A && git commit): %w", dir, ErrNotRepository)
		}
		return nil, err
	}
	r.dir = top
	return r, nil
}

// ErrNotRepository is returned by Open outside a git work tree.
var ErrNotRepository = errors.New("not a git repository")

// Dir is the work tree's top directory.
func (r *Repo) Dir() string { return r.dir }

// Error is a git command that failed.
type Error struct {
	Args   []string
	Stderr string
	Err    error
}

func (e *Error) Error() string {
	msg := strings.TrimSpace(e.Stderr)
	if msg == "" {
		msg = e.Err.Error()
	}
	return fmt.Sprintf("git %s: %s", strings.Join(e.Args, " "), msg)
}

func (e *Error) Unwrap() error { return e.Err }

// Run runs git with args in the work tree and returns its standard output.
func (r *Repo) Run(ctx context.Context, args ...string) (string, error) {
	return r.run(ctx, nil, nil, args...)
}

func (r *Repo) out(ctx context.Context, args ...string) (string, error) {
	s, err := r.run(ctx, nil, nil, args...)
	return strings.TrimSpace(s), err
}

// command is git with args in the work tree, with the Repo's environment and env; every git
// process the Repo starts is made here (and counted when a Counter is set).
func (r *Repo) command(ctx context.Context, env []string, args ...string) *exec.Cmd {
	if r.counter != nil {
		r.counter.add(args)
	}
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = r.dir
	cmd.Env = append(append(append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "LC_ALL=C"), r.env...), env...)
	return cmd
}

func (r *Repo) run(ctx context.Context, env []string, stdin io.Reader, args ...string) (string, error) {
	cmd := r.command(ctx, env, args...)
	cmd.Stdin = stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), &Error{Args: args, Stderr: stderr.String(), Err: err}
	}
	return stdout.String(), nil
}

// Commit is what artifacts record about the commit they were built from.
type Commit struct {
	// Hash is the full commit hash, or "" in a repository without commits.
	Hash string
	// Time is the committer time (the artifacts' created time), zero without commits.
	Time time.Time
}

// Short is the first 12 characters of the hash.
func (c Commit) Short() string {
	if len(c.Hash) > 12 {
		return c.Hash[:12]
	}
	return c.Hash
}

// Head returns HEAD's commit; a repository without commits gives a zero Commit and no error.
func (r *Repo) Head(ctx context.Context) (Commit, error) {
	return r.Commit(ctx, "HEAD")
}

// Commit resolves rev to a commit.
func (r *Repo) Commit(ctx context.Context, rev string) (Commit, error) {
	if rev == "HEAD" {
		if _, err := r.out(ctx, "rev-parse", "-q", "--verify", "HEAD^{commit}"); err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) && ee.ExitCode() == 1 {
				return Commit{}, nil // no commits yet
			}
			return Commit{}, fmt.Errorf("reading HEAD: %w", err)
		}
	}
	out, err := r.out(ctx, "log", "-1", "--format=%H %ct", rev, "--")
	if err != nil {
		return Commit{}, fmt.Errorf("reading commit %s: %w", rev, err)
	}
	hash, ts, ok := strings.Cut(out, " ")
	sec, perr := strconv.ParseInt(ts, 10, 64)
	if !ok || perr != nil {
		return Commit{}, fmt.Errorf("reading commit %s: unexpected git output %q", rev, out)
	}
	return Commit{Hash: hash, Time: time.Unix(sec, 0).UTC()}, nil
}

// Trees returns the git object id of each path as it is in the work tree now, uncommitted and
// untracked (but not ignored) edits included. For a clean tree each equals `git rev-parse
// HEAD:<path>`. The real index is never touched: the paths are staged into a temporary copy.
func (r *Repo) Trees(ctx context.Context, paths []string) (map[string]string, error) {
	if len(paths) == 0 {
		return map[string]string{}, nil
	}
	tmp, err := os.CreateTemp("", "shiplane-index-*")
	if err != nil {
		return nil, fmt.Errorf("hashing inputs: %w", err)
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	env := []string{"GIT_INDEX_FILE=" + tmp.Name()}
	indexPath, err := r.out(ctx, "rev-parse", "--git-path", "index")
	if err != nil {
		return nil, fmt.Errorf("hashing inputs: %w", err)
	}
	if !filepath.IsAbs(indexPath) {
		indexPath = filepath.Join(r.dir, indexPath)
	}
	copied := false
	if data, err := os.ReadFile(indexPath); err == nil {
		// Start from the real index: its stat cache spares re-hashing unchanged files.
		if err := os.WriteFile(tmp.Name(), data, 0o600); err != nil {
			return nil, fmt.Errorf("hashing inputs: %w", err)
		}
		copied = true
	} else {
		os.Remove(tmp.Name())
	}
	tree, err := r.stageAndWrite(ctx, env, paths)
	if err != nil && copied {
		// The real index cannot become a tree: it holds unmerged entries (a merge, rebase or
		// cherry-pick stopped on a conflict, maybe far from these paths). Start again from HEAD's
		// tree, or from an empty index before the first commit; only the stat cache is lost, and
		// the paths are staged from the work tree either way.
		if rerr := r.resetIndex(ctx, env); rerr != nil {
			return nil, fmt.Errorf("%w (and starting a fresh index failed: %w)", err, rerr)
		}
		tree, err = r.stageAndWrite(ctx, env, paths)
	}
	if err != nil {
		return nil, err
	}
	return r.resolve(ctx, tree, paths)
}

// stageAndWrite stages paths from the work tree into the index env names and writes it as a tree.
func (r *Repo) stageAndWrite(ctx context.Context, env, paths []string) (string, error) {
	args := append([]string{"add", "--all", "--ignore-errors", "--"}, paths...)
	if _, err := r.run(ctx, env, nil, args...); err != nil {
		return "", fmt.Errorf("hashing inputs %s: %w", strings.Join(paths, " "), err)
	}
	tree, err := r.run(ctx, env, nil, "write-tree")
	if err != nil {
		return "", fmt.Errorf("hashing inputs: %w", err)
	}
	return strings.TrimSpace(tree), nil
}

// resetIndex makes the index env names hold HEAD's tree, or nothing in a repository without commits.
func (r *Repo) resetIndex(ctx context.Context, env []string) error {
	args := []string{"read-tree", "--empty"}
	head, err := r.out(ctx, "rev-parse", "-q", "--verify", "HEAD^{tree}")
	if err == nil {
		args = []string{"read-tree", head}
	} else if ee := (*exec.ExitError)(nil); !errors.As(err, &ee) || ee.ExitCode() != 1 {
		return fmt.Errorf("reading HEAD: %w", err)
	}
	if _, err := r.run(ctx, env, nil, args...); err != nil {
		return err
	}
	return nil
}

// TreesAt returns the object id of each path in rev (a commit or tag); a path missing there maps to "".
func (r *Repo) TreesAt(ctx context.Context, rev string, paths []string) (map[string]string, error) {
	return r.resolve(ctx, rev, paths)
}

func (r *Repo) resolve(ctx context.Context, treeish string, paths []string) (map[string]string, error) {
	names := make([]string, len(paths))
	for i, p := range paths {
		names[i] = treeish + ":" + cleanPath(p)
	}
	ids, err := r.batchCheck(ctx, names)
	if err != nil {
		return nil, fmt.Errorf("resolving %s in %s: %w", strings.Join(paths, " "), treeish, err)
	}
	res := make(map[string]string, len(paths))
	for i, p := range paths {
		res[p] = ids[i]
	}
	return res, nil
}

func cleanPath(p string) string {
	return strings.TrimPrefix(filepath.ToSlash(filepath.Clean(p)), "./")
}

// RevPaths is one question to ResolveMany: the commit Rev names, and the object id of each of
// Paths at Rev.
type RevPaths struct {
	// Rev is a commit hash, a tag (an annotated tag is peeled to its commit) or any revision git
	// names.
	Rev   string
	Paths []string
}

// Resolved is ResolveMany's answer to one RevPaths.
type Resolved struct {
	// Commit is the commit Rev names, or "" when this clone does not hold it (a tag whose commit
	// was not fetched, a name git does not know).
	Commit string
	// Trees maps each path to its object id at Rev; "" where git finds none (a path missing at
	// Rev, or every path when Rev is not in this clone).
	Trees map[string]string
}

// ResolveMany answers every query with one git process, whatever their number: a single
// `git cat-file --batch-check` is asked `<rev>^{commit}` and `<rev>:<path>` for each. A rev or a
// path this clone does not hold is an answer (""), not an error.
func (r *Repo) ResolveMany(ctx context.Context, qs []RevPaths) ([]Resolved, error) {
	var names []string
	for _, q := range qs {
		names = append(names, q.Rev+"^{commit}")
		for _, p := range q.Paths {
			names = append(names, q.Rev+":"+cleanPath(p))
		}
	}
	ids, err := r.batchCheck(ctx, names)
	if err != nil {
		return nil, fmt.Errorf("resolving the paths of %d revisions: %w", len(qs), err)
	}
	out := make([]Resolved, len(qs))
	i := 0
	for k, q := range qs {
		out[k] = Resolved{Commit: ids[i], Trees: make(map[string]string, len(q.Paths))}
		i++
		for _, p := range q.Paths {
			out[k].Trees[p] = ids[i]
			i++
		}
	}
	return out, nil
}

// batchCheck asks one `git cat-file --batch-check` for the object id of each name, in order: ""
// for a name git cannot find (missing, ambiguous). No process runs for no names.
func (r *Repo) batchCheck(ctx context.Context, names []string) ([]string, error) {
	if len(names) == 0 {
		return nil, nil
	}
	var in strings.Builder
	for _, n := range names {
		if strings.ContainsAny(n, "\n\r") {
			return nil, fmt.Errorf("%q: a revision or path with a line break cannot be resolved", n)
		}
		in.WriteString(n)
		in.WriteByte('\n')
	}
	out, err := r.run(ctx, nil, strings.NewReader(in.String()), "cat-file", "--batch-check=%(objectname)")
	if err != nil {
		return nil, err
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) != len(names) {
		return nil, fmt.Errorf("git cat-file answered %d lines for %d names", len(lines), len(names))
	}
	for i, l := range lines {
		if strings.Contains(l, " ") { // "<name> missing", "<name> ambiguous"
			lines[i] = ""
		}
	}
	return lines, nil
}

// ChangedFiles lists the files under paths that differ between rev and the work tree, untracked
// files included, sorted.
func (r *Repo) ChangedFiles(ctx context.Context, rev string, paths []string) ([]string, error) {
	out, err := r.ChangedFilesMany(ctx, []RevPaths{{Rev: rev, Paths: paths}})
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// ChangedFilesMany is ChangedFiles for many queries, answered in their order: one `git diff
// --name-only` per distinct rev (for the union of its queries' paths) and one `git ls-files
// --others` for the untracked files under every query's paths, whatever the number of queries. A
// query without paths has no changed files.
func (r *Repo) ChangedFilesMany(ctx context.Context, qs []RevPaths) ([][]string, error) {
	var revs, all []string
	byRev := map[string][]string{}
	for _, q := range qs {
		if len(q.Paths) == 0 {
			continue
		}
		if _, ok := byRev[q.Rev]; !ok {
			revs = append(revs, q.Rev)
		}
		byRev[q.Rev] = append(byRev[q.Rev], q.Paths...)
		all = append(all, q.Paths...)
	}
	out := make([][]string, len(qs))
	if len(all) == 0 {
		return out, nil
	}
	diffs := map[string][]string{}
	for _, rev := range revs {
		d, err := r.out(ctx, append([]string{"diff", "--name-only", rev, "--"}, sortedLines(strings.Join(byRev[rev], "\n"))...)...)
		if err != nil {
			return nil, fmt.Errorf("listing changes since %s: %w", rev, err)
		}
		diffs[rev] = sortedLines(d)
	}
	untracked, err := r.out(ctx, append([]string{"ls-files", "--others", "--exclude-standard", "--"}, sortedLines(strings.Join(all, "\n"))...)...)
	if err != nil {
		return nil, fmt.Errorf("listing untracked files: %w", err)
	}
	others := sortedLines(untracked)
	for i, q := range qs {
		if len(q.Paths) == 0 {
			continue
		}
		paths := make([]string, len(q.Paths))
		for k, p := range q.Paths {
			paths[k] = cleanPath(p)
		}
		var files []string
		for _, f := range slices.Concat(diffs[q.Rev], others) {
			if touches([]string{f}, paths) {
				files = append(files, f)
			}
		}
		out[i] = sortedLines(strings.Join(files, "\n"))
	}
	return out, nil
}

// Dirty lists the work tree's uncommitted changes (`git status --porcelain`), or nil when clean.
func (r *Repo) Dirty(ctx context.Context) ([]string, error) {
	out, err := r.out(ctx, "status", "--porcelain", "--untracked-files=normal")
	if err != nil {
		return nil, fmt.Errorf("checking for uncommitted changes: %w", err)
	}
	return sortedLines(out), nil
}

// Ignored lists the files in the work tree that git ignores (build outputs, caches), relative to
// the root: what Dirty does not see.
func (r *Repo) Ignored(ctx context.Context) ([]string, error) {
	out, err := r.out(ctx, "ls-files", "--others", "--ignored", "--exclude-standard")
	if err != nil {
		return nil, fmt.Errorf("listing ignored files: %w", err)
	}
	return sortedLines(out), nil
}

// TagCommit returns the commit a local tag points at, or "" when there is no such tag.
func (r *Repo) TagCommit(ctx context.Context, tag string) (string, error) {
	out, err := r.out(ctx, "rev-parse", "-q", "--verify", "refs/tags/"+tag+"^{commit}")
	if err != nil {
		var ge *Error
		var ee *exec.ExitError
		if errors.As(err, &ge) && errors.As(ge.Err, &ee) && ee.ExitCode() == 1 {
			return "", nil
		}
		return "", fmt.Errorf("looking up tag %s: %w", tag, err)
	}
	return out, nil
}

func sortedLines(s string) []string {
	var out []string
	seen := map[string]bool{}
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !seen[l] {
			seen[l] = true
			out = append(out, l)
		}
	}
	sort.Strings(out)
	return out
}

// Tags returns every local tag name.
func (r *Repo) Tags(ctx context.Context) (map[string]bool, error) {
	out, err := r.out(ctx, "for-each-ref", "--format=%(refname:strip=2)", "refs/tags")
	if err != nil {
		return nil, fmt.Errorf("listing tags: %w", err)
	}
	tags := map[string]bool{}
	for _, t := range sortedLines(out) {
		tags[t] = true
	}
	return tags, nil
}

// RemoteTags lists the tags on remote with the commit each points at (annotated tags peeled), in
// one ls-remote. A remote that cannot be reached is an error: the caller cannot tell.
func (r *Repo) RemoteTags(ctx context.Context, remote string) (map[string]string, error) {
	out, err := r.out(ctx, "ls-remote", "--tags", remote)
	if err != nil {
		return nil, fmt.Errorf("listing the tags of remote %q: %w", remote, err)
	}
	tags := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		hash, ref, ok := strings.Cut(strings.TrimSpace(line), "\t")
		if !ok || !strings.HasPrefix(ref, "refs/tags/") {
			continue
		}
		name := strings.TrimPrefix(ref, "refs/tags/")
		if peeled, isPeeled := strings.CutSuffix(name, "^{}"); isPeeled {
			tags[peeled] = hash // the commit wins over the tag object
			continue
		}
		if _, seen := tags[name]; !seen {
			tags[name] = hash
		}
	}
	return tags, nil
}

// TagsAt lists the tags pointing at rev.
func (r *Repo) TagsAt(ctx context.Context, rev string) ([]string, error) {
	out, err := r.out(ctx, "tag", "--points-at", rev)
	if err != nil {
		return nil, fmt.Errorf("listing tags at %s: %w", rev, err)
	}
	return sortedLines(out), nil
}

// CreateTag creates the annotated tag name at rev with message.
func (r *Repo) CreateTag(ctx context.Context, name, rev, message string) error {
	if _, err := r.out(ctx, "tag", "-a", "-m", message, name, rev); err != nil {
		return fmt.Errorf("creating tag %s: %w", name, err)
	}
	return nil
}

// PushTag pushes one tag to remote; it never forces.
func (r *Repo) PushTag(ctx context.Context, remote, name string) error {
	if _, err := r.out(ctx, "push", "--quiet", remote, "refs/tags/"+name+":refs/tags/"+name); err != nil {
		return fmt.Errorf("pushing tag %s to %s: %w", name, remote, err)
	}
	return nil
}

// ErrNoRemote is a remote that is not configured.
var ErrNoRemote = errors.New("no such git remote")

// RemoteURL returns the URL of remote, or an error wrapping ErrNoRemote when it is not configured.
func (r *Repo) RemoteURL(ctx context.Context, remote string) (string, error) {
	out, err := r.out(ctx, "remote", "get-url", remote)
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return "", fmt.Errorf("%w %q: add it with git remote add %s <url>", ErrNoRemote, remote, remote)
		}
		return "", err
	}
	return out, nil
}
