package lane_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"

	"github.com/shiplane/shiplane/magefiles/git/gittest"
	"github.com/shiplane/shiplane/magefiles/github/githubtest"
	"github.com/shiplane/shiplane/magefiles/goal"
	"github.com/shiplane/shiplane/magefiles/guard"
	"github.com/shiplane/shiplane/magefiles/lane"
	"github.com/shiplane/shiplane/magefiles/registry"
	"github.com/shiplane/shiplane/magefiles/registry/registrytest"
	"github.com/shiplane/shiplane/magefiles/sign"
	"github.com/shiplane/shiplane/magefiles/testenv"
)

// canary is the GITHUB_TOKEN of the release tests: it must appear in no output, log or report.
const canary = "ghp_CANARYcanary0123456789abcdefSECRET"

// releaseRepo is a copy of the repository with a bare origin, a quick verification goal, and a
// release environment pointing at an in-process registry and the GitHub fake (the GitHub API cannot
// be reached from here).
type releaseRepo struct {
	root, origin string
	reg          *registrytest.Registry
	gh           *githubtest.Fake
	env          map[string]string
	out          *bytes.Buffer
	report       string
	// signingPub is the committed public key of the release's SIGNING_KEY.
	signingPub []byte
}

func newReleaseRepo(t *testing.T, project string) *releaseRepo {
	t.Helper()
	testenv.RequireDocker(t)
	return newReleaseRepoNoDocker(t, project)
}

// newReleaseRepoNoDocker is newReleaseRepo for a test that builds nothing (tagRelease, releasePlan).
func newReleaseRepoNoDocker(t *testing.T, project string) *releaseRepo {
	t.Helper()
	root := testenv.CopyRepo(t, project)
	// The release signs with a key made for the test; its public key is committed in the copy.
	signingKey, signingPub := newSigningKey(t)
	gittest.Write(t, root, map[string]string{"deploy/release.yaml": "verify:\n  - name: versions readable\n    run: test -s VERSION && test -s services/core/VERSION\n",
		"deploy/signing.pub": signingPub})
	gittest.Git(t, root, "add", "-A")
	gittest.Git(t, root, "commit", "-q", "-m", "quick verification for the test")
	origin := filepath.Join(t.TempDir(), "origin.git")
	gittest.Git(t, root, "init", "-q", "--bare", origin)
	gittest.Git(t, root, "remote", "add", "origin", origin)
	gittest.Git(t, root, "push", "-q", "origin", "HEAD:refs/heads/main")
	r := &releaseRepo{root: root, origin: origin, reg: registrytest.New(t), out: &bytes.Buffer{}}
	r.gh = githubtest.NewFake(t, "shiplane/shiplane", githubtest.RequireToken(canary), githubtest.WithGitRepository(origin))
	r.report = filepath.Join(t.TempDir(), "report.json")
	r.env = map[string]string{
		"RELEASE_REGISTRY":   r.reg.Host() + "/rel",
		"RELEASE_CHART_REPO": "oci://" + r.reg.Host() + "/rel/charts",
		"GITHUB_TOKEN":       canary,
		"GITHUB_REPOSITORY":  "shiplane/shiplane",
		"GITHUB_API_URL":     r.gh.URL(),
		"SHIPLANE_REPORT":    r.report,
		"SIGNING_KEY":        signingKey,
		"SIGNING":            "",
	}
	r.signingPub = []byte(signingPub)
	return r
}

func (r *releaseRepo) config() lane.Config {
	return lane.Config{Root: r.root, Progress: r.out, Stdout: r.out, Getenv: func(k string) string {
		if v, ok := r.env[k]; ok {
			return v
		}
		if k == "RELEASE_TAG" || k == "GITHUB_REF_NAME" || k == "ALLOW_BLOCKED" {
			return ""
		}
		return os.Getenv(k)
	}}
}

func (r *releaseRepo) remoteTags(t *testing.T) string {
	return gittest.Git(t, r.origin, "for-each-ref", "--format=%(refname) %(objectname)", "refs/tags")
}

