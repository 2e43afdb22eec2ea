package revert_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/shiplane/shiplane/magefiles/github"
	"github.com/shiplane/shiplane/magefiles/publish"
	"github.com/shiplane/shiplane/magefiles/revert"
)

// TestDecideWithoutARecord: a release without a manifest, or whose manifest predates
// first_published, is refused (nothing can be told apart); an empty record removes only the
// release; a tag without a published release is nothing to do.
func TestDecideWithoutARecord(t *testing.T) {
	published := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	rel := func(m *publish.ReleaseManifest) []publish.PastRelease {
		return []publish.PastRelease{{PublishedRelease: github.PublishedRelease{ReleaseDetail: github.ReleaseDetail{Present: true, ID: 7, Tag: "v2.0.0"}, PublishedAt: published}, Manifest: m}}
	}
	in := revert.Input{Tag: "v2.0.0", Now: published.Add(10 * time.Minute), TagName: tagName}
	comps := []publish.ReleasedComponent{{Name: "core", Version: "2.0.0", Image: "reg/rel/core:2.0.0", ImageDigest: "sha256:c"}}

	for name, m := range map[string]*publish.ReleaseManifest{
		"no manifest":            nil,
		"made before the record": {Tag: "v2.0.0", Components: comps},
	} {
		in.History = rel(m)
		p := revert.Decide(in)
		var nr *revert.NotRecordedError
		if !errors.As(p.Err(), &nr) || len(p.Nodes(revert.Backends{})) != 0 {
			t.Errorf("%s: Err() = %v, want a *NotRecordedError and no goals", name, p.Err())
		}
	}

	in.History = rel(&publish.ReleaseManifest{Tag: "v2.0.0", Components: comps, FirstPublished: []publish.ReleasedArtifact{}})
	p := revert.Decide(in)
	if p.Err() != nil || len(p.Remove) != 0 || len(p.Nodes(revert.Backends{})) != 2 || !strings.Contains(p.String(), "image reg/rel/core:2.0.0 (sha256:c): published before this release") {
		t.Errorf("nothing first published: err %v, remove %v\n%s", p.Err(), p.Remove, p)
	}
	if p.Deadline != published.Add(revert.DefaultWindow) {
		t.Errorf("deadline %v, want the default window after publishing", p.Deadline)
	}

	in.Tag = "v9.9.9"
	if p := revert.Decide(in); p.Found || p.Err() != nil || p.Nodes(revert.Backends{}) != nil {
		t.Errorf("no such release: found %v, err %v", p.Found, p.Err())
	}
}

// TestDecideTrustsOnlyAMarkerMadeInTheWindow: a revert marker (revert-started.json) lets a revert
// finish after the window only when GitHub created it within the window and its upload finished;
// one uploaded later by anyone who can edit the release, or never finished, opens nothing.
func TestDecideTrustsOnlyAMarkerMadeInTheWindow(t *testing.T) {
	published := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	comps := []publish.ReleasedComponent{{Name: "core", Version: "2.0.0", Image: "reg/rel/core:2.0.0", ImageDigest: "sha256:c"}}
	m := &publish.ReleaseManifest{Tag: "v2.0.0", Components: comps, FirstPublished: []publish.ReleasedArtifact{}}
	for name, tc := range map[string]struct {
		marker  github.AssetDetail
		refused bool
	}{
		"made in the window":         {github.AssetDetail{Name: revert.MarkerAsset, State: "uploaded", CreatedAt: published.Add(30 * time.Minute)}, false},
		"uploaded after the window":  {github.AssetDetail{Name: revert.MarkerAsset, State: "uploaded", CreatedAt: published.Add(3 * time.Hour)}, true},
		"an upload that never ended": {github.AssetDetail{Name: revert.MarkerAsset, State: "starter", CreatedAt: published.Add(30 * time.Minute)}, true},
	} {
		rel := github.PublishedRelease{ReleaseDetail: github.ReleaseDetail{Present: true, ID: 7, Tag: "v2.0.0", Assets: []github.AssetDetail{tc.marker}}, PublishedAt: published}
		in := revert.Input{Tag: "v2.0.0", Now: published.Add(5 * time.Hour), TagName: tagName,
			History: []publish.PastRelease{{PublishedRelease: rel, Manifest: m}}}
		p := revert.Decide(in)
		var ow *revert.OutsideWindowError
		if got := errors.As(p.Err(), &ow); got != tc.refused {
			t.Errorf("%s: refused outside the window = %v, want %v (err %v)", name, got, tc.refused, p.Err())
		}
	}
}
