package kubetest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gofrs/flock"
)

// mainModule is the module path whose go.mod marks the repository root.
const mainModule = "github.com/shiplane/shiplane"

// buildTimeout bounds a cold build (about 3 minutes on 2 idle cores).
const buildTimeout = 20 * time.Minute

// lockPoll is how often a process waiting for the cache lock tries again.
const lockPoll = 200 * time.Millisecond

// deadlineMargin is the time kept after a build for starting the servers and
// running the test when the test binary has a deadline.
const deadlineMargin = 90 * time.Second

// binSet holds the paths of the built servers.
type binSet struct {
	apiserver, etcd string
}

// binaries returns the cached servers, building them first when absent.
func binaries(t testing.TB) (*binSet, error) {
	t.Helper()
	src, err := sourceDir()
	if err != nil {
		return nil, err
	}
	ctx, cancel := buildContext(t)
	defer cancel()
	goVersion, err := goEnv(ctx, src, "GOVERSION")
	if err != nil {
		return nil, err
	}
	key, err := sourceHash(src, goVersion)
	if err != nil {
		return nil, err
	}
	base, err := cacheBase()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(base, key)
	bins := &binSet{
		apiserver: filepath.Join(dir, "kube-apiserver"+exeSuffix()),
		etcd:      filepath.Join(dir, "etcd"+exeSuffix()),
	}
	if bins.present() {
		return bins, nil
	}

	if err := os.MkdirAll(base, 0o755); err != nil {
		return nil, fmt.Errorf("creating cache dir: %w", err)
	}
	lock := flock.New(filepath.Join(base, ".lock"))
	if _, err := lock.TryLockContext(ctx, lockPoll); err != nil {
		return nil, fmt.Errorf("locking cache %s: %w", base, err)
	}
	defer lock.Unlock()
	if bins.present() { // built by another process while we waited
		return bins, nil
	}

	t.Logf("kubetest: building kube-apiserver and etcd from %s into %s (a cold build takes minutes)", src, dir)
	start := time.Now()
	tmp, err := os.MkdirTemp(base, key+".tmp-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", tmp+string(filepath.Separator),
		"./cmd/kube-apiserver", "./cmd/etcd")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off")
	cmd.SysProcAttr = sysProcAttr()
	cmd.WaitDelay = 10 * time.Second // compile children may hold the output pipe after a cancel
	if out, err := cmd.CombinedOutput(); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (not finished in time: a cold build can take over 10 minutes on a busy machine; "+
				"run once with a longer -timeout, e.g. go test -timeout 30m ./magefiles/kube/kubetest/)", ctx.Err())
		}
		return nil, fmt.Errorf("go build in %s: %w\n%s", src, err, bytes.TrimSpace(out))
	}
	// Remove an incomplete leftover, if any; MkdirTemp made tmp 0700.
	_ = os.RemoveAll(dir)
	if err := os.Chmod(tmp, 0o755); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return nil, fmt.Errorf("moving build into the cache: %w", err)
	}
	t.Logf("kubetest: built in %s", time.Since(start).Round(time.Second))
	if !bins.present() {
		return nil, fmt.Errorf("build finished but %s or %s is missing", bins.apiserver, bins.etcd)
	}
	return bins, nil
}

// buildContext bounds the build by buildTimeout and, when the test has a
// deadline (go test -timeout), ends it a little before that deadline so the
// test reports why instead of panicking in the middle of a build.
func buildContext(t testing.TB) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(t.Context(), buildTimeout)
	if d, ok := t.(interface{ Deadline() (time.Time, bool) }); ok {
		if deadline, ok := d.Deadline(); ok {
			ctx2, cancel2 := context.WithDeadline(ctx, deadline.Add(-deadlineMargin))
			return ctx2, func() { cancel2(); cancel() }
		}
	}
	return ctx, cancel
}

func (b *binSet) present() bool {
	for _, p := range []string{b.apiserver, b.etcd} {
		if fi, err := os.Stat(p); err != nil || !fi.Mode().IsRegular() {
			return false
		}
	}
	return true
}

func exeSuffix() string {
	if runtime.GOOS == "windows" {
		return ".exe"
	}
	return ""
}

// cacheBase is $SHIPLANE_CACHE/kubetest or os.UserCacheDir()/shiplane/kubetest.
func cacheBase() (string, error) {
	if d := os.Getenv("SHIPLANE_CACHE"); d != "" {
		return filepath.Join(d, "kubetest"), nil
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("finding a cache directory (set SHIPLANE_CACHE): %w", err)
	}
	return filepath.Join(d, "shiplane", "kubetest"), nil
}

// sourceDir finds scripts/kubetest by walking up from the working directory
// to the go.mod of the main module.
func sourceDir() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; {
		if modulePath(filepath.Join(dir, "go.mod")) == mainModule {
			src := filepath.Join(dir, "scripts", "kubetest")
			if _, err := os.Stat(filepath.Join(src, "go.mod")); err != nil {
				return "", fmt.Errorf("finding the kubetest module: %w", err)
			}
			return src, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod of %s above %s", mainModule, wd)
		}
		dir = parent
	}
}

// modulePath returns the module path declared by a go.mod file, or "".
func modulePath(gomod string) string {
	f, err := os.Open(gomod)
	if err != nil {
		return ""
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(s.Text()), "module"); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`)
		}
	}
	return ""
}

// sourceHash hashes what determines the binaries: go.mod, go.sum, every file
// under cmd/, the toolchain and the target platform.
func sourceHash(src, goVersion string) (string, error) {
	files := []string{"go.mod", "go.sum"}
	err := filepath.WalkDir(filepath.Join(src, "cmd"), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			rel, err := filepath.Rel(src, path)
			if err != nil {
				return err
			}
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("listing kubetest sources: %w", err)
	}
	sort.Strings(files[2:])
	h := sha256.New()
	fmt.Fprintf(h, "%s %s/%s CGO_ENABLED=0 -trimpath\n", goVersion, runtime.GOOS, runtime.GOARCH)
	for _, name := range files {
		data, err := os.ReadFile(filepath.Join(src, filepath.FromSlash(name)))
		if err != nil {
			return "", fmt.Errorf("hashing kubetest sources: %w", err)
		}
		fmt.Fprintf(h, "%s %d\n", name, len(data))
		h.Write(data)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

func goEnv(ctx context.Context, dir, name string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "env", name)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go env %s: %w: %s", name, err, strings.TrimSpace(stderr.String()))
	}
	v := strings.TrimSpace(string(out))
	if v == "" {
		return "", errors.New("go env " + name + ": empty")
	}
	return v, nil
}