func (r *releaseRepo) assertNoSecret(t *testing.T) {
	t.Helper()
	report, _ := os.ReadFile(r.report)
	for _, form := range []string{canary, base64.StdEncoding.EncodeToString([]byte(canary)), base64.StdEncoding.EncodeToString([]byte("x-access-token:" + canary))} {
		if strings.Contains(r.out.String(), form) || strings.Contains(string(report), form) {
			t.Errorf("the token (or its base64 form %q) leaked into the output or report", form)
		}
	}
}

// TestReleaseAll tags, releases, checks every published artifact, and re-runs: the re-run writes
// nothing to the registry, git or GitHub.
func TestReleaseAll(t *testing.T) {
	r := newReleaseRepo(t, "shiprel")
	ctx := t.Context()
	if err := lane.TagRelease(ctx, r.config()); err != nil {
		t.Fatalf("tagRelease: %v\n%s", err, r.out)
	}
	if err := lane.ReleaseAll(ctx, r.config()); err != nil {
		t.Fatalf("releaseAll: %v\n%s", err, r.out)
	}
	ws, err := lane.Open(ctx, r.config())
	if err != nil {
		t.Fatal(err)
	}
	reg := registry.New()
	tags := r.remoteTags(t)
	for _, c := range ws.Manifest.Components {
		img, err := reg.Image(ctx, r.reg.Ref("rel/"+c.Image.Name+":"+c.Version))
		// The revision is the last commit that changed the component's inputs: the copy's first
		// commit, not HEAD, which only added the release file.
		if err != nil || !img.Present || img.Inputs != string(ws.Keys[c.Name]) || img.Labels["org.opencontainers.image.revision"] != ws.Inputs[c.Name].Hash || ws.Inputs[c.Name].Hash == ws.Head.Hash {
			t.Errorf("%s: image %+v, %v; want revision %s (HEAD is %s)", c.Name, img, err, ws.Inputs[c.Name].Hash, ws.Head.Hash)
		}
		if !strings.Contains(tags, "refs/tags/"+lane.ComponentTag(c.Name, c.Version)+" ") {
			t.Errorf("remote lacks tag %s:\n%s", lane.ComponentTag(c.Name, c.Version), tags)
		}
	}
	rels := r.gh.Releases()
	if len(rels) != 1 || rels[0].Draft || rels[0].Tag != "v"+ws.Manifest.Platform.Version {
		t.Fatalf("GitHub releases: %+v", rels)
	}
	var names []string
	var manifest lane.ReleaseManifest
	var manifestData, manifestBundle []byte
	for _, a := range rels[0].Assets {
		names = append(names, a.Name)
		switch a.Name {
		case "release-manifest.json":
			manifestData = a.Content
			if err := json.Unmarshal(a.Content, &manifest); err != nil {
				t.Fatal(err)
			}
		case "release-manifest.json.sigstore.json":
			manifestBundle = a.Content
		}
	}
	sort.Strings(names)
	want := "SHA256SUMS connector-fs-0.3.0.tgz connector-webhook-0.3.0.tgz core-1.2.0.tgz platform-1.0.0.tgz release-manifest.json release-manifest.json.sigstore.json scanner-0.9.0.tgz web-0.1.0.tgz"
	// release-manifest.json is signed by the release key, and every image and chart it lists
	// carries a signature, a provenance naming the release commit, and (images) an SBOM.
	if err := sign.VerifyBlob(manifestBundle, manifestData, r.signingPub); err != nil {
		t.Errorf("release-manifest.json's bundle: %v", err)
	}
	checkAttestations(t, r.signingPub, ws.Head.Hash, manifest)
	if strings.Join(names, " ") != want {
		t.Errorf("assets = %v, want %s", names, want)
	}
	if manifest.Commit != ws.Head.Hash || len(manifest.Components) != 7 {
		t.Errorf("release manifest: %+v", manifest)
	}
	for _, c := range manifest.Components {
		if c.Image != "" && !strings.HasPrefix(c.ImageDigest, "sha256:") || c.Chart != "" && !strings.HasPrefix(c.ChartDigest, "sha256:") {
			t.Errorf("release manifest entry without digests: %+v", c)
		}
	}
	// Every image is a two-platform index (the repository's default platforms), each platform's
	// image built for it, and release-manifest.json names the index and each platform's digest.
	checkTwoPlatformIndexes(t, ws, r.reg.Host()+"/rel", manifest)
	var first goal.Report
	readReport(t, r.report, &first)
	checkReportPlatforms(t, first, manifest)
	r.assertNoSecret(t)

	// A customer installs the published umbrella: every image it renders is the one this release
	// pushed, pinned by digest, and runs.
	consumeAsACustomer(t, ctx, r.env["RELEASE_CHART_REPO"], r.env["RELEASE_REGISTRY"], ws.Manifest.Platform.Version, imageVersions(ws))

	// The re-run: every goal already achieved, no write anywhere.
	r.reg.Reset()
	r.gh.ResetCounts()
	r.out.Reset()
	tagsBefore := r.remoteTags(t)
	if err := lane.ReleaseAll(ctx, r.config()); err != nil {
		t.Fatalf("re-run: %v\n%s", err, r.out)
	}
	if w := r.reg.Writes(); w != 0 {
		t.Errorf("re-run: %d registry writes\n%s", w, r.reg.Dump())
	}
	if w := r.gh.Writes(); w != 0 {
		t.Errorf("re-run: %d GitHub writes", w)
	}
	if after := r.remoteTags(t); after != tagsBefore {
		t.Errorf("re-run changed the remote's tags:\n%s\n%s", tagsBefore, after)
	}
	var rep goal.Report
	readReport(t, r.report, &rep)
	for _, res := range rep.Results {
		// The after-publish check runs in every release; everything else was achieved before.
		if check := res.Component == "after-publish"; check && res.Status != goal.NewlyAchieved || !check && res.Status != goal.AlreadyAchieved {
			t.Errorf("re-run: %s", res.Line())
		}
	}
	// The default after-publish checks come last: the artifacts, then the signed release as a
	// consumer verifies it (the copy commits its signing public key).
	if n := len(rep.Results); n < 2 || rep.Results[n-2].Goal != lane.PublishedArtifactsGoal || rep.Results[n-1].Goal != lane.ReleaseVerifiedGoal {
		t.Errorf("the default after-publish checks did not run last: %s", rep.Results[n-1].Line())
	}
	r.assertNoSecret(t)
}

