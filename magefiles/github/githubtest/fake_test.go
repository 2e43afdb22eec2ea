package githubtest_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	gh "github.com/google/go-github/v89/github"

	"github.com/shiplane/shiplane/magefiles/github/githubtest"
)

const repo = "acme/shiplane"

func client(t *testing.T, base, token string) *gh.Client {
	t.Helper()
	upload := strings.Replace(base, "/api/v3/", "/api/uploads/", 1)
	opts := []gh.ClientOptionsFunc{gh.WithURLs(&base, &upload)}
	if token != "" {
		opts = append(opts, gh.WithAuthToken(token))
	}
	c, err := gh.NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func status(err error) int {
	var er *gh.ErrorResponse
	if errors.As(err, &er) {
		return er.Response.StatusCode
	}
	return 0
}

func upload(ctx context.Context, c *gh.Client, id int64, name string, data []byte) (*gh.ReleaseAsset, error) {
	req, err := c.NewUploadRequest(ctx, "repos/acme/shiplane/releases/"+strconv.FormatInt(id, 10)+"/assets?name="+name,
		bytes.NewReader(data), int64(len(data)), "application/octet-stream")
	if err != nil {
		return nil, err
	}
	var a gh.ReleaseAsset
	_, err = c.Do(req, &a)
	return &a, err
}

func TestFakeSpeaksTheReleaseEndpointsGoGithubCalls(t *testing.T) {
	ctx := t.Context()
	f := githubtest.NewFake(t, repo, githubtest.RequireToken("tok"))
	c := client(t, f.URL(), "tok")
	rs := c.Repositories

	draft, _, err := rs.CreateRelease(ctx, "acme", "shiplane", gh.CreateReleaseRequest{TagName: "v1.0.0", Draft: gh.Ptr(true)})
	if err != nil {
		t.Fatal(err)
	}
	// A draft has no tag yet: the by-tag endpoint does not see it, the list does.
	if _, _, err := rs.GetReleaseByTag(ctx, "acme", "shiplane", "v1.0.0"); status(err) != http.StatusNotFound {
		t.Fatalf("draft by tag: %v, want 404", err)
	}
	list, _, err := rs.ListReleases(ctx, "acme", "shiplane", nil)
	if err != nil || len(list) != 1 || !list[0].Draft {
		t.Fatalf("list: %v %v", list, err)
	}
	// GitHub does not stop a second draft for the same tag.
	if _, _, err := rs.CreateRelease(ctx, "acme", "shiplane", gh.CreateReleaseRequest{TagName: "v1.0.0", Draft: gh.Ptr(true)}); err != nil {
		t.Fatal(err)
	}

	a, err := upload(ctx, c, draft.ID, "x.bin", []byte("hello"))
	if err != nil || a.GetState() != githubtest.StateUploaded || a.GetSize() != 5 || !strings.HasPrefix(a.GetDigest(), "sha256:") {
		t.Fatalf("upload: %v %v", a, err)
	}
	if _, err := upload(ctx, c, draft.ID, "x.bin", []byte("again")); status(err) != http.StatusUnprocessableEntity {
		t.Fatalf("duplicate upload: %v, want 422", err)
	}
	rc, redirect, err := rs.DownloadReleaseAsset(ctx, "acme", "shiplane", a.GetID(), nil)
	if err != nil || rc != nil || !strings.Contains(redirect, "/_fake/downloads/") {
		t.Fatalf("download: %v %q %v", rc, redirect, err)
	}
	rc, _, err = rs.DownloadReleaseAsset(ctx, "acme", "shiplane", a.GetID(), http.DefaultClient)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if string(got) != "hello" {
		t.Fatalf("downloaded %q", got)
	}

	if _, _, err := rs.UpdateRelease(ctx, "acme", "shiplane", draft.ID, gh.UpdateReleaseRequest{Draft: gh.Ptr(false), MakeLatest: gh.Ptr("legacy")}); err != nil {
		t.Fatal(err)
	}
	if r, _, err := rs.GetReleaseByTag(ctx, "acme", "shiplane", "v1.0.0"); err != nil || r.ID != draft.ID || r.Draft || len(r.Assets) != 1 {
		t.Fatalf("published by tag: %v %v", r, err)
	}
	// Only one published release per tag.
	if _, _, err := rs.CreateRelease(ctx, "acme", "shiplane", gh.CreateReleaseRequest{TagName: "v1.0.0"}); status(err) != http.StatusUnprocessableEntity {
		t.Fatalf("second published release: %v, want 422", err)
	}
	if _, err := rs.DeleteReleaseAsset(ctx, "acme", "shiplane", a.GetID()); err != nil {
		t.Fatal(err)
	}
	if n := f.Count(githubtest.RouteCreateRelease); n != 3 {
		t.Fatalf("%d creates counted, want 3", n)
	}
	if n := f.Writes(); n != 7 {
		t.Fatalf("%d writes counted, want 7", n)
	}
	if rels := f.Releases(); len(rels) != 2 || rels[0].MakeLatest != "legacy" || len(rels[0].Assets) != 0 {
		t.Fatalf("state: %+v", rels)
	}
}

func TestFakeRefusesWrongTokensAndOtherRepositories(t *testing.T) {
	ctx := t.Context()
	f := githubtest.NewFake(t, repo, githubtest.RequireToken("tok"))
	if _, _, err := client(t, f.URL(), "nope").Repositories.ListReleases(ctx, "acme", "shiplane", nil); status(err) != http.StatusUnauthorized {
		t.Fatalf("wrong token: %v, want 401", err)
	}
	if _, _, err := client(t, f.URL(), "").Repositories.ListReleases(ctx, "acme", "shiplane", nil); status(err) != http.StatusUnauthorized {
		t.Fatalf("no token: %v, want 401", err)
	}
	if _, _, err := client(t, f.URL(), "tok").Repositories.ListReleases(ctx, "acme", "other", nil); status(err) != http.StatusNotFound {
		t.Fatalf("other repo: %v, want 404", err)
	}
}

func TestFakeServesEnterprisePathsAndUploadsOnlyUnderUploads(t *testing.T) {
	ctx := t.Context()
	f := githubtest.NewFake(t, repo)
	c := client(t, f.EnterpriseURL(), "")
	r, _, err := c.Repositories.CreateRelease(ctx, "acme", "shiplane", gh.CreateReleaseRequest{TagName: "v1", Draft: gh.Ptr(true)})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.UploadURL, "/api/uploads/repos/acme/shiplane/releases/") {
		t.Fatalf("upload_url %q", r.UploadURL)
	}
	if _, err := upload(ctx, c, r.ID, "a.txt", []byte("a")); err != nil {
		t.Fatal(err)
	}
	// The API path does not take uploads.
	base := f.EnterpriseURL()
	wrong, err := gh.NewClient(gh.WithURLs(&base, &base))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := upload(ctx, wrong, r.ID, "b.txt", []byte("b")); status(err) != http.StatusNotFound {
		t.Fatalf("upload on the API path: %v, want 404", err)
	}
}

