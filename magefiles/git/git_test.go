package git_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shiplane/shiplane/magefiles/git"
	"github.com/shiplane/shiplane/magefiles/git/gittest"
)

func TestTreesFollowTheWorkTree(t *testing.T) {
	dir := gittest.New(t, map[string]string{
		"svc/a/main.go": "package main\n", "svc/b/x.txt": "b\n", ".gitignore": "*.log\n",
	})
	ctx := t.Context()
	r, err := git.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	paths := []string{"svc/a", "svc/b"}
	clean, err := r.Trees(ctx, paths)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		if want := gittest.Git(t, dir, "rev-parse", "HEAD:"+p); clean[p] != want {
			t.Errorf("clean tree of %s = %s, want HEAD's %s", p, clean[p], want)
		}
	}
	indexBefore, _ := os.ReadFile(filepath.Join(dir, ".git", "index"))

	gittest.Write(t, dir, map[string]string{"svc/a/main.go": "package main // edited\n"})
	edited, err := r.Trees(ctx, paths)
	if err != nil {
		t.Fatal(err)
	}
	if edited["svc/a"] == clean["svc/a"] || edited["svc/b"] != clean["svc/b"] {
		t.Errorf("uncommitted edit: a %s→%s, b %s→%s", clean["svc/a"], edited["svc/a"], clean["svc/b"], edited["svc/b"])
	}

	gittest.Write(t, dir, map[string]string{"svc/b/new.txt": "untracked\n", "svc/b/debug.log": "ignored\n"})
	untracked, err := r.Trees(ctx, paths)
	if err != nil {
		t.Fatal(err)
	}
	if untracked["svc/b"] == clean["svc/b"] {
		t.Error("an untracked file did not change the tree")
	}
	os.Remove(filepath.Join(dir, "svc/b/new.txt"))
	ignored, _ := r.Trees(ctx, paths)
	if ignored["svc/b"] != clean["svc/b"] {
		t.Error("an ignored file changed the tree")
	}
	indexAfter, _ := os.ReadFile(filepath.Join(dir, ".git", "index"))
	if !reflect.DeepEqual(indexBefore, indexAfter) {
		t.Error("Trees modified the real index")
	}
	changed, err := r.ChangedFiles(ctx, "HEAD", paths)
	if err != nil || !reflect.DeepEqual(changed, []string{"svc/a/main.go"}) {
		t.Errorf("ChangedFiles = %v, %v", changed, err)
	}
	dirty, err := r.Dirty(ctx)
	if err != nil || len(dirty) != 1 {
		t.Errorf("Dirty = %v, %v", dirty, err)
	}
}

func TestHeadTagsAndTreesAt(t *testing.T) {
	dir := gittest.New(t, map[string]string{"a/f": "1\n"})
	ctx := t.Context()
	r, err := git.Open(ctx, filepath.Join(dir, "a"))
	if err != nil {
		t.Fatal(err)
	}
	if r.Dir() != dir {
		t.Errorf("Dir = %s, want the top %s", r.Dir(), dir)
	}
	head, err := r.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if head.Hash != gittest.Git(t, dir, "rev-parse", "HEAD") || !head.Time.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Errorf("Head = %+v", head)
	}
	gittest.Git(t, dir, "tag", "-a", "-m", "x", "a/v1.0.0")
	if c, err := r.TagCommit(ctx, "a/v1.0.0"); err != nil || c != head.Hash {
		t.Errorf("TagCommit = %q, %v", c, err)
	}
	if c, err := r.TagCommit(ctx, "nope"); err != nil || c != "" {
		t.Errorf("TagCommit(missing) = %q, %v", c, err)
	}
	at, err := r.TreesAt(ctx, "a/v1.0.0", []string{"a", "gone"})
	if err != nil || at["a"] != gittest.Git(t, dir, "rev-parse", "HEAD:a") || at["gone"] != "" {
		t.Errorf("TreesAt = %v, %v", at, err)
	}
}

func TestOpenOutsideARepository(t *testing.T) {
	_, err := git.Open(t.Context(), t.TempDir(), git.WithEnv("GIT_CEILING_DIRECTORIES=/"))
	if !errors.Is(err, git.ErrNotRepository) {
		t.Fatalf("err = %v", err)
	}
}