// TestReleaseRefusesBeforeAnyWrite: a release whose version is published from other inputs, or
// whose tag does not match root VERSION, writes nothing.
func TestReleaseRefusesBeforeAnyWrite(t *testing.T) {
	r := newReleaseRepo(t, "shiprefuse")
	ctx := t.Context()
	if err := lane.TagRelease(ctx, r.config()); err != nil {
		t.Fatalf("tagRelease: %v\n%s", err, r.out)
	}

	t.Run("tag does not match root VERSION", func(t *testing.T) {
		r.env["RELEASE_TAG"] = "v9.9.9"
		defer delete(r.env, "RELEASE_TAG")
		err := lane.ReleaseAll(ctx, r.config())
		var tm *guard.TagMismatch
		if !errors.As(err, &tm) {
			t.Fatalf("err = %v", err)
		}
		if r.reg.Writes() != 0 || r.gh.Writes() != 0 {
			t.Errorf("writes after a refusal")
		}
	})

	t.Run("tag is not semver", func(t *testing.T) {
		r.env["RELEASE_TAG"] = "release-one"
		defer delete(r.env, "RELEASE_TAG")
		err := lane.ReleaseAll(ctx, r.config())
		if err == nil || !strings.Contains(err.Error(), "release-one") {
			t.Fatalf("err = %v", err)
		}
	})

	t.Run("version published from other inputs", func(t *testing.T) {
		// Someone published core's version from other inputs: the release must refuse, naming bump.
		img := fakeImage(t, map[string]string{"dev.shiplane.inputs": "sha256:other"})
		if _, err := registry.New().Push(ctx, img, []string{r.reg.Ref("rel/core:1.2.0")}); err != nil {
			t.Fatal(err)
		}
		r.reg.Reset()
		err := lane.ReleaseAll(ctx, r.config())
		var pdi *guard.PublishedWithDifferentInputs
		if !errors.As(err, &pdi) || pdi.Component != "core" || !strings.Contains(err.Error(), "bump core") {
			t.Fatalf("err = %v", err)
		}
		if r.reg.Writes() != 0 || r.gh.Writes() != 0 {
			t.Errorf("writes after a refusal: registry %d, GitHub %d", r.reg.Writes(), r.gh.Writes())
		}
		if strings.Contains(r.remoteTags(t), "core/v") {
			t.Error("a component tag was pushed by a refused release")
		}
	})
	r.assertNoSecret(t)
}

