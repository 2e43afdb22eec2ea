package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	gh "github.com/google/go-github/v89/github"

	"github.com/shiplane/shiplane/magefiles/published"
)

// perPage is the page size asked of list endpoints, GitHub's maximum.
const perPage = 100

// ReleaseDetail is what GitHub holds for one tag.
type ReleaseDetail struct {
	// Present is false when the tag has no release, published or draft.
	Present bool
	ID      int64
	Tag     string
	Name    string
	Body    string
	Draft   bool
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
// tag's draft (the oldest, should there be several), else Present false. Drafts are found by
// listing releases, at most WithMaxListPages pages. An answer that cannot be had (5xx or timeout
// after retries, refused token, missing repository, list bound reached) is a
// *published.UnknownError wrapping the cause.
func (c *Client) ReleaseDetail(ctx context.Context, tag string) (ReleaseDetail, error) {
	unknown := func(err error) error {
		return &published.UnknownError{What: fmt.Sprintf("GitHub release %s of %s", tag, c.Repo()), Err: err}
	}
	if tag == "" {
		return ReleaseDetail{}, unknown(errors.New("empty tag"))
	}
	rel, err := c.find(ctx, tag)
	if err != nil {
		return ReleaseDetail{}, unknown(err)
	}
	if rel == nil {
		return ReleaseDetail{Tag: tag}, nil
	}
	d, err := c.detail(ctx, rel)
	if err != nil {
		return ReleaseDetail{}, unknown(err)
	}
	return d, nil
}

// escapeTag escapes a tag for the URL path, keeping "/" as a separator.
func escapeTag(tag string) string {
	parts := strings.Split(tag, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}

// find returns the published release of tag, else its oldest draft, else nil.
func (c *Client) find(ctx context.Context, tag string) (*gh.RepositoryRelease, error) {
	rel, _, err := c.api.Repositories.GetReleaseByTag(ctx, c.owner, c.name, escapeTag(tag))
	switch {
	case err == nil && rel != nil:
		return rel, nil
	case err == nil:
		return nil, fmt.Errorf("looking up the release for tag %s: empty answer", tag)
	case statusOf(err) != http.StatusNotFound:
		return nil, c.apiErr(fmt.Sprintf("looking up the release for tag %s", tag), err)
	}
	// No published release. Drafts have no tag yet, so that endpoint never returns them: list.
	var draft *gh.RepositoryRelease
	opt := &gh.ListOptions{PerPage: perPage, Page: 1}
	for range c.o.maxPages {
		list, resp, err := c.api.Repositories.ListReleases(ctx, c.owner, c.name, opt)
		if err != nil {
			return nil, c.repoErr(fmt.Sprintf("listing the releases of %s to find a draft for %s", c.Repo(), tag), err)
		}
		for _, r := range list {
			if r == nil || r.TagName != tag {
				continue
			}
			if !r.Draft {
				return r, nil // published meanwhile
			}
			if draft == nil || r.ID < draft.ID {
				draft = r
			}
		}
		if resp.NextPage == 0 {
			return draft, nil
		}
		opt.Page = resp.NextPage
	}
	if draft != nil {
		return draft, nil
	}
	return nil, fmt.Errorf("looking for a draft release for %s among the releases of %s: read %d pages of %d: %w",
		tag, c.Repo(), c.o.maxPages, perPage, ErrListLimit)
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
		Present: true, ID: rel.ID, Tag: rel.TagName, Name: rel.GetName(), Body: rel.GetBody(),
		Draft: rel.Draft, Prerelease: rel.Prerelease, HTMLURL: rel.HTMLURL,
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
		Size: int64(a.GetSize()), State: a.GetState(), Digest: a.GetDigest(),
	}
}

// EnsureDraft returns the ID of the release for tag, creating it as a draft named name (the tag
// when empty) with body as its notes and the prerelease flag as given, when the tag has none.
//
// It never creates a second release for a tag: an existing draft is reused, its name, notes and
// prerelease flag brought in line when they differ; a published release is returned untouched,
// so running the publish sequence again after it succeeded writes nothing. A create that fails
// without a clear answer (5xx, lost connection) is not resent before looking again: the draft
// may exist after all.
func (c *Client) EnsureDraft(ctx context.Context, tag, name, body string, prerelease bool) (int64, error) {
	if tag == "" {
		return 0, errors.New("ensuring a draft release: empty tag")
	}
	if name == "" {
		name = tag
	}
	for try := 1; ; try++ {
		rel, err := c.find(ctx, tag)
		if err != nil {
			return 0, fmt.Errorf("ensuring a draft release for %s: %w", tag, err)
		}
		if rel != nil {
			return rel.ID, c.alignDraft(ctx, rel, name, body, prerelease)
		}
		c.logf("creating draft release %s in %s", tag, c.Repo())
		created, _, err := c.api.Repositories.CreateRelease(ctx, c.owner, c.name, gh.CreateReleaseRequest{
			TagName: tag, Name: &name, Body: &body, Draft: gh.Ptr(true), Prerelease: &prerelease,
		})
		if err == nil && created != nil {
			return created.ID, nil
		}
		if err == nil {
			err = errors.New("empty answer")
		}
		err = c.repoErr(fmt.Sprintf("creating draft release %s in %s", tag, c.Repo()), err)
		if try >= c.o.retry.Attempts || !redoable(ctx, err) {
			return 0, err
		}
		c.logf("%v; looking again before retrying (attempt %d of %d)", err, try+1, c.o.retry.Attempts)
		if serr := sleep(ctx, c.o.retry.Backoff(try)); serr != nil {
			return 0, serr
		}
	}
}

// alignDraft brings an existing draft's name, notes and prerelease flag in line; a published
// release is left alone.
func (c *Client) alignDraft(ctx context.Context, rel *gh.RepositoryRelease, name, body string, prerelease bool) error {
	if !rel.Draft {
		c.logf("release %s of %s is already published; leaving it as it is", rel.TagName, c.Repo())
		return nil
	}
	if rel.GetName() == name && rel.GetBody() == body && rel.Prerelease == prerelease {
		return nil
	}
	c.logf("updating the name, notes and prerelease flag of draft release %s in %s", rel.TagName, c.Repo())
	_, _, err := c.api.Repositories.UpdateRelease(ctx, c.owner, c.name, rel.ID, gh.UpdateReleaseRequest{
		Name: &name, Body: &body, Prerelease: &prerelease,
	})
	return c.apiErr(fmt.Sprintf("updating draft release %s in %s", rel.TagName, c.Repo()), err)
}

// Publish publishes draft release id, keeping its prerelease flag, with make_latest "false" for a
// prerelease and the WithMakeLatest value otherwise. A release already published is left as it
// is (no write).
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
	updated, _, err := c.api.Repositories.UpdateRelease(ctx, c.owner, c.name, id, gh.UpdateReleaseRequest{
		Draft: gh.Ptr(false), Prerelease: &prerelease, MakeLatest: &latest,
	})
	if err != nil {
		return c.apiErr(fmt.Sprintf("publishing release %s of %s", rel.TagName, c.Repo()), err)
	}
	if updated == nil || updated.Draft {
		return fmt.Errorf("publishing release %s of %s: GitHub still reports it as a draft", rel.TagName, c.Repo())
	}
	return nil
}
