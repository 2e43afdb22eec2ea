package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	gh "github.com/google/go-github/v89/github"

	"github.com/shiplane/shiplane/magefiles/httpretry"
)

var (
	// ErrReleaseNotFound is a release ID GitHub does not know (deleted, or never created).
	ErrReleaseNotFound = errors.New("no such release")
	// ErrPublished is a change asked of a published release: its assets are never changed.
	ErrPublished = errors.New("the release is already published, and a published release is never changed")
	// ErrInvalidAssetName is an asset name GitHub would rename on upload (so it could never be
	// found again by its name), or an empty one.
	ErrInvalidAssetName = errors.New("invalid asset name")
	// ErrListLimit is a list read to its page bound with more pages left: what was looked for may
	// be on them, so the answer is unknown.
	ErrListLimit = errors.New("more entries than the list bound allows reading (see WithMaxListPages)")
)

// AuthError says GitHub refused the token: 401 (missing, expired or wrong) or 403 (it may not do
// this). Its text says how to fix it and never shows the token.
type AuthError struct {
	// Repo is the repository asked about (GITHUB_REPOSITORY).
	Repo string
	// Status is 401 or 403.
	Status int
	// Err is GitHub's answer, secrets removed.
	Err error
}

func (e *AuthError) Error() string {
	what := "refused the token (401 Unauthorized: missing, expired or wrong)"
	if e.Status == http.StatusForbidden {
		what = "refused the request (403 Forbidden: the token may not do this)"
	}
	return fmt.Sprintf("GitHub %s: check that GITHUB_TOKEN is set and has \"contents: write\" permission "+
		"on GITHUB_REPOSITORY=%s: %v", what, e.Repo, e.Err)
}

// Unwrap returns the cause.
func (e *AuthError) Unwrap() error { return e.Err }

// RepoNotFoundError says the repository does not exist, or the token cannot see it (GitHub
// answers 404 to both).
type RepoNotFoundError struct {
	// Repo is GITHUB_REPOSITORY.
	Repo string
	// API is the API base URL asked.
	API string
	Err error
}

func (e *RepoNotFoundError) Error() string {
	return fmt.Sprintf("repository GITHUB_REPOSITORY=%s not found at %s, or GITHUB_TOKEN cannot see it: check "+
		"GITHUB_REPOSITORY (and GITHUB_API_URL for GitHub Enterprise): %v", e.Repo, e.API, e.Err)
}

// Unwrap returns the cause.
func (e *RepoNotFoundError) Unwrap() error { return e.Err }

// apiErr scrubs a go-github error, classifies 401/403 as *AuthError, and says what we were
// doing.
func (c *Client) apiErr(op string, err error) error {
	if err == nil {
		return nil
	}
	cause := c.wrap(err)
	if code := statusOf(err); code == http.StatusUnauthorized || code == http.StatusForbidden {
		return fmt.Errorf("%s: %w", op, &AuthError{Repo: c.Repo(), Status: code, Err: cause})
	}
	return fmt.Errorf("%s: %w", op, cause)
}

// repoErr is apiErr for a call whose 404 means the repository is missing.
func (c *Client) repoErr(op string, err error) error {
	if statusOf(err) == http.StatusNotFound {
		return fmt.Errorf("%s: %w", op, &RepoNotFoundError{Repo: c.Repo(), API: c.api.BaseURL(), Err: c.wrap(err)})
	}
	return c.apiErr(op, err)
}

// statusOf is the HTTP status of a GitHub error answer, or 0 when there was none.
func statusOf(err error) int {
	var tf *gh.TwoFactorAuthError
	if errors.As(err, &tf) {
		return http.StatusUnauthorized
	}
	var er *gh.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		return er.Response.StatusCode
	}
	return 0
}

// hasCode reports whether a 422 answer names a validation error with this code.
func hasCode(err error, code string) bool {
	var er *gh.ErrorResponse
	if !errors.As(err, &er) {
		return false
	}
	for _, e := range er.Errors {
		if e.Code == code {
			return true
		}
	}
	return false
}

// redoable reports whether a failed write may be tried again after looking at GitHub afresh: it
// failed with a 5xx, got no answer for a transient reason (httpretry.TransientError: it may or may
// not have been carried out), or collided with something that already exists (perhaps our own
// earlier try). A wait GitHub asked for that is too long (*httpretry.RetryAfterTooLongError) is
// not cut short by redoing.
func redoable(ctx context.Context, err error) bool {
	if err == nil || ctx.Err() != nil {
		return false
	}
	var auth *AuthError
	if errors.As(err, &auth) {
		return false
	}
	if errors.Is(err, errIncomplete) {
		return true
	}
	if code := statusOf(err); code != 0 {
		return code >= 500 || (code == http.StatusUnprocessableEntity && hasCode(err, "already_exists"))
	}
	return httpretry.TransientError(ctx, err)
}
