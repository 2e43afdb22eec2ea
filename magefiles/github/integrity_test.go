package github_test

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shiplane/shiplane/magefiles/github"
	"github.com/shiplane/shiplane/magefiles/github/githubtest"
	"github.com/shiplane/shiplane/magefiles/progress"
	"github.com/shiplane/shiplane/magefiles/published"
)

// Several drafts may carry one tag, and the by-tag lookup sees none of them: the client lists,
// picks shiplane's own (marked) draft whatever its age, and names the others.
func TestSeveralDraftsShiplanesIsChosenTheOthersReported(t *testing.T) {
	ctx := t.Context()
	f := githubtest.NewFake(t, repo, githubtest.RequireToken(canary))
	out := &progress.Buffer{}
	c := newClient(t, f, github.WithProgress(out))
	stray := f.SeedRelease(githubtest.Release{Tag: "v1.0.0", Name: "by hand", Draft: true})
	ours := f.SeedRelease(githubtest.Release{Tag: "v1.0.0", Name: "v1.0.0", Body: "notes\n\n" + github.DraftMarker, Draft: true})
	newer := f.SeedRelease(githubtest.Release{Tag: "v1.0.0", Name: "another", Draft: true})

	d, err := c.ReleaseDetail(ctx, "v1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	if !d.Present || !d.Draft || d.ID != ours || !d.Ours || d.Body != "notes" || d.Repo != repo {
		t.Fatalf("detail: %+v; want shiplane's draft %d, its notes without the marker", d, ours)
	}
	var others []int64
	for _, o := range d.OtherDrafts {
		others = append(others, o.ID)
	}
	if !slices.Equal(others, []int64{stray, newer}) {
		t.Fatalf("other drafts %v, want %v", others, []int64{stray, newer})
	}
	if f.Count(githubtest.RouteGetReleaseByTag) != 1 || f.Count(githubtest.RouteListReleases) != 1 {
		t.Fatalf("requests: %+v", f.Requests())
	}

	id, err := c.EnsureDraft(ctx, "v1.0.0", "v1.0.0", "notes", false)
	if err != nil || id != ours {
		t.Fatalf("EnsureDraft: %d, %v; want %d", id, err, ours)
	}
	if f.Writes() != 0 {
		t.Fatalf("%d writes reusing an aligned draft", f.Writes())
	}
	for _, want := range []string{fmt.Sprintf("using release %d", ours), "2 other draft(s)", fmt.Sprint(stray), fmt.Sprint(newer), "left alone"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("progress does not say %q:\n%s", want, out.String())
		}
	}
}

// Without a marked draft the oldest is used, and marked: a draft made later by hand does not
// take its place on the next run.
func TestAdoptedDraftStaysChosen(t *testing.T) {
	ctx := t.Context()
	f := githubtest.NewFake(t, repo)
	c := newClient(t, f)
	oldest := f.SeedRelease(githubtest.Release{Tag: "v2.0.0", Draft: true})
	f.SeedRelease(githubtest.Release{Tag: "v2.0.0", Draft: true})
	if id, err := c.EnsureDraft(ctx, "v2.0.0", "", "notes", false); err != nil || id != oldest {
		t.Fatalf("EnsureDraft: %d, %v; want the oldest, %d", id, err, oldest)
	}
	// Someone deletes nothing, but makes yet another draft, older IDs stay.
	f.SeedRelease(githubtest.Release{Tag: "v2.0.0", Draft: true})
	d, err := c.ReleaseDetail(ctx, "v2.0.0")
	if err != nil || d.ID != oldest || !d.Ours || len(d.OtherDrafts) != 2 {
		t.Fatalf("detail: %+v, %v", d, err)
	}
}

