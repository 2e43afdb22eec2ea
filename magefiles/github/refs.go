package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
)

// ErrTagNotFound: the repository has no git tag of that name.
var ErrTagNotFound = errors.New("no such git tag")

// maxPeel bounds how many annotated tags TagCommit follows (a tag of a tag of …).
const maxPeel = 8

// TagCommit returns the commit git tag tag names in the repository, read from GitHub's git
// refs: GET /git/ref/tags/{tag}, and for an annotated tag GET /git/tags/{sha} until a commit
// (peeled, as `git rev-parse tag^{commit}`). A tag that does not exist is ErrTagNotFound.
// One request for a lightweight tag, two for an annotated one.
func (c *Client) TagCommit(ctx context.Context, tag string) (string, error) {
	op := fmt.Sprintf("reading git tag %s of %s", tag, c.Repo())
	if tag == "" {
		return "", fmt.Errorf("%s: empty tag", op)
	}
	ref, _, err := c.api.Git.GetRef(ctx, c.owner, c.name, "tags/"+tag) // GetRef escapes each segment
	switch {
	case statusOf(err) == http.StatusNotFound:
		return "", fmt.Errorf("%s: %w", op, ErrTagNotFound)
	case err != nil:
		return "", c.apiErr(op, err)
	case ref == nil || ref.Object == nil:
		return "", fmt.Errorf("%s: empty answer", op)
	}
	typ, sha := ref.Object.GetType(), ref.Object.GetSHA()
	for range maxPeel {
		switch typ {
		case "commit":
			return sha, nil
		case "tag":
			t, _, err := c.api.Git.GetTag(ctx, c.owner, c.name, sha)
			if err != nil {
				return "", c.apiErr(fmt.Sprintf("%s: reading annotated tag object %s", op, sha), err)
			}
			if t == nil || t.Object == nil {
				return "", fmt.Errorf("%s: annotated tag object %s: empty answer", op, sha)
			}
			typ, sha = t.Object.GetType(), t.Object.GetSHA()
		default:
			return "", fmt.Errorf("%s: it names a %s (%s), not a commit", op, typ, sha)
		}
	}
	return "", fmt.Errorf("%s: more than %d annotated tags in a chain", op, maxPeel)
}
