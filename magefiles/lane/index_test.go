package lane_test

import (
	"github.com/shiplane/shiplane/magefiles/github/githubtest"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/shiplane/shiplane/magefiles/git/gittest"
	"github.com/shiplane/shiplane/magefiles/goal"
	"github.com/shiplane/shiplane/magefiles/lane"
	"github.com/shiplane/shiplane/magefiles/published"
	"github.com/shiplane/shiplane/magefiles/testenv"
)

// twoPlatforms are the reference repository's default platforms.
var twoPlatforms = []string{"linux/amd64", "linux/arm64"}

// checkTwoPlatformIndexes checks that every image of ws is published under prefix as an OCI
// index of the two default platforms, each entry's platform the one its image's config names,
// and that the release manifest lists the index digest and each platform's digest.
func checkTwoPlatformIndexes(t *testing.T, ws *lane.Workspace, prefix string, m lane.ReleaseManifest) {
	t.Helper()
	listed := map[string]lane.ReleasedComponent{}
	for _, c := range m.Components {
		listed[c.Name] = c
	}
	for _, c := range ws.Manifest.Components {
		if c.Image == nil {
			continue
		}
		ref := prefix + "/" + c.Image.Name + ":" + c.Version
		idx, digest := pullIndex(t, ref)
		im, err := idx.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		if im.MediaType != types.OCIImageIndex {
			t.Errorf("%s is a %s, want an OCI image index", ref, im.MediaType)
		}
		var plats []published.Platform
		for _, d := range im.Manifests {
			img, err := idx.Image(d.Digest)
			if err != nil {
				t.Fatal(err)
			}
			cf, err := img.ConfigFile()
			if err != nil {
				t.Fatal(err)
			}
			if d.Platform == nil || d.Platform.OS != cf.OS || d.Platform.Architecture != cf.Architecture {
				t.Errorf("%s: the entry for %v holds an image whose config says %s/%s", ref, d.Platform, cf.OS, cf.Architecture)
				continue
			}
			plats = append(plats, published.Platform{Platform: d.Platform.String(), Digest: d.Digest.String()})
		}
		var names []string
		for _, p := range plats {
			names = append(names, p.Platform)
		}
		if !slices.Equal(names, twoPlatforms) {
			t.Errorf("%s holds images for %v, want %v", ref, names, twoPlatforms)
		}
		rc := listed[c.Name]
		if rc.ImageDigest != digest || !slices.Equal(rc.ImagePlatforms, plats) {
			t.Errorf("release-manifest.json lists %s at %s %v, the registry holds %s %v", c.Name, rc.ImageDigest, rc.ImagePlatforms, digest, plats)
		}
	}
}

// checkReportPlatforms checks that the report of the release that pushed the images gives, for
// each image pushed, the index digest and each platform's digest release-manifest.json lists.
func checkReportPlatforms(t *testing.T, rep goal.Report, m lane.ReleaseManifest) {
	t.Helper()
	listed := map[string]lane.ReleasedComponent{}
	for _, c := range m.Components {
		listed[c.Name] = c
	}
	pushed := 0
	for _, res := range rep.Results {
		if !strings.HasPrefix(res.Goal, "image pushed ") {
			continue
		}
		pushed++
		rc := listed[res.Component]
		if res.Status != goal.NewlyAchieved || res.Digest != rc.ImageDigest || len(res.Platforms) != len(rc.ImagePlatforms) {
			t.Errorf("report: %s: %s %v, want newly achieved at %s %v", res.Goal, res.Digest, res.Platforms, rc.ImageDigest, rc.ImagePlatforms)
			continue
		}
		for _, p := range rc.ImagePlatforms {
			if res.Platforms[p.Platform] != p.Digest {
				t.Errorf("report: %s: %s is %s, release-manifest.json says %s", res.Goal, p.Platform, res.Platforms[p.Platform], p.Digest)
			}
		}
	}
	if pushed == 0 {
		t.Error("the report lists no image pushed")
	}
}

