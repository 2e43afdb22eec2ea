package publish_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shiplane/shiplane/magefiles/github"
	"github.com/shiplane/shiplane/magefiles/github/githubtest"
	"github.com/shiplane/shiplane/magefiles/progress"
	"github.com/shiplane/shiplane/magefiles/publish"
)

const (
	relRepo   = "acme/shiplane"
	relToken  = "ghs_releaseTestToken0123456789"
	relTag    = "v1.0.0"
	relCommit = "0123456789abcdef0123456789abcdef01234567"
)

// releaseAssets are what the lane attaches: a chart, release-manifest.json, and SHA256SUMS over
// both.
func releaseAssets() []publish.Asset {
	chart := publish.Asset{Name: "core-1.2.0.tgz", Content: []byte("chart bytes of core 1.2.0")}
	manifest := publish.Asset{Name: "release-manifest.json", Content: []byte(`{"tag": "v1.0.0", "commit": "` + relCommit + `"}` + "\n")}
	var sums strings.Builder
	for _, a := range []publish.Asset{chart, manifest} {
		h := sha256.Sum256(a.Content)
		fmt.Fprintf(&sums, "%s  %s\n", hex.EncodeToString(h[:]), a.Name)
	}
	return []publish.Asset{chart, manifest, {Name: "SHA256SUMS", Content: []byte(sums.String())}}
}

type releaseEnv struct {
	f      *githubtest.Fake
	gh     *github.Client
	out    *progress.Buffer
	made   int // how often Assets ran
	assets []publish.Asset
}