func TestFakeFaults(t *testing.T) {
	ctx := t.Context()
	f := githubtest.NewFake(t, repo)
	c := client(t, f.URL(), "")
	f.Inject(githubtest.Fault{Route: githubtest.RouteListReleases, Skip: 1, Times: 2, Status: 502})
	var codes []int
	for range 4 {
		_, _, err := c.Repositories.ListReleases(ctx, "acme", "shiplane", nil)
		codes = append(codes, status(err))
	}
	if want := []int{0, 502, 502, 0}; !equal(codes, want) {
		t.Fatalf("statuses %v, want %v", codes, want)
	}

	// Apply: the change is made, the answer lost.
	f.Inject(githubtest.Fault{Route: githubtest.RouteCreateRelease, Status: 504, Apply: true})
	if _, _, err := c.Repositories.CreateRelease(ctx, "acme", "shiplane", gh.CreateReleaseRequest{TagName: "v1", Draft: gh.Ptr(true)}); status(err) != 504 {
		t.Fatalf("create: %v, want 504", err)
	}
	if n := len(f.Releases()); n != 1 {
		t.Fatalf("%d releases after an applied fault, want 1", n)
	}

	// Drop mid-upload: no answer, and a "starter" asset left behind.
	id := f.Releases()[0].ID
	f.Inject(githubtest.Fault{Route: githubtest.RouteUploadAsset, Drop: true})
	if _, err := upload(ctx, c, id, "big.bin", bytes.Repeat([]byte("x"), 1<<20)); err == nil || status(err) != 0 {
		t.Fatalf("dropped upload: %v, want a transport error", err)
	}
	rel := f.Releases()[0]
	if len(rel.Assets) != 1 || rel.Assets[0].State != githubtest.StateStarter {
		t.Fatalf("after a dropped upload: %+v", rel.Assets)
	}
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// GitHub shows drafts only to a caller who may push: the list leaves them out for others, the
// by-tag lookup never returns one (404 while only drafts carry the tag, however many), and a
// draft asked for by ID is "Not Found".
func TestFakeShowsDraftsOnlyToAuthenticatedCallers(t *testing.T) {
	ctx := t.Context()
	f := githubtest.NewFake(t, repo)
	first := f.SeedRelease(githubtest.Release{Tag: "v1.0.0", Draft: true})
	second := f.SeedRelease(githubtest.Release{Tag: "v1.0.0", Draft: true})
	f.SeedRelease(githubtest.Release{Tag: "v0.9.0"})
	authed, anon := client(t, f.URL(), "any-token"), client(t, f.URL(), "")

	for who, c := range map[string]*gh.Client{"authenticated": authed, "anonymous": anon} {
		if _, _, err := c.Repositories.GetReleaseByTag(ctx, "acme", "shiplane", "v1.0.0"); status(err) != http.StatusNotFound {
			t.Errorf("%s: by tag with two drafts: %v, want 404", who, err)
		}
	}
	list, _, err := authed.Repositories.ListReleases(ctx, "acme", "shiplane", nil)
	if err != nil || len(list) != 3 {
		t.Fatalf("authenticated list: %d releases, %v; want 3 (both drafts)", len(list), err)
	}
	list, _, err = anon.Repositories.ListReleases(ctx, "acme", "shiplane", nil)
	if err != nil || len(list) != 1 || list[0].Draft {
		t.Fatalf("anonymous list: %d releases, %v; want only the published one", len(list), err)
	}
	for _, id := range []int64{first, second} {
		if _, _, err := anon.Repositories.GetRelease(ctx, "acme", "shiplane", id); status(err) != http.StatusNotFound {
			t.Errorf("anonymous GET of draft %d: %v, want 404", id, err)
		}
		if _, _, err := anon.Repositories.ListReleaseAssets(ctx, "acme", "shiplane", id, nil); status(err) != http.StatusNotFound {
			t.Errorf("anonymous asset list of draft %d: %v, want 404", id, err)
		}
		if r, _, err := authed.Repositories.GetRelease(ctx, "acme", "shiplane", id); err != nil || !r.Draft {
			t.Errorf("authenticated GET of draft %d: %v, %v", id, r, err)
		}
	}
}

// The fake keeps target_commitish as sent on create and update ("main", the default branch,
// when none is sent), and takes uploads to a published release, as GitHub does.
func TestFakeRecordsTargetAndTakesUploadsToPublishedReleases(t *testing.T) {
	ctx := t.Context()
	f := githubtest.NewFake(t, repo)
	c := client(t, f.URL(), "tok")
	rs := c.Repositories
	r, _, err := rs.CreateRelease(ctx, "acme", "shiplane", gh.CreateReleaseRequest{TagName: "v1", Draft: gh.Ptr(true), TargetCommitish: gh.Ptr("abc123")})
	if err != nil || r.GetTargetCommitish() != "abc123" {
		t.Fatalf("create: %v, %v", r.GetTargetCommitish(), err)
	}
	if _, _, err := rs.UpdateRelease(ctx, "acme", "shiplane", r.ID, gh.UpdateReleaseRequest{TargetCommitish: gh.Ptr("def456"), Draft: gh.Ptr(false)}); err != nil {
		t.Fatal(err)
	}
	plain, _, err := rs.CreateRelease(ctx, "acme", "shiplane", gh.CreateReleaseRequest{TagName: "v2", Draft: gh.Ptr(true)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := upload(ctx, c, r.ID, "late.txt", []byte("late")); err != nil {
		t.Fatalf("upload to a published release: %v", err)
	}
	rels := f.Releases()
	if rels[0].TargetCommitish != "def456" || rels[0].Draft || len(rels[0].Assets) != 1 || rels[1].ID != plain.ID || rels[1].TargetCommitish != "main" {
		t.Fatalf("state: %+v", rels)
	}
}