// pullIndex reads the image index at ref with a plain client, and its digest.
func pullIndex(t *testing.T, ref string) (v1.ImageIndex, string) {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := remote.Index(r)
	if err != nil {
		t.Fatalf("reading the index %s: %v", ref, err)
	}
	d, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return idx, d.String()
}

// releasedIndexes maps each image tag of ws under prefix to its index digest and platforms.
func releasedIndexes(t *testing.T, ws *lane.Workspace, prefix string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, c := range ws.Manifest.Components {
		if c.Image == nil {
			continue
		}
		idx, digest := pullIndex(t, prefix+"/"+c.Image.Name+":"+c.Version)
		im, err := idx.IndexManifest()
		if err != nil {
			t.Fatal(err)
		}
		out[c.Name] = digest
		for _, d := range im.Manifests {
			out[c.Name+" "+d.Platform.String()] = d.Digest.String()
		}
	}
	return out
}

// TestTwoFreshClonesGiveTheSameIndexDigests: a release from one clone and a release of the same
// tag from a fresh clone (another checkout, file times of its own, nothing in the daemon, no
// memo, another registry) publish the same index digest for every image, and the same digest
// for each platform's image.
func TestTwoFreshClonesGiveTheSameIndexDigests(t *testing.T) {
	const project = "shipidx"
	d := testenv.RequireDocker(t)
	testenv.CleanupImages(t, d, project)
	ctx := t.Context()
	first := newReleaseRepo(t, project)
	first.env["SHIPLANE_CACHE"] = t.TempDir()
	if err := lane.TagRelease(ctx, first.config()); err != nil {
		t.Fatalf("tagRelease: %v\n%s", err, first.out)
	}
	if err := lane.ReleaseAll(ctx, first.config()); err != nil {
		t.Fatalf("releaseAll from the first clone: %v\n%s", err, first.out)
	}
	ws1, err := lane.Open(ctx, first.config())
	if err != nil {
		t.Fatal(err)
	}
	want := releasedIndexes(t, ws1, first.reg.Host()+"/rel")

	// The second machine: nothing built, nothing remembered, a clone of the tag made now.
	if err := testenv.RemoveImages(ctx, d, project); err != nil {
		t.Fatal(err)
	}
	second := newReleaseRepo(t, project)
	second.root = filepath.Join(t.TempDir(), "clone")
	tag := "v" + ws1.Manifest.Platform.Version
	gittest.Git(t, first.root, "clone", "-q", "--branch", tag, first.origin, second.root)
	second.origin = first.origin
	// GitHub hosts the first clone's origin: its git refs are the tags pushed there.
	second.gh = githubtest.NewFake(t, "shiplane/shiplane", githubtest.RequireToken(canary), githubtest.WithGitRepository(first.origin))
	second.env["GITHUB_API_URL"] = second.gh.URL()
	second.env["SHIPLANE_CACHE"] = t.TempDir()
	second.env["SIGNING_KEY"] = first.env["SIGNING_KEY"] // the clone commits the first one's public key
	if err := lane.ReleaseAll(ctx, second.config()); err != nil {
		t.Fatalf("releaseAll from the second clone: %v\n%s", err, second.out)
	}
	ws2, err := lane.Open(ctx, second.config())
	if err != nil {
		t.Fatal(err)
	}
	if ws2.Head.Hash != ws1.Head.Hash {
		t.Fatalf("the clones are at %s and %s, want the same commit", ws1.Head.Hash, ws2.Head.Hash)
	}
	got := releasedIndexes(t, ws2, second.reg.Host()+"/rel")
	if len(got) == 0 {
		t.Fatal("no image was released")
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: the first clone published %s, the second %s", k, w, got[k])
		}
	}
	if len(got) != len(want) {
		t.Errorf("the clones published %d and %d digests", len(want), len(got))
	}
}
