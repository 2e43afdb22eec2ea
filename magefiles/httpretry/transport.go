package httpretry

import (
	"fmt"
	"net/http"
	"time"
)

// MaxBuffered bounds the answers a bounded try reads in full: API answers, manifests and configs
// fit; big blobs and downloads stream on.
const MaxBuffered = 8 << 20

// Transport is the retrying transport the registry, chart and GitHub clients share. It sends a
// request again after a transient failure (TransientError, TransientStatus, a rate limit) when it
// can have its body again, waiting RetryPolicy.Backoff or as long as the server asks when that
// is longer; a server asking for longer than the policy's Max fails the request at once with
// *RetryAfterTooLongError. Bounded tries read their answer in full inside the try, so an answer
// cut short is retried too.
type Transport struct {
	inner          http.RoundTripper
	policy         RetryPolicy
	attemptTimeout time.Duration
	bounded        func(*http.Request) bool
	repeatable     func(*http.Request) bool
	rateLimit      func(*http.Response, time.Time) (time.Duration, bool)
	unreplayed     bool
	logf           func(format string, args ...any)
}

var _ http.RoundTripper = (*Transport)(nil)

// Option configures New.
type Option func(*Transport)

// WithAttemptTimeout bounds each try the WithBounded predicate accepts, from sending it to reading
// its whole answer (up to MaxBuffered); a try that takes longer fails with *AttemptTimeoutError
// and counts as transient. Other tries are bounded only by the caller's context. Default: 0, no
// bound (bounded tries still read their answer in full).
func WithAttemptTimeout(d time.Duration) Option { return func(t *Transport) { t.attemptTimeout = d } }

// WithBounded sets which requests are sent as bounded tries (see WithAttemptTimeout). Default:
// every request without a body.
func WithBounded(f func(r *http.Request) bool) Option { return func(t *Transport) { t.bounded = f } }

// WithRepeatable sets which requests may be sent again after a failure that leaves unknown
// whether the server acted on them: no answer at all, or a 5xx. Answers saying it did not (408,
// 429, a rate limit) are retried for any request. Default: every request.
func WithRepeatable(f func(r *http.Request) bool) Option {
	return func(t *Transport) { t.repeatable = f }
}

// WithRateLimit sets how a rate-limit answer is recognised and how long it asks to wait (0 when
// it names no wait). A rate-limited answer is retried for any request, whatever its status (a
// 403 may be one). Default: a 429 is a rate limit, asking to wait its Retry-After.
func WithRateLimit(f func(resp *http.Response, now time.Time) (time.Duration, bool)) Option {
	return func(t *Transport) { t.rateLimit = f }
}

// WithUnreplayed makes a transient failure of a request whose body cannot be sent again a
// *UnreplayedError, returned after the wait the server asked for, for a caller that can redo the
// whole operation. Default: off, the answer or error is returned as it is.
func WithUnreplayed() Option { return func(t *Transport) { t.unreplayed = true } }

// WithLogf sets where one line per retry goes (what failed, how long until the next try).
// Default: nowhere.
func WithLogf(f func(format string, args ...any)) Option { return func(t *Transport) { t.logf = f } }

// New returns a Transport that sends each try through inner (http.DefaultTransport when nil) and
// retries as policy says.
func New(inner http.RoundTripper, policy RetryPolicy, opts ...Option) *Transport {
	if inner == nil {
		inner = http.DefaultTransport
	}
	t := &Transport{inner: inner, policy: policy}
	for _, opt := range opts {
		opt(t)
	}
	if t.bounded == nil {
		t.bounded = func(r *http.Request) bool { return !HasBody(r) }
	}
	if t.repeatable == nil {
		t.repeatable = func(*http.Request) bool { return true }
	}
	if t.rateLimit == nil {
		t.rateLimit = retryAfterOn429
	}
	if t.logf == nil {
		t.logf = func(string, ...any) {}
	}
	return t
}

// retryAfterOn429 is the default rate-limit rule: a 429, asking to wait its Retry-After.
func retryAfterOn429(resp *http.Response, now time.Time) (time.Duration, bool) {
	if resp.StatusCode != http.StatusTooManyRequests {
		return 0, false
	}
	d, _ := RetryAfter(resp.Header.Get("Retry-After"), now)
	return d, true
}

// verdict is what one try came to.
type verdict struct {
	again bool
	asked time.Duration // the wait the server asked for, 0 when none
	why   string
}

func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	replayable := !HasBody(req) || req.GetBody != nil
	attempts := t.policy.Tries()
	if !replayable {
		attempts = 1
	}
	for try := 1; ; try++ {
		r := req
		if try > 1 {
			var err error
			if r, err = Resend(req); err != nil {
				return nil, err
			}
		}
		resp, err := t.try(r)
		v := t.judge(req, resp, err)
		if !v.again || (try >= attempts && (replayable || !t.unreplayed)) {
			return resp, err
		}
		if v.asked > t.policy.Max {
			status := 0
			if resp != nil {
				status = resp.StatusCode
				Drain(resp)
			}
			return nil, &RetryAfterTooLongError{Wait: v.asked, Max: t.policy.Max, URL: where(req.URL), Status: status}
		}
		if !replayable {
			// WithUnreplayed: the caller redoes the operation, once the asked wait has passed.
			if resp != nil {
				Drain(resp)
			}
			if serr := Sleep(ctx, v.asked); serr != nil {
				return nil, serr
			}
			if resp != nil {
				return nil, &UnreplayedError{Status: resp.StatusCode}
			}
			return nil, &UnreplayedError{Err: err}
		}
		wait := max(t.policy.Backoff(try), v.asked)
		if resp != nil {
			Drain(resp)
		}
		t.logf("%s %s: %s; trying again in %s (attempt %d of %d)",
			req.Method, where(req.URL), v.why, wait.Round(time.Millisecond), try+1, attempts)
		if serr := Sleep(ctx, wait); serr != nil {
			return nil, serr
		}
	}
}

// judge says whether a try is worth another, how long the server asked to wait, and why.
func (t *Transport) judge(req *http.Request, resp *http.Response, err error) verdict {
	if err != nil {
		return verdict{again: TransientError(req.Context(), err) && t.repeatable(req), why: err.Error()}
	}
	status := fmt.Sprintf("%d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	if wait, limited := t.rateLimit(resp, time.Now()); limited {
		return verdict{again: true, asked: wait, why: status + " (rate limited)"}
	}
	code := resp.StatusCode
	if !TransientStatus(code) || (!notActedOn(code) && !t.repeatable(req)) {
		return verdict{}
	}
	wait, _ := RetryAfter(resp.Header.Get("Retry-After"), time.Now())
	return verdict{again: true, asked: wait, why: status}
}

// try sends one request; a bounded one is bounded by the attempt timeout and its answer read in
// full.
func (t *Transport) try(r *http.Request) (*http.Response, error) {
	if !t.bounded(r) {
		return t.inner.RoundTrip(r)
	}
	a, ar := Begin(r, t.attemptTimeout)
	resp, err := t.inner.RoundTrip(ar)
	if err != nil {
		return nil, a.Fail(err)
	}
	if err := a.ReadBody(resp, MaxBuffered); err != nil {
		return nil, fmt.Errorf("reading the answer to %s %s: %w", r.Method, where(r.URL), err)
	}
	return resp, nil
}
