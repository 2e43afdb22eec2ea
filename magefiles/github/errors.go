package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

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
	if _, _, limited := rateLimited(err, time.Now()); limited {
		return fmt.Errorf("%s: %w", op, cause) // a 403 that is a rate limit is not a refused token
	}
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
		return code >= 500 || code == http.StatusRequestTimeout ||
			(code == http.StatusUnprocessableEntity && hasCode(err, "already_exists"))
	}
	return httpretry.TransientError(ctx, err)
}

// rateLimited reports whether a failed request was refused by a rate limit (primary or
// secondary, 403 or 429), how long GitHub asks to wait, and the answer, for messages.
func rateLimited(err error, now time.Time) (time.Duration, *http.Response, bool) {
	var rl *gh.RateLimitError
	if errors.As(err, &rl) {
		if rl.Response != nil {
			if d, ok := rateLimitWait(rl.Response, now); ok {
				return d, rl.Response, true
			}
		}
		return max(rl.Rate.Reset.Sub(now)+time.Second, 0), rl.Response, true
	}
	var ab *gh.AbuseRateLimitError
	if errors.As(err, &ab) {
		if ab.RetryAfter != nil {
			return max(*ab.RetryAfter, 0), ab.Response, true
		}
		if ab.Response != nil {
			if d, ok := rateLimitWait(ab.Response, now); ok {
				return d, ab.Response, true
			}
		}
		return secondaryRateLimitWait, ab.Response, true
	}
	var er *gh.ErrorResponse
	if errors.As(err, &er) && er.Response != nil &&
		(er.Response.StatusCode == http.StatusTooManyRequests || er.Response.StatusCode == http.StatusForbidden) {
		d, ok := rateLimitWait(er.Response, now)
		return d, er.Response, ok
	}
	return 0, nil, false
}

// again decides, after the try-th failed create or upload, whether to try the step again, and
// waits before it; nil means look at GitHub afresh and carry on from what it holds. A step that
// failed without a clear answer (see redoable) is redone after the policy's backoff; one refused
// by a rate limit after the wait GitHub asks for, unless that is longer than the policy's Max
// (*httpretry.RetryAfterTooLongError). Otherwise, or once the policy's attempts are spent, it
// returns err.
func (c *Client) again(ctx context.Context, try int, err error) error {
	wait := c.o.retry.Backoff(try)
	asked, resp, limited := rateLimited(err, time.Now())
	switch {
	case limited && asked > c.o.retry.Max:
		tl := &httpretry.RetryAfterTooLongError{Wait: asked, Max: c.o.retry.Max}
		if resp != nil {
			tl.Status = resp.StatusCode
			if resp.Request != nil && resp.Request.URL != nil {
				u := *resp.Request.URL
				u.User, u.RawQuery, u.Fragment = nil, "", ""
				tl.URL = u.String()
			}
		}
		return fmt.Errorf("%w: %w", err, tl)
	case limited:
		wait = max(wait, asked)
	case !redoable(ctx, err):
		return err
	}
	if try >= c.o.retry.Tries() {
		return err
	}
	c.logf("%v; looking again in %s before retrying (attempt %d of %d)", err, wait.Round(time.Millisecond), try+1, c.o.retry.Tries())
	return sleep(ctx, wait)
}
