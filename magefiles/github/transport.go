package github

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
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

// writesOnce sends requests that are not idempotent (a create, an upload) once, through once, and
// every other request through retrying: whether a create or upload that got no clear answer was
// carried out is for the operation to find out by looking again (Client.again), never for the
// transport to guess by sending it again. A rate-limited answer says nothing either way for an
// upload, which may have landed before the limit was counted.
type writesOnce struct {
	once, retrying http.RoundTripper
}

func (t *writesOnce) RoundTrip(req *http.Request) (*http.Response, error) {
	if !idempotent(req.Method) {
		return t.once.RoundTrip(req)
	}
	return t.retrying.RoundTrip(req)
}

// newRetryTransport is the shared retrying transport (httpretry.Transport) with GitHub's rules on
// top: a request that may have been carried out (no answer, a 5xx) is sent again only when it is
// idempotent; a rate limit (429, or a 403 marked as one) is retried after the wait GitHub asks
// for. The API client sends only idempotent requests through it (see writesOnce). Bodiless API requests are bounded by the attempt timeout and their answers
// read in full inside the try (up to httpretry.MaxBuffered), so a truncated answer is retried too;
// asset downloads (Accept: application/octet-stream) stream.
func newRetryTransport(inner http.RoundTripper, o options, logf func(format string, args ...any)) *httpretry.Transport {
	return httpretry.New(inner, o.retry,
		httpretry.WithAttemptTimeout(o.attemptTimeout),
		httpretry.WithBounded(func(r *http.Request) bool {
			return o.attemptTimeout > 0 && !httpretry.HasBody(r) && r.Header.Get("Accept") != "application/octet-stream"
		}),
		httpretry.WithRepeatable(func(r *http.Request) bool { return idempotent(r.Method) }),
		httpretry.WithRateLimit(func(resp *http.Response, now time.Time) (time.Duration, bool) {
			if resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusForbidden {
				return 0, false // a 403 that is not a rate limit: the token may not do this
			}
			return rateLimitWait(resp, now)
		}),
		httpretry.WithLogf(func(format string, args ...any) { logf("GitHub API "+format, args...) }),
	)
}

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

// sleep waits d, or until ctx is done, and then returns ctx.Err().
func sleep(ctx context.Context, d time.Duration) error {
	if httpretry.Sleep(ctx, d) != nil {
		return ctx.Err()
	}
	return nil
}
