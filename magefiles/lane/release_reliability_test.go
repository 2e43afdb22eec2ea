//go:build unix

package lane_test

// The release lane's reliability tests: a release SIGKILLed at goal boundaries and resumed, a
// registry (and GitHub) failing transiently, permanent errors, answers that cannot be had,
// secrets in every output, and bad verification input.
//
// Every test releases from ONE shared throwaway copy of the repository (project "shiprely"),
// made by the first test that needs it and removed, with its images, by TestMain after all tests
// ran (a file lock keeps a second test process away from the shiprely images meanwhile). The
// copy's deploy/components.yaml is testdata/reliability/components.yaml: the real versions,
// charts and umbrella chart, with small FROM-scratch images in place of the Go services. A release
// of the real images takes about 8 s on two cores (every local image is exported from the daemon
// and rewritten), one of these about 1 s, and this file runs about ninety releases. The images
// are built by the first release and found already built by every later one.
//
// Each run gets its own registry, bare git remote and GitHub fake. The copy's origin is a
// placeholder URL that each run's git environment (GIT_CONFIG_*, url.<remote>.insteadOf) points
// at the run's remote, so release children running at once push to their own remotes; the
// registry is reached through a fixed address (see frontServer), since the umbrella chart and the
// release manifest record it.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/shiplane/shiplane/magefiles/git/gittest"
	"github.com/shiplane/shiplane/magefiles/github"
	"github.com/shiplane/shiplane/magefiles/github/githubtest"
	"github.com/shiplane/shiplane/magefiles/guard"
	"github.com/shiplane/shiplane/magefiles/lane"
	"github.com/shiplane/shiplane/magefiles/published"
	"github.com/shiplane/shiplane/magefiles/registry"
	"github.com/shiplane/shiplane/magefiles/registry/registrytest"
	"github.com/shiplane/shiplane/magefiles/testenv"
)

const (
	// relyProject is the image prefix of the shared copy: its images are shiprely/<name>.
	relyProject = "shiprely"
	// relyChildEnv=1 makes the test binary a release child (see releaseChild).
	relyChildEnv = "SHIPLANE_RELY_CHILD"
	// relyRootEnv is the repository a release child releases from.
	relyRootEnv = "SHIPLANE_RELY_ROOT"
	// relyWorkersEnv is a release child's lane.Config.Workers.
	relyWorkersEnv = "SHIPLANE_RELY_WORKERS"
	// relyHookEnv=host:port makes the test binary a git pre-receive hook (see preReceiveHook).
	relyHookEnv = "SHIPLANE_RELY_HOOK"
	// relyRepo is GITHUB_REPOSITORY.
	relyRepo = "shiplane/shiplane"
	// relyTag is the copy's platform release (root VERSION 1.0.0).
	relyTag = "v1.0.0"
	// regUser and regSecret are the registry credentials of the secrets test: like canary, they
	// must appear in no output, log or report.
	regUser   = "shiplane-ci"
	regSecret = "regpw-CANARY-9f8e7d6c5b4a3210-SECRET"
)

// TestMain dispatches the two re-exec entry points before any test runs — a release child the
// crash test SIGKILLs, and the git hook that tells the test a tag push arrived — and removes the
// shared copy and its images after all tests ran.
func TestMain(m *testing.M) {
	switch {
	case os.Getenv(relyHookEnv) != "":
		os.Exit(preReceiveHook(os.Getenv(relyHookEnv)))
	case os.Getenv(relyChildEnv) == "1":
		os.Exit(releaseChild())
	}
	code := m.Run()
	shared.close()
	os.Exit(code)
}

// releaseChild is a release child process: one ReleaseAll, exit status 0 or 1. Its settings are
// its environment (RELEASE_REGISTRY, GITHUB_TOKEN, …), as in CI.
func releaseChild() int {
	workers, _ := strconv.Atoi(os.Getenv(relyWorkersEnv))
	cfg := lane.Config{Root: os.Getenv(relyRootEnv), Progress: os.Stderr, Stdout: os.Stdout, Workers: workers}
	if err := lane.ReleaseAll(context.Background(), cfg); err != nil {
		fmt.Fprintf(os.Stderr, "releaseAll: %v\n", err)
		return 1
	}
	return 0
}

// preReceiveHook is a bare remote's pre-receive hook: it sends the pushed ref lines to the test
// listening at addr and waits for its answer; "ok" lets the push through. To crash a release at a
// tag push the test kills the release child's process group instead, this hook included.
func preReceiveHook(addr string) int {
	refs, err := io.ReadAll(os.Stdin)
	if err != nil {
		return 1
	}
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "pre-receive: %v\n", err)
		return 1
	}
	defer conn.Close()
	if _, err := conn.Write(refs); err != nil {
		return 1
	}
	_ = conn.(*net.TCPConn).CloseWrite()
	answer, _ := io.ReadAll(conn)
	if strings.TrimSpace(string(answer)) != "ok" {
		return 1
	}
	return 0
}

// ---- the shared copy ----

// sharedCopy is the one repository copy the tests in this file release from.
type sharedCopy struct {
	mu       sync.Mutex
	root     string
	failed   bool
	tmp      string
	cleanups []func()
}

var shared sharedCopy

