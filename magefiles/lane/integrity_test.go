package lane_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/shiplane/shiplane/magefiles/git/gittest"
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

// withVerify replaces the release's verification goals and commits them, for the next tag.
func (r *releaseRepo) withVerify(t *testing.T, yaml string) {
	t.Helper()
	r.commit(t, map[string]string{"deploy/release.yaml": yaml}, "verification for the test")
}

// TestReleaseStopsWhenItsTagMovesMidRun: the release tag is deleted on the remote while the
// release runs (here by a verification goal, after the plan). The release checks the tag with
// ls-remote right before the first write that depends on it, stops there, says what moved, and
// pushes no component tag and no GitHub release.
func TestReleaseStopsWhenItsTagMovesMidRun(t *testing.T) {
	r := newReleaseRepo(t, "shipmoved")
	ctx := t.Context()
	r.withVerify(t, "verify:\n  - name: someone deletes the release tag\n    run: git push -q origin :refs/tags/v1.0.0\n")
	if err := lane.TagRelease(ctx, r.config()); err != nil {
		t.Fatalf("tagRelease: %v\n%s", err, r.out)
	}
	err := lane.ReleaseAll(ctx, r.config())
	var moved *guard.TagMoved
	if !errors.As(err, &moved) || moved.Tag != "v1.0.0" || moved.Now != "" {
		t.Fatalf("err = %v\n%s", err, r.out)
	}
	if !strings.Contains(err.Error(), "was deleted from the remote") {
		t.Errorf("the message does not say what moved: %v", err)
	}
	if tags := r.remoteTags(t); strings.Contains(tags, "/v") {
		t.Errorf("component tags were pushed after the release tag moved:\n%s", tags)
	}
	if rels := r.gh.Releases(); len(rels) != 0 {
		t.Errorf("a GitHub release was made after the release tag moved: %+v", rels)
	}
}

// TestVerificationThatEditsTheTreePublishesNothing: a verification goal that edits a service file
// leaves the work tree different from the commit; the release refuses to build or package from
// it, and writes nothing.
func TestVerificationThatEditsTheTreePublishesNothing(t *testing.T) {
	r := newReleaseRepo(t, "shipedit")
	ctx := t.Context()
	r.withVerify(t, "verify:\n  - name: go generate, say\n    run: echo '// generated' >> services/core/cmd/core/main.go\n")
	if err := lane.TagRelease(ctx, r.config()); err != nil {
		t.Fatalf("tagRelease: %v\n%s", err, r.out)
	}
	r.reg.Reset()
	err := lane.ReleaseAll(ctx, r.config())
	var changed *lane.VerificationChangedTreeError
	if !errors.As(err, &changed) || !strings.Contains(strings.Join(changed.Files, " "), "services/core/cmd/core/main.go") {
		t.Fatalf("err = %v\n%s", err, r.out)
	}
	if w := r.reg.Writes(); w != 0 || r.gh.Writes() != 0 {
		t.Errorf("writes after the tree changed: registry %d, GitHub %d\n%s", w, r.gh.Writes(), r.reg.Dump())
	}
}

// TestVerificationThatWritesAnIgnoredFilePublishesNothing: a verification goal that leaves a file
// git ignores in a folder the builds copy (a test binary, a profile) changes what would be built;
// the release refuses too.
func TestVerificationThatWritesAnIgnoredFilePublishesNothing(t *testing.T) {
	r := newReleaseRepo(t, "shipignored")
	ctx := t.Context()
	gittest.Write(t, r.root, map[string]string{".gitignore": "*.prof\n"})
	r.withVerify(t, "verify:\n  - name: profile\n    run: echo profile > services/core/cpu.prof\n")
	if err := lane.TagRelease(ctx, r.config()); err != nil {
		t.Fatalf("tagRelease: %v\n%s", err, r.out)
	}
	r.reg.Reset()
	err := lane.ReleaseAll(ctx, r.config())
	var changed *lane.VerificationChangedTreeError
	if !errors.As(err, &changed) || !strings.Contains(strings.Join(changed.Files, " "), "services/core/cpu.prof") {
		t.Fatalf("err = %v\n%s", err, r.out)
	}
	if w := r.reg.Writes(); w != 0 {
		t.Errorf("%d registry writes after the tree changed", w)
	}
}

// TestLocalComponentTagElsewhereIsNeverPushed: a local core/v<version> tag at another commit (say,
// left by an aborted attempt) is refused by its goal and never pushed; the release is not
// published, and the rest of the tags are.
func TestLocalComponentTagElsewhereIsNeverPushed(t *testing.T) {
	r := newReleaseRepo(t, "shiplocaltag")
	ctx := t.Context()
	ws, err := lane.Open(ctx, r.config())
	if err != nil {
		t.Fatal(err)
	}
	tag := lane.ComponentTag("core", ws.Manifest.Component("core").Version)
	gittest.Git(t, r.root, "tag", "-a", "-m", "stale", tag, "HEAD~1")
	if err := lane.TagRelease(ctx, r.config()); err != nil {
		t.Fatalf("tagRelease: %v\n%s", err, r.out)
	}
	err = lane.ReleaseAll(ctx, r.config())
	var te *guard.TagElsewhere
	if !errors.As(err, &te) || te.Tag != tag || te.Where != guard.Local || !strings.Contains(err.Error(), "git tag -d "+tag) {
		t.Fatalf("err = %v\n%s", err, r.out)
	}
	if tags := r.remoteTags(t); strings.Contains(tags, "refs/tags/"+tag+" ") {
		t.Errorf("the stale local tag was pushed:\n%s", tags)
	}
	for _, rel := range r.gh.Releases() {
		if !rel.Draft {
			t.Errorf("the release was published with a component tag missing: %+v", rel)
		}
	}
}

// TestGitHubActionsMasksEverySecretFirst: under GitHub Actions the release registers every secret
// (the token and its encoded forms) with ::add-mask:: before it prints anything else.
func TestGitHubActionsMasksEverySecretFirst(t *testing.T) {
	r := newReleaseRepo(t, "shipmask")
	r.env["GITHUB_ACTIONS"] = "true"
	var stdout strings.Builder
	cfg := r.config()
	cfg.Stdout = &stdout
	cfg.Progress = &stdout // one stream, to see what comes first
	if err := lane.ReleasePlan(t.Context(), cfg); err != nil && !strings.Contains(stdout.String(), "verdict") {
		t.Fatalf("releasePlan: %v\n%s", err, stdout.String())
	}
	out := stdout.String()
	// The masks come first, in one block: the token's, and each line of SIGNING_KEY's body.
	var masks []string
	for _, line := range strings.Split(out, "\n") {
		m, ok := strings.CutPrefix(line, "::add-mask::")
		if !ok {
			break
		}
		masks = append(masks, m)
	}
	if !slices.Contains(masks, canary) {
		t.Fatalf("the token's mask is not in the first block of lines:\n%s", out)
	}
	for _, line := range strings.Split(r.env["SIGNING_KEY"], "\n") {
		if line != "" && !strings.HasPrefix(line, "-----") && !slices.Contains(masks, line) {
			t.Errorf("SIGNING_KEY's line %.8s… is not masked first", line)
		}
	}
	if !strings.Contains(out, "::add-mask::"+base64.StdEncoding.EncodeToString([]byte(canary))+"\n") {
		t.Errorf("the token's base64 form is not registered:\n%s", out)
	}
	rest := out[strings.LastIndex(out, "::add-mask::"):]
	if strings.Contains(rest[strings.Index(rest, "\n"):], canary) {
		t.Errorf("the token appears after the masks:\n%s", out)
	}
}
