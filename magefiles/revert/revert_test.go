package revert_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shiplane/shiplane/magefiles/git"
	"github.com/shiplane/shiplane/magefiles/git/gittest"
	"github.com/shiplane/shiplane/magefiles/github"
	"github.com/shiplane/shiplane/magefiles/github/githubtest"
	"github.com/shiplane/shiplane/magefiles/goal"
	"github.com/shiplane/shiplane/magefiles/publish"
	"github.com/shiplane/shiplane/magefiles/registry"
	"github.com/shiplane/shiplane/magefiles/registry/registrytest"
	"github.com/shiplane/shiplane/magefiles/revert"
)

const token = "ghp_revertTestToken0123456789"

// world is two releases made as releaseAll makes them, against real backends where they run
// here: the in-process registry, real git with a bare remote, and the GitHub fake (the GitHub API
// cannot be reached from here).
//
// v1.0.0 published base 1.0.0 and core 1.0.0; v1.1.0 carries base 1.0.0 on and first published
// core 1.1.0 (image, chart and the git tag core/v1.1.0).
type world struct {
	reg          *registrytest.Registry
	gh           *githubtest.Fake
	repo, origin string
	commit       string
	digests      map[string]string // ref → digest pushed
	ids          map[string]int64  // tag → release ID
}

func tagName(component, version string) string {
	if component == "platform" {
		return ""
	}
	return component + "/v" + version
}

func newWorld(t *testing.T, regOpts ...registrytest.Option) *world {
	t.Helper()
	return newWorldWith(t, nil, regOpts...)
}

// newWorldWith is newWorld with v1.1.0's manifest changed by edit before it is published.
func newWorldWith(t *testing.T, edit func(w *world, m *publish.ReleaseManifest), regOpts ...registrytest.Option) *world {
	t.Helper()
	w := &world{reg: registrytest.New(t, regOpts...), digests: map[string]string{}, ids: map[string]int64{}}
	w.gh = githubtest.NewFake(t, "shiplane/shiplane", githubtest.RequireToken(token))
	w.repo = gittest.New(t, map[string]string{"VERSION": "1.1.0\n"})
	w.commit = gittest.Git(t, w.repo, "rev-parse", "HEAD")
	w.origin = filepath.Join(t.TempDir(), "origin.git")
	gittest.Git(t, w.repo, "init", "-q", "--bare", w.origin)
	gittest.Git(t, w.repo, "remote", "add", "origin", w.origin)
	for _, tag := range []string{"base/v1.0.0", "core/v1.0.0", "v1.0.0", "core/v1.1.0", "v1.1.0"} {
		gittest.Git(t, w.repo, "tag", "-a", "-m", tag, tag)
	}
	gittest.Git(t, w.repo, "push", "-q", "origin", "HEAD:refs/heads/main", "--tags")
	for _, ref := range []string{"rel/base:1.0.0", "rel/core:1.0.0", "rel/charts/core:1.0.0", "rel/core:1.1.0", "rel/charts/core:1.1.0"} {
		w.digests[w.reg.Ref(ref)] = registrytest.PushRandom(t, w.reg.Ref(ref))
	}
	v100 := w.manifest("v1.0.0", "1.0.0")
	v100.FirstPublished = v100.Artifacts(tagName)
	for i := range v100.FirstPublished {
		if v100.FirstPublished[i].Kind == publish.ArtifactGitTag {
			v100.FirstPublished[i].Digest = w.commit
		}
	}
	w.publish(t, v100)
	v110 := w.manifest("v1.1.0", "1.1.0")
	v110.FirstPublished = []publish.ReleasedArtifact{
		{Kind: publish.ArtifactImage, Component: "core", Ref: w.reg.Ref("rel/core:1.1.0"), Digest: w.digests[w.reg.Ref("rel/core:1.1.0")]},
		{Kind: publish.ArtifactChart, Component: "core", Ref: w.reg.Ref("rel/charts/core:1.1.0"), Digest: w.digests[w.reg.Ref("rel/charts/core:1.1.0")]},
		{Kind: publish.ArtifactGitTag, Component: "core", Ref: "core/v1.1.0", Digest: w.commit},
	}
	if edit != nil {
		edit(w, &v110)
	}
	w.publish(t, v110)
	w.gh.ResetCounts()
	w.reg.Reset()
	return w
}

