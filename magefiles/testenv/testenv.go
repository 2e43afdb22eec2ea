// Package testenv holds helpers shared by tests that need the real Docker daemon and the reference
// platform's images: a daemon check that never skips in CI, the repository root, one shared set of
// platform images per machine, and throwaway copies of the repository with their own image
// prefix.
package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/gofrs/flock"

	"github.com/shiplane/shiplane/magefiles/docker"
	"github.com/shiplane/shiplane/magefiles/lane"
	"github.com/shiplane/shiplane/magefiles/progress"
)

// Module is the module path RepoRoot looks for.
const Module = "github.com/shiplane/shiplane"

// CommitTime is the author and committer date of the commit CopyRepo makes, so every copy's
// images carry the same org.opencontainers.image.created.
var CommitTime = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// RequireDocker returns a client for the daemon at $DOCKER_HOST (else the default socket), closed
// when the test ends. Without a reachable daemon the test is skipped, or fails when CI=true: in CI
// no Docker test may skip.
func RequireDocker(t testing.TB) *docker.Client {
	t.Helper()
	d, err := docker.New(t.Context())
	if err != nil {
		if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
			t.Fatalf("CI=true and the Docker daemon is required: %v", err)
		}
		t.Skipf("no Docker daemon (set CI=true to make this a failure): %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// RepoRoot returns the root of the shiplane repository the test runs in: the nearest directory
// above the working directory whose go.mod declares Module.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("finding the repository root: %v", err)
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && regexp.MustCompile(`(?m)^module\s+`+regexp.QuoteMeta(Module)+`\s*$`).Match(data) {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("no go.mod declaring module %s above the working directory", Module)
		}
		dir = parent
	}
}

var platform struct {
	mu  sync.Mutex
	ws  *lane.Workspace
	err error
	log string
}

// PlatformImages makes sure the real repository's images are built in the local daemon
// (BuildAllLocal, which does nothing when they are current) and returns the repository's
// workspace (a copy per call, so a test may change its Config). Within a process the build runs once; across test processes (go test runs packages
// in parallel) a file lock in os.TempDir serialises it, so every package shares one set of images.
// It requires Docker (see RequireDocker).
func PlatformImages(t testing.TB) *lane.Workspace {
	t.Helper()
	RequireDocker(t)
	platform.mu.Lock()
	defer platform.mu.Unlock()
	if platform.ws == nil && platform.err == nil {
		platform.ws, platform.log, platform.err = buildPlatform(t)
	}
	if platform.err != nil {
		t.Fatalf("building the platform images: %v\n%s", platform.err, platform.log)
	}
	ws := *platform.ws // a copy: callers may change its Config
	return &ws
}

func buildPlatform(t testing.TB) (*lane.Workspace, string, error) {
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Minute)
	defer cancel()
	lock := flock.New(filepath.Join(os.TempDir(), "shiplane-platform-images.lock"))
	if _, err := lock.TryLockContext(ctx, 200*time.Millisecond); err != nil {
		return nil, "", fmt.Errorf("waiting for lock %s: %w", lock, err)
	}
	defer lock.Unlock()
	var out bytes.Buffer
	cfg := lane.Config{Root: RepoRoot(t), Progress: progress.Locked(&out), Getenv: withoutReport}
	start := time.Now()
	if err := lane.BuildAllLocal(ctx, cfg); err != nil {
		return nil, out.String(), err
	}
	t.Logf("platform images ready in %s", time.Since(start).Round(time.Millisecond))
	ws, err := lane.Open(ctx, cfg)
	return ws, out.String(), err
}

// withoutReport is the process environment minus SHIPLANE_REPORT: the shared build must not
// overwrite a report a test asked for.
func withoutReport(k string) string {
	if k == "SHIPLANE_REPORT" {
		return ""
	}
	return os.Getenv(k)
}

var projectName = regexp.MustCompile(`^[a-z0-9]+(?:[._-][a-z0-9]+)*$`)