// The draft targets the commit being released, so that publishing creates a missing tag there
// and not at the default branch; a reused draft's target is aligned; a published one is left.
func TestDraftTargetsTheCommit(t *testing.T) {
	ctx := t.Context()
	const commit = "0123456789abcdef0123456789abcdef01234567"
	f := githubtest.NewFake(t, repo)
	c := newClient(t, f)

	id, err := c.EnsureDraftAt(ctx, github.Draft{Tag: "v1.0.0", Commit: commit, Body: "notes"})
	if err != nil {
		t.Fatal(err)
	}
	if r := f.Releases()[0]; r.ID != id || r.TargetCommitish != commit || !r.Draft || r.Name != "v1.0.0" {
		t.Fatalf("created: %+v; want target %s", r, commit)
	}
	d, err := c.ReleaseDetail(ctx, "v1.0.0")
	if err != nil || d.Target != commit {
		t.Fatalf("detail target %q, %v", d.Target, err)
	}

	// A draft from before (or by hand) aimed at the default branch.
	old := f.SeedRelease(githubtest.Release{Tag: "v2.0.0", Name: "v2.0.0", Body: "notes\n\n" + github.DraftMarker, Draft: true})
	f.ResetCounts()
	if got, err := c.EnsureDraftAt(ctx, github.Draft{Tag: "v2.0.0", Commit: commit, Body: "notes"}); err != nil || got != old {
		t.Fatalf("EnsureDraftAt: %d, %v", got, err)
	}
	if f.Count(githubtest.RouteUpdateRelease) != 1 || f.Count(githubtest.RouteCreateRelease) != 0 {
		t.Fatalf("requests %+v; want one update", f.Requests())
	}
	for _, r := range f.Releases() {
		if r.ID == old && r.TargetCommitish != commit {
			t.Fatalf("reused draft targets %q, want %s", r.TargetCommitish, commit)
		}
	}
	f.ResetCounts()
	if _, err := c.EnsureDraftAt(ctx, github.Draft{Tag: "v2.0.0", Commit: commit, Body: "notes"}); err != nil || f.Writes() != 0 {
		t.Fatalf("aligned draft ensured again: %v, %d writes", err, f.Writes())
	}

	// Publishing keeps the target and takes the marker out of the notes.
	if err := c.Publish(ctx, old); err != nil {
		t.Fatal(err)
	}
	for _, r := range f.Releases() {
		if r.ID == old && (r.Draft || r.TargetCommitish != commit || r.Body != "notes") {
			t.Fatalf("published: %+v", r)
		}
	}
	f.ResetCounts()
	if _, err := c.EnsureDraftAt(ctx, github.Draft{Tag: "v2.0.0", Commit: "fedcba9876543210fedcba9876543210fedcba98"}); err != nil || f.Writes() != 0 {
		t.Fatalf("EnsureDraftAt on a published release: %v, %d writes", err, f.Writes())
	}
}

// A draft carrying a broken release-manifest.json or SHA256SUMS (not JSON, wrong sums, same
// size or not) has them replaced, with a progress line naming the asset, the release and why.
func TestBrokenAssetsInADraftAreReplaced(t *testing.T) {
	for _, digests := range []bool{true, false} {
		t.Run(fmt.Sprintf("digests=%v", digests), func(t *testing.T) {
			ctx := t.Context()
			var opts []githubtest.Option
			if !digests {
				opts = append(opts, githubtest.WithoutDigests())
			}
			f := githubtest.NewFake(t, repo, opts...)
			out := &progress.Buffer{}
			c := newClient(t, f, github.WithProgress(out))
			id := f.SeedRelease(githubtest.Release{Tag: "v1.0.0", Draft: true})
			manifest := []byte(`{"tag": "v1.0.0", "components": []}` + "\n")
			sums := []byte(strings.Repeat("a", 64) + "  release-manifest.json\n")
			f.SeedAsset(id, githubtest.Asset{Name: "release-manifest.json", Content: []byte("{not json")})
			f.SeedAsset(id, githubtest.Asset{Name: "SHA256SUMS", Content: []byte(strings.Repeat("b", 64) + "  release-manifest.json\n")})
			if err := c.EnsureAsset(ctx, id, "release-manifest.json", manifest); err != nil {
				t.Fatal(err)
			}
			if err := c.EnsureAsset(ctx, id, "SHA256SUMS", sums); err != nil {
				t.Fatal(err)
			}
			for _, a := range f.Releases()[0].Assets {
				if want := map[string]string{"release-manifest.json": string(manifest), "SHA256SUMS": string(sums)}[a.Name]; string(a.Content) != want {
					t.Fatalf("asset %s holds %q", a.Name, a.Content)
				}
			}
			for _, want := range []string{
				fmt.Sprintf("replacing asset release-manifest.json of draft release v1.0.0 of acme/shiplane: it has 9 bytes, not %d", len(manifest)),
				"replacing asset SHA256SUMS of draft release v1.0.0 of acme/shiplane: its content differs (sha256 ",
			} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("progress does not say %q:\n%s", want, out.String())
				}
			}
		})
	}
}