// manifest is the release manifest of tag: base 1.0.0 always, core at coreVersion.
func (w *world) manifest(tag, coreVersion string) publish.ReleaseManifest {
	img := func(repo string) (string, string) { r := w.reg.Ref(repo); return r, w.digests[r] }
	base, baseD := img("rel/base:1.0.0")
	core, coreD := img("rel/core:" + coreVersion)
	chart, chartD := img("rel/charts/core:" + coreVersion)
	return publish.ReleaseManifest{Tag: tag, Version: strings.TrimPrefix(tag, "v"), Commit: w.commit, Components: []publish.ReleasedComponent{
		{Name: "base", Version: "1.0.0", Image: base, ImageDigest: baseD},
		{Name: "core", Version: coreVersion, Image: core, ImageDigest: coreD, Chart: "oci://" + chart, ChartDigest: chartD},
	}}
}

// publish seeds the published GitHub release of m with its manifest asset.
func (w *world) publish(t *testing.T, m publish.ReleaseManifest) {
	t.Helper()
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	id := w.gh.SeedRelease(githubtest.Release{Tag: m.Tag, Name: m.Tag})
	w.gh.SeedAsset(id, githubtest.Asset{Name: publish.ManifestAsset, Content: data})
	w.ids[m.Tag] = id
}

// backends are fresh clients, as a new process has.
func (w *world) backends(t *testing.T, now time.Time) revert.Backends {
	t.Helper()
	gh, err := github.New("shiplane/shiplane", token, github.WithBaseURL(w.gh.URL()), github.WithRetry(github.RetryPolicy{Attempts: 1}))
	if err != nil {
		t.Fatal(err)
	}
	repo, err := git.Open(t.Context(), w.repo, git.WithEnv(gittest.Env...))
	if err != nil {
		t.Fatal(err)
	}
	return revert.Backends{GitHub: gh, Registry: registry.New(), Git: revert.Repo{Repo: repo}, Remote: "origin", Now: func() time.Time { return now }}
}

func (w *world) revert(t *testing.T, b revert.Backends, dry bool) (*revert.Plan, *goal.Report, string, error) {
	t.Helper()
	var out strings.Builder
	allowed := w.reg.Host() + "/rel/"
	p, rep, err := revert.Revert{
		Input: revert.Input{Tag: "v1.1.0", Window: time.Hour, TagName: tagName, Settings: "deploy/settings.yaml",
			Allowed: func(ref string) bool { return strings.HasPrefix(ref, allowed) }},
		Backends: b, Progress: &out, DryRun: dry,
	}.Run(t.Context())
	return p, rep, out.String(), err
}

// state is what is published: each pushed ref's digest ("" when gone), the remote's tags, the
// releases and their assets.
func (w *world) state(t *testing.T) string {
	t.Helper()
	c := registry.New()
	var b strings.Builder
	for _, ref := range []string{"rel/base:1.0.0", "rel/core:1.0.0", "rel/charts/core:1.0.0", "rel/core:1.1.0", "rel/charts/core:1.1.0"} {
		d, _, err := c.Digest(t.Context(), w.reg.Ref(ref))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s %v\n", ref, d != "")
	}
	b.WriteString(gittest.Git(t, w.origin, "for-each-ref", "--format=%(refname)", "refs/tags") + "\n")
	for _, r := range w.gh.Releases() {
		fmt.Fprintf(&b, "release %s draft=%v assets:", r.Tag, r.Draft)
		for _, a := range r.Assets {
			b.WriteString(" " + a.Name)
		}
		b.WriteString("\n")
	}
	return b.String()
}

const reverted = `rel/base:1.0.0 true
rel/core:1.0.0 true
rel/charts/core:1.0.0 true
rel/core:1.1.0 false
rel/charts/core:1.1.0 false
refs/tags/base/v1.0.0
refs/tags/core/v1.0.0
refs/tags/v1.0.0
refs/tags/v1.1.0
release v1.0.0 draft=false assets: release-manifest.json
`