// lockImages keeps other test processes away from the shiprely images until this one is done
// with them (TestMain's close): two runs of this package at once, on one daemon, would otherwise
// rebuild or remove each other's images mid-release. It waits for the other run to finish.
func (s *sharedCopy) lockImages() error {
	f, err := os.OpenFile(filepath.Join(os.TempDir(), "shiplane-"+relyProject+"-images.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return err
	}
	s.cleanups = append([]func(){func() { f.Close() }}, s.cleanups...) // released last
	return nil
}

// close runs the copy's cleanups (CopyRepo's removes the shiprely images), newest first.
func (s *sharedCopy) close() {
	for i := len(s.cleanups) - 1; i >= 0; i-- {
		s.cleanups[i]()
	}
	if s.tmp != "" {
		_ = os.RemoveAll(s.tmp)
	}
}

// sharedTB is the first test's TB with a longer life: the temporary directories and cleanups it
// is given belong to the shared copy and are handled by TestMain.
type sharedTB struct{ testing.TB }

func (s sharedTB) TempDir() string {
	d, err := os.MkdirTemp(shared.tmp, "shared-")
	if err != nil {
		s.Fatalf("shared temp dir: %v", err)
	}
	return d
}

func (s sharedTB) Cleanup(f func()) { shared.cleanups = append(shared.cleanups, f) }

func (s sharedTB) Context() context.Context { return context.Background() }

// relyRoot returns the shared copy, making it on first use: the repository with the reliability
// components file, a 256 KiB incompressible payload in the base image (so an upload can be cut
// off half-way), a quick verification goal, committed and tagged v1.0.0. It also isolates the
// test from the machine's Docker and Helm credentials.
func relyRoot(t *testing.T) string {
	t.Helper()
	testenv.RequireDocker(t)
	isolateCredentials(t)
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.failed {
		t.Fatal("the shared repository copy could not be made (see the first test that failed)")
	}
	if shared.root != "" {
		return shared.root
	}
	shared.failed = true // until made
	if err := shared.lockImages(); err != nil {
		t.Fatalf("locking the %s images: %v", relyProject, err)
	}
	tmp, err := os.MkdirTemp("", "shiplane-rely-")
	if err != nil {
		t.Fatal(err)
	}
	shared.tmp = tmp
	root := testenv.CopyRepo(sharedTB{t}, relyProject)
	comps, err := os.ReadFile(filepath.Join(root, "magefiles", "lane", "testdata", "reliability", "components.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	payload := make([]byte, 256<<10)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < len(payload); i += 8 {
		binary.LittleEndian.PutUint64(payload[i:], rng.Uint64())
	}
	gittest.Write(t, root, map[string]string{
		"deploy/components.yaml": string(comps),
		"deploy/release.yaml":    "verify:\n  - name: versions readable\n    run: test -s VERSION && test -s services/core/VERSION\n",
		"magefiles/lane/testdata/reliability/images/base/payload.bin": string(payload),
	})
	gittest.Git(t, root, "add", "-A")
	gittest.Git(t, root, "commit", "-q", "-m", "release reliability test platform")
	gittest.Git(t, root, "tag", "-a", "-m", "Release "+relyTag, relyTag)
	gittest.Git(t, root, "remote", "add", "origin", relyOrigin)
	shared.root, shared.failed = root, false
	return root
}

// isolateCredentials points the Docker and Helm configuration at empty directories for the test
// (release children inherit them): no credential of the machine is read.
func isolateCredentials(t *testing.T) {
	dir := t.TempDir()
	for k, sub := range map[string]string{"DOCKER_CONFIG": "docker", "HELM_CONFIG_HOME": "helm-config",
		"HELM_CACHE_HOME": "helm-cache", "HELM_DATA_HOME": "helm-data"} {
		t.Setenv(k, filepath.Join(dir, sub))
	}
}

// cloneShared makes a second work tree of the shared copy (same project, so the same images) whose
// deploy/release.yaml is replaced and committed, with v1.0.0 moved to that commit.
func cloneShared(t *testing.T, releaseYAML string) string {
	t.Helper()
	src := relyRoot(t)
	dir := filepath.Join(t.TempDir(), "clone")
	gittest.Git(t, src, "clone", "-q", src, dir)
	gittest.Write(t, dir, map[string]string{"deploy/release.yaml": releaseYAML})
	gittest.Git(t, dir, "commit", "-q", "-am", "another deploy/release.yaml")
	gittest.Git(t, dir, "tag", "-f", "-a", "-m", "Release "+relyTag, relyTag)
	gittest.Git(t, dir, "remote", "set-url", "origin", relyOrigin)
	return dir
}

// ---- one run's world: registry, GitHub, git remote ----

type relyOptions struct {
	// root is the repository; default: the shared copy.
	root string
	// registry options, after the world's own manifest-PUT log (the outermost middleware).
	registry []registrytest.Option
	// front wraps the registry's front (kill points, transient faults): its answers and hang-ups
	// reach the client as they are. Default: none.
	front func(http.Handler) http.Handler
	// registryAuth reads the registry's state; default: anonymous.
	registryAuth authn.Authenticator
	// github wraps the GitHub fake (kill points); default: none.
	github func(http.Handler) http.Handler
	// hook, when set, is the address the remote's pre-receive hook reports tag pushes to.
	hook string
	// lane picks the registry front (see registryFront); runs in parallel use different lanes.
	lane int
}

// world is one release's registry, GitHub fake (behind a front server the test can wrap), bare
// git remote and environment.
type relyWorld struct {
	// workers bounds concurrent goals (lane.Config.Workers); 0 is the engine's default.
	workers int
	t       *testing.T
	root    string
	host    string // the registry's address as the release sees it (its front's)
	front   *frontServer
	handler http.Handler // what the front forwards to while this world is active
	origin  string
	reg     *registrytest.Registry
	regAu   authn.Authenticator
	gh      *githubtest.Fake
	env     map[string]string
	out     *relyBuffer
	report  string
	puts    *writeLog
	ghw     *writeLog
}

func newRelyWorld(t *testing.T, o relyOptions) *relyWorld {
	t.Helper()
	root := o.root
	if root == "" {
		root = relyRoot(t)
	}
	w := &relyWorld{t: t, root: root, out: &relyBuffer{}, puts: newWriteLog(registryWrite), ghw: newWriteLog(githubWrite),
		regAu: o.registryAuth}
	if w.regAu == nil {
		w.regAu = authn.Anonymous
	}
	w.reg = registrytest.New(t, append([]registrytest.Option{registrytest.WithMiddleware(w.puts.middleware)}, o.registry...)...)
	w.front = registryFront(o.lane)
	w.host, w.handler = w.front.host, w.front.handlerFor(w.reg, o.front)
	w.activate()
	w.origin = filepath.Join(t.TempDir(), "origin.git")
	w.gh = githubtest.NewFake(t, relyRepo, githubtest.RequireToken(canary), githubtest.WithGitRepository(w.origin))
	var front http.Handler = w.gh
	if o.github != nil {
		front = o.github(front)
	}
	srv := httptest.NewServer(w.ghw.middleware(front))
	t.Cleanup(srv.Close)

	gittest.Git(t, root, "init", "-q", "--bare", w.origin)
	gittest.Git(t, root, "push", "-q", w.origin, "HEAD:refs/heads/main", "refs/tags/"+relyTag)
	if o.hook != "" {
		exe, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		script := fmt.Sprintf("#!/bin/sh\nunset %s\n%s=%s exec %s\n", relyChildEnv, relyHookEnv, o.hook, relyShellQuote(exe))
		if err := os.WriteFile(filepath.Join(w.origin, "hooks", "pre-receive"), []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
	}

	w.report = filepath.Join(t.TempDir(), "report.json")
	w.env = map[string]string{
		"RELEASE_REGISTRY":   w.host + "/rel",
		"RELEASE_CHART_REPO": "oci://" + w.host + "/rel/charts",
		"GITHUB_TOKEN":       canary,
		"GITHUB_REPOSITORY":  relyRepo,
		"GITHUB_API_URL":     srv.URL + "/",
		"SHIPLANE_REPORT":    w.report,
		// CI may set these; the release must find its tag at HEAD.
		"RELEASE_TAG": "", "GITHUB_REF_NAME": "", "ALLOW_BLOCKED": "",
		// These crash-resume tests cover the artifacts' own goals; the attestation goals' crash
		// and fault tests are in attest_release_test.go.
		"SIGNING": "none",
	}
	for k, v := range w.gitEnv() {
		w.env[k] = v
	}
	return w
}

// relyOrigin is the URL of the shared copy's origin; each run's git environment rewrites it to
// the run's own bare remote, so runs in parallel processes each push to their own.
const relyOrigin = "rely-origin:"

// gitEnv is the git configuration, as environment variables, that points origin at the run's
// remote.
func (w *relyWorld) gitEnv() map[string]string {
	return map[string]string{"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "url." + w.origin + ".insteadOf", "GIT_CONFIG_VALUE_0": relyOrigin}
}

// activate makes the world's front forward to the world's registry.
func (w *relyWorld) activate() { w.front.target.Store(&w.handler) }

// frontServer is a fixed address a run's registry is reached at. The umbrella chart records the
// repository of its dependencies (oci://<host>/rel/charts) and release-manifest.json every
// artifact's reference, so digests can only equal a clean run's when the host does: each world's
// fresh registry is served behind a front, which forwards to the world last activated on it.
type frontServer struct {
	host   string
	target atomic.Pointer[http.Handler]
}

var fronts struct {
	mu   sync.Mutex
	list []*frontServer
}

// registryFront returns front number i, started on first use; fronts listen until the test
// process ends.
func registryFront(i int) *frontServer {
	fronts.mu.Lock()
	defer fronts.mu.Unlock()
	for len(fronts.list) <= i {
		f := &frontServer{}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := f.target.Load()
			if h == nil {
				http.Error(w, "no registry behind the front", http.StatusServiceUnavailable)
				return
			}
			(*h).ServeHTTP(w, r)
		}))
		f.host = strings.TrimPrefix(srv.URL, "http://")
		fronts.list = append(fronts.list, f)
	}
	return fronts.list[i]
}

// handlerFor is reg behind a reverse proxy, wrapped in front when not nil.
func (f *frontServer) handlerFor(reg *registrytest.Registry, front func(http.Handler) http.Handler) http.Handler {
	backend, err := url.Parse(reg.URL())
	if err != nil {
		panic(err)
	}
	rp := httputil.NewSingleHostReverseProxy(backend) // keeps the Host header: upload URLs point at the front
	rp.Transport = &http.Transport{DisableCompression: true}
	rp.ErrorLog = log.New(io.Discard, "", 0)
	var h http.Handler = rp
	if front != nil {
		h = front(h)
	}
	return h
}

func relyShellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func (w *relyWorld) config() lane.Config {
	return lane.Config{Root: w.root, Progress: w.out, Stdout: w.out, Workers: w.workers, Getenv: func(k string) string {
		if v, ok := w.env[k]; ok {
			return v
		}
		return os.Getenv(k)
	}}
}

// release runs ReleaseAll in this process (with the world's git environment).
func (w *relyWorld) release() error {
	w.t.Helper()
	for k, v := range w.gitEnv() {
		w.t.Setenv(k, v)
	}
	w.activate()
	return lane.ReleaseAll(w.t.Context(), w.config())
}

// mustRelease runs ReleaseAll in this process and fails the test when it fails.
func (w *relyWorld) mustRelease(what string) {
	w.t.Helper()
	start := time.Now()
	if err := w.release(); err != nil {
		w.t.Fatalf("%s: releaseAll: %v\n%s", what, err, w.out)
	}
	w.t.Logf("%s: released in %s", what, time.Since(start).Round(time.Millisecond))
}

// childEnv is the process environment with the world's settings laid over it.
func (w *relyWorld) childEnv() []string { return releaseChildEnv(w.root, w.env, w.workers) }

// releaseChildEnv is the process environment with env laid over it, for a release child of root.
func releaseChildEnv(root string, env map[string]string, workers int) []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if _, ours := env[k]; ours || k == relyChildEnv || k == relyRootEnv || k == relyHookEnv || k == relyWorkersEnv {
			continue
		}
		out = append(out, kv)
	}
	for k, v := range env {
		if v != "" {
			out = append(out, k+"="+v)
		}
	}
	return append(out, relyChildEnv+"=1", relyRootEnv+"="+root, relyWorkersEnv+"="+strconv.Itoa(workers))
}

