// Package httpretry is the one retrying HTTP transport the registry, chart and GitHub clients
// share (Transport), with its one policy type (RetryPolicy), one transient classification
// (TransientStatus, TransientError), one backoff and one Retry-After rule: a wait the server asks
// for is honoured up to the policy's Max, and a longer one fails the request at once with
// *RetryAfterTooLongError. It also holds the mechanics under it: a per-try timeout whose expiry is
// reported as such, reading an answer in full inside the try, resending a request's body,
// draining answers, waiting between tries and parsing Retry-After.
//
// Each client keeps its own default values (how many tries, how long to wait) and its own rules
// on top (which requests are safe to repeat, what a rate limit looks like) through Options.
package httpretry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// AttemptTimeoutError is a try that took longer than its attempt timeout. Its Timeout and
// Temporary methods report true, so it reads as a timeout to net.Error checks, and a transport can
// tell it (worth another try) from the caller's own cancellation or deadline (not).
type AttemptTimeoutError struct {
	// Limit is the attempt timeout that ran out.
	Limit time.Duration
}

func (e *AttemptTimeoutError) Error() string {
	return fmt.Sprintf("no complete answer within %s", e.Limit)
}

// Timeout reports true: the try ran out of time.
func (e *AttemptTimeoutError) Timeout() bool { return true }

// Temporary reports true: another try may get an answer in time.
func (e *AttemptTimeoutError) Temporary() bool { return true }

// TimeoutCause returns err marked with the *AttemptTimeoutError that ended ctx, when one did and
// err does not already carry it; the result wraps both, so errors.Is(err, context.DeadlineExceeded)
// still holds. Otherwise it returns err unchanged.
func TimeoutCause(ctx context.Context, err error) error {
	var at *AttemptTimeoutError
	if errors.As(context.Cause(ctx), &at) && !errors.As(err, &at) {
		return fmt.Errorf("%w: %w", at, err)
	}
	return err
}

// An Attempt is one try of a request, bounded by its own timeout. Its context is released exactly
// once: by Fail, by ReadBody, or by closing the answer's body after ReadBody or ReleaseOnClose
// handed it there.
type Attempt struct {
	ctx    context.Context
	cancel context.CancelFunc
}

// Begin starts an attempt at r bounded by d, and returns it with r bound to the attempt's context,
// which ends after d with an *AttemptTimeoutError as its cause. With d <= 0 the attempt sets no
// bound and r is returned as it is.
func Begin(r *http.Request, d time.Duration) (*Attempt, *http.Request) {
	if d <= 0 {
		return &Attempt{ctx: r.Context(), cancel: func() {}}, r
	}
	ctx, cancel := context.WithTimeoutCause(r.Context(), d, &AttemptTimeoutError{Limit: d})
	return &Attempt{ctx: ctx, cancel: cancel}, r.WithContext(ctx)
}

// Fail ends an attempt that got no answer: it returns err through TimeoutCause and releases the
// attempt.
func (a *Attempt) Fail(err error) error {
	err = TimeoutCause(a.ctx, err)
	a.cancel()
	return err
}

// ReadBody reads resp.Body inside the attempt, up to limit bytes, so that an answer cut short fails
// this try rather than its reader later. A body shorter than limit is closed and replaced by the
// bytes read, and the attempt released; a longer one streams on with the bytes read put back in
// front, and closing it releases the attempt. On a read error ReadBody closes the body, releases
// the attempt and returns the error through TimeoutCause; the caller says what it was reading.
func (a *Attempt) ReadBody(resp *http.Response, limit int64) error {
	buf, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	if err != nil {
		_ = resp.Body.Close()
		return a.Fail(err)
	}
	if int64(len(buf)) < limit {
		_ = resp.Body.Close()
		a.cancel()
		resp.Body = io.NopCloser(bytes.NewReader(buf))
		return nil
	}
	body := resp.Body
	resp.Body = &cancelOnClose{ReadCloser: struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(buf), body), body}, cancel: a.cancel}
	return nil
}

// ReleaseOnClose leaves resp.Body to stream and releases the attempt when it is closed.
func (a *Attempt) ReleaseOnClose(resp *http.Response) {
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: a.cancel}
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// HasBody reports whether req has a body to send (neither nil nor http.NoBody).
func HasBody(req *http.Request) bool {
	return req.Body != nil && req.Body != http.NoBody
}

// Resend returns what to send for another try of req: a clone of req with a fresh body from
// req.GetBody when req has a body, else req itself. A request with a body but no GetBody cannot be
// sent again, and Resend says so.
func Resend(req *http.Request) (*http.Request, error) {
	if !HasBody(req) {
		return req, nil
	}
	if req.GetBody == nil {
		return nil, errors.New("rewinding the request body: it cannot be had again")
	}
	body, err := req.GetBody()
	if err != nil {
		return nil, fmt.Errorf("rewinding the request body: %w", err)
	}
	r := req.Clone(req.Context())
	r.Body = body
	return r, nil
}

// Drain reads what is left of an answer's body, up to 64 KiB, and closes it, so the connection can
// be used again. A nil body is left alone.
func Drain(resp *http.Response) {
	if resp.Body != nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		_ = resp.Body.Close()
	}
}

// Sleep waits d, or until ctx is done, in which case it returns context.Cause(ctx). With d <= 0 it
// does not wait and returns ctx.Err().
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-tm.C:
		return nil
	}
}

// RetryAfter parses a Retry-After value, surrounding space allowed: a number of seconds (not
// negative), or an HTTP date, which counts from now (and gives 0 once past). It reports false for
// an empty or unreadable value.
func RetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil {
		if s < 0 {
			return 0, false
		}
		return time.Duration(s) * time.Second, true
	}
	if at, err := http.ParseTime(v); err == nil {
		return max(at.Sub(now), 0), true
	}
	return 0, false
}