// fakeImage is a small random image carrying labels.
func fakeImage(t *testing.T, labels map[string]string) v1.Image {
	t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg = cfg.DeepCopy()
	cfg.Config.Labels = labels
	img, err = mutate.ConfigFile(img, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// TestTagReleaseAndPlan: tagRelease refuses an existing tag; releasePlan prints the plan, writes
// nothing, and fails when releaseAll would refuse.
func TestTagReleaseAndPlan(t *testing.T) {
	r := newReleaseRepo(t, "shipplan")
	ctx := t.Context()
	if err := lane.TagRelease(ctx, r.config()); err != nil {
		t.Fatalf("tagRelease: %v\n%s", err, r.out)
	}
	err := lane.TagRelease(ctx, r.config())
	var te *guard.TagExists
	if !errors.As(err, &te) || te.Tag != "v1.0.0" {
		t.Fatalf("second tagRelease: err = %v", err)
	}

	r.out.Reset()
	if err := lane.ReleasePlan(ctx, r.config()); err != nil {
		t.Fatalf("releasePlan: %v\n%s", err, r.out)
	}
	for _, want := range []string{"release v1.0.0 at ", "level 0\n  base 1.1.0\n", "image pushed " + r.reg.Host() + "/rel/core:1.2.0: publish (not published)", "verdict: releaseAll would publish"} {
		if !strings.Contains(r.out.String(), want) {
			t.Errorf("releasePlan output lacks %q:\n%s", want, r.out)
		}
	}
	if r.reg.Writes() != 0 || r.gh.Writes() != 0 {
		t.Errorf("releasePlan wrote: registry %d, GitHub %d", r.reg.Writes(), r.gh.Writes())
	}

	r.env["RELEASE_TAG"] = "v2.0.0"
	defer delete(r.env, "RELEASE_TAG")
	r.out.Reset()
	err = lane.ReleasePlan(ctx, r.config())
	if err == nil || !strings.Contains(r.out.String(), "verdict: releaseAll would refuse") {
		t.Fatalf("releasePlan for a wrong tag: err = %v\n%s", err, r.out)
	}
}

// TestFailingVerificationPublishesNothing: a verification goal that fails blocks every publish.
func TestFailingVerificationPublishesNothing(t *testing.T) {
	r := newReleaseRepo(t, "shipverify")
	ctx := t.Context()
	gittest.Write(t, r.root, map[string]string{"deploy/release.yaml": "verify:\n  - name: tests\n    run: echo failing on purpose; exit 3\n"})
	gittest.Git(t, r.root, "commit", "-q", "-am", "a failing verification")
	gittest.Git(t, r.root, "push", "-q", "origin", "HEAD:refs/heads/main")
	if err := lane.TagRelease(ctx, r.config()); err != nil {
		t.Fatalf("tagRelease: %v\n%s", err, r.out)
	}
	err := lane.ReleaseAll(ctx, r.config())
	if err == nil || !strings.Contains(err.Error(), "verify: tests: failed") {
		t.Fatalf("err = %v\n%s", err, r.out)
	}
	if r.reg.Writes() != 0 || r.gh.Writes() != 0 {
		t.Errorf("a failed verification let writes through: registry %d, GitHub %d", r.reg.Writes(), r.gh.Writes())
	}
	if tags := r.remoteTags(t); strings.Contains(tags, "core/v") {
		t.Errorf("component tags pushed after a failed verification:\n%s", tags)
	}
	var rep goal.Report
	readReport(t, r.report, &rep)
	for _, res := range rep.Results {
		if res.Component != "verify" && res.Status != goal.Blocked {
			t.Errorf("%s: want blocked", res.Line())
		}
	}
}