// runChild runs ReleaseAll in a child process (its own process group, so a kill takes its git
// and hook processes with it) and returns its output and exit error. k, when not nil, is armed
// with the child's process group.
func (w *relyWorld) runChild(k *killSwitch) (string, error) {
	w.t.Helper()
	out, err := w.child(k)
	var ce *childError
	if errors.As(err, &ce) {
		w.t.Fatalf("%v\n%s", err, out)
	}
	return out, err
}

// runKilled runs ReleaseAll in a child that k must kill (SIGKILL) at its kill point, and returns
// its output; a child that finishes or dies otherwise fails the test.
func (w *relyWorld) runKilled(k *killSwitch) string {
	w.t.Helper()
	out, err := w.runChild(k)
	if k.firedAt() == "" {
		w.t.Fatalf("the release finished (%v) without reaching the kill point:\n%s", err, out)
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		w.t.Fatalf("the child was not killed: %v\n%s", err, out)
	}
	return out
}

// childError is a release child that could not be started or did not finish in time.
type childError struct{ msg string }

func (e *childError) Error() string { return e.msg }

// child is runChild for any goroutine: it reports every problem as an error.
func (w *relyWorld) child(k *killSwitch) (string, error) { return runReleaseChild(w.childEnv(), k) }

// runReleaseChild runs one release child with the environment env (see releaseChildEnv), in its own
// process group; k, when not nil, is armed with it. Every problem is an error; one that is not
// the child's exit status is a *childError.
func runReleaseChild(env []string, k *killSwitch) (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", &childError{err.Error()}
	}
	cmd := exec.Command(exe)
	cmd.Env = env
	var out relyBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return "", &childError{"starting the release child: " + err.Error()}
	}
	if k != nil {
		k.arm(cmd.Process.Pid)
		defer k.disarm()
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err = <-done:
		return out.String(), err
	case <-time.After(3 * time.Minute):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		return out.String(), &childError{"the release child did not finish within 3 minutes"}
	}
}

// ---- the state a release leaves ----

// releaseState is everything a release publishes, canonically ordered.
type releaseState struct {
	// Registry maps every tag in the registry ("repository:tag") to its manifest digest.
	Registry map[string]string
	// Tags maps every tag on the remote to the commit it names.
	Tags map[string]string
	// GitHub is one line per release and per asset (with its state, size and SHA-256).
	GitHub []string
}

func (s releaseState) String() string {
	var b strings.Builder
	for _, k := range relySortedKeys(s.Registry) {
		fmt.Fprintf(&b, "registry %s %s\n", k, s.Registry[k])
	}
	for _, k := range relySortedKeys(s.Tags) {
		fmt.Fprintf(&b, "git tag %s %s\n", k, s.Tags[k])
	}
	for _, l := range s.GitHub {
		fmt.Fprintf(&b, "github %s\n", l)
	}
	return b.String()
}

func relySortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// state reads what the world holds: the registry itself (not through the front, whose faults may
// still be on; registrytest's own middlewares must let the reads through), the bare remote and
// the fake.
func (w *relyWorld) state() releaseState {
	t := w.t
	t.Helper()
	ctx := t.Context()
	s := releaseState{Registry: map[string]string{}, Tags: map[string]string{}}
	reg, err := name.NewRegistry(w.reg.Host(), name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	opts := []remote.Option{remote.WithContext(ctx), remote.WithAuth(w.regAu)}
	// The test registry serves no catalog: list every repository any request touched.
	seen := map[string]bool{}
	var repos []string
	for _, q := range w.reg.Requests() {
		p := strings.TrimPrefix(q.Path, "/v2/")
		for _, kind := range []string{"/manifests/", "/blobs/", "/tags/"} {
			if i := strings.Index(p, kind); i > 0 && !seen[p[:i]] {
				seen[p[:i]] = true
				repos = append(repos, p[:i])
			}
		}
	}
	for _, r := range repos {
		repo := reg.Repo(r)
		tags, err := remote.List(repo, opts...)
		var te *transport.Error
		if errors.As(err, &te) && te.StatusCode == http.StatusNotFound {
			continue // uploads were started there, but nothing was tagged
		}
		if err != nil {
			t.Fatalf("listing the tags of %s: %v", r, err)
		}
		for _, tag := range tags {
			d, err := remote.Head(repo.Tag(tag), opts...)
			if err != nil {
				t.Fatalf("reading %s:%s: %v", r, tag, err)
			}
			s.Registry[r+":"+tag] = d.Digest.String()
		}
	}
	refs := gittest.Git(t, w.origin, "for-each-ref", "--format=%(refname:strip=2) %(objectname) %(*objectname)", "refs/tags")
	for _, l := range strings.Split(refs, "\n") {
		f := strings.Fields(l)
		switch len(f) {
		case 2:
			s.Tags[f[0]] = f[1]
		case 3:
			s.Tags[f[0]] = f[2] // an annotated tag: the commit it names
		}
	}
	for _, r := range w.gh.Releases() {
		body := sha256.Sum256([]byte(r.Body))
		s.GitHub = append(s.GitHub, fmt.Sprintf("release %s name=%q draft=%v prerelease=%v body=%x", r.Tag, r.Name, r.Draft, r.Prerelease, body[:8]))
		var assets []string
		for _, a := range r.Assets {
			sum := sha256.Sum256(a.Content)
			assets = append(assets, fmt.Sprintf("  asset %s state=%s size=%d sha256=%s", a.Name, a.State, a.Size, hex.EncodeToString(sum[:])))
		}
		sort.Strings(assets)
		s.GitHub = append(s.GitHub, assets...)
	}
	return s
}

// checkPublished checks s is a complete release: one published GitHub release with the eight
// assets (the manifest, SHA256SUMS, five component charts and the umbrella), twelve artifacts in
// the registry (six images, six charts), six component tags and the release tag.
func checkPublished(t *testing.T, s releaseState) {
	t.Helper()
	if len(s.Registry) != 12 || len(s.Tags) != 7 || len(s.GitHub) != 9 || !strings.Contains(s.GitHub[0], "draft=false") {
		t.Fatalf("not a complete release (want 12 artifacts, 7 tags, 1 published release with 8 assets):\n%s", s)
	}
}

// sameState fails the test when got differs from the clean run's state.
func sameState(t *testing.T, what string, want, got releaseState) {
	t.Helper()
	if g, w := got.String(), want.String(); g != w {
		t.Errorf("%s: the final state differs from a clean run's:\n--- clean run\n%s--- %s\n%s", what, w, what, g)
	}
}

// ---- logs of successful writes ----

// writeLog counts the successful writes that publish something: manifest PUTs on the registry
// (by path), and on GitHub release creations, asset uploads (by name) and publications.
type writeLog struct {
	key func(r *http.Request, status int, body []byte) string
	mu  sync.Mutex
	n   map[string]int
}

func newWriteLog(key func(*http.Request, int, []byte) string) *writeLog {
	return &writeLog{key: key, n: map[string]int{}}
}

func registryWrite(r *http.Request, status int, _ []byte) string {
	if r.Method == http.MethodPut && strings.Contains(r.URL.Path, "/manifests/") && status/100 == 2 {
		return "manifest " + r.URL.Path
	}
	return ""
}

func githubWrite(r *http.Request, status int, body []byte) string {
	switch {
	case status/100 != 2:
		return ""
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/releases"):
		return "create release"
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/assets"):
		return "upload " + r.URL.Query().Get("name")
	case r.Method == http.MethodPatch && bytes.Contains(body, []byte(`"draft":false`)):
		return "publish release"
	}
	return ""
}

func (l *writeLog) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body []byte
		if r.Method == http.MethodPatch {
			body, _ = io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		sw := &relyStatus{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if k := l.key(r, sw.status, body); k != "" {
			l.mu.Lock()
			l.n[k]++
			l.mu.Unlock()
		}
	})
}

// once fails the test unless every write it saw happened exactly once.
func (l *writeLog) once(t *testing.T, what string) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, n := range l.n {
		if n != 1 {
			t.Errorf("%s: %s succeeded %d times, want exactly once", what, k, n)
		}
	}
}

// relyStatus records the status sent; Unwrap lets inner handlers hijack the connection.
type relyStatus struct {
	http.ResponseWriter
	status int
}

func (s *relyStatus) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *relyStatus) Write(p []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(p)
}

func (s *relyStatus) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Hijack is for handlers that assert http.Hijacker (the GitHub fake's dropped connections).
func (s *relyStatus) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(s.ResponseWriter).Hijack()
}

// hangUpConn closes the connection without an answer.
func hangUpConn(w http.ResponseWriter) {
	if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
		_ = conn.Close()
	}
}

// relyBuffer is a bytes.Buffer safe for concurrent writers.
type relyBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *relyBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *relyBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// ---- crash-safe resume ----

// killSwitch SIGKILLs a release child's process group, once.
type killSwitch struct {
	mu    sync.Mutex
	pgid  int
	fired string
}

func (k *killSwitch) arm(pgid int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.pgid = pgid
}

func (k *killSwitch) disarm() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.pgid = 0
}

// armed reports whether a child is running and has not been killed.
func (k *killSwitch) armed() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.pgid != 0 && k.fired == ""
}

// fire kills the armed child's process group, once; it reports whether this call did.
func (k *killSwitch) fire(at string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.pgid == 0 || k.fired != "" {
		return false
	}
	k.fired = at
	_ = syscall.Kill(-k.pgid, syscall.SIGKILL)
	return true
}

func (k *killSwitch) firedAt() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.fired
}

type killWhen int

const (
	killBefore  killWhen = iota // the request never reaches the server
	killAfter                   // the server carries it out and answers; the client dies then
	killMidBody                 // the server has read part of the body when the client dies
)

// requestKill selects the request a child is killed at.
type requestKill struct {
	match func(r *http.Request) bool
	// nth is which matching request (1-based); midBody kills at the first one whose body reaches
	// cut bytes.
	nth  int
	when killWhen
	cut  int64
}

func (rk requestKill) middleware(k *killSwitch, at string) func(http.Handler) http.Handler {
	var seen atomic.Int64
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !k.armed() || !rk.match(r) {
				next.ServeHTTP(w, r)
				return
			}
			switch rk.when {
			case killMidBody:
				r.Body = &killingBody{rc: r.Body, cut: rk.cut, fire: func() { k.fire(at) }}
				next.ServeHTTP(w, r)
				return
			}
			if seen.Add(1) != int64(max(rk.nth, 1)) {
				next.ServeHTTP(w, r)
				return
			}
			if rk.when == killAfter {
				next.ServeHTTP(w, r)
				k.fire(at)
				return
			}
			k.fire(at)
			hangUpConn(w)
		})
	}
}

// killingBody passes cut bytes of a request body through, then kills the child and fails.
type killingBody struct {
	rc   io.ReadCloser
	cut  int64
	n    int64
	fire func()
}

func (b *killingBody) Read(p []byte) (int, error) {
	if b.n >= b.cut {
		b.fire()
		return 0, io.ErrUnexpectedEOF
	}
	if int64(len(p)) > b.cut-b.n {
		p = p[:b.cut-b.n]
	}
	n, err := b.rc.Read(p)
	b.n += int64(n)
	return n, err
}

func (b *killingBody) Close() error { return b.rc.Close() }

// tagPushKiller serves the pre-receive hook of a run's remote: at the nth push of a component
// tag it kills the child (the hook and the push die with it); every other push is let through.
func tagPushKiller(t *testing.T, k *killSwitch, nth int, at string) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var seen atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				refs, _ := io.ReadAll(c)
				component := false
				for _, l := range strings.Split(string(refs), "\n") {
					f := strings.Fields(l)
					if len(f) == 3 && strings.HasPrefix(f[2], "refs/tags/") && f[2] != "refs/tags/"+relyTag {
						component = true
					}
				}
				if component && k.armed() && seen.Add(1) == int64(nth) {
					k.fire(at)
					return
				}
				_, _ = io.WriteString(c, "ok\n")
			}()
		}
	}()
	return ln.Addr().String()
}

// killPoint is where the crash test kills a release: at a registry or GitHub request (matched in
// a middleware of the test's server), or at the nth component tag push (in the remote's hook).
type killPoint struct {
	name     string
	registry *requestKill
	github   *requestKill
	ghFault  *githubtest.Fault
	tagPush  int
	// check, when set, checks more of the resumed world.
	check func(t *testing.T, w *relyWorld)
}

