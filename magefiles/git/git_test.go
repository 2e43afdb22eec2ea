package git_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
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