// TestRevertWithinWindow removes exactly what v1.1.0 first published (core 1.1.0's image, chart
// and git tag, then the release) and keeps what v1.0.0 had published (base 1.0.0, carried on)
// and the release tag; -plan shows it first and writes nothing; a second run writes nothing.
func TestRevertWithinWindow(t *testing.T) {
	w := newWorld(t)
	before := w.state(t)
	p, rep, out, err := w.revert(t, w.backends(t, time.Now()), true)
	if err != nil {
		t.Fatalf("plan: %v\n%s", err, out)
	}
	if w.reg.Writes() != 0 || w.gh.Writes() != 0 || w.state(t) != before {
		t.Fatalf("-plan wrote: registry %d, GitHub %d writes\n%s", w.reg.Writes(), w.gh.Writes(), w.state(t))
	}
	if rep.Count(goal.Planned) != 5 || len(p.Remove) != 3 {
		t.Errorf("plan: %d goals to achieve, %d artifacts to remove; want 5 and 3\n%s", rep.Count(goal.Planned), len(p.Remove), out)
	}
	for _, want := range []string{"image " + w.reg.Ref("rel/core:1.1.0"), "chart " + w.reg.Ref("rel/charts/core:1.1.0"), "git tag core/v1.1.0",
		"keep:", "image " + w.reg.Ref("rel/base:1.0.0") + " (" + w.digests[w.reg.Ref("rel/base:1.0.0")] + "): published before this release",
		"git tag base/v1.0.0: published before this release"} {
		if !strings.Contains(out, want) {
			t.Errorf("the plan does not show %q:\n%s", want, out)
		}
	}

	_, rep, out, err = w.revert(t, w.backends(t, time.Now()), false)
	if err != nil {
		t.Fatalf("revert: %v\n%s", err, out)
	}
	if rep.Count(goal.NewlyAchieved) != 5 {
		t.Errorf("%d goals achieved, want 5\n%s", rep.Count(goal.NewlyAchieved), out)
	}
	if got := w.state(t); got != reverted {
		t.Errorf("after the revert:\n%s\nwant\n%s", got, reverted)
	}
	if n := w.reg.Count(http.MethodDelete, "/manifests/"); n != 2 {
		t.Errorf("%d manifest DELETEs, want 2:\n%s", n, w.reg.Dump())
	}

	w.gh.ResetCounts()
	w.reg.Reset()
	p, _, out, err = w.revert(t, w.backends(t, time.Now()), false)
	if err != nil || p.Found || w.reg.Writes() != 0 || w.gh.Writes() != 0 || !strings.Contains(out, "nothing to revert") {
		t.Errorf("second run: found %v, err %v, registry %d and GitHub %d writes\n%s", p.Found, err, w.reg.Writes(), w.gh.Writes(), out)
	}
}

// TestRevertOutsideWindowRefused: two hours after publishing, the revert refuses with the reason
// and the fix, and writes nothing.
func TestRevertOutsideWindowRefused(t *testing.T) {
	w := newWorld(t)
	before := w.state(t)
	_, _, out, err := w.revert(t, w.backends(t, time.Now().Add(2*time.Hour)), false)
	var ow *revert.OutsideWindowError
	if !errors.As(err, &ow) || ow.Tag != "v1.1.0" || !strings.Contains(err.Error(), "revert_window: 1h0m0s in deploy/settings.yaml") ||
		!strings.Contains(err.Error(), "publish a fixed patch release instead") {
		t.Fatalf("err = %v, want the window refusal\n%s", err, out)
	}
	if w.reg.Writes() != 0 || w.gh.Writes() != 0 || w.state(t) != before {
		t.Errorf("a refused revert wrote:\n%s", w.state(t))
	}
}

