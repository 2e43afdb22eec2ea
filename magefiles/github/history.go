package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	gh "github.com/google/go-github/v89/github"
)

// PublishedRelease is a published (not draft) release with the time GitHub published it.
type PublishedRelease struct {
	ReleaseDetail
	// PublishedAt is GitHub's published_at.
	PublishedAt time.Time
}

// PublishedReleases lists every published release of the repository, newest first, each with
// its assets, reading at most WithMaxListPages pages of releases (a bound reached with more left
// is an error wrapping ErrListLimit: the history cannot be told). Drafts are left out.
func (c *Client) PublishedReleases(ctx context.Context) ([]PublishedRelease, error) {
	var out []PublishedRelease
	opt := &gh.ListOptions{PerPage: perPage, Page: 1}
	for range c.o.maxPages {
		list, resp, err := c.api.Repositories.ListReleases(ctx, c.owner, c.name, opt)
		if err != nil {
			return nil, c.repoErr(fmt.Sprintf("listing the releases of %s", c.Repo()), err)
		}
		for _, r := range list {
			if r == nil || r.GetDraft() {
				continue
			}
			d := ReleaseDetail{
				Present: true, ID: r.GetID(), Tag: r.GetTagName(), Repo: c.Repo(), Name: r.GetName(), Body: unmarkBody(r.GetBody()),
				Ours: marked(r.GetBody()), Target: r.GetTargetCommitish(), Prerelease: r.GetPrerelease(), HTMLURL: r.GetHTMLURL(),
			}
			for _, a := range r.Assets {
				if a != nil {
					d.Assets = append(d.Assets, assetDetail(a))
				}
			}
			out = append(out, PublishedRelease{ReleaseDetail: d, PublishedAt: r.GetPublishedAt().Time})
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opt.Page = resp.NextPage
	}
	return nil, fmt.Errorf("listing the releases of %s: read %d pages of %d: %w", c.Repo(), c.o.maxPages, perPage, ErrListLimit)
}

// DeleteRelease deletes release id and its assets (the git tag stays). A release already gone
// is not an error: deleting is then already done.
func (c *Client) DeleteRelease(ctx context.Context, id int64) error {
	op := fmt.Sprintf("deleting release %d of %s", id, c.Repo())
	_, err := c.api.Repositories.DeleteRelease(ctx, c.owner, c.name, id)
	if err == nil {
		return nil
	}
	if statusOf(err) != http.StatusNotFound {
		return c.apiErr(op, err)
	}
	// Gone already, or is the repository missing?
	if _, lerr := c.byID(ctx, id); !errors.Is(lerr, ErrReleaseNotFound) {
		if lerr == nil {
			return c.apiErr(op, err)
		}
		return lerr
	}
	return nil
}