// CopyRepo makes a throwaway copy of the repository for a test that changes files or builds
// images of its own: the tracked files and the untracked ones git does not ignore, committed in a
// fresh git repository with a fixed author and date (CommitTime). The copy's components file says
// project: <project>, so its images are <project>/<name> and never touch the shared set; they
// are removed when the test ends. It returns the copy's root.
func CopyRepo(t testing.TB, project string) string {
	t.Helper()
	if !projectName.MatchString(project) {
		t.Fatalf("CopyRepo: project %q is not a valid image repository prefix (lower case letters, digits, . _ -)", project)
	}
	root := RepoRoot(t)
	list, err := gitCmd(t.Context(), root, nil, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	if err != nil {
		t.Fatalf("listing the repository's files: %v", err)
	}
	dst := filepath.Join(t.TempDir(), "repo")
	for _, rel := range strings.Split(strings.TrimRight(list, "\x00"), "\x00") {
		if rel == "" {
			continue
		}
		if err := copyPath(filepath.Join(root, rel), filepath.Join(dst, rel)); err != nil {
			t.Fatalf("copying the repository: %v", err)
		}
	}
	manifestPath := filepath.Join(dst, "deploy", "components.yaml")
	data, err := os.ReadFile(manifestPath)
	if err != nil {
		t.Fatalf("copying the repository: %v", err)
	}
	re := regexp.MustCompile(`(?m)^project:.*$`)
	if !re.Match(data) {
		t.Fatalf("deploy/components.yaml has no top-level project: line to rewrite")
	}
	if err := os.WriteFile(manifestPath, re.ReplaceAll(data, []byte("project: "+project)), 0o644); err != nil {
		t.Fatal(err)
	}
	date := CommitTime.Format(time.RFC3339)
	env := []string{"GIT_AUTHOR_DATE=" + date, "GIT_COMMITTER_DATE=" + date}
	for _, args := range [][]string{
		{"init", "-q"},
		{"add", "-A"},
		{"-c", "user.name=shiplane test", "-c", "user.email=test@shiplane.invalid", "-c", "commit.gpgsign=false",
			"commit", "-q", "--no-verify", "-m", "test copy of the repository"},
	} {
		if _, err := gitCmd(t.Context(), dst, env, args...); err != nil {
			t.Fatalf("committing the copy: %v", err)
		}
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(t.Context()), 2*time.Minute)
		defer cancel()
		d, err := docker.New(ctx)
		if err != nil {
			return // no daemon: nothing was built
		}
		defer d.Close()
		if err := RemoveImages(ctx, d, project); err != nil {
			t.Errorf("cleaning up %s images: %v", project, err)
		}
	})
	return dst
}

// CleanupImages removes the images RemoveImages removes for project now (left over by an
// interrupted run) and again when the test ends.
func CleanupImages(t testing.TB, d *docker.Client, project string) {
	t.Helper()
	if err := RemoveImages(t.Context(), d, project); err != nil {
		t.Fatalf("removing leftovers: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(t.Context()), time.Minute)
		defer cancel()
		if err := RemoveImages(ctx, d, project); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
}

// RemoveImages removes every image tagged <project>/*, together with the untagged images built on
// them (an image rebuilt after an edit leaves its predecessor dangling, still a child of the base
// image). Children go first: a parent cannot be removed while a child exists.
func RemoveImages(ctx context.Context, d *docker.Client, project string) error {
	tagged, err := d.ListImages(ctx, docker.ListOptions{Reference: project + "/*"})
	if err != nil || len(tagged) == 0 {
		return err
	}
	all, err := d.ListImages(ctx, docker.ListOptions{All: true})
	if err != nil {
		return err
	}
	pending := map[string]bool{}
	for _, img := range tagged {
		pending[img.ID] = true
	}
	parent := map[string]string{}
	for _, img := range all {
		parent[img.ID] = img.Parent
	}
	for _, img := range all {
		if len(img.Tags) > 0 || pending[img.ID] {
			continue
		}
		for p := img.Parent; p != ""; p = parent[p] {
			if pending[p] {
				pending[img.ID] = true
				break
			}
		}
	}
	// Each pass removes at least the leaves; removing one prunes its untagged parents too.
	for len(pending) > 0 {
		var conflicts []error
		removed := 0
		for id := range pending {
			err := d.RemoveImage(ctx, id)
			switch {
			case err == nil:
				delete(pending, id)
				removed++
			case cerrdefs.IsConflict(err):
				conflicts = append(conflicts, err)
			default:
				return err
			}
		}
		if removed == 0 {
			return errors.Join(conflicts...)
		}
	}
	return nil
}

func gitCmd(ctx context.Context, dir string, env []string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1", "LC_ALL=C"), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

func copyPath(src, dst string) error {
	info, err := os.Lstat(src)
	if errors.Is(err, os.ErrNotExist) {
		return nil // tracked but deleted in the work tree
	}
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	switch {
	case info.Mode()&os.ModeSymlink != 0:
		link, err := os.Readlink(src)
		if err != nil {
			return err
		}
		return os.Symlink(link, dst)
	case info.Mode().IsRegular():
		in, err := os.Open(src)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, info.Mode().Perm())
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	default:
		return nil // a submodule or special file: not part of any build
	}
}