// TestRevertReferencedByLaterRelease: a later release listing core 1.1.0's image (same ref and
// digest) refuses the revert, naming it, and nothing is written.
func TestRevertReferencedByLaterRelease(t *testing.T) {
	w := newWorld(t)
	later := w.manifest("v1.2.0", "1.1.0")
	later.FirstPublished = []publish.ReleasedArtifact{}
	w.publish(t, later)
	w.gh.ResetCounts()
	before := w.state(t)
	_, _, out, err := w.revert(t, w.backends(t, time.Now()), false)
	var re *revert.ReferencedError
	if !errors.As(err, &re) || re.By != "v1.2.0" || !strings.Contains(err.Error(), "the later release v1.2.0 references") {
		t.Fatalf("err = %v, want a refusal naming v1.2.0\n%s", err, out)
	}
	if w.reg.Writes() != 0 || w.gh.Writes() != 0 || w.state(t) != before {
		t.Errorf("a refused revert wrote:\n%s", w.state(t))
	}
}

// TestRevertTamperedTagNotDeleted: core:1.1.0 was pushed again since the release: it is not
// deleted, the failure names it, and the release stays (with the marker) so that a later run can
// finish; the rest is removed.
func TestRevertTamperedTagNotDeleted(t *testing.T) {
	w := newWorld(t)
	ref := w.reg.Ref("rel/core:1.1.0")
	now := registrytest.PushRandom(t, ref)
	_, rep, out, err := w.revert(t, w.backends(t, time.Now()), false)
	var te *revert.TamperedError
	if !errors.As(err, &te) || te.Artifact.Ref != ref || te.Now != now || !strings.Contains(err.Error(), "it is not deleted") {
		t.Fatalf("err = %v, want a *TamperedError naming %s\n%s", err, ref, out)
	}
	if d, ok, _ := registry.New().Digest(t.Context(), ref); !ok || d != now {
		t.Errorf("%s holds %q (present %v), want the new push %s kept", ref, d, ok, now)
	}
	for _, r := range rep.Results {
		if r.Goal == "release deleted v1.1.0" && r.Status != goal.Blocked {
			t.Errorf("the release's deletion: %s, want blocked", r.Status)
		}
	}
	st := w.state(t)
	if !strings.Contains(st, "release v1.1.0 draft=false assets: release-manifest.json revert-started.json") ||
		strings.Contains(st, "core/v1.1.0") || !strings.Contains(st, "rel/charts/core:1.1.0 false") {
		t.Errorf("state:\n%s", st)
	}
}

// TestRevertEditedManifestKeepsWhatItDoesNotOwn: first_published edited to list an artifact of
// the earlier release, and one outside the release registry: both are kept, with the reason.
func TestRevertEditedManifestKeepsWhatItDoesNotOwn(t *testing.T) {
	w := newWorldWith(t, func(w *world, m *publish.ReleaseManifest) {
		m.FirstPublished = []publish.ReleasedArtifact{
			{Kind: publish.ArtifactImage, Component: "base", Ref: w.reg.Ref("rel/base:1.0.0"), Digest: w.digests[w.reg.Ref("rel/base:1.0.0")]},
			{Kind: publish.ArtifactImage, Component: "core", Ref: "registry.example/other/core:1.1.0", Digest: w.digests[w.reg.Ref("rel/core:1.1.0")]},
		}
	})
	p, _, out, err := w.revert(t, w.backends(t, time.Now()), true)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(p.Remove) != 0 {
		t.Errorf("removes %v, want nothing", p.Remove)
	}
	for _, want := range []string{"the earlier release v1.0.0 lists it", "not one of the release's own components' artifacts"} {
		if !strings.Contains(out, want) {
			t.Errorf("the plan does not say %q:\n%s", want, out)
		}
	}
}

// TestRevertDeleteRefusedListsWhatIsLeft: a registry with deletes disabled refuses the manifest
// DELETEs: one error says so and lists everything left; the release stays for a later run.
func TestRevertDeleteRefusedListsWhatIsLeft(t *testing.T) {
	w := newWorld(t, registrytest.WithoutDelete())
	_, _, out, err := w.revert(t, w.backends(t, time.Now()), false)
	var le *revert.LeftError
	if !errors.As(err, &le) {
		t.Fatalf("err = %v, want a *LeftError\n%s", err, out)
	}
	if strings.Join(le.Unsupported, " ") != w.reg.Ref("rel/core:1.1.0")+" "+w.reg.Ref("rel/charts/core:1.1.0") &&
		strings.Join(le.Unsupported, " ") != w.reg.Ref("rel/charts/core:1.1.0")+" "+w.reg.Ref("rel/core:1.1.0") {
		t.Errorf("unsupported = %v", le.Unsupported)
	}
	for _, want := range []string{"image deleted " + w.reg.Ref("rel/core:1.1.0"), "chart deleted " + w.reg.Ref("rel/charts/core:1.1.0"), "release deleted v1.1.0 (blocked)", "does not allow deleting manifests"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not list %q:\n%v", want, err)
		}
	}
	if !strings.Contains(w.state(t), "rel/core:1.1.0 true") || !strings.Contains(w.state(t), "release v1.1.0") {
		t.Errorf("state:\n%s", w.state(t))
	}
}