func TestRepositoryWithoutCommits(t *testing.T) {
	dir := t.TempDir()
	gittest.Git(t, dir, "init", "-q")
	gittest.Write(t, dir, map[string]string{"x/y": "1\n"})
	r, err := git.Open(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if h, err := r.Head(t.Context()); err != nil || h.Hash != "" {
		t.Fatalf("Head = %+v, %v", h, err)
	}
	trees, err := r.Trees(t.Context(), []string{"x"})
	if err != nil || trees["x"] == "" {
		t.Fatalf("Trees = %v, %v", trees, err)
	}
}

// TestTreesDuringAMergeConflict: a conflicted merge leaves unmerged entries in the real index, so a
// copy of it cannot be written as a tree; Trees must still hash the paths as the work tree has them.
func TestTreesDuringAMergeConflict(t *testing.T) {
	dir := gittest.New(t, map[string]string{"svc/a/f": "a\n", "docs/readme": "base\n"})
	gittest.Git(t, dir, "checkout", "-q", "-b", "side")
	gittest.Write(t, dir, map[string]string{"docs/readme": "side\n"})
	gittest.Commit(t, dir, "side")
	gittest.Git(t, dir, "checkout", "-q", "main")
	gittest.Write(t, dir, map[string]string{"docs/readme": "main\n"})
	gittest.Commit(t, dir, "main")
	cmd := exec.Command("git", "merge", "-q", "side")
	cmd.Dir, cmd.Env = dir, append(os.Environ(), gittest.Env...)
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Fatalf("test premise: the merge did not conflict:\n%s", out)
	}
	if u := gittest.Git(t, dir, "ls-files", "-u"); u == "" {
		t.Fatal("test premise: no unmerged entries in the index")
	}
	ctx := t.Context()
	r, err := git.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	indexBefore, _ := os.ReadFile(filepath.Join(dir, ".git", "index"))
	trees, err := r.Trees(ctx, []string{"svc/a"})
	if err != nil {
		t.Fatalf("Trees during a merge conflict elsewhere: %v", err)
	}
	if want := gittest.Git(t, dir, "rev-parse", "HEAD:svc/a"); trees["svc/a"] != want {
		t.Errorf("svc/a = %s, want HEAD's %s", trees["svc/a"], want)
	}
	// The conflicted path itself hashes as the work tree holds it, conflict markers and all.
	gittest.Write(t, dir, map[string]string{"svc/a/f": "a, edited\n"})
	trees, err = r.Trees(ctx, []string{"svc/a", "docs"})
	if err != nil {
		t.Fatal(err)
	}
	if trees["svc/a"] == gittest.Git(t, dir, "rev-parse", "HEAD:svc/a") || trees["docs"] == "" ||
		trees["docs"] == gittest.Git(t, dir, "rev-parse", "HEAD:docs") {
		t.Errorf("trees do not follow the work tree: %v", trees)
	}
	if indexAfter, _ := os.ReadFile(filepath.Join(dir, ".git", "index")); !reflect.DeepEqual(indexBefore, indexAfter) {
		t.Error("Trees modified the real index")
	}
}

// TestTreesWithUnmergedEntriesBeforeTheFirstCommit: without a HEAD to start from, the fallback is an
// empty index.
func TestTreesWithUnmergedEntriesBeforeTheFirstCommit(t *testing.T) {
	dir := t.TempDir()
	gittest.Git(t, dir, "init", "-q")
	gittest.Write(t, dir, map[string]string{"x/y": "1\n", "other": "2\n"})
	blob := gittest.Git(t, dir, "hash-object", "-w", "other")
	cmd := exec.Command("git", "update-index", "--index-info")
	cmd.Dir, cmd.Env = dir, append(os.Environ(), gittest.Env...)
	cmd.Stdin = strings.NewReader("100644 " + blob + " 2\tother\n100644 " + blob + " 3\tother\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git update-index: %v\n%s", err, out)
	}
	if u := gittest.Git(t, dir, "ls-files", "-u"); u == "" {
		t.Fatal("test premise: no unmerged entries in the index")
	}
	r, err := git.Open(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	trees, err := r.Trees(t.Context(), []string{"x"})
	if err != nil || trees["x"] == "" {
		t.Fatalf("Trees = %v, %v", trees, err)
	}
}