// firstWrite matches the writes (POST, PUT, PATCH) to a registry repository: its first one is a
// push goal's first write, a blob upload or mount, or the manifest when every blob is there.
func firstWrite(prefix string) func(*http.Request) bool {
	return func(r *http.Request) bool {
		return r.Method != http.MethodGet && r.Method != http.MethodHead && strings.HasPrefix(r.URL.Path, prefix)
	}
}

func regPath(method, sub string) func(*http.Request) bool {
	return func(r *http.Request) bool { return r.Method == method && strings.Contains(r.URL.Path, sub) }
}

func ghRoute(method, suffix string) func(*http.Request) bool {
	return func(r *http.Request) bool {
		return r.Method == method && strings.HasSuffix(strings.TrimRight(r.URL.Path, "/"), suffix)
	}
}

func isPublish(r *http.Request) bool {
	if r.Method != http.MethodPatch {
		return false
	}
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	return bytes.Contains(body, []byte(`"draft":false`))
}

// TestReleaseCrashSafeResume SIGKILLs a release child at goal boundaries (and once in the middle
// of a blob upload), runs releaseAll again, and requires the state of a clean single run: every
// registry tag with the same digest, every remote tag at the same commit, one published GitHub
// release whose assets have the same bytes, and every publishing write (manifest PUT, release
// creation, asset upload, publication) done exactly once over both runs.
//
// The kill points are the first write of every push goal (5 images: a blob upload, or a mount
// from rel/base; 5 charts), each of the 5 component tag pushes (in the remote's pre-receive hook:
// before the first, between the others), the draft's creation (before it, and after it with the
// answer lost) and the first asset upload — and the ways a write can be half done: the base
// image's payload cut off half-way through its PATCH, an image and the umbrella chart's manifest
// PUT carried out with the answer lost, the third asset cut off half-way (GitHub then holds a
// "starter" asset), and the publication before and after it is carried out. The kill is made by
// the test's servers (a middleware in front of the registry and GitHub, the git hook), never by
// production code; it takes the child's whole process group, its git and hook processes too.
func TestReleaseCrashSafeResume(t *testing.T) {
	clean := newRelyWorld(t, relyOptions{})
	clean.mustRelease("clean run")
	want := clean.state()
	checkPublished(t, want)
	clean.puts.once(t, "clean run")
	clean.ghw.once(t, "clean run")

	var points []killPoint
	for _, img := range []string{"base", "core", "connector-fs", "connector-webhook", "scanner"} {
		points = append(points, killPoint{name: "image " + img + ": first write", registry: &requestKill{match: firstWrite("/v2/rel/" + img + "/"), nth: 1}})
	}
	for _, c := range []string{"core", "connector-fs", "connector-webhook", "scanner", "platform"} {
		points = append(points, killPoint{name: "chart " + c + ": first write", registry: &requestKill{match: firstWrite("/v2/rel/charts/" + c + "/"), nth: 1}})
	}
	for n := 1; n <= 5; n++ {
		points = append(points, killPoint{name: fmt.Sprintf("tag: before component tag push %d of 5", n), tagPush: n})
	}
	points = append(points,
		killPoint{name: "image base: payload upload cut off half-way", registry: &requestKill{match: regPath(http.MethodPatch, "/v2/rel/base/blobs/uploads/"), when: killMidBody, cut: 128 << 10},
			check: func(t *testing.T, w *relyWorld) {
				for _, q := range w.reg.Matching(http.MethodPatch, "/v2/rel/base/blobs/uploads/") {
					if q.BytesIn > 8<<10 && q.BytesIn <= 128<<10 {
						return
					}
				}
				t.Errorf("no upload to rel/base was cut off part-way:\n%s", w.reg.Dump())
			}},
		killPoint{name: "image scanner: manifest PUT carried out, answer lost", registry: &requestKill{match: regPath(http.MethodPut, "/v2/rel/scanner/manifests/"), nth: 1, when: killAfter}},
		killPoint{name: "chart platform: manifest PUT carried out, answer lost", registry: &requestKill{match: regPath(http.MethodPut, "/v2/rel/charts/platform/manifests/"), nth: 1, when: killAfter}},
		killPoint{name: "draft: before it is created", github: &requestKill{match: ghRoute(http.MethodPost, "/releases"), nth: 1}},
		killPoint{name: "draft: created, answer lost", github: &requestKill{match: ghRoute(http.MethodPost, "/releases"), nth: 1, when: killAfter},
			check: func(t *testing.T, w *relyWorld) {
				if n := w.gh.Count(githubtest.RouteCreateRelease); n != 1 {
					t.Errorf("the draft was created %d times, want once (the resumed run must find it)", n)
				}
			}},
		killPoint{name: "asset: before the first upload", github: &requestKill{match: ghRoute(http.MethodPost, "/assets"), nth: 1}},
		killPoint{name: "asset: third upload cut off half-way", github: &requestKill{match: ghRoute(http.MethodPost, "/assets"), nth: 3, when: killAfter},
			ghFault: &githubtest.Fault{Route: githubtest.RouteUploadAsset, Skip: 2, Drop: true},
			check: func(t *testing.T, w *relyWorld) {
				if n := w.gh.Count(githubtest.RouteDeleteAsset); n != 1 {
					t.Errorf("%d asset deletions, want 1: the half-uploaded asset must be replaced", n)
				}
			}},
		killPoint{name: "publish: before the draft is published", github: &requestKill{match: isPublish, nth: 1}},
		killPoint{name: "publish: published, answer lost", github: &requestKill{match: isPublish, nth: 1, when: killAfter}},
	)
	for _, p := range points {
		t.Run(p.name, func(t *testing.T) {
			k := &killSwitch{}
			var o relyOptions
			if p.registry != nil {
				o.front = p.registry.middleware(k, p.name)
			}
			if p.github != nil {
				o.github = p.github.middleware(k, p.name)
			}
			if p.tagPush > 0 {
				o.hook = tagPushKiller(t, k, p.tagPush, p.name)
			}
			w := newRelyWorld(t, o)
			if p.ghFault != nil {
				w.gh.Inject(*p.ghFault)
			}
			start := time.Now()
			out := w.runKilled(k)
			t.Logf("killed after %s", time.Since(start).Round(time.Millisecond))
			removeStaleLocks(t, w.root, w.origin)
			w.mustRelease("resumed run")
			got := w.state()
			sameState(t, "resumed run", want, got)
			w.puts.once(t, "killed and resumed runs")
			w.ghw.once(t, "killed and resumed runs")
			if p.check != nil {
				p.check(t, w)
			}
			assertNoSecretIn(t, out+w.out.String(), w.report)
		})
	}
}

// removeStaleLocks removes git lock files a SIGKILL left in the copy or the remote (git's own
// crash behaviour, which the next git command refuses to guess about), and says so.
func removeStaleLocks(t *testing.T, dirs ...string) {
	t.Helper()
	for _, d := range dirs {
		_ = filepath.WalkDir(d, func(p string, e fs.DirEntry, err error) error {
			if err == nil && !e.IsDir() && strings.HasSuffix(p, ".lock") && strings.Contains(p, string(filepath.Separator)+"refs"+string(filepath.Separator)) {
				t.Logf("the kill left a git lock behind: %s (removed)", p)
				_ = os.Remove(p)
			}
			return nil
		})
	}
}

// ---- transient faults ----