var errCrash = errors.New("crash: the process died right after this write")

// crashing wraps backends so that the n-th write is carried out and then the process "dies":
// that write and every later call fail.
type crashing struct {
	revert.GitHub
	reg    revert.Registry
	git    revert.Git
	mu     sync.Mutex
	n      int
	writes int
	dead   bool
}

func (c *crashing) write(do func() error) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dead {
		return errCrash
	}
	err := do()
	c.writes++
	if c.writes == c.n {
		c.dead = true
		return errCrash
	}
	return err
}

func (c *crashing) alive() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dead {
		return errCrash
	}
	return nil
}

func (c *crashing) EnsureAsset(ctx context.Context, id int64, name string, content []byte) error {
	return c.write(func() error { return c.GitHub.EnsureAsset(ctx, id, name, content) })
}

func (c *crashing) DeleteRelease(ctx context.Context, id int64) error {
	return c.write(func() error { return c.GitHub.DeleteRelease(ctx, id) })
}

func (c *crashing) ReleaseDetail(ctx context.Context, tag string) (github.ReleaseDetail, error) {
	if err := c.alive(); err != nil {
		return github.ReleaseDetail{}, err
	}
	return c.GitHub.ReleaseDetail(ctx, tag)
}

func (c *crashing) Digest(ctx context.Context, ref string) (string, bool, error) {
	if err := c.alive(); err != nil {
		return "", false, err
	}
	return c.reg.Digest(ctx, ref)
}

func (c *crashing) DeleteManifest(ctx context.Context, ref, digest string) error {
	return c.write(func() error { return c.reg.DeleteManifest(ctx, ref, digest) })
}

func (c *crashing) RemoteTags(ctx context.Context, remote string) (map[string]string, error) {
	if err := c.alive(); err != nil {
		return nil, err
	}
	return c.git.RemoteTags(ctx, remote)
}

func (c *crashing) DeleteRemoteTag(ctx context.Context, remote, name string) error {
	return c.write(func() error { return c.git.DeleteRemoteTag(ctx, remote, name) })
}

// TestRevertResumesAfterCrashAtEachWrite: the process dies right after each of the five writes in
// turn (the marker, the two manifest DELETEs, the tag push, the release DELETE); a new run two
// hours later, past the window, finishes the revert begun in it, to the state of a clean run.
func TestRevertResumesAfterCrashAtEachWrite(t *testing.T) {
	for n := 1; n <= 5; n++ {
		t.Run(fmt.Sprintf("write %d", n), func(t *testing.T) {
			w := newWorld(t)
			b := w.backends(t, time.Now())
			c := &crashing{GitHub: b.GitHub, reg: b.Registry, git: b.Git, n: n}
			b.GitHub, b.Registry, b.Git = c, c, c
			if _, _, out, err := w.revert(t, b, false); !errors.Is(err, errCrash) {
				t.Fatalf("the crashing run: %v\n%s", err, out)
			}
			p, rep, out, err := w.revert(t, w.backends(t, time.Now().Add(2*time.Hour)), false)
			if err != nil {
				t.Fatalf("the resumed run: %v\n%s", err, out)
			}
			if got := w.state(t); got != reverted {
				t.Errorf("after resuming:\n%s\nwant\n%s", got, reverted)
			}
			if n < 5 && (!p.Resuming || rep.Count(goal.AlreadyAchieved) == 0) {
				t.Errorf("the resumed run: resuming %v, %d already achieved\n%s", p.Resuming, rep.Count(goal.AlreadyAchieved), out)
			}
		})
	}
}