func newReleaseEnv(t *testing.T, opts ...githubtest.Option) *releaseEnv {
	t.Helper()
	e := &releaseEnv{f: githubtest.NewFake(t, relRepo, append(opts, githubtest.RequireToken(relToken))...), out: &progress.Buffer{}, assets: releaseAssets()}
	gh, err := github.New(relRepo, relToken, github.WithBaseURL(e.f.URL()), github.WithProgress(e.out),
		github.WithRetry(github.RetryPolicy{Attempts: 3, Initial: time.Millisecond, Max: time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	e.gh = gh
	t.Cleanup(func() {
		if strings.Contains(e.out.String(), relToken) {
			t.Errorf("progress shows the token:\n%s", e.out.String())
		}
		if testing.Verbose() {
			t.Logf("progress:\n%s", e.out.String())
		}
	})
	return e
}

// goal is a fresh goal (as each run makes one), with hook as its BeforeWrite.
func (e *releaseEnv) goal(hook func(ctx context.Context, step string) error) *publish.ReleasePublished {
	return publish.NewReleasePublished(publish.ReleasePublished{
		Tag: relTag, Name: "Shiplane " + relTag, Body: "notes", Commit: relCommit,
		Assets: func(context.Context) ([]publish.Asset, error) {
			e.made++
			return e.assets, nil
		},
		BeforeWrite: hook,
	}, e.gh, e.out)
}

// run assesses, achieves when needed, and assesses again, as the engine does.
func (e *releaseEnv) run(t *testing.T, g *publish.ReleasePublished) error {
	t.Helper()
	st, err := g.Assess(t.Context())
	if err != nil {
		return err
	}
	if st.Achieved {
		return nil
	}
	if err := g.Achieve(t.Context()); err != nil {
		return err
	}
	st, err = g.Assess(t.Context())
	if err != nil {
		return err
	}
	if !st.Achieved {
		t.Fatalf("not achieved after achieving: %s", st.Detail)
	}
	return nil
}

// assertComplete checks the fake holds one published release for the tag, aimed at the commit,
// with exactly the assets.
func (e *releaseEnv) assertComplete(t *testing.T) githubtest.Release {
	t.Helper()
	var found []githubtest.Release
	for _, r := range e.f.Releases() {
		if r.Tag == relTag && !r.Draft {
			found = append(found, r)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d published releases for %s: %+v", len(found), relTag, e.f.Releases())
	}
	r := found[0]
	if r.TargetCommitish != relCommit || strings.Contains(r.Body, github.DraftMarker) || r.Body != "notes" {
		t.Fatalf("published release: target %q, body %q", r.TargetCommitish, r.Body)
	}
	var got []string
	for _, a := range r.Assets {
		got = append(got, a.Name)
		i := slices.IndexFunc(e.assets, func(w publish.Asset) bool { return w.Name == a.Name })
		if i < 0 || a.State != githubtest.StateUploaded || string(a.Content) != string(e.assets[i].Content) {
			t.Errorf("asset %s: state %s, content %q", a.Name, a.State, a.Content)
		}
	}
	if len(got) != len(e.assets) {
		t.Fatalf("assets %v, want %d", got, len(e.assets))
	}
	return r
}

// From nothing to a published, complete release aimed at the commit; a second run achieves
// nothing, and its assessment costs two GitHub requests (by-tag lookup, asset list): GitHub's
// digests spare the downloads.
func TestReleasePublishedSecondRunAchievesNothing(t *testing.T) {
	e := newReleaseEnv(t)
	if err := e.run(t, e.goal(nil)); err != nil {
		t.Fatal(err)
	}
	e.assertComplete(t)
	if e.made != 1 {
		t.Fatalf("Assets ran %d times in one run, want 1", e.made)
	}

	e.f.ResetCounts()
	g := e.goal(func(context.Context, string) error {
		t.Fatal("BeforeWrite called on a run with nothing to do")
		return nil
	})
	st, err := g.Assess(t.Context())
	if err != nil || !st.Achieved {
		t.Fatalf("second run: %+v, %v", st, err)
	}
	if n, w := e.f.Total(), e.f.Writes(); n != 2 || w != 0 {
		t.Fatalf("second run's assessment: %d requests (%+v), %d writes; want 2 and 0", n, e.f.Requests(), w)
	}
}

// Without digests (older GitHub Enterprise Server), each asset is downloaded to be hashed: two
// requests each (the API's redirect, the download).
func TestReleasePublishedAssessmentWithoutDigests(t *testing.T) {
	e := newReleaseEnv(t, githubtest.WithoutDigests())
	if err := e.run(t, e.goal(nil)); err != nil {
		t.Fatal(err)
	}
	e.f.ResetCounts()
	st, err := e.goal(nil).Assess(t.Context())
	if err != nil || !st.Achieved {
		t.Fatalf("%+v, %v", st, err)
	}
	if n, want := e.f.Total(), 2+2*len(e.assets); n != want {
		t.Fatalf("%d requests, want %d", n, want)
	}
}

// A draft aimed at the default branch (from an earlier run, or by hand) is aimed at the commit
// before it is published, so a missing tag is made at the commit.
func TestReleasePublishedAimsTheDraftAtTheCommit(t *testing.T) {
	e := newReleaseEnv(t)
	id := e.f.SeedRelease(githubtest.Release{Tag: relTag, Name: "Shiplane " + relTag, Body: "notes\n\n" + github.DraftMarker, Draft: true, TargetCommitish: "main"})
	if err := e.run(t, e.goal(nil)); err != nil {
		t.Fatal(err)
	}
	if r := e.assertComplete(t); r.ID != id {
		t.Fatalf("published release %d, want the draft %d", r.ID, id)
	}
}

// BeforeWrite runs before the draft, before publishing and after; failing at a step stops the
// goal with that error, and nothing after that point is written.
func TestBeforeWriteStopsTheGoal(t *testing.T) {
	var steps []string
	e := newReleaseEnv(t)
	if err := e.run(t, e.goal(func(_ context.Context, step string) error { steps = append(steps, step); return nil })); err != nil {
		t.Fatal(err)
	}
	if want := []string{publish.StepDraft, publish.StepPublish, publish.StepPublished}; !slices.Equal(steps, want) {
		t.Fatalf("steps %q, want %q", steps, want)
	}

	moved := errors.New("tag v1.0.0 now points at another commit")
	for _, step := range []string{publish.StepDraft, publish.StepPublish, publish.StepPublished} {
		t.Run(step, func(t *testing.T) {
			e := newReleaseEnv(t)
			err := e.run(t, e.goal(func(_ context.Context, s string) error {
				if s == step {
					return moved
				}
				return nil
			}))
			if !errors.Is(err, moved) || !strings.Contains(err.Error(), step) {
				t.Fatalf("err = %v; want the hook's error, naming the step", err)
			}
			rels := e.f.Releases()
			switch step {
			case publish.StepDraft:
				if e.f.Writes() != 0 || len(rels) != 0 {
					t.Fatalf("%d writes, releases %+v; want none", e.f.Writes(), rels)
				}
			case publish.StepPublish:
				if len(rels) != 1 || !rels[0].Draft || len(rels[0].Assets) != len(e.assets) {
					t.Fatalf("releases %+v; want one draft with its assets, unpublished", rels)
				}
				if e.f.Count(githubtest.RouteUpdateRelease) != 0 {
					t.Fatal("published after the hook refused")
				}
			case publish.StepPublished:
				e.assertComplete(t)
			}
		})
	}
}

// A draft left with a broken release-manifest.json, wrong sums, a different chart and an asset
// this release does not make is repaired: each replaced or removed with a progress line, never a
// parse error.
func TestBrokenDraftIsRepaired(t *testing.T) {
	for _, digests := range []bool{true, false} {
		t.Run(fmt.Sprintf("digests=%v", digests), func(t *testing.T) {
			var opts []githubtest.Option
			if !digests {
				opts = append(opts, githubtest.WithoutDigests())
			}
			e := newReleaseEnv(t, opts...)
			id := e.f.SeedRelease(githubtest.Release{Tag: relTag, Draft: true})
			good := e.assets[2].Content
			e.f.SeedAsset(id, githubtest.Asset{Name: "release-manifest.json", Content: []byte("{not json")})
			wrong := append([]byte(nil), good...)
			wrong[0] = map[bool]byte{true: 'e', false: 'f'}[wrong[0] == 'f'] // same size, one digit off
			e.f.SeedAsset(id, githubtest.Asset{Name: "SHA256SUMS", Content: wrong})
			e.f.SeedAsset(id, githubtest.Asset{Name: "core-1.2.0.tgz", Content: []byte("chart bytes of core 1.2.1")})
			e.f.SeedAsset(id, githubtest.Asset{Name: "core-1.1.0.tgz", Content: []byte("an older chart")})
			if err := e.run(t, e.goal(nil)); err != nil {
				t.Fatal(err)
			}
			if r := e.assertComplete(t); r.ID != id {
				t.Fatalf("published %d, want the draft %d", r.ID, id)
			}
			for _, want := range []string{
				"replacing asset release-manifest.json of draft release v1.0.0 of acme/shiplane: it has 9 bytes",
				"replacing asset SHA256SUMS of draft release v1.0.0 of acme/shiplane: its content differs",
				"replacing asset core-1.2.0.tgz of draft release v1.0.0 of acme/shiplane: its content differs",
				"deleting asset core-1.1.0.tgz (id ",
				"this release does not make it",
			} {
				if !strings.Contains(e.out.String(), want) {
					t.Errorf("progress does not say %q:\n%s", want, e.out.String())
				}
			}
		})
	}
}

// With several drafts for the tag, the goal completes shiplane's own and leaves the others.
func TestReleasePublishedUsesShiplanesDraft(t *testing.T) {
	e := newReleaseEnv(t)
	stray := e.f.SeedRelease(githubtest.Release{Tag: relTag, Name: "by hand", Draft: true})
	ours := e.f.SeedRelease(githubtest.Release{Tag: relTag, Name: "Shiplane " + relTag, Body: "notes\n\n" + github.DraftMarker, Draft: true})
	g := e.goal(nil)
	st, err := g.Assess(t.Context())
	if err != nil || st.Achieved || !strings.Contains(st.Detail, "1 other draft(s)") {
		t.Fatalf("assessment: %+v, %v", st, err)
	}
	if err := e.run(t, g); err != nil {
		t.Fatal(err)
	}
	if r := e.assertComplete(t); r.ID != ours {
		t.Fatalf("published %d, want shiplane's draft %d", r.ID, ours)
	}
	for _, r := range e.f.Releases() {
		if r.ID == stray && (!r.Draft || len(r.Assets) != 0) {
			t.Fatalf("the other draft was touched: %+v", r)
		}
	}
}

// A release published before all its assets were attached (a maintainer clicked Publish on the
// draft mid-run, or made it by hand) is not done: the run uploads what is missing, and publishes
// nothing again.
func TestPublishedReleaseMissingAssetsIsCompleted(t *testing.T) {
	e := newReleaseEnv(t)
	id := e.f.SeedRelease(githubtest.Release{Tag: relTag, Name: "Shiplane " + relTag, Body: "notes", TargetCommitish: relCommit})
	e.f.SeedAsset(id, githubtest.Asset{Name: e.assets[0].Name, Content: e.assets[0].Content})
	e.f.SeedAsset(id, githubtest.Asset{Name: "SHA256SUMS", State: githubtest.StateStarter, Content: []byte("cut")})
	g := e.goal(nil)
	st, err := g.Assess(t.Context())
	if err != nil || st.Achieved || !strings.Contains(st.Detail, "release-manifest.json") || !strings.Contains(st.Detail, "SHA256SUMS") {
		t.Fatalf("assessment: %+v, %v; want missing release-manifest.json and SHA256SUMS", st, err)
	}
	e.f.ResetCounts()
	if err := e.run(t, g); err != nil {
		t.Fatal(err)
	}
	e.assertComplete(t)
	if u, d, p := e.f.Count(githubtest.RouteUploadAsset), e.f.Count(githubtest.RouteDeleteAsset), e.f.Count(githubtest.RouteUpdateRelease); u != 2 || d != 1 || p != 0 {
		t.Fatalf("%d uploads, %d deletes, %d updates; want 2, 1 (the cut upload), 0", u, d, p)
	}
}

// A published release holding an asset this release does not make, or one that differs, fails
// the goal with the exact fix, and nothing is written.
func TestPublishedReleaseWithForeignOrDifferentAssetsFails(t *testing.T) {
	e := newReleaseEnv(t)
	id := e.f.SeedRelease(githubtest.Release{Tag: relTag, Body: "notes", TargetCommitish: relCommit})
	for _, a := range e.assets {
		content := a.Content
		if a.Name == "release-manifest.json" {
			content = []byte(strings.Replace(string(content), "v1.0.0", "v1.0.1", 1))
		}
		e.f.SeedAsset(id, githubtest.Asset{Name: a.Name, Content: content})
	}
	e.f.SeedAsset(id, githubtest.Asset{Name: "notes.txt", Content: []byte("by hand")})
	err := e.run(t, e.goal(func(context.Context, string) error { t.Fatal("BeforeWrite called"); return nil }))
	t.Log(err)
	var mm *publish.ReleaseMismatchError
	if !errors.As(err, &mm) || !slices.Equal(mm.Foreign, []string{"notes.txt"}) || len(mm.Differs) != 1 || mm.Differs[0].Name != "release-manifest.json" {
		t.Fatalf("err = %#v; want a *ReleaseMismatchError naming notes.txt and release-manifest.json", err)
	}
	for _, want := range []string{
		"published release v1.0.0 of acme/shiplane",
		"asset release-manifest.json differs from what this commit makes (its sha256 is ",
		"asset notes.txt is not one this release makes",
		"delete release-manifest.json, notes.txt from release v1.0.0",
		"gh release delete-asset v1.0.0 notes.txt --repo acme/shiplane --yes",
		"gh release delete-asset v1.0.0 release-manifest.json --repo acme/shiplane --yes",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q:\n%v", want, err)
		}
	}
	if e.f.Writes() != 0 {
		t.Fatalf("%d writes", e.f.Writes())
	}
}

// A published release known complete (here: by its own SHA256SUMS) is achieved without running
// Assets, which may read registries; one that is not known complete is checked asset by asset.
func TestCompleteSparesMakingTheAssets(t *testing.T) {
	e := newReleaseEnv(t)
	if err := e.run(t, e.goal(nil)); err != nil {
		t.Fatal(err)
	}
	sums := e.assets[2].Content
	for _, tc := range []struct {
		name     string
		complete bool
		made     int
	}{{"known complete", true, 0}, {"not known", false, 1}} {
		t.Run(tc.name, func(t *testing.T) {
			e.made = 0
			g := e.goal(nil)
			g.Complete = func(_ context.Context, d github.ReleaseDetail) (bool, error) {
				if !publish.SumsMatch(d, "SHA256SUMS", sums) {
					t.Errorf("SumsMatch false on the release the goal made: %+v", d)
				}
				return tc.complete, nil
			}
			st, err := g.Assess(t.Context())
			if err != nil || !st.Achieved || e.made != tc.made {
				t.Fatalf("%+v, %v, Assets ran %d times; want achieved, %d", st, err, e.made, tc.made)
			}
		})
	}
}

func TestSumsMatch(t *testing.T) {
	digest := func(s string) string { h := sha256.Sum256([]byte(s)); return "sha256:" + hex.EncodeToString(h[:]) }
	hexOf := func(s string) string { return strings.TrimPrefix(digest(s), "sha256:") }
	asset := func(name, content string) github.AssetDetail {
		return github.AssetDetail{Name: name, State: "uploaded", Size: int64(len(content)), Digest: digest(content)}
	}
	sums := hexOf("a") + "  a.tgz\n" + hexOf("m") + "  release-manifest.json\n"
	whole := []github.AssetDetail{asset("a.tgz", "a"), asset("release-manifest.json", "m"), asset("SHA256SUMS", sums)}
	for _, tc := range []struct {
		name   string
		assets []github.AssetDetail
		sums   string
		want   bool
	}{
		{"whole", whole, sums, true},
		{"no SHA256SUMS", whole[:2], sums, false},
		{"an asset missing", []github.AssetDetail{whole[0], whole[2]}, sums, false},
		{"a foreign asset", append(slices.Clone(whole), asset("notes.txt", "n")), sums, false},
		{"an asset differs", []github.AssetDetail{asset("a.tgz", "b"), whole[1], whole[2]}, sums, false},
		{"no digest", []github.AssetDetail{{Name: "a.tgz", State: "uploaded", Size: 1}, whole[1], whole[2]}, sums, false},
		{"incomplete", []github.AssetDetail{{Name: "a.tgz", State: "starter", Digest: digest("a")}, whole[1], whole[2]}, sums, false},
		{"unreadable sums", whole, "{not sums", false},
	} {
		if got := publish.SumsMatch(github.ReleaseDetail{Present: true, Assets: tc.assets}, "SHA256SUMS", []byte(tc.sums)); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
