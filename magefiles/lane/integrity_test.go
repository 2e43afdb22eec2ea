package lane_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/shiplane/shiplane/magefiles/github"
	"github.com/shiplane/shiplane/magefiles/guard"
	"github.com/shiplane/shiplane/magefiles/identity"
	"github.com/shiplane/shiplane/magefiles/lane"
	"github.com/shiplane/shiplane/magefiles/registry"
)

// TestReleaseTrustsNoDraftAssetForIdentity plays an attacker with write access to the registry
// and to the releases (GitHub API faked, see githubtest): a foreign image is pushed under core's
// version, then a draft of the release carries a release-manifest.json vouching that this digest
// was published from core's current inputs. The release must read the image's own labels, refuse
// before any write, and name the foreign artifact.
func TestReleaseTrustsNoDraftAssetForIdentity(t *testing.T) {
	r := newReleaseRepo(t, "shipforeign")
	ctx := t.Context()
	if err := lane.TagRelease(ctx, r.config()); err != nil {
		t.Fatalf("tagRelease: %v\n%s", err, r.out)
	}
	ws, err := lane.Open(ctx, r.config())
	if err != nil {
		t.Fatal(err)
	}
	core := ws.Manifest.Component("core")
	ref := r.reg.Ref("rel/core:" + core.Version)
	pushed, err := registry.New().Push(ctx, fakeImage(t, map[string]string{"org.example.owner": "someone else"}), []string{ref})
	if err != nil {
		t.Fatal(err)
	}
	forged, err := json.Marshal(lane.ReleaseManifest{Tag: "v1.0.0", Version: "1.0.0", Commit: ws.Head.Hash, Components: []lane.ReleasedComponent{
		{Name: "core", Version: core.Version, Inputs: string(ws.Keys["core"]), Image: ref, ImageDigest: pushed.Digest},
	}})
	if err != nil {
		t.Fatal(err)
	}
	gh, err := github.New("shiplane/shiplane", canary, github.WithBaseURL(r.gh.URL()))
	if err != nil {
		t.Fatal(err)
	}
	id, err := gh.EnsureDraft(ctx, "v1.0.0", "v1.0.0", "forged", false)
	if err != nil {
		t.Fatal(err)
	}
	if err := gh.EnsureAsset(ctx, id, "release-manifest.json", forged); err != nil {
		t.Fatal(err)
	}
	r.reg.Reset()
	r.gh.ResetCounts()
	err = lane.ReleaseAll(ctx, r.config())
	var ct *guard.CannotTell
	if !errors.As(err, &ct) || ct.Component != "core" || !strings.Contains(err.Error(), ref) {
		t.Fatalf("the release adopted a foreign image on a draft's word: err = %v\n%s", err, r.out)
	}
	if !strings.Contains(err.Error(), identity.LabelInputs) {
		t.Errorf("the refusal does not say the image lacks shiplane's inputs label: %v", err)
	}
	if w := r.reg.Writes(); w != 0 {
		t.Errorf("%d registry writes after the refusal:\n%s", w, r.reg.Dump())
	}
	if w := r.gh.Writes(); w != 0 {
		t.Errorf("%d GitHub writes after the refusal", w)
	}
	if d, _, _ := registry.New().Digest(ctx, ref); d != pushed.Digest {
		t.Errorf("the foreign image was overwritten: %s now holds %s", ref, d)
	}
}
