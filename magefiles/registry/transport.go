package registry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
	"time"

	"github.com/shiplane/shiplane/magefiles/httpretry"
)

// retryTransport retries transient failures of requests it can replay (no body, or a body it can
// get again), honouring Retry-After, and refuses plain HTTP to hosts that must use HTTPS. GET
// answers are read in full (up to maxBuffered) inside the try, so a truncated body is retried too.
type retryTransport struct {
	inner    http.RoundTripper
	policy   RetryPolicy
	insecure func(host string) bool
	timeout  time.Duration
}

var _ http.RoundTripper = (*retryTransport)(nil)

// maxBuffered bounds the GET answers read in full: manifests and configs fit, big blobs stream.
const maxBuffered = 8 << 20

// retryableStatus are the answers worth asking again.
func retryableStatus(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
		http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// unreplayedError marks a transient failure of a request whose body could not be sent again: the
// caller (go-containerregistry's upload loop) may redo the whole operation.
type unreplayedError struct {
	err    error
	status int
}

func (e *unreplayedError) Error() string {
	if e.err != nil {
		return e.err.Error()
	}
	return fmt.Sprintf("registry answered %d %s", e.status, http.StatusText(e.status))
}
func (e *unreplayedError) Unwrap() error { return e.err }

// isUnreplayedTransient is the retry predicate handed to go-containerregistry.
func isUnreplayedTransient(err error) bool {
	var u *unreplayedError
	return errors.As(err, &u)
}

// transientErr reports whether a failed try is worth another one. Cancellation by the caller is
// not; our own attempt timeout is.
func transientErr(ctx context.Context, err error) bool {
	if err == nil || ctx.Err() != nil {
		return false
	}
	var at *httpretry.AttemptTimeoutError
	if errors.As(err, &at) {
		return true
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return dns.IsTemporary || dns.IsTimeout
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, net.ErrClosed)
}

func (t *retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" && !t.insecure(req.URL.Host) {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, &InsecureError{Host: req.URL.Host}
	}
	ctx := req.Context()
	hasBody := httpretry.HasBody(req)
	if hasBody && req.GetBody == nil && req.Method == http.MethodPut && req.ContentLength >= 0 && req.ContentLength <= maxBuffered {
		// A whole blob or manifest sent in one PUT (the chart client's uploads) is kept in memory,
		// so a failed try can be sent again; streamed uploads (PATCH) are redone by their caller.
		r, err := withReplayableBody(req)
		if err != nil {
			return nil, err
		}
		req = r
	}
	replayable := !hasBody || req.GetBody != nil
	attempts := t.policy.Attempts
	if !replayable {
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
		again := transientErr(ctx, err) || (err == nil && retryableStatus(resp.StatusCode))
		if !again {
			return resp, err
		}
		if try >= attempts {
			if !replayable {
				if err == nil {
					httpretry.Drain(resp)
					return nil, &unreplayedError{status: resp.StatusCode}
				}
				return nil, &unreplayedError{err: err}
			}
			return resp, err
		}
		wait := backoff(t.policy, try)
		if err == nil {
			if ra, ok := httpretry.RetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok && ra > wait {
				wait = ra
			}
			httpretry.Drain(resp)
		}
		if t.policy.Max > 0 && wait > t.policy.Max {
			wait = t.policy.Max
		}
		if err := httpretry.Sleep(ctx, wait); err != nil {
			return nil, err
		}
	}
}

// withReplayableBody returns a copy of req whose body, read into memory, can be had again.
func withReplayableBody(req *http.Request) (*http.Request, error) {
	data, err := io.ReadAll(req.Body)
	_ = req.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("reading the request body: %w", err)
	}
	r := req.Clone(req.Context())
	r.Body = io.NopCloser(bytes.NewReader(data))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
	return r, nil
}

// try sends one request, bounded by the attempt timeout when it has no body, and reads GET
// answers in full.
func (t *retryTransport) try(r *http.Request, hasBody bool) (*http.Response, error) {
	var d time.Duration
	if !hasBody {
		d = t.timeout
	}
	a, r := httpretry.Begin(r, d)
	resp, err := t.inner.RoundTrip(r)
	if err != nil {
		return nil, a.Fail(err)
	}
	if r.Method != http.MethodGet {
		a.ReleaseOnClose(resp)
		return resp, nil
	}
	if err := a.ReadBody(resp, maxBuffered); err != nil {
		return nil, fmt.Errorf("reading the answer to %s %s: %w", r.Method, r.URL.Redacted(), err)
	}
	return resp, nil
}

// backoff is the wait after the try-th failed try: Initial, then doubling.
func backoff(p RetryPolicy, try int) time.Duration {
	d := p.Initial
	for i := 1; i < try; i++ {
		d *= 2
		if p.Max > 0 && d >= p.Max {
			return p.Max
		}
	}
	return d
}