// faultProxy answers a seeded 20% of registry requests with a transient failure: 500, 502, 503,
// 429 (Retry-After: 0, or 1 for the first one of a run), a connection reset (hijack and close),
// or, for a GET, a body cut off half-way. A request is chosen by a hash of the seed, the request
// (method, path without upload session IDs, query without upload state) and how often that
// request was seen, so a run's faults do not depend on timing; a request never fails more than
// twice in a row, which every client's retries outlast.
type faultProxy struct {
	seed    uint64
	percent uint64
	off     atomic.Bool
	mu      sync.Mutex
	seen    map[string]int
	streak  map[string]int
	slow429 bool
	kinds   map[string]int
}

var faultKinds = []string{"500", "502", "503", "429", "reset", "truncate"}

func newFaultProxy(seed uint64, percent uint64) *faultProxy {
	return &faultProxy{seed: seed, percent: percent, seen: map[string]int{}, streak: map[string]int{}, kinds: map[string]int{}}
}

func requestKey(r *http.Request) string {
	p := r.URL.Path
	if i := strings.Index(p, "/blobs/uploads/"); i >= 0 && len(p) > i+len("/blobs/uploads/") {
		p = p[:i] + "/blobs/uploads/*"
	}
	q := r.URL.Query()
	q.Del("_state")
	return r.Method + " " + p + "?" + q.Encode()
}

// pick decides the fault for r ("" for none).
func (f *faultProxy) pick(r *http.Request) string {
	if f.off.Load() {
		return ""
	}
	key := requestKey(r)
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.seen[key]
	f.seen[key]++
	h := fnv.New64a()
	fmt.Fprintf(h, "%d|%s|%d", f.seed, key, n)
	v := h.Sum64()
	if v%100 >= f.percent || f.streak[key] >= 2 {
		f.streak[key] = 0
		return ""
	}
	f.streak[key]++
	kind := faultKinds[(v/100)%uint64(len(faultKinds))]
	if kind == "truncate" && r.Method != http.MethodGet {
		kind = "reset"
	}
	if kind == "429" && !f.slow429 {
		f.slow429 = true
		kind = "429 Retry-After: 1"
	}
	f.kinds[kind]++
	return kind
}

func (f *faultProxy) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kind := f.pick(r)
		switch kind {
		case "":
			next.ServeHTTP(w, r)
		case "reset":
			hangUpConn(w)
		case "truncate":
			rec := httptest.NewRecorder()
			next.ServeHTTP(rec, r)
			truncateAnswer(w, rec)
		default:
			status, _ := strconv.Atoi(kind[:3])
			if status == http.StatusTooManyRequests {
				wait := "0"
				if strings.HasSuffix(kind, ": 1") {
					wait = "1"
				}
				w.Header().Set("Retry-After", wait)
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			if r.Method != http.MethodHead {
				_, _ = fmt.Fprintf(w, `{"errors":[{"code":"UNAVAILABLE","message":"injected %s"}]}`, kind)
			}
		}
	})
}

// truncateAnswer sends rec's answer with its full Content-Length but only half its body, then hangs up.
func truncateAnswer(w http.ResponseWriter, rec *httptest.ResponseRecorder) {
	conn, bw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	body := rec.Body.Bytes()
	fmt.Fprintf(bw, "HTTP/1.1 %d %s\r\n", rec.Code, http.StatusText(rec.Code))
	h := rec.Header().Clone()
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Connection", "close")
	_ = h.Write(bw)
	_, _ = io.WriteString(bw, "\r\n")
	_, _ = bw.Write(body[:len(body)/2])
	_ = bw.Flush()
}

// githubFaults are the GitHub failures the transient test injects, one per run in turn: each a
// transient answer the client must outlast, several of them to non-idempotent writes that were
// (Apply) or were not carried out.
var githubFaults = []githubtest.Fault{
	{Route: githubtest.RouteGetReleaseByTag, Status: http.StatusBadGateway},
	{Route: githubtest.RouteListReleases, Status: http.StatusServiceUnavailable, Header: map[string]string{"Retry-After": "0"}},
	{Route: githubtest.RouteCreateRelease, Status: http.StatusInternalServerError},
	{Route: githubtest.RouteCreateRelease, Status: http.StatusBadGateway, Apply: true},
	{Route: githubtest.RouteUploadAsset, Skip: 1, Drop: true},
	{Route: githubtest.RouteUploadAsset, Skip: 3, Status: http.StatusInternalServerError, Apply: true},
	{Route: githubtest.RouteListAssets, Status: http.StatusInternalServerError},
	{Route: githubtest.RouteGetRelease, Status: http.StatusBadGateway},
	{Route: githubtest.RouteUpdateRelease, Status: http.StatusServiceUnavailable},
	{Route: githubtest.RouteUploadAsset, Skip: 2, Status: http.StatusTooManyRequests, Header: map[string]string{"Retry-After": "0"}},
}

// TestReleaseTransientFaults runs 20 seeded releases, each to a fresh registry behind a proxy
// that fails 20% of the requests transiently and a GitHub fake with one transient fault: every
// release completes with the state of a clean run, each manifest and asset written once.
//
// A faulty run takes 5 to 8 s, nearly all of it the clients' own backoff (200 ms doubling for the
// registry, 1 s doubling for GitHub), which the lane offers no way to shorten. So the runs go in
// four lanes at once, as release children with their own git remotes, each lane behind its own
// registry front and compared with a clean run made through that front; and each release runs 8
// goals at a time (lane.Config.Workers), so that waits for independent artifacts overlap.
func TestReleaseTransientFaults(t *testing.T) {
	const runs, lanes = 20, 4
	want := make([]releaseState, lanes)
	for l := range lanes {
		clean := newRelyWorld(t, relyOptions{lane: l})
		clean.mustRelease(fmt.Sprintf("clean run (lane %d)", l))
		want[l] = clean.state()
		checkPublished(t, want[l])
	}

	worlds := make([]*relyWorld, runs)
	proxies := make([]*faultProxy, runs)
	for seed := range runs {
		proxies[seed] = newFaultProxy(uint64(seed), 20)
		w := newRelyWorld(t, relyOptions{lane: seed % lanes, front: proxies[seed].middleware})
		w.workers = 8
		w.gh.Inject(githubFaults[seed%len(githubFaults)])
		worlds[seed] = w
	}
	type result struct {
		out  string
		err  error
		took time.Duration
	}
	results := make([]result, runs)
	var wg sync.WaitGroup
	for l := range lanes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seed := l; seed < runs; seed += lanes {
				worlds[seed].activate()
				start := time.Now()
				out, err := worlds[seed].child(nil)
				results[seed] = result{out, err, time.Since(start)}
			}
		}()
	}
	wg.Wait()

	total := map[string]int{}
	for seed := range runs {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) {
			w, fp, r := worlds[seed], proxies[seed], results[seed]
			w.t = t
			ghf := githubFaults[seed%len(githubFaults)]
			fp.mu.Lock()
			kinds := fmt.Sprint(fp.kinds)
			for k, n := range fp.kinds {
				total[strings.Fields(k)[0]] += n
			}
			fp.mu.Unlock()
			t.Logf("released in %s; registry faults %s; GitHub fault %s %d", r.took.Round(time.Millisecond), kinds, ghf.Route, ghf.Status)
			if r.err != nil {
				t.Fatalf("the release failed: %v\n%s", r.err, r.out)
			}
			fp.off.Store(true)
			sameState(t, "faulty run", want[seed%lanes], w.state())
			w.puts.once(t, "faulty run")
			w.ghw.once(t, "faulty run")
			assertNoSecretIn(t, r.out, w.report)
		})
	}
	for _, k := range faultKinds {
		if total[k] == 0 {
			t.Errorf("no %s fault was injected in %d runs: %v", k, runs, total)
		}
	}
}

