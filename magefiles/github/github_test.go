package github_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	gh "github.com/google/go-github/v89/github"

	"github.com/shiplane/shiplane/magefiles/github"
	"github.com/shiplane/shiplane/magefiles/github/githubtest"
	"github.com/shiplane/shiplane/magefiles/httpretry"
	"github.com/shiplane/shiplane/magefiles/progress"
	"github.com/shiplane/shiplane/magefiles/published"
)

const (
	repo = "acme/shiplane"
	// canary is the token every test uses; no error or progress line may ever show it.
	canary = "ghp_CANARYcanary0123456789TOKENtoken42"
)

// fast retries like DefaultRetry, without the waiting.
var fast = github.RetryPolicy{Attempts: 4, Initial: time.Millisecond, Max: 2 * time.Second}

// secretForms are the shapes the canary could leak in.
func secretForms(tok string) []string {
	return []string{
		tok,
		base64.StdEncoding.EncodeToString([]byte(tok)),
		base64.RawURLEncoding.EncodeToString([]byte(tok)),
		base64.StdEncoding.EncodeToString([]byte("x-access-token:" + tok)),
	}
}

func assertNoSecret(t *testing.T, what, s string) {
	t.Helper()
	for _, form := range secretForms(canary) {
		if strings.Contains(s, form) {
			t.Errorf("%s shows the token (%q):\n%s", what, form, s)
		}
	}
}

// assertErrNoSecret checks every way an error may be printed, and the go-github error inside.
func assertErrNoSecret(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	assertNoSecret(t, "error", fmt.Sprintf("%v | %+v | %s | %q", err, err, err, err))
	var er *gh.ErrorResponse
	if errors.As(err, &er) {
		assertNoSecret(t, "go-github error", er.Error()+er.Message+fmt.Sprintf("%+v", *er))
		if er.Response != nil {
			if er.Response.Request != nil {
				assertNoSecret(t, "request header", fmt.Sprint(er.Response.Request.Header))
				assertNoSecret(t, "request URL", er.Response.Request.URL.String())
			}
			if er.Response.Body != nil {
				b, _ := io.ReadAll(er.Response.Body)
				assertNoSecret(t, "answer body", string(b))
			}
		}
	}
}

// newClient returns a client of f with the canary token whose progress output is checked for the
// token when the test ends.
func newClient(t *testing.T, f *githubtest.Fake, opts ...github.Option) *github.Client {
	t.Helper()
	return newClientFor(t, repo, canary, f.URL(), opts...)
}

func newClientFor(t *testing.T, repo, token, base string, opts ...github.Option) *github.Client {
	t.Helper()
	progress := &progress.Buffer{}
	all := append([]github.Option{github.WithBaseURL(base), github.WithRetry(fast), github.WithProgress(progress)}, opts...)
	c, err := github.New(repo, token, all...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		assertNoSecret(t, "progress output", progress.String())
		if testing.Verbose() {
			t.Logf("progress:\n%s", progress.String())
		}
		assertNoSecret(t, "client printed with %+v/%#v", fmt.Sprintf("%+v %#v", c, c))
	})
	return c
}

type content struct {
	a, b []byte
	path string // b, on disk
}

func makeContent(t *testing.T) content {
	t.Helper()
	c := content{a: []byte("shiplane checksums\n"), b: bytes.Repeat([]byte("tarball bytes "), 4096)}
	c.path = filepath.Join(t.TempDir(), "b.tar.gz")
	if err := os.WriteFile(c.path, c.b, 0o644); err != nil {
		t.Fatal(err)
	}
	return c
}

// sequence is the publish a goal runs: draft, assets, publish.
func sequence(ctx context.Context, c *github.Client, tag string, prerelease bool, in content) (int64, error) {
	id, err := c.EnsureDraft(ctx, tag, "Shiplane "+tag, "notes for "+tag, prerelease)
	if err != nil {
		return 0, err
	}
	if err := c.EnsureAsset(ctx, id, "checksums.txt", in.a); err != nil {
		return id, err
	}
	if err := c.EnsureAssetFile(ctx, id, "shiplane.tar.gz", in.path); err != nil {
		return id, err
	}
	return id, c.Publish(ctx, id)
}

