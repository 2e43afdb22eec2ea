// Package gittest makes real git repositories in temporary directories for tests.
package gittest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Env pins author, committer and dates so commits are reproducible.
var Env = []string{
	"GIT_AUTHOR_NAME=shiplane test", "GIT_AUTHOR_EMAIL=test@shiplane.invalid",
	"GIT_COMMITTER_NAME=shiplane test", "GIT_COMMITTER_EMAIL=test@shiplane.invalid",
	"GIT_AUTHOR_DATE=2026-01-02T03:04:05Z", "GIT_COMMITTER_DATE=2026-01-02T03:04:05Z",
	"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
}

// Git runs git in dir and returns its trimmed output; it fails the test on error.
func Git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), Env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// Write writes files (path relative to dir → content), creating directories.
func Write(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// New makes a repository on branch main holding files in one commit, and returns its directory.
func New(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	Git(t, dir, "init", "-q", "-b", "main")
	Write(t, dir, files)
	Commit(t, dir, "initial")
	return dir
}

// CommitAt stages everything and commits it with author and committer time at (instead of Env's
// pinned date), and returns the commit.
func CommitAt(t testing.TB, dir, msg string, at time.Time) string {
	t.Helper()
	Git(t, dir, "add", "-A")
	cmd := exec.Command("git", "commit", "-q", "--allow-empty", "-m", msg)
	cmd.Dir = dir
	date := at.UTC().Format(time.RFC3339)
	// The last of duplicate variables wins: these dates replace Env's.
	cmd.Env = append(append(os.Environ(), Env...), "GIT_AUTHOR_DATE="+date, "GIT_COMMITTER_DATE="+date)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git commit: %v\n%s", err, out)
	}
	return Git(t, dir, "rev-parse", "HEAD")
}

// Commit stages everything and commits it.
func Commit(t testing.TB, dir, msg string) string {
	t.Helper()
	Git(t, dir, "add", "-A")
	Git(t, dir, "commit", "-q", "--allow-empty", "-m", msg)
	return Git(t, dir, "rev-parse", "HEAD")
}