// ---- permanent errors ----

// TestReleasePermanentErrors: a write answered 401, 403, 404 or 400 (on the registry or GitHub),
// and a guardrail, stop the release: the request is made once, nothing after it is published, and
// the message names the registry or GitHub and what to do.
func TestReleasePermanentErrors(t *testing.T) {
	cases := []struct {
		name  string
		fault func(http.Handler) http.Handler
		gh    *githubtest.Fault
		// method and path of the failing request, made exactly once
		method, path string
		want         []string
		check        func(t *testing.T, w *relyWorld, err error)
	}{
		{
			name: "registry 401 on an image manifest PUT", method: http.MethodPut, path: "/v2/rel/base/manifests/",
			fault: registrytest.FailFirst(http.MethodPut, "/v2/rel/base/manifests/", -1, http.StatusUnauthorized),
			want:  []string{"docker login"},
			check: func(t *testing.T, w *relyWorld, err error) {
				var ae *registry.AuthError
				if !errors.As(err, &ae) || ae.Status != http.StatusUnauthorized || ae.Registry != w.host {
					t.Errorf("not a *registry.AuthError 401 naming %s: %v", w.host, err)
				}
			},
		},
		{
			name: "registry 403 on an image manifest PUT", method: http.MethodPut, path: "/v2/rel/connector-fs/manifests/",
			fault: registrytest.FailFirst(http.MethodPut, "/v2/rel/connector-fs/manifests/", -1, http.StatusForbidden),
			want:  []string{"docker login"},
			check: func(t *testing.T, w *relyWorld, err error) {
				var ae *registry.AuthError
				if !errors.As(err, &ae) || ae.Status != http.StatusForbidden {
					t.Errorf("not a *registry.AuthError 403: %v", err)
				}
			},
		},
		{
			name: "registry 403 on a chart manifest PUT", method: http.MethodPut, path: "/v2/rel/charts/core/manifests/",
			fault: registrytest.FailFirst(http.MethodPut, "/v2/rel/charts/core/manifests/", -1, http.StatusForbidden),
			want:  []string{"chart", "core", "docker login"},
			check: func(t *testing.T, w *relyWorld, err error) {
				var ae *registry.AuthError
				if !errors.As(err, &ae) || ae.Status != http.StatusForbidden || ae.Registry != w.host {
					t.Errorf("not a *registry.AuthError 403 naming %s: %v", w.host, err)
				}
			},
		},
		{
			name: "registry 404 on an image manifest PUT", method: http.MethodPut, path: "/v2/rel/core/manifests/",
			fault: registrytest.FailFirst(http.MethodPut, "/v2/rel/core/manifests/", -1, http.StatusNotFound),
			want:  []string{"rel/core:1.2.0", "NAME_UNKNOWN"},
		},
		{
			name: "registry 400 on an image manifest PUT", method: http.MethodPut, path: "/v2/rel/scanner/manifests/",
			fault: registrytest.FailFirst(http.MethodPut, "/v2/rel/scanner/manifests/", -1, http.StatusBadRequest),
			want:  []string{"rel/scanner:0.9.0", "400"},
		},
		{
			name: "GitHub 403 on creating the release", gh: &githubtest.Fault{Route: githubtest.RouteCreateRelease, Status: http.StatusForbidden, Times: -1, Message: "Resource not accessible by integration"},
			want: []string{"GitHub", "GITHUB_TOKEN", "contents: write", relyRepo},
			check: func(t *testing.T, w *relyWorld, err error) {
				var ae *github.AuthError
				if !errors.As(err, &ae) || ae.Status != http.StatusForbidden {
					t.Errorf("not a *github.AuthError 403: %v", err)
				}
				if n := w.gh.Count(githubtest.RouteCreateRelease); n != 1 {
					t.Errorf("the release was created %d times, want once", n)
				}
			},
		},
		{
			name: "GitHub 401 on creating the release", gh: &githubtest.Fault{Route: githubtest.RouteCreateRelease, Status: http.StatusUnauthorized, Times: -1, Message: "Bad credentials"},
			want: []string{"GitHub", "GITHUB_TOKEN", "401"},
			check: func(t *testing.T, w *relyWorld, err error) {
				if n := w.gh.Count(githubtest.RouteCreateRelease); n != 1 {
					t.Errorf("the release was created %d times, want once", n)
				}
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var o relyOptions
			if c.fault != nil {
				o.registry = append(o.registry, registrytest.WithMiddleware(c.fault))
			}
			w := newRelyWorld(t, o)
			if c.gh != nil {
				w.gh.Inject(*c.gh)
			}
			err := w.release()
			if err == nil {
				t.Fatalf("the release succeeded\n%s", w.out)
			}
			for _, s := range c.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("the error does not say %q:\n%v", s, err)
				}
			}
			if c.method != "" {
				if n := w.reg.Count(c.method, c.path); n != 1 {
					t.Errorf("%s %s was sent %d times, want once:\n%s", c.method, c.path, n, w.reg.Dump())
				}
				if !strings.Contains(err.Error(), w.host) {
					t.Errorf("the error does not name the registry %s:\n%v", w.host, err)
				}
				if n := w.gh.Writes(); n != 0 {
					t.Errorf("%d GitHub writes after a failed publish", n)
				}
			}
			for _, r := range w.gh.Releases() {
				if !r.Draft {
					t.Errorf("the release was published: %+v", r)
				}
			}
			if c.check != nil {
				c.check(t, w, err)
			}
			assertNoSecretIn(t, w.out.String()+err.Error(), w.report)
			t.Logf("%v", err)
		})
	}

	t.Run("guardrail: version published from other inputs", func(t *testing.T) {
		w := newRelyWorld(t, relyOptions{})
		img := fakeImage(t, map[string]string{"dev.shiplane.inputs": "sha256:other"})
		if _, err := registry.New().Push(t.Context(), img, []string{w.reg.Ref("rel/scanner:0.9.0")}); err != nil {
			t.Fatal(err)
		}
		w.reg.Reset()
		err := w.release()
		var pdi *guard.PublishedWithDifferentInputs
		if !errors.As(err, &pdi) || pdi.Component != "scanner" || !strings.Contains(err.Error(), "bump scanner") {
			t.Fatalf("err = %v", err)
		}
		if n, g := w.reg.Writes(), w.gh.Writes(); n != 0 || g != 0 {
			t.Errorf("writes after a refusal: registry %d, GitHub %d\n%s", n, g, w.reg.Dump())
		}
		if tags := w.state().Tags; len(tags) != 1 {
			t.Errorf("tags pushed by a refused release: %v", tags)
		}
	})
}

// ---- unknown answers ----