// assertPublishedOnce checks the fake holds exactly one release for tag, published, with each
// asset once, complete, with the right content.
func assertPublishedOnce(t *testing.T, f *githubtest.Fake, tag string, in content) githubtest.Release {
	t.Helper()
	var found []githubtest.Release
	for _, r := range f.Releases() {
		if r.Tag == tag {
			found = append(found, r)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d releases for %s, want 1: %+v", len(found), tag, found)
	}
	r := found[0]
	if r.Draft {
		t.Fatalf("release %s is still a draft", tag)
	}
	want := map[string][]byte{"checksums.txt": in.a, "shiplane.tar.gz": in.b}
	if len(r.Assets) != len(want) {
		t.Fatalf("release %s has %d assets, want %d: %+v", tag, len(r.Assets), len(want), names(r.Assets))
	}
	for _, a := range r.Assets {
		w, ok := want[a.Name]
		if !ok {
			t.Fatalf("unexpected asset %s", a.Name)
		}
		delete(want, a.Name)
		if a.State != githubtest.StateUploaded || a.Size != int64(len(w)) || !bytes.Equal(a.Content, w) {
			t.Fatalf("asset %s: state %s, %d bytes, content ok %v", a.Name, a.State, a.Size, bytes.Equal(a.Content, w))
		}
	}
	return r
}

func names(as []githubtest.Asset) []string {
	var out []string
	for _, a := range as {
		out = append(out, a.Name+"("+a.State+")")
	}
	return out
}

func TestPublishSequence(t *testing.T) {
	ctx := t.Context()
	f := githubtest.NewFake(t, repo, githubtest.RequireToken(canary))
	c := newClient(t, f)
	in := makeContent(t)

	if r, err := c.Release(ctx, "v1.2.0"); err != nil || r.Present {
		t.Fatalf("before: %+v, %v; want absent", r, err)
	}
	id, err := c.EnsureDraft(ctx, "v1.2.0", "Shiplane v1.2.0", "notes", false)
	if err != nil {
		t.Fatal(err)
	}
	if r, err := c.Release(ctx, "v1.2.0"); err != nil || !r.Present || !r.Draft || len(r.Assets) != 0 {
		t.Fatalf("after EnsureDraft: %+v, %v; want a present draft", r, err)
	}
	if _, err := sequence(ctx, c, "v1.2.0", false, in); err != nil {
		t.Fatal(err)
	}
	r, err := c.Release(ctx, "v1.2.0")
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(r.Assets)
	if !r.Present || r.Draft || !slices.Equal(r.Assets, []string{"checksums.txt", "shiplane.tar.gz"}) {
		t.Fatalf("after publishing: %+v", r)
	}
	d, err := c.ReleaseDetail(ctx, "v1.2.0")
	if err != nil {
		t.Fatal(err)
	}
	if d.ID != id || d.Prerelease || d.Name != "Shiplane v1.2.0" || d.Body != "notes for v1.2.0" {
		t.Fatalf("detail: %+v", d)
	}
	if a, ok := d.Asset("shiplane.tar.gz"); !ok || a.Size != int64(len(in.b)) || !a.Uploaded() || !strings.HasPrefix(a.Digest, "sha256:") {
		t.Fatalf("asset detail: %+v", a)
	}
	rel := assertPublishedOnce(t, f, "v1.2.0", in)
	if rel.Prerelease || rel.MakeLatest != "legacy" {
		t.Fatalf("prerelease %v, make_latest %q; want false, legacy", rel.Prerelease, rel.MakeLatest)
	}
	if n := f.Count(githubtest.RouteCreateRelease); n != 1 {
		t.Fatalf("%d creates, want 1", n)
	}
}

func TestRerunWritesNothing(t *testing.T) {
	for _, digests := range []bool{true, false} {
		t.Run(fmt.Sprintf("digests=%v", digests), func(t *testing.T) {
			ctx := t.Context()
			var opts []githubtest.Option
			if !digests {
				opts = append(opts, githubtest.WithoutDigests())
			}
			f := githubtest.NewFake(t, repo, opts...)
			c := newClient(t, f)
			in := makeContent(t)

			// A draft with its assets, assessed again.
			id, err := c.EnsureDraft(ctx, "v2.0.0", "Shiplane v2.0.0", "notes for v2.0.0", false)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.EnsureAsset(ctx, id, "checksums.txt", in.a); err != nil {
				t.Fatal(err)
			}
			f.ResetCounts()
			if again, err := c.EnsureDraft(ctx, "v2.0.0", "Shiplane v2.0.0", "notes for v2.0.0", false); err != nil || again != id {
				t.Fatalf("EnsureDraft again: %d, %v; want %d", again, err, id)
			}
			if err := c.EnsureAsset(ctx, id, "checksums.txt", in.a); err != nil {
				t.Fatal(err)
			}
			if n := f.Writes(); n != 0 {
				t.Fatalf("re-ensuring the draft and its asset made %d writes: %+v", n, f.Requests())
			}

			// The whole sequence, twice.
			if _, err := sequence(ctx, c, "v2.0.0", false, in); err != nil {
				t.Fatal(err)
			}
			f.ResetCounts()
			if again, err := sequence(ctx, c, "v2.0.0", false, in); err != nil || again != id {
				t.Fatalf("second run: %d, %v", again, err)
			}
			if n := f.Writes(); n != 0 {
				t.Fatalf("second run made %d writes: %+v", n, f.Requests())
			}
			downloads := f.Count(githubtest.RouteDownload)
			if digests && downloads != 0 {
				t.Fatalf("%d downloads with digests available, want 0", downloads)
			}
			if !digests && downloads != 2 {
				t.Fatalf("%d downloads without digests, want 2 (one per asset)", downloads)
			}
			assertPublishedOnce(t, f, "v2.0.0", in)
		})
	}
}

func TestCrashMidPublishThenRerun(t *testing.T) {
	for _, digests := range []bool{true, false} {
		t.Run(fmt.Sprintf("digests=%v", digests), func(t *testing.T) {
			ctx := t.Context()
			var opts []githubtest.Option
			if !digests {
				opts = append(opts, githubtest.WithoutDigests())
			}
			f := githubtest.NewFake(t, repo, append(opts, githubtest.RequireToken(canary))...)
			in := makeContent(t)

			// First run: no retries, so the cut connection ends it like a crash would.
			crashy := newClient(t, f, github.WithRetry(github.RetryPolicy{Attempts: 1}))
			id, err := crashy.EnsureDraft(ctx, "v3.0.0", "Shiplane v3.0.0", "notes for v3.0.0", false)
			if err != nil {
				t.Fatal(err)
			}
			if err := crashy.EnsureAsset(ctx, id, "checksums.txt", in.a); err != nil {
				t.Fatal(err)
			}
			f.Inject(githubtest.Fault{Route: githubtest.RouteUploadAsset, Drop: true})
			if err := crashy.EnsureAssetFile(ctx, id, "shiplane.tar.gz", in.path); err == nil {
				t.Fatal("the cut upload succeeded")
			} else {
				assertErrNoSecret(t, err)
			}
			rels := f.Releases()
			if len(rels) != 1 || !rels[0].Draft || len(rels[0].Assets) != 2 || rels[0].Assets[1].State != githubtest.StateStarter {
				t.Fatalf("after the crash: %+v", rels)
			}

			// What the assessment sees: a draft, with only the complete asset.
			if r, err := crashy.Release(ctx, "v3.0.0"); err != nil || !r.Present || !r.Draft || !slices.Equal(r.Assets, []string{"checksums.txt"}) {
				t.Fatalf("assessing after the crash: %+v, %v", r, err)
			}

			// Second run, from scratch.
			f.ResetCounts()
			c := newClient(t, f)
			again, err := sequence(ctx, c, "v3.0.0", false, in)
			if err != nil {
				t.Fatal(err)
			}
			if again != id {
				t.Fatalf("rerun used release %d, want %d", again, id)
			}
			assertPublishedOnce(t, f, "v3.0.0", in)
			if n := f.Count(githubtest.RouteCreateRelease); n != 0 {
				t.Fatalf("rerun created %d releases", n)
			}
			if d, u := f.Count(githubtest.RouteDeleteAsset), f.Count(githubtest.RouteUploadAsset); d != 1 || u != 1 {
				t.Fatalf("rerun deleted %d and uploaded %d assets, want 1 and 1", d, u)
			}
		})
	}
}

func TestCreateWhoseAnswerIsLostIsNotRepeated(t *testing.T) {
	ctx := t.Context()
	f := githubtest.NewFake(t, repo)
	c := newClient(t, f)
	// The gateway times out after GitHub created the draft.
	f.Inject(githubtest.Fault{Route: githubtest.RouteCreateRelease, Status: http.StatusGatewayTimeout, Apply: true})
	id, err := c.EnsureDraft(ctx, "v4.0.0", "", "", false)
	if err != nil {
		t.Fatal(err)
	}
	rels := f.Releases()
	if len(rels) != 1 || rels[0].ID != id || f.Count(githubtest.RouteCreateRelease) != 1 {
		t.Fatalf("releases %+v after %d creates; want one, created once", rels, f.Count(githubtest.RouteCreateRelease))
	}
	if rels[0].Name != "v4.0.0" {
		t.Fatalf("name %q, want the tag", rels[0].Name)
	}

	// The connection drops before GitHub acts: looked again, then created.
	f.Inject(githubtest.Fault{Route: githubtest.RouteCreateRelease, Drop: true})
	id5, err := c.EnsureDraft(ctx, "v5.0.0", "", "", false)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range f.Releases() {
		if r.Tag == "v5.0.0" {
			n++
			if r.ID != id5 {
				t.Fatalf("EnsureDraft returned %d, the release is %d", id5, r.ID)
			}
		}
	}
	if n != 1 {
		t.Fatalf("%d releases for v5.0.0, want 1", n)
	}
}

func TestExistingDraftsAreReusedAndAligned(t *testing.T) {
	ctx := t.Context()
	f := githubtest.NewFake(t, repo)
	c := newClient(t, f)
	older := f.SeedRelease(githubtest.Release{Tag: "v6.0.0", Name: "old", Body: "old", Draft: true})
	f.SeedRelease(githubtest.Release{Tag: "v6.0.0", Name: "newer", Draft: true})

	id, err := c.EnsureDraft(ctx, "v6.0.0", "Shiplane v6.0.0", "notes", true)
	if err != nil || id != older {
		t.Fatalf("EnsureDraft: %d, %v; want the oldest draft %d", id, err, older)
	}
	if f.Count(githubtest.RouteCreateRelease) != 0 || f.Count(githubtest.RouteUpdateRelease) != 1 {
		t.Fatalf("creates %d, updates %d; want 0 and 1", f.Count(githubtest.RouteCreateRelease), f.Count(githubtest.RouteUpdateRelease))
	}
	for _, r := range f.Releases() {
		if r.ID == older && (r.Name != "Shiplane v6.0.0" || r.Body != "notes\n\n"+github.DraftMarker || !r.Prerelease || !r.Draft) {
			t.Fatalf("draft not aligned: %+v", r)
		}
	}
	f.ResetCounts()
	if _, err := c.EnsureDraft(ctx, "v6.0.0", "Shiplane v6.0.0", "notes", true); err != nil || f.Writes() != 0 {
		t.Fatalf("aligned draft ensured again: %v, %d writes", err, f.Writes())
	}
}

func TestIncompleteOrDifferentAssetsAreReplaced(t *testing.T) {
	for _, digests := range []bool{true, false} {
		t.Run(fmt.Sprintf("digests=%v", digests), func(t *testing.T) {
			ctx := t.Context()
			var opts []githubtest.Option
			if !digests {
				opts = append(opts, githubtest.WithoutDigests())
			}
			f := githubtest.NewFake(t, repo, opts...)
			c := newClient(t, f)
			id := f.SeedRelease(githubtest.Release{Tag: "v7.0.0", Draft: true})
			want := []byte("the right content")
			f.SeedAsset(id, githubtest.Asset{Name: "starter.bin", State: "starter", Content: want[:5]})
			f.SeedAsset(id, githubtest.Asset{Name: "new.bin", State: "new", Size: int64(len(want)), Content: want})
			f.SeedAsset(id, githubtest.Asset{Name: "short.bin", Content: want[:3]})
			f.SeedAsset(id, githubtest.Asset{Name: "same-size.bin", Content: []byte("the wrong content")})
			f.SeedAsset(id, githubtest.Asset{Name: "good.bin", Content: want})
			for _, n := range []string{"starter.bin", "new.bin", "short.bin", "same-size.bin", "good.bin"} {
				if err := c.EnsureAsset(ctx, id, n, want); err != nil {
					t.Fatalf("%s: %v", n, err)
				}
			}
			rel := f.Releases()[0]
			if len(rel.Assets) != 5 {
				t.Fatalf("assets %v, want 5", names(rel.Assets))
			}
			for _, a := range rel.Assets {
				if a.State != githubtest.StateUploaded || !bytes.Equal(a.Content, want) {
					t.Fatalf("asset %s: %s %q", a.Name, a.State, a.Content)
				}
			}
			if d, u := f.Count(githubtest.RouteDeleteAsset), f.Count(githubtest.RouteUploadAsset); d != 4 || u != 4 {
				t.Fatalf("deleted %d, uploaded %d; want 4 and 4", d, u)
			}
		})
	}
}

func TestPublishedReleaseIsNeverChanged(t *testing.T) {
	ctx := t.Context()
	f := githubtest.NewFake(t, repo)
	c := newClient(t, f)
	in := makeContent(t)
	id, err := sequence(ctx, c, "v8.0.0", false, in)
	if err != nil {
		t.Fatal(err)
	}
	f.ResetCounts()
	if err := c.EnsureAsset(ctx, id, "checksums.txt", []byte("other")); !errors.Is(err, github.ErrPublished) {
		t.Fatalf("changing an asset of a published release: %v, want ErrPublished", err)
	}
	if again, err := c.EnsureDraft(ctx, "v8.0.0", "other name", "other notes", true); err != nil || again != id {
		t.Fatalf("EnsureDraft on a published tag: %d, %v; want %d", again, err, id)
	}
	if err := c.PruneAssets(ctx, id, []string{"checksums.txt"}); !errors.Is(err, github.ErrPublished) {
		t.Fatalf("pruning a published release: %v, want ErrPublished", err)
	}
	if n := f.Writes(); n != 0 {
		t.Fatalf("%d writes to a published release", n)
	}
	assertPublishedOnce(t, f, "v8.0.0", in)
}

func TestPrereleaseFlagIsKept(t *testing.T) {
	ctx := t.Context()
	f := githubtest.NewFake(t, repo)
	c := newClient(t, f)
	in := makeContent(t)
	// The lane decides: 1.3.0-rc.1 is a prerelease.
	if _, err := sequence(ctx, c, "v1.3.0-rc.1", true, in); err != nil {
		t.Fatal(err)
	}
	rel := assertPublishedOnce(t, f, "v1.3.0-rc.1", in)
	if !rel.Prerelease || rel.MakeLatest != "false" {
		t.Fatalf("prerelease %v, make_latest %q; want true, false", rel.Prerelease, rel.MakeLatest)
	}
	d, err := c.ReleaseDetail(ctx, "v1.3.0-rc.1")
	if err != nil || !d.Present || d.Draft || !d.Prerelease {
		t.Fatalf("detail: %+v, %v", d, err)
	}

	latest := newClient(t, f, github.WithMakeLatest("true"))
	if _, err := sequence(ctx, latest, "v1.3.0", false, in); err != nil {
		t.Fatal(err)
	}
	if rel := assertPublishedOnce(t, f, "v1.3.0", in); rel.Prerelease || rel.MakeLatest != "true" {
		t.Fatalf("prerelease %v, make_latest %q; want false, true", rel.Prerelease, rel.MakeLatest)
	}
	if _, err := github.New(repo, canary, github.WithMakeLatest("always")); err == nil {
		t.Fatal("make_latest \"always\" accepted")
	}
}

func TestTransientFailuresAreRetried(t *testing.T) {
	ctx := t.Context()
	f := githubtest.NewFake(t, repo, githubtest.RequireToken(canary))
	c := newClient(t, f)
	in := makeContent(t)
	for _, r := range []string{
		githubtest.RouteGetReleaseByTag, githubtest.RouteListReleases, githubtest.RouteCreateRelease,
		githubtest.RouteGetRelease, githubtest.RouteListAssets, githubtest.RouteUploadAsset,
		githubtest.RouteUpdateRelease,
	} {
		f.Inject(githubtest.Fault{Route: r, Times: 2, Status: http.StatusBadGateway})
	}
	if _, err := sequence(ctx, c, "v9.0.0", false, in); err != nil {
		t.Fatal(err)
	}
	assertPublishedOnce(t, f, "v9.0.0", in)
	if n := f.Count(githubtest.RouteCreateRelease); n != 3 {
		t.Fatalf("%d creates, want 3 (two 502s, then success)", n)
	}
}

func TestUnauthorizedStopsAtOnce(t *testing.T) {
	ctx := t.Context()
	f := githubtest.NewFake(t, repo, githubtest.RequireToken("the-right-token"))
	c := newClient(t, f)

	_, err := c.Release(ctx, "v1.0.0")
	var auth *github.AuthError
	if !errors.As(err, &auth) || auth.Status != http.StatusUnauthorized {
		t.Fatalf("Release with a wrong token: %v, want *AuthError 401", err)
	}
	if !errors.Is(err, published.ErrUnknown) {
		t.Fatalf("a refused lookup is not unknown: %v", err)
	}
	for _, want := range []string{"GITHUB_TOKEN", `"contents: write"`, "GITHUB_REPOSITORY=" + repo, "Bad credentials"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	assertErrNoSecret(t, err)
	if n := f.Total(); n != 1 {
		t.Fatalf("%d requests, want 1: a 401 is not retried", n)
	}

	f.ResetCounts()
	if _, err := c.EnsureDraft(ctx, "v1.0.0", "", "", false); !errors.As(err, &auth) {
		t.Fatalf("EnsureDraft with a wrong token: %v, want *AuthError", err)
	}
	if f.Total() != 1 || f.Writes() != 0 {
		t.Fatalf("%d requests, %d writes; want 1 and 0", f.Total(), f.Writes())
	}

	// A token that may read but not write: 403 on the create, not retried.
	g := githubtest.NewFake(t, repo)
	g.Inject(githubtest.Fault{Route: githubtest.RouteCreateRelease, Status: http.StatusForbidden, Message: "Resource not accessible by integration"})
	_, err = newClient(t, g).EnsureDraft(ctx, "v1.0.0", "", "", false)
	if !errors.As(err, &auth) || auth.Status != http.StatusForbidden || !strings.Contains(err.Error(), "Resource not accessible by integration") {
		t.Fatalf("EnsureDraft refused: %v, want *AuthError 403", err)
	}
	if n := g.Count(githubtest.RouteCreateRelease); n != 1 {
		t.Fatalf("%d creates, want 1", n)
	}
	assertErrNoSecret(t, err)
}

func TestLookupThatCannotBeAnsweredIsUnknown(t *testing.T) {
	ctx := t.Context()
	t.Run("500 until retries run out", func(t *testing.T) {
		f := githubtest.NewFake(t, repo)
		f.Inject(githubtest.Fault{Route: githubtest.RouteGetReleaseByTag, Times: -1, Status: http.StatusInternalServerError})
		r, err := newClient(t, f).Release(ctx, "v1.0.0")
		var unknown *published.UnknownError
		if !errors.Is(err, published.ErrUnknown) || !errors.As(err, &unknown) || r.Present {
			t.Fatalf("Release: %+v, %v; want an UnknownError", r, err)
		}
		if n := f.Count(githubtest.RouteGetReleaseByTag); n != fast.Attempts {
			t.Fatalf("%d lookups, want %d", n, fast.Attempts)
		}
		assertErrNoSecret(t, err)
	})
	t.Run("draft listing fails", func(t *testing.T) {
		f := githubtest.NewFake(t, repo)
		f.Inject(githubtest.Fault{Route: githubtest.RouteListReleases, Times: -1, Status: http.StatusServiceUnavailable})
		if _, err := newClient(t, f).Release(ctx, "v1.0.0"); !errors.Is(err, published.ErrUnknown) {
			t.Fatalf("Release: %v; want unknown", err)
		}
	})
	t.Run("timeouts", func(t *testing.T) {
		f := githubtest.NewFake(t, repo)
		f.Inject(githubtest.Fault{Route: githubtest.RouteGetReleaseByTag, Times: -1, Delay: 5 * time.Second})
		c := newClient(t, f, github.WithAttemptTimeout(50*time.Millisecond))
		start := time.Now()
		_, err := c.Release(ctx, "v1.0.0")
		if !errors.Is(err, published.ErrUnknown) {
			t.Fatalf("Release: %v; want unknown", err)
		}
		if time.Since(start) > 3*time.Second {
			t.Fatalf("took %s", time.Since(start))
		}
		if n := f.Count(githubtest.RouteGetReleaseByTag); n != fast.Attempts {
			t.Fatalf("%d lookups, want %d", n, fast.Attempts)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		f := githubtest.NewFake(t, repo)
		c := newClient(t, f)
		f.Close()
		_, err := c.Release(ctx, "v1.0.0")
		if !errors.Is(err, published.ErrUnknown) {
			t.Fatalf("Release: %v; want unknown", err)
		}
		assertErrNoSecret(t, err)
	})
}

func TestMissingRepositoryIsNamed(t *testing.T) {
	ctx := t.Context()
	f := githubtest.NewFake(t, repo)
	c := newClientFor(t, "acme/missing", canary, f.URL())
	_, err := c.Release(ctx, "v1.0.0")
	var nf *github.RepoNotFoundError
	if !errors.As(err, &nf) || !errors.Is(err, published.ErrUnknown) || !strings.Contains(err.Error(), "GITHUB_REPOSITORY=acme/missing") {
		t.Fatalf("Release in a missing repository: %v", err)
	}
	if _, err := c.EnsureDraft(ctx, "v1.0.0", "", "", false); !errors.As(err, &nf) {
		t.Fatalf("EnsureDraft in a missing repository: %v", err)
	}
	if err := c.Publish(ctx, 1); !errors.As(err, &nf) {
		t.Fatalf("Publish in a missing repository: %v", err)
	}
	if f.Writes() != 0 {
		t.Fatalf("%d writes", f.Writes())
	}
	// In the right repository, a missing release is ErrReleaseNotFound.
	if err := newClient(t, f).Publish(ctx, 12345); !errors.Is(err, github.ErrReleaseNotFound) {
		t.Fatalf("Publish of a missing release: %v", err)
	}
}

func TestRateLimitsHonourRetryAfter(t *testing.T) {
	ctx := t.Context()
	policy := github.WithRetry(github.RetryPolicy{Attempts: 3, Initial: time.Millisecond, Max: 5 * time.Second})
	t.Run("429 Retry-After", func(t *testing.T) {
		f := githubtest.NewFake(t, repo)
		f.Inject(githubtest.Fault{Route: githubtest.RouteGetReleaseByTag, Status: http.StatusTooManyRequests, Header: map[string]string{"Retry-After": "1"}})
		start := time.Now()
		if _, err := newClient(t, f, policy).Release(ctx, "v1.0.0"); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d < 900*time.Millisecond {
			t.Fatalf("retried after %s, before Retry-After", d)
		}
		if n := f.Count(githubtest.RouteGetReleaseByTag); n != 2 {
			t.Fatalf("%d lookups, want 2", n)
		}
	})
	t.Run("secondary rate limit on a create", func(t *testing.T) {
		f := githubtest.NewFake(t, repo)
		f.Inject(githubtest.Fault{
			Route: githubtest.RouteCreateRelease, Status: http.StatusForbidden, Header: map[string]string{"Retry-After": "0"},
			Message:          "You have exceeded a secondary rate limit",
			DocumentationURL: "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api#about-secondary-rate-limits",
		})
		if _, err := newClient(t, f, policy).EnsureDraft(ctx, "v1.0.0", "", "", false); err != nil {
			t.Fatal(err)
		}
		if n, r := f.Count(githubtest.RouteCreateRelease), len(f.Releases()); n != 2 || r != 1 {
			t.Fatalf("%d creates, %d releases; want 2 and 1", n, r)
		}
	})
	t.Run("longer than we wait", func(t *testing.T) {
		f := githubtest.NewFake(t, repo)
		f.Inject(githubtest.Fault{Route: githubtest.RouteGetReleaseByTag, Status: http.StatusTooManyRequests, Header: map[string]string{"Retry-After": "3600"}})
		_, err := newClient(t, f, policy).Release(ctx, "v1.0.0")
		var tl *httpretry.RetryAfterTooLongError
		if !errors.Is(err, published.ErrUnknown) || !errors.As(err, &tl) || tl.Wait != time.Hour {
			t.Fatalf("Release: %v; want unknown, *httpretry.RetryAfterTooLongError naming the hour", err)
		}
		if n := f.Count(githubtest.RouteGetReleaseByTag); n != 1 {
			t.Fatalf("%d lookups, want 1", n)
		}
		assertErrNoSecret(t, err)
	})
	t.Run("longer than we wait, on a create", func(t *testing.T) {
		f := githubtest.NewFake(t, repo)
		f.Inject(githubtest.Fault{Route: githubtest.RouteCreateRelease, Status: http.StatusTooManyRequests, Header: map[string]string{"Retry-After": "3600"}})
		_, err := newClient(t, f, policy).EnsureDraft(ctx, "v1.0.0", "", "", false)
		if !errors.As(err, new(*httpretry.RetryAfterTooLongError)) {
			t.Fatalf("EnsureDraft: %v; want *httpretry.RetryAfterTooLongError", err)
		}
		if n := f.Count(githubtest.RouteCreateRelease); n != 1 {
			t.Fatalf("%d creates, want 1: the step is not redone early either", n)
		}
	})
}

func TestSecretsNeverPrinted(t *testing.T) {
	ctx := t.Context()
	leaky := "server said " + strings.Join(secretForms(canary), " and ")

	t.Run("echoed by the server", func(t *testing.T) {
		f := githubtest.NewFake(t, repo, githubtest.RequireToken(canary))
		c := newClient(t, f)
		for _, r := range []string{githubtest.RouteGetReleaseByTag, githubtest.RouteCreateRelease, githubtest.RouteUploadAsset} {
			f.Inject(githubtest.Fault{Route: r, Times: -1, Status: http.StatusUnprocessableEntity, Message: leaky, DocumentationURL: "https://docs.example/" + canary})
		}
		_, err := c.Release(ctx, "v1.0.0")
		if err == nil {
			t.Fatal("no error")
		}
		assertErrNoSecret(t, err)
		f.ClearFaults()
		f.Inject(githubtest.Fault{Route: githubtest.RouteCreateRelease, Times: -1, Status: http.StatusUnprocessableEntity, Message: leaky})
		f.Inject(githubtest.Fault{Route: githubtest.RouteUploadAsset, Times: -1, Status: http.StatusInternalServerError, Message: leaky})
		_, err = c.EnsureDraft(ctx, "v1.0.0", "", "", false)
		assertErrNoSecret(t, err)
		id := f.SeedRelease(githubtest.Release{Tag: "v1.0.0", Draft: true})
		err = c.EnsureAsset(ctx, id, "a.txt", []byte("a"))
		if err == nil {
			t.Fatal("no error")
		}
		assertErrNoSecret(t, err)
	})
	t.Run("refused", func(t *testing.T) {
		f := githubtest.NewFake(t, repo, githubtest.RequireToken("another"))
		f.Inject(githubtest.Fault{Route: githubtest.RouteGetReleaseByTag, Status: http.StatusUnauthorized, Message: leaky})
		_, err := newClient(t, f).Release(ctx, "v1.0.0")
		var auth *github.AuthError
		if !errors.As(err, &auth) {
			t.Fatalf("%v, want *AuthError", err)
		}
		assertErrNoSecret(t, err)
		assertErrNoSecret(t, auth)
		assertErrNoSecret(t, auth.Err)
	})
	t.Run("in the API URL", func(t *testing.T) {
		f := githubtest.NewFake(t, repo, githubtest.RequireToken(canary))
		withUser := strings.Replace(f.URL(), "http://", "http://x-access-token:"+canary+"@", 1)
		c := newClientFor(t, repo, canary, withUser)
		if _, err := c.EnsureDraft(ctx, "v1.0.0", "", "", false); err != nil {
			t.Fatal(err)
		}
		f.Inject(githubtest.Fault{Route: githubtest.RouteGetReleaseByTag, Times: -1, Status: http.StatusBadGateway})
		_, err := c.Release(ctx, "v1.0.0")
		if err == nil {
			t.Fatal("no error")
		}
		assertErrNoSecret(t, err)
		f.Close()
		_, err = c.Release(ctx, "v1.0.0")
		assertErrNoSecret(t, err)

		for _, bad := range []string{"http://u:" + canary + "@[::1", "ftp://u:" + canary + "@example.com/", "http://" + canary + "@/"} {
			_, err := github.New(repo, canary, github.WithBaseURL(bad))
			if err == nil {
				t.Fatalf("base URL %q accepted", strings.ReplaceAll(bad, canary, "TOKEN"))
			}
			assertErrNoSecret(t, err)
		}
	})
}

func TestEnterpriseServerURLs(t *testing.T) {
	ctx := t.Context()
	f := githubtest.NewFake(t, repo, githubtest.RequireToken(canary))
	// As GITHUB_API_URL gives it: no trailing slash.
	c := newClientFor(t, repo, canary, strings.TrimSuffix(f.EnterpriseURL(), "/"))
	in := makeContent(t)
	if _, err := sequence(ctx, c, "v1.0.0", false, in); err != nil {
		t.Fatal(err)
	}
	assertPublishedOnce(t, f, "v1.0.0", in)
	for _, r := range f.Requests() {
		want := "/api/v3/"
		switch r.Route {
		case githubtest.RouteUploadAsset:
			want = "/api/uploads/"
		case githubtest.RouteDownload:
			want = "/_fake/"
		}
		if !strings.HasPrefix(r.Path, want) {
			t.Errorf("%s went to %s, want under %s", r.Route, r.Path, want)
		}
	}
}

func TestDraftListingIsBounded(t *testing.T) {
	ctx := t.Context()
	f := githubtest.NewFake(t, repo, githubtest.WithMaxPerPage(2))
	draft := f.SeedRelease(githubtest.Release{Tag: "v0.9.0", Draft: true}) // the oldest: on the last page
	for i := range 5 {
		f.SeedRelease(githubtest.Release{Tag: fmt.Sprintf("v1.%d.0", i)})
	}
	d, err := newClient(t, f).ReleaseDetail(ctx, "v0.9.0")
	if err != nil || !d.Present || !d.Draft || d.ID != draft {
		t.Fatalf("draft on page 3: %+v, %v", d, err)
	}
	if r, err := newClient(t, f).Release(ctx, "v0.1.0"); err != nil || r.Present {
		t.Fatalf("a tag with no release: %+v, %v", r, err)
	}
	bounded := newClient(t, f, github.WithMaxListPages(2))
	_, err = bounded.Release(ctx, "v0.1.0")
	if !errors.Is(err, published.ErrUnknown) || !errors.Is(err, github.ErrListLimit) {
		t.Fatalf("beyond the list bound: %v; want unknown, ErrListLimit", err)
	}
	if _, err := bounded.EnsureDraft(ctx, "v0.1.0", "", "", false); !errors.Is(err, github.ErrListLimit) || f.Writes() != 0 {
		t.Fatalf("EnsureDraft beyond the list bound: %v, %d writes; want ErrListLimit and none", err, f.Writes())
	}
}

func TestInvalidInput(t *testing.T) {
	for _, bad := range []string{"", "acme", "acme/", "/shiplane", "acme/ship/lane", "acme/ship lane"} {
		if _, err := github.New(bad, canary); err == nil {
			t.Errorf("repository %q accepted", bad)
		}
	}
	f := githubtest.NewFake(t, repo)
	c := newClient(t, f)
	id := f.SeedRelease(githubtest.Release{Tag: "v1", Draft: true})
	for _, bad := range []string{"", "with space.txt", ".hidden", "a/b", "ünïcode"} {
		if err := c.EnsureAsset(t.Context(), id, bad, []byte("x")); !errors.Is(err, github.ErrInvalidAssetName) {
			t.Errorf("asset name %q: %v, want ErrInvalidAssetName", bad, err)
		}
	}
	if f.Total() != 0 {
		t.Fatalf("%d requests for invalid input", f.Total())
	}
}

func TestInterruptedUploadsRecoverWithinOneCall(t *testing.T) {
	ctx := t.Context()
	f := githubtest.NewFake(t, repo, githubtest.WithoutDigests())
	c := newClient(t, f)
	id := f.SeedRelease(githubtest.Release{Tag: "v1.0.0", Draft: true})
	data := bytes.Repeat([]byte("0123456789"), 10_000)

	// Cut mid-body: the "starter" asset left behind is deleted, the upload redone.
	f.Inject(githubtest.Fault{Route: githubtest.RouteUploadAsset, Drop: true, DropAfter: 1000})
	if err := c.EnsureAsset(ctx, id, "cut.bin", data); err != nil {
		t.Fatal(err)
	}
	// Completed, but the answer lost: found complete on looking again, not uploaded twice.
	f.Inject(githubtest.Fault{Route: githubtest.RouteUploadAsset, Status: http.StatusBadGateway, Apply: true})
	if err := c.EnsureAsset(ctx, id, "lost.bin", data); err != nil {
		t.Fatal(err)
	}
	rel := f.Releases()[0]
	if len(rel.Assets) != 2 {
		t.Fatalf("assets %v, want cut.bin and lost.bin once each", names(rel.Assets))
	}
	for _, a := range rel.Assets {
		if a.State != githubtest.StateUploaded || !bytes.Equal(a.Content, data) {
			t.Fatalf("asset %s: state %s, %d bytes", a.Name, a.State, len(a.Content))
		}
	}
	if u, d := f.Count(githubtest.RouteUploadAsset), f.Count(githubtest.RouteDeleteAsset); u != 3 || d != 1 {
		t.Fatalf("%d uploads, %d deletes; want 3 (cut, redone, lost answer) and 1", u, d)
	}
}

func TestTagWithSlash(t *testing.T) {
	ctx := t.Context()
	f := githubtest.NewFake(t, repo)
	c := newClient(t, f)
	in := makeContent(t)
	if _, err := sequence(ctx, c, "core/v1.2.0", false, in); err != nil {
		t.Fatal(err)
	}
	assertPublishedOnce(t, f, "core/v1.2.0", in)
	f.ResetCounts()
	if r, err := c.Release(ctx, "core/v1.2.0"); err != nil || !r.Present || r.Draft {
		t.Fatalf("Release: %+v, %v", r, err)
	}
	if f.Count(githubtest.RouteListReleases) != 0 {
		t.Fatal("a published release with a slash in its tag was not found by tag")
	}
}
