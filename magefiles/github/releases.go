package github

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	gh "github.com/google/go-github/v89/github"

	"github.com/shiplane/shiplane/magefiles/published"
)

// perPage is the page size asked of list endpoints, GitHub's maximum.
const perPage = 100

// DraftMarker is the line shiplane adds to the notes of a draft it creates or reuses, so that
// among several drafts of one tag (GitHub allows any number) it picks its own. It is an HTML
// comment, which the release page does not show, and Publish removes it from the notes.
const DraftMarker = "<!-- shiplane: release draft -->"

// ReleaseDetail is what GitHub holds for one tag.
type ReleaseDetail struct {
	// Present is false when the tag has no release, published or draft.
	Present bool
	ID      int64
	Tag     string
	// Repo is the repository, "owner/name".
	Repo string
	Name string
	// Body is the release notes, without DraftMarker.
	Body  string
	Draft bool
	// Ours is true when the notes carry DraftMarker: shiplane created or reused this draft.
	Ours bool
	// Target is the release's target_commitish: where GitHub creates the tag when it publishes a
	// release whose tag does not exist yet.
	Target string
	// OtherDrafts are the other drafts carrying the tag, which shiplane leaves alone: found when
	// the tag has no published release (drafts are looked for by listing).
	OtherDrafts []ReleaseRef
	// Prerelease is GitHub's prerelease flag.
	Prerelease bool
	// HTMLURL is the release's page.
	HTMLURL string
	// Assets are every asset attached, in any state.
	Assets []AssetDetail
}

// AssetDetail is one asset of a release.
type AssetDetail struct {
	ID          int64
	Name        string
	Label       string
	ContentType string
	Size        int64
	// State is "uploaded" for a complete asset; anything else ("starter", "new", "open") is one
	// whose upload did not finish.
	State string
	// Digest is GitHub's "sha256:<hex>" of the content, when the server reports one.
	Digest string
	// CreatedAt is when GitHub created the asset: set by GitHub, not by the uploader.
	CreatedAt time.Time
}

// ReleaseRef names a release.
type ReleaseRef struct {
	ID   int64
	Name string
	// HTMLURL is the release's page.
	HTMLURL string
	// Ours is true when its notes carry DraftMarker.
	Ours bool
}

func (r ReleaseRef) String() string {
	if r.HTMLURL == "" {
		return fmt.Sprintf("release %d", r.ID)
	}
	return fmt.Sprintf("release %d (%s)", r.ID, r.HTMLURL)
}

// Uploaded reports whether the asset's upload finished.
func (a AssetDetail) Uploaded() bool { return a.State == "uploaded" }

// Asset returns the asset of that name.
func (d ReleaseDetail) Asset(name string) (AssetDetail, bool) {
	for _, a := range d.Assets {
		if a.Name == name {
			return a, true
		}
	}
	return AssetDetail{}, false
}

// Release implements published.Releases: whether tag has a release (a draft counts, reported as
// Draft), with the names of its completely uploaded assets. An answer that cannot be had is a
// *published.UnknownError.
func (c *Client) Release(ctx context.Context, tag string) (published.Release, error) {
	d, err := c.ReleaseDetail(ctx, tag)
	if err != nil || !d.Present {
		return published.Release{}, err
	}
	r := published.Release{Present: true, Draft: d.Draft}
	for _, a := range d.Assets {
		if a.Uploaded() {
			r.Assets = append(r.Assets, a.Name)
		}
	}
	return r, nil
}

// ReleaseDetail returns what GitHub holds for tag: the published release if there is one, else the
// tag's draft, else Present false. Drafts are found by listing releases (GitHub's by-tag lookup
// never returns a draft), at most WithMaxListPages pages; among several drafts of the tag the one
// shiplane marked (DraftMarker) is chosen, else the oldest, and the others are reported in
// OtherDrafts. An answer that cannot be had (5xx or timeout after retries, refused token, missing
// repository, list bound reached) is a *published.UnknownError wrapping the cause.
//
// A published release costs two requests: the by-tag lookup and one page of assets.
func (c *Client) ReleaseDetail(ctx context.Context, tag string) (ReleaseDetail, error) {
	unknown := func(err error) error {
		return &published.UnknownError{What: fmt.Sprintf("GitHub release %s of %s", tag, c.Repo()), Err: err}
	}
	if tag == "" {
		return ReleaseDetail{}, unknown(errors.New("empty tag"))
	}
	rel, others, err := c.find(ctx, tag)
	if err != nil {
		return ReleaseDetail{}, unknown(err)
	}
	if rel == nil {
		return ReleaseDetail{Tag: tag, Repo: c.Repo()}, nil
	}
	d, err := c.detail(ctx, rel)
	if err != nil {
		return ReleaseDetail{}, unknown(err)
	}
	for _, o := range others {
		d.OtherDrafts = append(d.OtherDrafts, refOf(o))
	}
	return d, nil
}

