package httpretry_test

import (
	"context"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/shiplane/shiplane/magefiles/httpretry"
)

// quick retries at once, up to 5 tries, and honours waits of up to 5 s.
var quick = httpretry.RetryPolicy{Attempts: 5, Initial: time.Millisecond, Max: 5 * time.Second}

// server answers with answer(n) to its n-th request (from 1) and records when each came.
type server struct {
	*httptest.Server
	mu    sync.Mutex
	times []time.Time
}

func newServer(t *testing.T, answer func(n int, w http.ResponseWriter)) *server {
	s := &server{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.times = append(s.times, time.Now())
		n := len(s.times)
		s.mu.Unlock()
		answer(n, w)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *server) requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.times)
}

// get sends a GET through rt, giving up after 20 s: a transport that slept through a long
// Retry-After fails rather than hangs.
func get(t *testing.T, rt http.RoundTripper, url string) (*http.Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := rt.RoundTrip(req)
	if resp != nil {
		t.Cleanup(func() { _ = resp.Body.Close() })
	}
	return resp, err
}

func TestRetryAfterLongerThanMaxFailsAtOnce(t *testing.T) {
	for _, c := range []struct {
		name   string
		status int
		after  string
	}{
		{"503 in seconds", http.StatusServiceUnavailable, "3600"},
		{"429 in seconds", http.StatusTooManyRequests, "3600"},
		{"503 as a date", http.StatusServiceUnavailable, time.Now().Add(time.Hour + time.Minute).UTC().Format(http.TimeFormat)},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := newServer(t, func(_ int, w http.ResponseWriter) {
				w.Header().Set("Retry-After", c.after)
				w.WriteHeader(c.status)
			})
			resp, err := get(t, httpretry.New(nil, quick), srv.URL+"/v2/core/manifests/1.0?token=s3cret")
			if resp != nil {
				t.Fatalf("answer %d returned; want the wait refused", resp.StatusCode)
			}
			var tl *httpretry.RetryAfterTooLongError
			if !errors.As(err, &tl) {
				t.Fatalf("err = %v, want *RetryAfterTooLongError", err)
			}
			if n := srv.requests(); n != 1 {
				t.Fatalf("%d requests served, want exactly 1: the wait is neither slept through nor cut short", n)
			}
			if tl.Wait < time.Hour || tl.Max != quick.Max || tl.Status != c.status || tl.URL != srv.URL+"/v2/core/manifests/1.0" {
				t.Fatalf("error fields %+v", *tl)
			}
			msg := err.Error()
			for _, want := range []string{"asks to wait 1h", "longer than the 5s", "raise the retry policy's Max"} {
				if !strings.Contains(msg, want) {
					t.Errorf("message %q does not say %q", msg, want)
				}
			}
			if strings.Contains(msg, "s3cret") {
				t.Errorf("message shows the query: %q", msg)
			}
		})
	}
}

func TestRetryAfterWithinMaxIsHonoured(t *testing.T) {
	srv := newServer(t, func(n int, w http.ResponseWriter) {
		if n == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		_, _ = io.WriteString(w, "ok")
	})
	resp, err := get(t, httpretry.New(nil, quick), srv.URL)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("%v %v", resp, err)
	}
	if n := srv.requests(); n != 2 {
		t.Fatalf("%d requests, want the limited one and one more", n)
	}
	if gap := srv.times[1].Sub(srv.times[0]); gap < 900*time.Millisecond {
		t.Fatalf("asked again after %s, before the 1 s Retry-After", gap)
	}
}

