package lane

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shiplane/shiplane/magefiles/git/gittest"
	"github.com/shiplane/shiplane/magefiles/github/githubtest"
	"github.com/shiplane/shiplane/magefiles/publish"
	"github.com/shiplane/shiplane/magefiles/registry"
	"github.com/shiplane/shiplane/magefiles/registry/registrytest"
)

// TestRevertReleaseLane wires revertRelease to the release settings: the release registry and
// chart repository from the environment, the remote's tags (real git, a bare origin), and the
// GitHub fake (the API cannot be reached from here). -plan writes nothing; the revert removes the
// image, the chart, the component tag and the release, and keeps the release tag.
func TestRevertReleaseLane(t *testing.T) {
	const token = "ghp_laneRevertToken0123456789"
	dir := gittest.New(t, scenarioFiles())
	commit := gittest.Git(t, dir, "rev-parse", "HEAD")
	origin := filepath.Join(t.TempDir(), "origin.git")
	gittest.Git(t, dir, "init", "-q", "--bare", origin)
	gittest.Git(t, dir, "remote", "add", "origin", origin)
	gittest.Git(t, dir, "tag", "-a", "-m", "api", "api/v1.0.0")
	gittest.Git(t, dir, "tag", "-a", "-m", "release", "v1.0.0")
	gittest.Git(t, dir, "push", "-q", "origin", "HEAD:refs/heads/main", "--tags")

	reg := registrytest.New(t)
	image, chart := reg.Ref("rel/api:1.0.0"), reg.Ref("rel/charts/api:1.0.0")
	imageD, chartD := registrytest.PushRandom(t, image), registrytest.PushRandom(t, chart)
	reg.Reset()
	m := ReleaseManifest{Tag: "v1.0.0", Version: "1.0.0", Commit: commit, Components: []ReleasedComponent{
		{Name: "api", Version: "1.0.0", Image: image, ImageDigest: imageD, Chart: "oci://" + chart, ChartDigest: chartD},
	}}
	m.FirstPublished = []publish.ReleasedArtifact{
		{Kind: publish.ArtifactImage, Component: "api", Ref: image, Digest: imageD},
		{Kind: publish.ArtifactChart, Component: "api", Ref: chart, Digest: chartD},
		{Kind: publish.ArtifactGitTag, Component: "api", Ref: "api/v1.0.0", Digest: commit},
	}
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	gh := githubtest.NewFake(t, "demo/demo", githubtest.RequireToken(token))
	gh.SeedAsset(gh.SeedRelease(githubtest.Release{Tag: "v1.0.0"}), githubtest.Asset{Name: publish.ManifestAsset, Content: data})

	env := map[string]string{
		"RELEASE_REGISTRY": reg.Host() + "/rel", "RELEASE_CHART_REPO": "oci://" + reg.Host() + "/rel/charts",
		"GITHUB_TOKEN": token, "GITHUB_REPOSITORY": "demo/demo", "GITHUB_API_URL": gh.URL(),
	}
	var out strings.Builder
	cfg := Config{Root: dir, Progress: &out, Stdout: &out, Getenv: func(k string) string { return env[k] }}
	tags := func() string { return gittest.Git(t, origin, "for-each-ref", "--format=%(refname)", "refs/tags") }

	if err := RevertRelease(t.Context(), cfg, "v1.0.0", true); err != nil {
		t.Fatalf("-plan: %v\n%s", err, out.String())
	}
	if reg.Writes() != 0 || gh.Writes() != 0 || tags() != "refs/tags/api/v1.0.0\nrefs/tags/v1.0.0" {
		t.Fatalf("-plan wrote: registry %d, GitHub %d, tags %q\n%s", reg.Writes(), gh.Writes(), tags(), out.String())
	}
	if !strings.Contains(out.String(), "git tag api/v1.0.0 ("+commit+")") || !strings.Contains(out.String(), "window until") {
		t.Errorf("the plan:\n%s", out.String())
	}

	if err := RevertRelease(t.Context(), cfg, "v1.0.0", false); err != nil {
		t.Fatalf("revertRelease: %v\n%s", err, out.String())
	}
	c := registry.New()
	for _, ref := range []string{image, chart} {
		if _, ok, err := c.Digest(t.Context(), ref); err != nil || ok {
			t.Errorf("%s: present %v, %v", ref, ok, err)
		}
	}
	if tags() != "refs/tags/v1.0.0" || len(gh.Releases()) != 0 || reg.Count(http.MethodDelete, "/manifests/") != 2 {
		t.Errorf("tags %q, releases %v, %d DELETEs\n%s", tags(), gh.Releases(), reg.Count(http.MethodDelete, "/manifests/"), out.String())
	}
	if err := RevertRelease(t.Context(), cfg, " ", false); err == nil || !strings.Contains(err.Error(), "needs the release tag") {
		t.Errorf("no tag: %v", err)
	}
}
