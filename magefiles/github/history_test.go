package github_test

import (
	"testing"

	"github.com/shiplane/shiplane/magefiles/github"
	"github.com/shiplane/shiplane/magefiles/github/githubtest"
)

// TestPublishedReleasesAndDeleteRelease: the listing leaves drafts out and carries each
// release's published_at and assets; deleting a release twice is done once and then nothing.
func TestPublishedReleasesAndDeleteRelease(t *testing.T) {
	f := githubtest.NewFake(t, "o/r", githubtest.RequireToken("tok"))
	id := f.SeedRelease(githubtest.Release{Tag: "v1.0.0"})
	f.SeedAsset(id, githubtest.Asset{Name: "release-manifest.json", Content: []byte("{}")})
	f.SeedRelease(githubtest.Release{Tag: "v1.1.0", Draft: true})
	c, err := github.New("o/r", "tok", github.WithBaseURL(f.URL()))
	if err != nil {
		t.Fatal(err)
	}
	rels, err := c.PublishedReleases(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(rels) != 1 || rels[0].Tag != "v1.0.0" || rels[0].ID != id || rels[0].PublishedAt.IsZero() || len(rels[0].Assets) != 1 {
		t.Fatalf("published releases: %+v", rels)
	}
	for range 2 {
		if err := c.DeleteRelease(t.Context(), id); err != nil {
			t.Fatal(err)
		}
	}
	if n := f.Count(githubtest.RouteDeleteRelease); n != 2 || len(f.Releases()) != 1 {
		t.Errorf("%d DELETEs, releases left %+v", n, f.Releases())
	}
}