func TestTransientAnswersAreRetried(t *testing.T) {
	for _, status := range []int{500, 502, 503, 504, 507, 408, 429} {
		srv := newServer(t, func(n int, w http.ResponseWriter) {
			if n < 3 {
				w.WriteHeader(status)
			}
		})
		resp, err := get(t, httpretry.New(nil, quick), srv.URL)
		if err != nil || resp.StatusCode != http.StatusOK || srv.requests() != 3 {
			t.Errorf("%d: %v %v after %d requests, want 200 after 3", status, resp, err, srv.requests())
		}
	}
	for _, status := range []int{400, 401, 403, 404, 501, 505} {
		srv := newServer(t, func(n int, w http.ResponseWriter) { w.WriteHeader(status) })
		resp, err := get(t, httpretry.New(nil, quick), srv.URL)
		if err != nil || resp.StatusCode != status || srv.requests() != 1 {
			t.Errorf("%d: %v %v after %d requests, want it returned after 1", status, resp, err, srv.requests())
		}
	}
}

func TestAttemptsRunOut(t *testing.T) {
	srv := newServer(t, func(n int, w http.ResponseWriter) { w.WriteHeader(http.StatusBadGateway) })
	resp, err := get(t, httpretry.New(nil, quick), srv.URL)
	if err != nil || resp.StatusCode != http.StatusBadGateway || srv.requests() != quick.Attempts {
		t.Fatalf("%v %v after %d requests, want the 502 after %d", resp, err, srv.requests(), quick.Attempts)
	}
}

// countingDialer dials like net.Dialer, or fails as fail says, and counts its dials.
type countingDialer struct {
	dials atomic.Int64
	fail  error
}

func (d *countingDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	d.dials.Add(1)
	if d.fail != nil {
		return nil, d.fail
	}
	return (&net.Dialer{}).DialContext(ctx, network, addr)
}

func TestPermanentTransportErrorsAreNotRetried(t *testing.T) {
	t.Run("unknown certificate authority", func(t *testing.T) {
		var conns atomic.Int64
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake
		srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				conns.Add(1)
			}
		}
		srv.StartTLS()
		defer srv.Close()
		d := &countingDialer{}
		inner := &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true} // trusts no test CA
		_, err := get(t, httpretry.New(inner, quick), srv.URL)
		var ua x509.UnknownAuthorityError
		if !errors.As(err, &ua) {
			t.Fatalf("err = %v, want x509.UnknownAuthorityError", err)
		}
		if n := d.dials.Load(); n != 1 {
			t.Fatalf("%d dials, want 1", n)
		}
		srv.Close() // waits for the connections to be done with
		if n := conns.Load(); n != 1 {
			t.Fatalf("%d connections reached the server, want 1", n)
		}
	})
	t.Run("no such host", func(t *testing.T) {
		d := &countingDialer{fail: &net.DNSError{Err: "no such host", Name: "registry.invalid", IsNotFound: true}}
		_, err := get(t, httpretry.New(&http.Transport{DialContext: d.DialContext}, quick), "http://registry.invalid/v2/")
		var dns *net.DNSError
		if !errors.As(err, &dns) {
			t.Fatalf("err = %v, want *net.DNSError", err)
		}
		if n := d.dials.Load(); n != 1 {
			t.Fatalf("%d dials, want 1", n)
		}
	})
	t.Run("refused, for contrast", func(t *testing.T) {
		d := &countingDialer{fail: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}}
		_, err := get(t, httpretry.New(&http.Transport{DialContext: d.DialContext}, quick), "http://127.0.0.1:1/")
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("err = %v", err)
		}
		if n := d.dials.Load(); n != int64(quick.Attempts) {
			t.Fatalf("%d dials, want %d", n, quick.Attempts)
		}
	})
}