// TestResolveManyAnswersEveryRevisionInOneProcess asks about many revisions at once, against real
// git: an annotated tag (peeled to its commit), a lightweight tag, a commit hash, a revision this
// clone does not hold and a path missing at one revision; one git process answers them all.
func TestResolveManyAnswersEveryRevisionInOneProcess(t *testing.T) {
	dir := gittest.New(t, map[string]string{"a/f": "1\n", "b/f": "1\n"})
	first := gittest.Git(t, dir, "rev-parse", "HEAD")
	gittest.Git(t, dir, "tag", "-a", "-m", "annotated", "a/v1")
	gittest.Write(t, dir, map[string]string{"a/f": "2\n", "c/f": "new\n"})
	second := gittest.Commit(t, dir, "second")
	gittest.Git(t, dir, "tag", "light")
	ctx := t.Context()
	r, n := openCounted(t, dir)
	tree := func(rev, path string) string { return gittest.Git(t, dir, "rev-parse", rev+":"+path) }
	qs := []git.RevPaths{
		{Rev: "refs/tags/a/v1", Paths: []string{"a", "b", "c"}},
		{Rev: "light", Paths: []string{"./a/", "c/f"}},
		{Rev: first, Paths: []string{"b"}},
		{Rev: strings.Repeat("0", 39) + "1", Paths: []string{"a"}}, // a commit this clone never fetched
		{Rev: "refs/tags/nope", Paths: nil},
	}
	got, err := r.ResolveMany(ctx, qs)
	if err != nil {
		t.Fatal(err)
	}
	want := []git.Resolved{
		{Commit: first, Trees: map[string]string{"a": tree(first, "a"), "b": tree(first, "b"), "c": ""}},
		{Commit: second, Trees: map[string]string{"./a/": tree(second, "a"), "c/f": tree(second, "c/f")}},
		{Commit: first, Trees: map[string]string{"b": tree(first, "b")}},
		{Commit: "", Trees: map[string]string{"a": ""}},
		{Commit: "", Trees: map[string]string{}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ResolveMany =\n%+v\nwant\n%+v", got, want)
	}
	if got[0].Trees["a"] == got[1].Trees["./a/"] {
		t.Error("a/ has the same tree at both commits: the fixture did not change it")
	}
	if c := n.BySubcommand(); n.Total() != 1 || c["cat-file"] != 1 {
		t.Errorf("ResolveMany of %d revisions started %v, want one cat-file", len(qs), c)
	}
	if _, err := r.ResolveMany(ctx, []git.RevPaths{{Rev: "HEAD", Paths: []string{"a\nb"}}}); err == nil {
		t.Error("a path with a line break was resolved")
	}
	n.Reset()
	if got, err := r.ResolveMany(ctx, nil); err != nil || len(got) != 0 || n.Total() != 0 {
		t.Errorf("ResolveMany(nil) = %v, %v after %d git processes; want nothing, and no process", got, err, n.Total())
	}
}

// TestChangedFilesManyGroupsByRevision lists the changes since two revisions for three sets of
// paths, untracked files included: one diff per distinct revision and one ls-files in all.
func TestChangedFilesManyGroupsByRevision(t *testing.T) {
	dir := gittest.New(t, map[string]string{"a/f": "1\n", "b/f": "1\n", "ab/f": "1\n"})
	first := gittest.Git(t, dir, "rev-parse", "HEAD")
	gittest.Write(t, dir, map[string]string{"b/f": "2\n"})
	second := gittest.Commit(t, dir, "second")
	gittest.Write(t, dir, map[string]string{"a/f": "edited\n", "a/new": "untracked\n", "ab/f": "edited\n"})
	ctx := t.Context()
	r, n := openCounted(t, dir)
	got, err := r.ChangedFilesMany(ctx, []git.RevPaths{
		{Rev: first, Paths: []string{"a"}},
		{Rev: first, Paths: []string{"b"}},
		{Rev: second, Paths: []string{"b", "./ab"}},
		{Rev: second, Paths: nil},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"a/f", "a/new"}, {"b/f"}, {"ab/f"}, nil}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ChangedFilesMany = %q, want %q", got, want)
	}
	if c := n.BySubcommand(); c["diff"] != 2 || c["ls-files"] != 1 || n.Total() != 3 {
		t.Errorf("ChangedFilesMany of two revisions started %v, want two diffs and one ls-files", c)
	}
	if one, err := r.ChangedFiles(ctx, first, []string{"a"}); err != nil || !reflect.DeepEqual(one, want[0]) {
		t.Errorf("ChangedFiles = %q, %v; want %q", one, err, want[0])
	}
}

// openCounted opens dir with a Counter that has counted nothing yet.
func openCounted(t *testing.T, dir string) (*git.Repo, *git.Counter) {
	t.Helper()
	n := &git.Counter{}
	r, err := git.Open(t.Context(), dir, git.WithCounter(n))
	if err != nil {
		t.Fatal(err)
	}
	n.Reset() // Open's own rev-parse
	return r, n
}