func refOf(r *gh.RepositoryRelease) ReleaseRef {
	return ReleaseRef{ID: r.GetID(), Name: r.GetName(), HTMLURL: r.GetHTMLURL(), Ours: marked(r.GetBody())}
}

// marked reports whether release notes carry DraftMarker.
func marked(body string) bool { return strings.Contains(body, DraftMarker) }

// markBody is body with DraftMarker on a line of its own at the end.
func markBody(body string) string {
	if body == "" {
		return DraftMarker
	}
	return body + "\n\n" + DraftMarker
}

// unmarkBody is body without DraftMarker (undoes markBody).
func unmarkBody(body string) string {
	switch {
	case body == DraftMarker:
		return ""
	case strings.HasSuffix(body, "\n\n"+DraftMarker):
		return strings.TrimSuffix(body, "\n\n"+DraftMarker)
	case strings.HasSuffix(body, "\r\n\r\n"+DraftMarker):
		return strings.TrimSuffix(body, "\r\n\r\n"+DraftMarker)
	}
	return strings.Replace(body, DraftMarker, "", 1)
}

// escapeTag escapes a tag for the URL path, keeping "/" as a separator.
func escapeTag(tag string) string {
	parts := strings.Split(tag, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}

// find returns the published release of tag, else the draft to use and the tag's other drafts,
// else nil. The draft to use is the oldest that carries DraftMarker, else the oldest: a choice
// that does not change between runs while the drafts stay.
func (c *Client) find(ctx context.Context, tag string) (*gh.RepositoryRelease, []*gh.RepositoryRelease, error) {
	rel, _, err := c.api.Repositories.GetReleaseByTag(ctx, c.owner, c.name, escapeTag(tag))
	switch {
	case err == nil && rel != nil:
		return rel, nil, nil
	case err == nil:
		return nil, nil, fmt.Errorf("looking up the release for tag %s: empty answer", tag)
	case statusOf(err) != http.StatusNotFound:
		return nil, nil, c.apiErr(fmt.Sprintf("looking up the release for tag %s", tag), err)
	}
	// No published release. Drafts have no tag yet, so that endpoint never returns them: list.
	var drafts []*gh.RepositoryRelease
	opt := &gh.ListOptions{PerPage: perPage, Page: 1}
	complete := false
	for range c.o.maxPages {
		list, resp, err := c.api.Repositories.ListReleases(ctx, c.owner, c.name, opt)
		if err != nil {
			return nil, nil, c.repoErr(fmt.Sprintf("listing the releases of %s to find a draft for %s", c.Repo(), tag), err)
		}
		for _, r := range list {
			if r == nil || r.TagName != tag {
				continue
			}
			if !r.Draft {
				return r, nil, nil // published meanwhile
			}
			drafts = append(drafts, r)
		}
		if resp.NextPage == 0 {
			complete = true
			break
		}
		opt.Page = resp.NextPage
	}
	if len(drafts) == 0 {
		if complete {
			return nil, nil, nil
		}
		return nil, nil, fmt.Errorf("looking for a draft release for %s among the releases of %s: read %d pages of %d: %w",
			tag, c.Repo(), c.o.maxPages, perPage, ErrListLimit)
	}
	slices.SortFunc(drafts, func(a, b *gh.RepositoryRelease) int {
		if ma, mb := marked(a.GetBody()), marked(b.GetBody()); ma != mb {
			if ma {
				return -1
			}
			return 1
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return drafts[0], drafts[1:], nil
}

// byID returns release id; a 404 is ErrReleaseNotFound, or *RepoNotFoundError when the
// repository itself is missing.
func (c *Client) byID(ctx context.Context, id int64) (*gh.RepositoryRelease, error) {
	op := fmt.Sprintf("reading release %d of %s", id, c.Repo())
	rel, _, err := c.api.Repositories.GetRelease(ctx, c.owner, c.name, id)
	if err == nil && rel != nil {
		return rel, nil
	}
	if err == nil {
		return nil, fmt.Errorf("%s: empty answer", op)
	}
	if statusOf(err) != http.StatusNotFound {
		return nil, c.apiErr(op, err)
	}
	// Which is missing: the release or the repository?
	if _, _, lerr := c.api.Repositories.ListReleases(ctx, c.owner, c.name, &gh.ListOptions{PerPage: 1}); lerr != nil {
		return nil, c.repoErr(op, lerr)
	}
	return nil, fmt.Errorf("%s: %w", op, ErrReleaseNotFound)
}

// assets lists every asset of release id, at most WithMaxListPages pages.
func (c *Client) assets(ctx context.Context, id int64) ([]*gh.ReleaseAsset, error) {
	var all []*gh.ReleaseAsset
	opt := &gh.ListOptions{PerPage: perPage, Page: 1}
	for range c.o.maxPages {
		list, resp, err := c.api.Repositories.ListReleaseAssets(ctx, c.owner, c.name, id, opt)
		if err != nil {
			return nil, c.apiErr(fmt.Sprintf("listing the assets of release %d of %s", id, c.Repo()), err)
		}
		all = append(all, list...)
		if resp.NextPage == 0 {
			return all, nil
		}
		opt.Page = resp.NextPage
	}
	return nil, fmt.Errorf("listing the assets of release %d of %s: read %d pages of %d: %w",
		id, c.Repo(), c.o.maxPages, perPage, ErrListLimit)
}

func (c *Client) detail(ctx context.Context, rel *gh.RepositoryRelease) (ReleaseDetail, error) {
	list, err := c.assets(ctx, rel.ID)
	if err != nil {
		return ReleaseDetail{}, err
	}
	d := ReleaseDetail{
		Present: true, ID: rel.ID, Tag: rel.TagName, Repo: c.Repo(), Name: rel.GetName(), Body: unmarkBody(rel.GetBody()),
		Draft: rel.Draft, Ours: marked(rel.GetBody()), Target: rel.GetTargetCommitish(), Prerelease: rel.Prerelease,
		HTMLURL: rel.HTMLURL,
	}
	for _, a := range list {
		if a != nil {
			d.Assets = append(d.Assets, assetDetail(a))
		}
	}
	return d, nil
}

func assetDetail(a *gh.ReleaseAsset) AssetDetail {
	return AssetDetail{
		ID: a.GetID(), Name: a.GetName(), Label: a.GetLabel(), ContentType: a.GetContentType(),
		Size: int64(a.GetSize()), State: a.GetState(), Digest: a.GetDigest(), CreatedAt: a.GetCreatedAt().Time,
	}
}

// Draft is what EnsureDraftAt makes the tag's draft hold.
type Draft struct {
	Tag string
	// Commit is the commit being released: the draft's target_commitish, so that publishing a
	// release whose tag does not exist (any more) creates the tag at this commit; GitHub
	// otherwise creates it at the default branch. Empty leaves a new draft's target to GitHub and
	// an existing draft's as it is.
	Commit string
	// Name is the release's title; empty means the tag.
	Name string
	// Body is the release notes.
	Body       string
	Prerelease bool
}

// EnsureDraft is EnsureDraftAt without a commit.
func (c *Client) EnsureDraft(ctx context.Context, tag, name, body string, prerelease bool) (int64, error) {
	return c.EnsureDraftAt(ctx, Draft{Tag: tag, Name: name, Body: body, Prerelease: prerelease})
}

// EnsureDraftAt returns the ID of the release for d.Tag, creating it as a draft when the tag has
// none: named d.Name, with d.Body as its notes (and DraftMarker under them), the prerelease flag
// as given, and d.Commit as its target.
//
// It never creates a second release for a tag. An existing draft is reused: the one marked as
// shiplane's, else the oldest (see ReleaseDetail); the tag's other drafts are named in a progress
// line and left alone. The reused draft's name, notes, prerelease flag and target are brought in
// line when they differ. A published release is returned untouched, so running the publish
// sequence again after it succeeded writes nothing. A create that fails without a clear answer
// (5xx, lost connection, rate limit) is not resent before looking again: the draft may exist
// after all.
func (c *Client) EnsureDraftAt(ctx context.Context, d Draft) (int64, error) {
	tag := d.Tag
	if tag == "" {
		return 0, errors.New("ensuring a draft release: empty tag")
	}
	if d.Name == "" {
		d.Name = tag
	}
	for try := 1; ; try++ {
		rel, others, err := c.find(ctx, tag)
		if err != nil {
			return 0, fmt.Errorf("ensuring a draft release for %s: %w", tag, err)
		}
		if rel != nil {
			if len(others) > 0 {
				var refs []string
				for _, o := range others {
					refs = append(refs, refOf(o).String())
				}
				c.logf("draft release %s of %s: using release %d; %d other draft(s) carry the tag and are left alone "+
					"(delete them on GitHub if they are not needed): %s", tag, c.Repo(), rel.ID, len(others), strings.Join(refs, ", "))
			}
			return rel.ID, c.alignDraft(ctx, rel, d)
		}
		c.logf("creating draft release %s in %s%s", tag, c.Repo(), at(d.Commit))
		req := gh.CreateReleaseRequest{
			TagName: tag, Name: &d.Name, Body: gh.Ptr(markBody(d.Body)), Draft: gh.Ptr(true), Prerelease: &d.Prerelease,
		}
		if d.Commit != "" {
			req.TargetCommitish = &d.Commit
		}
		created, _, err := c.api.Repositories.CreateRelease(ctx, c.owner, c.name, req)
		if err == nil && created != nil {
			return created.ID, nil
		}
		if err == nil {
			err = errors.New("empty answer")
		}
		err = c.repoErr(fmt.Sprintf("creating draft release %s in %s", tag, c.Repo()), err)
		if err := c.again(ctx, try, err); err != nil {
			return 0, err
		}
	}
}

// at is " at <commit>" for progress lines, or "".
func at(commit string) string {
	if commit == "" {
		return ""
	}
	return " at " + commit
}

// alignDraft brings an existing draft's name, notes (marked as shiplane's), prerelease flag and
// target in line; a published release is left alone.
func (c *Client) alignDraft(ctx context.Context, rel *gh.RepositoryRelease, d Draft) error {
	if !rel.Draft {
		c.logf("release %s of %s is already published; leaving its name, notes and target as they are", rel.TagName, c.Repo())
		return nil
	}
	body := markBody(d.Body)
	var what []string
	req := gh.UpdateReleaseRequest{Name: &d.Name, Body: &body, Prerelease: &d.Prerelease}
	if rel.GetName() != d.Name {
		what = append(what, "name")
	}
	if rel.GetBody() != body {
		what = append(what, "notes")
	}
	if rel.Prerelease != d.Prerelease {
		what = append(what, "prerelease flag")
	}
	if d.Commit != "" && rel.GetTargetCommitish() != d.Commit {
		what = append(what, fmt.Sprintf("target (from %s to %s)", rel.GetTargetCommitish(), d.Commit))
		req.TargetCommitish = &d.Commit
	}
	if len(what) == 0 {
		return nil
	}
	c.logf("updating the %s of draft release %s (release %d) in %s", strings.Join(what, ", "), rel.TagName, rel.ID, c.Repo())
	_, _, err := c.api.Repositories.UpdateRelease(ctx, c.owner, c.name, rel.ID, req)
	return c.apiErr(fmt.Sprintf("updating draft release %s in %s", rel.TagName, c.Repo()), err)
}

// Publish publishes draft release id, keeping its prerelease flag and removing DraftMarker from
// its notes, with make_latest "false" for a prerelease and the WithMakeLatest value otherwise. A
// release already published is left as it is (no write).
func (c *Client) Publish(ctx context.Context, id int64) error {
	rel, err := c.byID(ctx, id)
	if err != nil {
		return fmt.Errorf("publishing: %w", err)
	}
	if !rel.Draft {
		return nil
	}
	latest := c.o.makeLatest
	if rel.Prerelease {
		latest = "false"
	}
	kind := "release"
	if rel.Prerelease {
		kind = "prerelease"
	}
	c.logf("publishing %s %s of %s", kind, rel.TagName, c.Repo())
	prerelease := rel.Prerelease
	req := gh.UpdateReleaseRequest{Draft: gh.Ptr(false), Prerelease: &prerelease, MakeLatest: &latest}
	if marked(rel.GetBody()) {
		req.Body = gh.Ptr(unmarkBody(rel.GetBody()))
	}
	updated, _, err := c.api.Repositories.UpdateRelease(ctx, c.owner, c.name, id, req)
	if err != nil {
		return c.apiErr(fmt.Sprintf("publishing release %s of %s", rel.TagName, c.Repo()), err)
	}
	if updated == nil || updated.Draft {
		return fmt.Errorf("publishing release %s of %s: GitHub still reports it as a draft", rel.TagName, c.Repo())
	}
	return nil
}
