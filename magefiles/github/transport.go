package github

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/shiplane/shiplane/magefiles/httpretry"
	"github.com/shiplane/shiplane/magefiles/redact"
)

// secret is a string fmt never prints.
type secret string

func (secret) String() string   { return redact.Mask }
func (secret) GoString() string { return redact.Mask }

// authTransport adds the token to requests for the API and upload hosts only, on a copy of the
// request; the answer points back at the caller's request, so no error or answer go-github keeps
// holds the Authorization header.
type authTransport struct {
	inner http.RoundTripper
	token secret
	hosts map[string]bool
}

func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if t.token == "" || !t.hosts[req.URL.Host] {
		return t.inner.RoundTrip(req)
	}
	r := req.Clone(req.Context())
	r.Header.Set("Authorization", "Bearer "+string(t.token))
	resp, err := t.inner.RoundTrip(r)
	if resp != nil {
		resp.Request = req
	}
	return resp, err
}

// retryTransport retries what is safe to retry (see the package comment), honouring Retry-After
// and rate-limit resets. API answers to bodiless requests are read in full inside the try (up to
// maxBuffered), so a truncated answer is retried too; asset downloads (Accept:
// application/octet-stream) stream.
type retryTransport struct {
	inner   http.RoundTripper
	policy  RetryPolicy
	timeout time.Duration
	logf    func(format string, args ...any)
}

var _ http.RoundTripper = (*retryTransport)(nil)

const maxBuffered = 8 << 20

// secondaryRateLimitWait is how long GitHub asks clients to wait after a secondary rate limit
// that names no time.
const secondaryRateLimitWait = time.Minute

func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete,
		http.MethodPatch: // every PATCH this package sends sets absolute values
		return true
	}
	return false
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	hasBody := httpretry.HasBody(req)
	attempts := t.policy.Attempts
	if hasBody && req.GetBody == nil {
		attempts = 1
	}
	for try := 1; ; try++ {
		r := req
		if try > 1 {
			var err error
			if r, err = httpretry.Resend(req); err != nil {
				return nil, err
			}
		}
		resp, err := t.try(r, hasBody)
		wait, why, again := t.decide(req, resp, err, try)
		if !again || try >= attempts || ctx.Err() != nil {
			return resp, err
		}
		if resp != nil {
			drain(resp)
		}
		t.logf("GitHub API %s %s: %s; trying again in %s (attempt %d of %d)",
			req.Method, req.URL.Path, why, wait.Round(time.Millisecond), try+1, attempts)
		if err := sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// decide says whether a try is worth another, after how long, and why.
func (t *retryTransport) decide(req *http.Request, resp *http.Response, err error, try int) (time.Duration, string, bool) {
	backoff := t.backoff(try)
	if err != nil {
		if !idempotent(req.Method) || !transientErr(req.Context(), err) {
			return 0, "", false
		}
		return backoff, err.Error(), true
	}
	status := fmt.Sprintf("%d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	switch code := resp.StatusCode; {
	case code == http.StatusTooManyRequests || code == http.StatusForbidden:
		wait, limited := rateLimitWait(resp, time.Now())
		if !limited {
			return 0, "", false // a 403 that is not a rate limit: the token may not do this
		}
		if wait > t.policy.Max {
			return 0, "", false // longer than we are willing to wait: fail now
		}
		return max(wait, backoff), status + " (rate limited)", true
	case code == http.StatusInternalServerError || code == http.StatusBadGateway ||
		code == http.StatusServiceUnavailable || code == http.StatusGatewayTimeout:
		if !idempotent(req.Method) {
			return 0, "", false // it may have been carried out: the caller looks before redoing it
		}
		if ra, ok := httpretry.RetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			if ra > t.policy.Max {
				return 0, "", false
			}
			backoff = max(backoff, ra)
		}
		return backoff, status, true
	}
	return 0, "", false
}

func (t *retryTransport) backoff(try int) time.Duration {
	d := t.policy.Initial << (try - 1)
	if d <= 0 || (t.policy.Max > 0 && d > t.policy.Max) {
		d = t.policy.Max
	}
	// Up to 10% jitter, so parallel clients do not retry in step.
	if d > 0 {
		d += time.Duration(rand.Int64N(int64(d)/10 + 1))
	}
	return d
}

// rateLimitWait reports whether a 403 or 429 answer is a rate limit and how long GitHub asks to
// wait: Retry-After, else until X-RateLimit-Reset when X-RateLimit-Remaining is 0, else a minute
// for a secondary rate limit (a 429, or a 403 whose documentation_url says so, the mark
// go-github goes by too).
func rateLimitWait(resp *http.Response, now time.Time) (time.Duration, bool) {
	if d, ok := httpretry.RetryAfter(resp.Header.Get("Retry-After"), now); ok {
		return d, true
	}
	if resp.Header.Get("X-RateLimit-Remaining") == "0" {
		if reset, err := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64); err == nil {
			return max(time.Unix(reset, 0).Sub(now)+time.Second, 0), true
		}
		return secondaryRateLimitWait, true
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		return secondaryRateLimitWait, true
	}
	var body struct {
		DocumentationURL string `json:"documentation_url"`
	}
	if peekJSON(resp, &body) && (strings.HasSuffix(body.DocumentationURL, "secondary-rate-limits") ||
		strings.HasSuffix(body.DocumentationURL, "#abuse-rate-limits")) {
		return secondaryRateLimitWait, true
	}
	return 0, false
}

// peekJSON decodes the start of an answer's body into v and puts the bytes back.
func peekJSON(resp *http.Response, v any) bool {
	if resp.Body == nil {
		return false
	}
	buf, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	rest := resp.Body
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(buf), rest), rest}
	return err == nil && json.Unmarshal(buf, v) == nil
}

// transientErr reports whether a failed try (no answer at all) is worth another. Cancellation by
// the caller is not; our own attempt timeout is.
func transientErr(ctx context.Context, err error) bool {
	if err == nil || ctx.Err() != nil {
		return false
	}
	var at *httpretry.AttemptTimeoutError
	if errors.As(err, &at) {
		return true
	}
	// Anything else the transport returns is a failure to get an answer (refused, reset, EOF,
	// DNS, TLS handshake timeout): worth another try for a request that is safe to repeat.
	return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}

// try sends one request. A bodiless API request is bounded by the attempt timeout and its answer
// read in full.
func (t *retryTransport) try(r *http.Request, hasBody bool) (*http.Response, error) {
	bounded := t.timeout > 0 && !hasBody && r.Header.Get("Accept") != "application/octet-stream"
	if !bounded {
		return t.inner.RoundTrip(r)
	}
	a, ar := httpretry.Begin(r, t.timeout)
	resp, err := t.inner.RoundTrip(ar)
	if err != nil {
		return nil, a.Fail(err)
	}
	if err := a.ReadBody(resp, maxBuffered); err != nil {
		return nil, fmt.Errorf("reading the answer to %s %s: %w", r.Method, r.URL.Path, err)
	}
	return resp, nil
}

// drain discards the rest of an answer and closes it (httpretry.Drain).
func drain(resp *http.Response) { httpretry.Drain(resp) }

// sleep waits d, or until ctx is done, and then returns ctx.Err().
func sleep(ctx context.Context, d time.Duration) error {
	if httpretry.Sleep(ctx, d) != nil {
		return ctx.Err()
	}
	return nil
}