func TestTransientError(t *testing.T) {
	ctx := t.Context()
	for _, c := range []struct {
		name string
		err  error
		want bool
	}{
		{"reset", &net.OpError{Op: "read", Err: syscall.ECONNRESET}, true},
		{"refused", &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, true},
		{"cut short", io.ErrUnexpectedEOF, true},
		{"closed", io.EOF, true},
		{"attempt timeout", &httpretry.AttemptTimeoutError{Limit: time.Second}, true},
		{"dns timeout", &net.DNSError{IsTimeout: true}, true},
		{"dns temporary", &net.DNSError{IsTemporary: true}, true},
		{"no such host", &net.DNSError{IsNotFound: true}, false},
		{"unknown authority", x509.UnknownAuthorityError{}, false},
		{"bad hostname", x509.HostnameError{}, false},
		{"caller cancelled", context.Canceled, false},
		{"caller deadline", context.DeadlineExceeded, false},
		{"other", errors.New("malformed HTTP response"), false},
	} {
		if got := httpretry.TransientError(ctx, c.err); got != c.want {
			t.Errorf("%s: TransientError = %v, want %v", c.name, got, c.want)
		}
	}
	done, cancel := context.WithCancel(ctx)
	cancel()
	if httpretry.TransientError(done, io.EOF) {
		t.Error("a failure after the caller gave up is not worth another try")
	}
}

func TestBackoff(t *testing.T) {
	p := httpretry.RetryPolicy{Attempts: 5, Initial: 200 * time.Millisecond, Max: time.Second}
	for try, want := range []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, time.Second, time.Second} {
		if got := p.Backoff(try + 1); got < want || got > want+want/10 || got > p.Max {
			t.Errorf("Backoff(%d) = %s, want %s plus up to 10%%, at most Max", try+1, got, want)
		}
	}
	if d := (httpretry.RetryPolicy{Initial: time.Second}).Backoff(3); d != 0 {
		t.Errorf("with Max 0 nothing is waited for: %s", d)
	}
	if n := (httpretry.RetryPolicy{}).Tries(); n != 1 {
		t.Errorf("Tries of the zero policy = %d", n)
	}
}

func TestNotRepeatableRequests(t *testing.T) {
	post := func(t *testing.T, rt http.RoundTripper, url string) *http.Response {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader("create"))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := rt.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		return resp
	}
	onlyGets := httpretry.WithRepeatable(func(r *http.Request) bool { return r.Method == http.MethodGet })

	// A 5xx may have been acted on: not sent again.
	srv := newServer(t, func(n int, w http.ResponseWriter) { w.WriteHeader(http.StatusServiceUnavailable) })
	if resp := post(t, httpretry.New(nil, quick, onlyGets), srv.URL); resp.StatusCode != http.StatusServiceUnavailable || srv.requests() != 1 {
		t.Fatalf("POST answered 503: %d requests", srv.requests())
	}
	// A 429 was not: sent again.
	srv = newServer(t, func(n int, w http.ResponseWriter) {
		if n == 1 {
			w.WriteHeader(http.StatusTooManyRequests)
		}
	})
	if resp := post(t, httpretry.New(nil, quick, onlyGets), srv.URL); resp.StatusCode != http.StatusOK || srv.requests() != 2 {
		t.Fatalf("POST answered 429: %d requests", srv.requests())
	}
}

func TestUnreplayedBody(t *testing.T) {
	srv := newServer(t, func(n int, w http.ResponseWriter) { w.WriteHeader(http.StatusServiceUnavailable) })
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPatch, srv.URL, io.NopCloser(strings.NewReader("stream")))
	if err != nil {
		t.Fatal(err)
	}
	req.GetBody = nil
	_, err = httpretry.New(nil, quick, httpretry.WithUnreplayed()).RoundTrip(req)
	var u *httpretry.UnreplayedError
	if !errors.As(err, &u) || u.Status != http.StatusServiceUnavailable || srv.requests() != 1 {
		t.Fatalf("err = %v after %d requests, want *UnreplayedError after 1", err, srv.requests())
	}
}

func TestRetriesAreLogged(t *testing.T) {
	srv := newServer(t, func(n int, w http.ResponseWriter) {
		if n == 1 {
			w.WriteHeader(http.StatusBadGateway)
		}
	})
	var lines []string
	logf := httpretry.WithLogf(func(format string, args ...any) { lines = append(lines, format) })
	if _, err := get(t, httpretry.New(nil, quick, logf), srv.URL); err != nil {
		t.Fatal(err)
	}
	if len(lines) != 1 || !strings.Contains(lines[0], "trying again") {
		t.Fatalf("logged %q", lines)
	}
}
