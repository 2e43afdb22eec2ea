package httpretry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"time"
)

// RetryPolicy says how often and how patiently transient failures are retried. Every client
// that retries HTTP (registry, charts, GitHub) uses this one type with its own default values.
type RetryPolicy struct {
	// Attempts is the total number of tries per request (1 = no retry; less counts as 1).
	Attempts int
	// Initial is the wait after the first failed try; each later wait doubles (see Backoff).
	Initial time.Duration
	// Max caps every wait. The backoff never grows past it, and a wait the server asks for
	// (Retry-After, a rate-limit reset) that is longer is neither waited for nor cut short: the
	// request fails at once with a *RetryAfterTooLongError. With Max <= 0 nothing is waited for.
	Max time.Duration
}

// Tries is Attempts, at least 1.
func (p RetryPolicy) Tries() int { return max(p.Attempts, 1) }

// Backoff is the wait after the try-th failed try: Initial, doubling with each try, plus up to
// 10% jitter so that parallel clients do not retry in step; never more than Max.
func (p RetryPolicy) Backoff(try int) time.Duration {
	if p.Max <= 0 {
		return 0
	}
	d := p.Initial
	for i := 1; i < try && d < p.Max; i++ {
		d *= 2
	}
	if d <= 0 {
		return 0
	}
	d += time.Duration(rand.Int64N(int64(d)/10 + 1))
	return min(d, p.Max)
}

// RetryAfterTooLongError is an answer that asked to wait longer than the policy's Max before
// trying again. It is returned at once, after one request: the wait is neither slept through nor
// cut short.
type RetryAfterTooLongError struct {
	// Wait is what the server asked for (Retry-After, or a rate-limit reset).
	Wait time.Duration
	// Max is the policy's cap on a wait.
	Max time.Duration
	// URL is where the request went, without user information or query.
	URL string
	// Status is the answer's HTTP status.
	Status int
}

func (e *RetryAfterTooLongError) Error() string {
	return fmt.Sprintf("%s answered %d %s and asks to wait %s before trying again, longer than the %s "+
		"this client waits: try again in %s or later, or raise the retry policy's Max",
		e.URL, e.Status, http.StatusText(e.Status), e.Wait, e.Max, e.Wait.Round(time.Second))
}

// UnreplayedError is a transient failure of a request whose body could not be sent again, so it
// was not retried: a caller that can redo the whole operation (go-containerregistry's upload
// loop) may. Any wait the server asked for has already passed.
type UnreplayedError struct {
	// Status is the transient answer's status, when there was an answer.
	Status int
	// Err is the failure, when there was no answer.
	Err error
}

func (e *UnreplayedError) Error() string {
	if e.Err != nil {
		return e.Err.Error()
	}
	return fmt.Sprintf("the server answered %d %s", e.Status, http.StatusText(e.Status))
}

// Unwrap returns the failure.
func (e *UnreplayedError) Unwrap() error { return e.Err }

// TransientStatus reports whether an answer with this status is worth another try: 408, 429,
// and every 5xx but 501 Not Implemented and 505 HTTP Version Not Supported, which will not change.
func TransientStatus(code int) bool {
	switch {
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests:
		return true
	case code == http.StatusNotImplemented || code == http.StatusHTTPVersionNotSupported:
		return false
	}
	return code >= 500 && code <= 599
}

// notActedOn reports whether an answer says the server did not act on the request, so that even
// a request that is not safe to repeat may be sent again.
func notActedOn(code int) bool {
	return code == http.StatusRequestTimeout || code == http.StatusTooManyRequests
}

// TransientError reports whether a try that got no answer is worth another: a timeout (the
// attempt's own, a dial or TLS handshake timeout), a reset, refused, aborted or closed
// connection, an answer cut short, a temporary DNS failure. The caller's own cancellation or
// deadline is not, nor is anything that another try would meet again: an unknown certificate
// authority or other TLS failure, a host that does not exist, a malformed request.
func TransientError(ctx context.Context, err error) bool {
	if err == nil || ctx.Err() != nil {
		return false
	}
	var at *AttemptTimeoutError
	if errors.As(err, &at) {
		return true
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return !dns.IsNotFound && (dns.IsTemporary || dns.IsTimeout)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNABORTED) || errors.Is(err, net.ErrClosed)
}

// where is u without user information, query or fragment, for messages.
func where(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
	return c.String()
}