// TestReleaseUnknownAnswers: a manifest HEAD answering 500 until the retries are exhausted fails
// the release; the tag is never taken for absent, so nothing is pushed to that repository.
func TestReleaseUnknownAnswers(t *testing.T) {
	w := newRelyWorld(t, relyOptions{registry: []registrytest.Option{
		registrytest.WithMiddleware(registrytest.FailFirst(http.MethodHead, "/v2/rel/core/manifests/", -1, http.StatusInternalServerError)),
	}})
	err := w.release()
	if err == nil {
		t.Fatalf("the release succeeded\n%s", w.out)
	}
	if !errors.Is(err, published.ErrUnknown) {
		t.Errorf("not an unknown answer (published.ErrUnknown): %v", err)
	}
	if !strings.Contains(err.Error(), "rel/core") {
		t.Errorf("the error does not name rel/core: %v", err)
	}
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if n := w.reg.Count(m, "/v2/rel/core/"); n != 0 {
			t.Errorf("%d %s requests to rel/core, whose state is unknown:\n%s", n, m, w.reg.Dump())
		}
	}
	if n := w.reg.Count(http.MethodHead, "/v2/rel/core/manifests/"); n < registry.DefaultRetry.Attempts {
		t.Errorf("the manifest HEAD was tried %d times, want the retries exhausted (%d)", n, registry.DefaultRetry.Attempts)
	}
	if n := w.gh.Writes(); n != 0 {
		t.Errorf("%d GitHub writes", n)
	}
	if tags := w.state().Tags; tags["core/v1.2.0"] != "" {
		t.Errorf("core's tag was pushed: %v", tags)
	}
	t.Logf("%v", err)
}

// ---- secrets ----

// secretForms are the forms of the canary GITHUB_TOKEN and registry password that must appear
// nowhere: raw, base64 (alone and as Basic credentials), URL-escaped, and inside URLs.
func secretForms() []string {
	b64 := base64.StdEncoding.EncodeToString
	return []string{
		canary, b64([]byte(canary)), b64([]byte("x-access-token:" + canary)), url.QueryEscape(canary),
		regSecret, b64([]byte(regSecret)), b64([]byte(regUser + ":" + regSecret)), url.QueryEscape(regSecret),
		regUser + ":" + regSecret + "@",
	}
}

func assertNoSecretIn(t *testing.T, output, reportPath string) {
	t.Helper()
	report, _ := os.ReadFile(reportPath)
	for _, form := range secretForms() {
		if strings.Contains(output, form) {
			t.Errorf("a secret (%q) leaked into the output:\n%s", form, secretExcerpt(output, form))
		}
		if bytes.Contains(report, []byte(form)) {
			t.Errorf("a secret (%q) leaked into the JSON report:\n%s", form, secretExcerpt(string(report), form))
		}
	}
}

func secretExcerpt(s, form string) string {
	i := strings.Index(s, form)
	return s[max(i-300, 0):min(i+len(form)+100, len(s))]
}

// authRelyWorld is a world whose registry requires Basic credentials, found in a Docker config.
func authRelyWorld(t *testing.T, o relyOptions) *relyWorld {
	t.Helper()
	o.registry = append(o.registry, registrytest.WithBasicAuth(regUser, regSecret))
	o.registryAuth = &authn.Basic{Username: regUser, Password: regSecret}
	w := newRelyWorld(t, o)
	dir := t.TempDir()
	cfg, err := json.Marshal(map[string]any{"auths": map[string]any{
		w.host: map[string]string{"auth": base64.StdEncoding.EncodeToString([]byte(regUser + ":" + regSecret))},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), cfg, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DOCKER_CONFIG", dir)
	return w
}

// reflectCredentials answers 403 to requests matching match, with a body that repeats the
// request's credentials: the Authorization header, the password it carries, and a URL with them.
func reflectCredentials(match func(*http.Request) bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			user, pass, ok := r.BasicAuth()
			if !ok || !match(r) {
				next.ServeHTTP(w, r) // the registry asks for the credentials first
				return
			}
			msg := fmt.Sprintf("denied: Authorization: %s; user %s password %s; see http://%s:%s@%s/",
				r.Header.Get("Authorization"), user, pass, user, pass, r.Host)
			body, _ := json.Marshal(map[string]any{"errors": []map[string]string{{"code": "DENIED", "message": msg}}})
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write(body)
		})
	}
}

// TestReleaseSecrets runs a whole release (in a child process, whose output is the CI log) with
// canary values as GITHUB_TOKEN and as the registry password (from a Docker config), then failed
// releases whose error answers repeat the token and the registry credentials: no form of either
// secret appears in any output, error, or the JSON report.
func TestReleaseSecrets(t *testing.T) {
	t.Run("successful release", func(t *testing.T) {
		w := authRelyWorld(t, relyOptions{})
		out, err := w.runChild(nil)
		if err != nil {
			t.Fatalf("the release failed: %v\n%s", err, out)
		}
		checkPublished(t, w.state())
		assertNoSecretIn(t, out, w.report)
	})

	t.Run("failed release echoing the credentials", func(t *testing.T) {
		w := authRelyWorld(t, relyOptions{registry: []registrytest.Option{registrytest.WithMiddleware(reflectCredentials(func(r *http.Request) bool {
			return r.Method == http.MethodPut && (strings.HasPrefix(r.URL.Path, "/v2/rel/base/manifests/") || strings.HasPrefix(r.URL.Path, "/v2/rel/charts/core/manifests/"))
		}))}})
		err := w.release()
		if err == nil {
			t.Fatalf("the release succeeded\n%s", w.out)
		}
		if !strings.Contains(err.Error(), "rel/base") || !strings.Contains(err.Error(), "charts/core") {
			t.Errorf("the error does not name both failures:\n%v", err)
		}
		assertNoSecretIn(t, w.out.String()+"\n"+err.Error(), w.report)
		t.Logf("%v", err)
	})

	t.Run("GitHub 403 echoing the token", func(t *testing.T) {
		w := authRelyWorld(t, relyOptions{})
		w.gh.Inject(githubtest.Fault{Route: githubtest.RouteCreateRelease, Status: http.StatusForbidden, Times: -1,
			Message: "token " + canary + " (Authorization: Bearer " + canary + ", " + base64.StdEncoding.EncodeToString([]byte("x-access-token:"+canary)) + ") may not create releases"})
		err := w.release()
		if err == nil {
			t.Fatalf("the release succeeded\n%s", w.out)
		}
		assertNoSecretIn(t, w.out.String()+"\n"+err.Error(), w.report)
		t.Logf("%v", err)
	})
}

// ---- bad input ----

// TestReleaseBadInput: a deploy/release.yaml that does not parse, refers to an unknown var!, or
// runs a failing sh! fails the release with an error naming the file, the problem and the fix,
// before anything is written: no registry or GitHub write, no tag pushed.
func TestReleaseBadInput(t *testing.T) {
	cases := []struct {
		name, yaml string
		want       []string
	}{
		{"malformed YAML", "verify:\n  - name: broken\n    run: [unclosed\n", []string{"deploy/release.yaml:"}},
		{"unknown var!", "verify:\n  - name: uses a var\n    run: echo ${var!nope}\n", []string{"deploy/release.yaml:", "nope"}},
		{"failing sh!", "verify:\n  - name: uses a command\n    run: echo ${sh!echo no such thing >&2; exit 3}\n", []string{"deploy/release.yaml:", "exit 3", "status 3", "no such thing"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := newRelyWorld(t, relyOptions{root: cloneShared(t, c.yaml)})
			err := w.release()
			if err == nil {
				t.Fatalf("the release succeeded\n%s", w.out)
			}
			for _, s := range c.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("the error does not say %q:\n%v", s, err)
				}
			}
			if n, g := w.reg.Writes(), w.gh.Writes(); n != 0 || g != 0 {
				t.Errorf("writes after bad input: registry %d, GitHub %d\n%s", n, g, w.reg.Dump())
			}
			if tags := w.state().Tags; len(tags) != 1 {
				t.Errorf("tags pushed: %v", tags)
			}
			t.Logf("%v", err)
		})
	}
}
