package lane_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/shiplane/shiplane/magefiles/lane"
	"github.com/shiplane/shiplane/magefiles/publish"
	"github.com/shiplane/shiplane/magefiles/registry"
)

// TestRevertAfterReleaseAll: the first release of the repository records every image, chart and
// component tag as first published; revertRelease, within the window, removes them all and the
// GitHub release, and keeps the release tag.
func TestRevertAfterReleaseAll(t *testing.T) {
	r := newReleaseRepo(t, "shiprevert")
	ctx := t.Context()
	if err := lane.TagRelease(ctx, r.config()); err != nil {
		t.Fatalf("tagRelease: %v\n%s", err, r.out)
	}
	if err := lane.ReleaseAll(ctx, r.config()); err != nil {
		t.Fatalf("releaseAll: %v\n%s", err, r.out)
	}
	rels := r.gh.Releases()
	if len(rels) != 1 {
		t.Fatalf("releases: %+v", rels)
	}
	var m lane.ReleaseManifest
	for _, a := range rels[0].Assets {
		if a.Name == publish.ManifestAsset {
			if err := json.Unmarshal(a.Content, &m); err != nil {
				t.Fatal(err)
			}
		}
	}
	first := map[string]bool{}
	for _, a := range m.FirstPublished {
		first[a.Key()] = a.Digest != ""
	}
	var refs []string
	for _, a := range m.Artifacts(func(c, v string) string {
		if c == lane.PlatformComponent {
			return ""
		}
		return lane.ComponentTag(c, v)
	}) {
		if !first[a.Key()] {
			t.Errorf("%s is not recorded as first published with its digest: %+v", a, m.FirstPublished)
		}
		if a.Kind != publish.ArtifactGitTag {
			refs = append(refs, a.Ref)
		}
	}
	if len(m.FirstPublished) != len(first) || len(refs) < 10 {
		t.Errorf("first_published: %+v", m.FirstPublished)
	}

	r.out.Reset()
	if err := lane.RevertRelease(ctx, r.config(), rels[0].Tag, false); err != nil {
		t.Fatalf("revertRelease: %v\n%s", err, r.out)
	}
	c := registry.New()
	for _, ref := range refs {
		if _, ok, err := c.Digest(ctx, ref); err != nil || ok {
			t.Errorf("%s: present %v, %v", ref, ok, err)
		}
	}
	if tags := r.remoteTags(t); strings.Count(tags, "refs/tags/") != 1 || !strings.Contains(tags, "refs/tags/"+rels[0].Tag+" ") {
		t.Errorf("remote tags after the revert, want only the release tag:\n%s", tags)
	}
	if len(r.gh.Releases()) != 0 {
		t.Errorf("releases after the revert: %+v", r.gh.Releases())
	}
	r.assertNoSecret(t)
}
