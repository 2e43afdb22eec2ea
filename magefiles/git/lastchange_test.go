package git_test

import (
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shiplane/shiplane/magefiles/git"
	"github.com/shiplane/shiplane/magefiles/git/gittest"
)

// TestLastChanges: every set of paths maps to the newest commit that changed any of them, with
// its committer time; sets of the same paths share the answer; an untouched set is zero; a later
// commit elsewhere changes nothing.
func TestLastChanges(t *testing.T) {
	dir := gittest.New(t, map[string]string{"svc/a/x": "a\n", "svc/b/x": "b\n", "VERSION": "1\n"})
	first := gittest.Git(t, dir, "rev-parse", "HEAD")
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	t1, t2 := t0.Add(time.Hour), t0.Add(2*time.Hour)
	gittest.Write(t, dir, map[string]string{"svc/b/x": "b2\n"})
	second := gittest.CommitAt(t, dir, "change b", t1)
	gittest.Write(t, dir, map[string]string{"VERSION": "2\n"})
	third := gittest.CommitAt(t, dir, "change VERSION only", t2)

	r, err := git.Open(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.LastChanges(t.Context(), "HEAD", map[string][]string{
		"a": {"svc/a"}, "b": {"svc/b"}, "a again": {"svc/a"}, "a+b": {"svc/b", "svc/a"},
		"all": {"svc", "VERSION"}, "nothing": {"svc/none"}, "empty": nil,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]git.Commit{
		"a": {Hash: first, Time: t0}, "a again": {Hash: first, Time: t0}, "b": {Hash: second, Time: t1},
		"a+b": {Hash: second, Time: t1}, "all": {Hash: third, Time: t2}, "nothing": {}, "empty": {},
	}
	for n, w := range want {
		if g := got[n]; g.Hash != w.Hash || !g.Time.Equal(w.Time) {
			t.Errorf("%s: last change %s at %s, want %s at %s", n, g.Hash, g.Time, w.Hash, w.Time)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d sets, want %d: %v", len(got), len(want), got)
	}
	// At an earlier revision, the later commits do not count.
	at, err := r.LastChanges(t.Context(), first, map[string][]string{"b": {"svc/b"}})
	if err != nil || at["b"].Hash != first {
		t.Errorf("at %s: %v, %v; want %s", first, at, err, first)
	}
}

// TestLastChangesAgreesWithGitLogAcrossMerges: on a history with branches and merges (one merge
// resolving both sides' edits of one file by hand), every set's answer from the one batched walk is
// the commit `git log -1 HEAD -- <paths>` names for that set alone.
func TestLastChangesAgreesWithGitLogAcrossMerges(t *testing.T) {
	dir := gittest.New(t, map[string]string{"svc/a/x": "a\n", "svc/b/x": "b\n", "svc/c/x": "c\n"})
	at := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	tick := func() time.Time { at = at.Add(time.Hour); return at }
	gittest.Git(t, dir, "checkout", "-q", "-b", "side")
	gittest.Write(t, dir, map[string]string{"svc/a/x": "a-side\n", "svc/c/x": "c-side\n"})
	gittest.CommitAt(t, dir, "side edits a and c", tick())
	gittest.Git(t, dir, "checkout", "-q", "-")
	gittest.Write(t, dir, map[string]string{"svc/b/x": "b-main\n", "svc/c/x": "c-main\n"})
	gittest.CommitAt(t, dir, "main edits b and c", tick())
	// Both sides edited svc/c/x: the merge stops on the conflict, resolved by hand below.
	if out, err := exec.Command("git", "-C", dir, "merge", "-q", "--no-commit", "side").CombinedOutput(); err == nil {
		t.Fatalf("the merge was expected to stop on svc/c/x:\n%s", out)
	}
	gittest.Write(t, dir, map[string]string{"svc/c/x": "c-both\n"})
	gittest.Git(t, dir, "add", "-A")
	gittest.CommitAt(t, dir, "merge side, c by hand", tick())
	gittest.Write(t, dir, map[string]string{"svc/b/y": "later\n"})
	gittest.CommitAt(t, dir, "main edits b again", tick())

	sets := map[string][]string{"a": {"svc/a"}, "b": {"svc/b"}, "c": {"svc/c"}, "a+c": {"svc/a", "svc/c"}}
	r, err := git.Open(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.LastChanges(t.Context(), "HEAD", sets)
	if err != nil {
		t.Fatal(err)
	}
	for n, paths := range sets {
		want := gittest.Git(t, dir, append([]string{"log", "-1", "--format=%H", "HEAD", "--"}, paths...)...)
		if got[n].Hash != want {
			t.Errorf("%s: %s, git log -1 says %s", n, got[n].Hash, want)
		}
	}
}

// TestLastChangesShallowClone: a clone whose history stops after the last change of a set cannot
// tell that change; the answer says so and how to fetch the history. A set changed within the
// clone's history is told.
func TestLastChangesShallowClone(t *testing.T) {
	dir := gittest.New(t, map[string]string{"svc/a/x": "a\n", "svc/b/x": "b\n"})
	gittest.Write(t, dir, map[string]string{"svc/b/x": "b2\n"})
	second := gittest.CommitAt(t, dir, "change b", time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC))
	gittest.Write(t, dir, map[string]string{"svc/b/y": "y\n"})
	third := gittest.CommitAt(t, dir, "change b again", time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	clone := filepath.Join(t.TempDir(), "clone")
	gittest.Git(t, dir, "clone", "-q", "--depth", "2", "file://"+dir, clone)

	r, err := git.Open(t.Context(), clone)
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.LastChanges(t.Context(), "HEAD", map[string][]string{"a": {"svc/a"}, "b": {"svc/b"}})
	var se *git.ShallowError
	if !errors.As(err, &se) || len(se.Sets) != 1 || se.Sets[0] != "a" || se.Boundary != second {
		t.Fatalf("err = %v (%#v), want a *ShallowError for set a at boundary %s", err, se, second)
	}
	if got["b"].Hash != third {
		t.Errorf("b: %s, want %s (inside the clone's history)", got["b"].Hash, third)
	}
	if msg := err.Error(); !containsAll(msg, "shallow", "git fetch --unshallow", "fetch-depth: 0", "a") {
		t.Errorf("message lacks the fix: %s", msg)
	}

	// A full clone's root commit is a real root: no error.
	full, err := git.Open(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := full.LastChanges(t.Context(), "HEAD", map[string][]string{"a": {"svc/a"}}); err != nil {
		t.Errorf("full clone: %v", err)
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
