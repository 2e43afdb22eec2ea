package publish_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/shiplane/shiplane/magefiles/github"
	"github.com/shiplane/shiplane/magefiles/github/githubtest"
	"github.com/shiplane/shiplane/magefiles/publish"
)

func tagOf(component, version string) string {
	if component == "platform" {
		return ""
	}
	return component + "/v" + version
}

// TestFirstPublishedFromHistory reads the history from the GitHub fake (drafts and releases
// without a manifest included) and finds what a release publishes first: what no release
// published before it lists. A release made later does not change the answer for an earlier one.
func TestFirstPublishedFromHistory(t *testing.T) {
	f := githubtest.NewFake(t, "o/r", githubtest.RequireToken("tok"))
	seed := func(tag string, draft bool, m *publish.ReleaseManifest) {
		id := f.SeedRelease(githubtest.Release{Tag: tag, Draft: draft})
		if m != nil {
			data, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			f.SeedAsset(id, githubtest.Asset{Name: publish.ManifestAsset, Content: data})
		}
	}
	comp := func(name, version string) publish.ReleasedComponent {
		return publish.ReleasedComponent{Name: name, Version: version, Image: "reg/" + name + ":" + version, ImageDigest: "sha256:" + name + version,
			Chart: "oci://reg/charts/" + name + ":" + version, ChartDigest: "sha256:c" + name + version}
	}
	v1 := publish.ReleaseManifest{Tag: "v1", Components: []publish.ReleasedComponent{comp("base", "1.0.0"), comp("core", "1.0.0")}}
	v2 := publish.ReleaseManifest{Tag: "v2", Components: []publish.ReleasedComponent{comp("base", "1.0.0"), comp("core", "1.1.0"), {Name: "platform", Version: "2.0.0", Chart: "oci://reg/charts/platform:2.0.0", ChartDigest: "sha256:p2"}}}
	seed("v1", false, &v1)
	seed("notes-only", false, nil)
	seed("v2", false, &v2)
	seed("v3", true, &publish.ReleaseManifest{Tag: "v3", Components: []publish.ReleasedComponent{comp("core", "1.1.0")}})

	gh, err := github.New("o/r", "tok", github.WithBaseURL(f.URL()))
	if err != nil {
		t.Fatal(err)
	}
	history, err := publish.ReadHistory(t.Context(), gh)
	if err != nil {
		t.Fatal(err)
	}
	var tags []string
	for _, r := range history {
		tags = append(tags, r.Tag)
	}
	if strings.Join(tags, " ") != "v2 notes-only v1" || history[1].Manifest != nil || history[0].Manifest.Tag != "v2" {
		t.Fatalf("history: %v", tags)
	}
	keys := func(as []publish.ReleasedArtifact) string {
		var s []string
		for _, a := range as {
			s = append(s, a.Key())
		}
		return strings.Join(s, ", ")
	}
	want := "image reg/core:1.1.0, chart reg/charts/core:1.1.0, git tag core/v1.1.0, chart reg/charts/platform:2.0.0"
	if got := keys(publish.FirstPublished(v2.Artifacts(tagOf), publish.Earlier(history, "v2"), tagOf)); got != want {
		t.Errorf("v2 first published:\n got %s\nwant %s", got, want)
	}
	// v3 is not published yet (a draft): every published release counts as earlier.
	v3 := publish.ReleaseManifest{Tag: "v3", Components: []publish.ReleasedComponent{comp("core", "1.1.0"), comp("web", "0.1.0")}}
	if got, want := keys(publish.FirstPublished(v3.Artifacts(tagOf), publish.Earlier(history, "v3"), tagOf)), "image reg/web:0.1.0, chart reg/charts/web:0.1.0, git tag web/v0.1.0"; got != want {
		t.Errorf("v3 first published:\n got %s\nwant %s", got, want)
	}
	// v1, asked again after v2 exists, still first published all of its own.
	if got := len(publish.FirstPublished(v1.Artifacts(tagOf), publish.Earlier(history, "v1"), tagOf)); got != 6 {
		t.Errorf("v1 first published %d artifacts, want 6", got)
	}
}