// A published release missing an asset (published by hand mid-run) is completed; an incomplete
// asset on it is replaced; a complete asset that differs is refused with the fix; foreign assets
// are named with the command that deletes them, never deleted.
func TestPublishedReleaseIsCompletedButNeverChanged(t *testing.T) {
	ctx := t.Context()
	f := githubtest.NewFake(t, repo)
	c := newClient(t, f)
	id := f.SeedRelease(githubtest.Release{Tag: "v1.0.0"})
	f.SeedAsset(id, githubtest.Asset{Name: "good.txt", Content: []byte("good")})
	f.SeedAsset(id, githubtest.Asset{Name: "cut.txt", State: githubtest.StateStarter, Content: []byte("cu")})
	f.SeedAsset(id, githubtest.Asset{Name: "differs.txt", Content: []byte("old")})
	f.SeedAsset(id, githubtest.Asset{Name: "notes.txt", Content: []byte("by hand")})

	for name, content := range map[string]string{"good.txt": "good", "cut.txt": "cut", "missing.txt": "missing"} {
		if err := c.EnsureAsset(ctx, id, name, []byte(content)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if u, d := f.Count(githubtest.RouteUploadAsset), f.Count(githubtest.RouteDeleteAsset); u != 2 || d != 1 {
		t.Fatalf("%d uploads, %d deletes; want 2 (cut, missing) and 1 (the cut one)", u, d)
	}
	f.ResetCounts()
	err := c.EnsureAsset(ctx, id, "differs.txt", []byte("new"))
	if !errors.Is(err, github.ErrPublished) {
		t.Fatalf("differing asset of a published release: %v, want ErrPublished", err)
	}
	for _, want := range []string{"differs.txt", "published release v1.0.0 of acme/shiplane", "gh release delete-asset v1.0.0 differs.txt --repo acme/shiplane --yes"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q: %v", want, err)
		}
	}
	err = c.PruneAssets(ctx, id, []string{"good.txt", "cut.txt", "missing.txt", "differs.txt"})
	if !errors.Is(err, github.ErrPublished) || !strings.Contains(err.Error(), "gh release delete-asset v1.0.0 notes.txt --repo acme/shiplane --yes") {
		t.Fatalf("pruning a published release: %v", err)
	}
	if f.Writes() != 0 {
		t.Fatalf("%d writes refusing", f.Writes())
	}
}

// An adopted draft's assets that this release does not make are deleted.
func TestPruneAssetsOfADraft(t *testing.T) {
	ctx := t.Context()
	f := githubtest.NewFake(t, repo)
	out := &progress.Buffer{}
	c := newClient(t, f, github.WithProgress(out))
	id := f.SeedRelease(githubtest.Release{Tag: "v1.0.0", Draft: true})
	f.SeedAsset(id, githubtest.Asset{Name: "keep.txt", Content: []byte("k")})
	f.SeedAsset(id, githubtest.Asset{Name: "old-chart-0.1.0.tgz", Content: []byte("o")})
	if err := c.PruneAssets(ctx, id, []string{"keep.txt", "other.txt"}); err != nil {
		t.Fatal(err)
	}
	if as := f.Releases()[0].Assets; len(as) != 1 || as[0].Name != "keep.txt" {
		t.Fatalf("assets %v", names(as))
	}
	if !strings.Contains(out.String(), "deleting asset old-chart-0.1.0.tgz") || !strings.Contains(out.String(), "this release does not make it") {
		t.Fatalf("progress:\n%s", out.String())
	}
	f.ResetCounts()
	if err := c.PruneAssets(ctx, id, []string{"keep.txt"}); err != nil || f.Writes() != 0 {
		t.Fatalf("pruning again: %v, %d writes", err, f.Writes())
	}
}

// AssetSHA256 takes GitHub's digest when there is one, and downloads only when there is none.
func TestAssetSHA256(t *testing.T) {
	const sum = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824" // sha256("hello")
	for _, digests := range []bool{true, false} {
		var opts []githubtest.Option
		if !digests {
			opts = append(opts, githubtest.WithoutDigests())
		}
		f := githubtest.NewFake(t, repo, opts...)
		c := newClient(t, f)
		id := f.SeedRelease(githubtest.Release{Tag: "v1"})
		f.SeedAsset(id, githubtest.Asset{Name: "a.txt", Content: []byte("hello")})
		d, err := c.ReleaseDetail(t.Context(), "v1")
		if err != nil {
			t.Fatal(err)
		}
		f.ResetCounts()
		a, _ := d.Asset("a.txt")
		got, err := c.AssetSHA256(t.Context(), a)
		if err != nil || got != sum {
			t.Fatalf("digests=%v: %q, %v", digests, got, err)
		}
		if want := map[bool]int{true: 0, false: 2}[digests]; f.Total() != want {
			t.Fatalf("digests=%v: %d requests, want %d", digests, f.Total(), want)
		}
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// A lookup that meets an unknown certificate authority or a host that does not exist is not
// retried through the shared transport: another try would meet it again.
func TestPermanentTransportErrorsAreNotRetried(t *testing.T) {
	for name, cause := range map[string]error{
		"unknown authority": x509.UnknownAuthorityError{},
		"no such host":      &net.DNSError{Err: "no such host", Name: "api.github.invalid", IsNotFound: true},
	} {
		t.Run(name, func(t *testing.T) {
			var calls atomic.Int32
			rt := roundTripFunc(func(*http.Request) (*http.Response, error) {
				calls.Add(1)
				return nil, cause
			})
			c := newClientFor(t, repo, canary, "https://api.github.invalid", github.WithTransport(rt))
			_, err := c.ReleaseDetail(t.Context(), "v1.0.0")
			if !errors.Is(err, published.ErrUnknown) {
				t.Fatalf("ReleaseDetail: %v; want unknown", err)
			}
			var ua x509.UnknownAuthorityError
			var dns *net.DNSError
			if !errors.As(err, &ua) && !errors.As(err, &dns) {
				t.Fatalf("the cause is lost: %v", err)
			}
			if n := calls.Load(); n != 1 {
				t.Fatalf("%d tries, want 1", n)
			}
			assertErrNoSecret(t, err)
		})
	}
}

// An upload refused by a rate limit may have landed all the same: it is sent again only after
// listing the release's assets, and not at all when the asset is there.
func TestRateLimitedUploadIsRetriedOnlyAfterLookingAgain(t *testing.T) {
	ctx := t.Context()
	data := []byte("asset bytes")
	check := func(t *testing.T, f *githubtest.Fake, uploads int) {
		t.Helper()
		rel := f.Releases()[0]
		if len(rel.Assets) != 1 || string(rel.Assets[0].Content) != string(data) {
			t.Fatalf("assets %v", names(rel.Assets))
		}
		var seq []string
		for _, r := range f.Requests() {
			switch r.Route {
			case githubtest.RouteUploadAsset:
				seq = append(seq, "upload")
			case githubtest.RouteListAssets:
				seq = append(seq, "list")
			}
		}
		want := []string{"list", "upload", "list"}
		if uploads == 2 {
			want = append(want, "upload")
		}
		if !slices.Equal(seq, want) {
			t.Fatalf("requests %v, want %v", seq, want)
		}
		if f.Count(githubtest.RouteDeleteAsset) != 0 {
			t.Fatal("an asset was deleted")
		}
	}
	t.Run("primary limit, not landed", func(t *testing.T) {
		f := githubtest.NewFake(t, repo)
		c := newClient(t, f)
		id := f.SeedRelease(githubtest.Release{Tag: "v1.0.0", Draft: true})
		f.Inject(githubtest.Fault{Route: githubtest.RouteUploadAsset, Status: http.StatusForbidden, Message: "API rate limit exceeded",
			Header: map[string]string{"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": fmt.Sprint(time.Now().Unix())}})
		if err := c.EnsureAsset(ctx, id, "a.bin", data); err != nil {
			t.Fatal(err)
		}
		check(t, f, 2)
	})
	t.Run("429, landed", func(t *testing.T) {
		f := githubtest.NewFake(t, repo)
		c := newClient(t, f)
		id := f.SeedRelease(githubtest.Release{Tag: "v1.0.0", Draft: true})
		f.Inject(githubtest.Fault{Route: githubtest.RouteUploadAsset, Status: http.StatusTooManyRequests, Apply: true,
			Header: map[string]string{"Retry-After": "1"}})
		start := time.Now()
		if err := c.EnsureAsset(ctx, id, "a.bin", data); err != nil {
			t.Fatal(err)
		}
		if time.Since(start) < 900*time.Millisecond {
			t.Fatalf("looked again after %s, before Retry-After", time.Since(start))
		}
		check(t, f, 1)
	})
	t.Run("longer than we wait", func(t *testing.T) {
		f := githubtest.NewFake(t, repo)
		c := newClient(t, f)
		id := f.SeedRelease(githubtest.Release{Tag: "v1.0.0", Draft: true})
		f.Inject(githubtest.Fault{Route: githubtest.RouteUploadAsset, Status: http.StatusTooManyRequests, Header: map[string]string{"Retry-After": "3600"}})
		err := c.EnsureAsset(ctx, id, "a.bin", data)
		var auth *github.AuthError
		if err == nil || errors.As(err, &auth) || !strings.Contains(err.Error(), "1h0m0s") {
			t.Fatalf("EnsureAsset: %v; want the hour named, not an auth error", err)
		}
		if n := f.Count(githubtest.RouteUploadAsset); n != 1 {
			t.Fatalf("%d uploads, want 1", n)
		}
	})
}
