package httpretry_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/shiplane/shiplane/magefiles/httpretry"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, c := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"  ", 0, false},
		{"3", 3 * time.Second, true},
		{" 3 ", 3 * time.Second, true},
		{"0", 0, true},
		{"-1", 0, false},
		{now.Add(7 * time.Second).Format(http.TimeFormat), 7 * time.Second, true},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0, true},
		{"soon", 0, false},
	} {
		got, ok := httpretry.RetryAfter(c.in, now)
		if got != c.want || ok != c.ok {
			t.Errorf("RetryAfter(%q) = %s, %v; want %s, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}

func TestAttemptTimeoutIsReportedAsSuch(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)

	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, r := httpretry.Begin(req, 50*time.Millisecond)
	if r == req {
		t.Fatal("a bounded attempt must send a request bound to its own context")
	}
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil {
		_ = resp.Body.Close()
		t.Fatal("the try answered before the server did")
	}
	err = a.Fail(err)
	var at *httpretry.AttemptTimeoutError
	if !errors.As(err, &at) || at.Limit != 50*time.Millisecond {
		t.Fatalf("error %v is not the attempt timeout", err)
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("error %v does not read as a timeout", err)
	}
	if !strings.Contains(err.Error(), "no complete answer within 50ms") {
		t.Fatalf("error text %q", err)
	}
	if req.Context().Err() != nil {
		t.Fatal("the attempt timeout ended the caller's context")
	}
}

func TestTimeoutCauseLeavesOtherErrorsAlone(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := httpretry.TimeoutCause(ctx, context.Canceled); err != context.Canceled {
		t.Fatalf("a caller's cancellation became %v", err)
	}
	at := &httpretry.AttemptTimeoutError{Limit: time.Second}
	tctx, tcancel := context.WithTimeoutCause(t.Context(), 0, at)
	defer tcancel()
	<-tctx.Done()
	err := httpretry.TimeoutCause(tctx, at)
	if err != at {
		t.Fatalf("an error already carrying the timeout was wrapped again: %v", err)
	}
	if err := httpretry.TimeoutCause(tctx, context.DeadlineExceeded); !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, new(*httpretry.AttemptTimeoutError)) {
		t.Fatalf("wrapped error %v lost one of its causes", err)
	}
}

func TestUnboundedAttemptSendsTheRequestAsItIs(t *testing.T) {
	req := httptest.NewRequest(http.MethodGet, "http://example.invalid/", nil)
	a, r := httpretry.Begin(req, 0)
	if r != req {
		t.Fatal("an unbounded attempt changed the request")
	}
	if err := a.Fail(io.EOF); err != io.EOF {
		t.Fatalf("Fail changed an ordinary error: %v", err)
	}
}

// closeCounter is a body that counts its Close calls.
type closeCounter struct {
	io.Reader
	closed int
}

func (c *closeCounter) Close() error { c.closed++; return nil }

func TestReadBody(t *testing.T) {
	req := httptest.NewRequest(http.MethodGet, "http://example.invalid/", nil)

	t.Run("fits", func(t *testing.T) {
		a, r := httpretry.Begin(req, time.Minute)
		body := &closeCounter{Reader: strings.NewReader("short")}
		resp := &http.Response{Body: body}
		if err := a.ReadBody(resp, 16); err != nil {
			t.Fatal(err)
		}
		if body.closed != 1 || r.Context().Err() == nil {
			t.Fatalf("closed %d times, attempt context %v: want the body closed and the attempt released", body.closed, r.Context().Err())
		}
		if b, _ := io.ReadAll(resp.Body); string(b) != "short" {
			t.Fatalf("body %q", b)
		}
	})

	t.Run("streams", func(t *testing.T) {
		a, r := httpretry.Begin(req, time.Minute)
		body := &closeCounter{Reader: strings.NewReader("0123456789abcdef-and-more")}
		resp := &http.Response{Body: body}
		if err := a.ReadBody(resp, 16); err != nil {
			t.Fatal(err)
		}
		if body.closed != 0 || r.Context().Err() != nil {
			t.Fatal("a body longer than the limit must stream on, its attempt alive")
		}
		if b, _ := io.ReadAll(resp.Body); string(b) != "0123456789abcdef-and-more" {
			t.Fatalf("body %q", b)
		}
		_ = resp.Body.Close()
		if body.closed != 1 || r.Context().Err() == nil {
			t.Fatal("closing the body must close the answer and release the attempt")
		}
	})

	t.Run("cut short", func(t *testing.T) {
		a, r := httpretry.Begin(req, time.Minute)
		body := &closeCounter{Reader: io.MultiReader(strings.NewReader("part"), iotestErr{io.ErrUnexpectedEOF})}
		resp := &http.Response{Body: body}
		err := a.ReadBody(resp, 16)
		if !errors.Is(err, io.ErrUnexpectedEOF) || body.closed != 1 || r.Context().Err() == nil {
			t.Fatalf("err %v, closed %d: want the read error, the body closed, the attempt released", err, body.closed)
		}
	})
}

type iotestErr struct{ err error }

func (e iotestErr) Read([]byte) (int, error) { return 0, e.err }

func TestReleaseOnClose(t *testing.T) {
	a, r := httpretry.Begin(httptest.NewRequest(http.MethodPut, "http://example.invalid/", nil), time.Minute)
	body := &closeCounter{Reader: strings.NewReader("x")}
	resp := &http.Response{Body: body}
	a.ReleaseOnClose(resp)
	if r.Context().Err() != nil {
		t.Fatal("released before the body was closed")
	}
	_ = resp.Body.Close()
	if body.closed != 1 || r.Context().Err() == nil {
		t.Fatal("closing the body must close the answer and release the attempt")
	}
}

func TestResend(t *testing.T) {
	bodiless := httptest.NewRequest(http.MethodGet, "http://example.invalid/", nil)
	if r, err := httpretry.Resend(bodiless); err != nil || r != bodiless {
		t.Fatalf("a bodiless request is sent as it is: %v %v", r, err)
	}
	withBody, err := http.NewRequest(http.MethodPut, "http://example.invalid/", bytes.NewReader([]byte("payload")))
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.ReadAll(withBody.Body) // the first try used it up
	r, err := httpretry.Resend(withBody)
	if err != nil || r == withBody {
		t.Fatalf("Resend: %v", err)
	}
	if b, _ := io.ReadAll(r.Body); string(b) != "payload" {
		t.Fatalf("resent body %q", b)
	}
	withBody.GetBody = func() (io.ReadCloser, error) { return nil, errors.New("gone") }
	if _, err := httpretry.Resend(withBody); err == nil || !strings.Contains(err.Error(), "rewinding the request body: gone") {
		t.Fatalf("Resend with a failing GetBody: %v", err)
	}
	withBody.GetBody = nil
	if _, err := httpretry.Resend(withBody); err == nil {
		t.Fatal("Resend of a body it cannot have again must fail")
	}
}

func TestDrain(t *testing.T) {
	body := &closeCounter{Reader: strings.NewReader("rest")}
	httpretry.Drain(&http.Response{Body: body})
	if body.closed != 1 {
		t.Fatal("Drain did not close the body")
	}
	httpretry.Drain(&http.Response{}) // a nil body is left alone
}

func TestSleep(t *testing.T) {
	if err := httpretry.Sleep(t.Context(), time.Millisecond); err != nil {
		t.Fatalf("Sleep: %v", err)
	}
	if err := httpretry.Sleep(t.Context(), 0); err != nil {
		t.Fatalf("Sleep 0: %v", err)
	}
	why := errors.New("shutting down")
	ctx, cancel := context.WithCancelCause(t.Context())
	cancel(why)
	start := time.Now()
	if err := httpretry.Sleep(ctx, time.Hour); err != why {
		t.Fatalf("Sleep on a done context = %v, want its cause", err)
	}
	if time.Since(start) > time.Second {
		t.Fatal("Sleep waited on a done context")
	}
	if err := httpretry.Sleep(ctx, 0); !errors.Is(err, context.Canceled) {
		t.Fatalf("Sleep 0 on a done context = %v, want ctx.Err()", err)
	}
}
