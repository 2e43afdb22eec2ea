// Package registrytest serves the reference OCI registry (github.com/distribution/distribution/v3)
// in-process, on 127.0.0.1, for tests: a real registry with a request log and hooks for fault
// injection, instead of a fake.
//
//	reg := registrytest.New(t)
//	ref := reg.Host() + "/core:1.0.0" // push and read with any OCI client, plain HTTP
//	...
//	if n := reg.Count(http.MethodPut, "/manifests/"); n != 0 { ... }
//
// The registry keeps everything in memory and stops when the test ends. Its own logging is
// silenced (it logs through the process-wide logrus standard logger, which New discards).
package registrytest

import (
	"bytes"
	"context"
	"crypto/subtle"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/distribution/distribution/v3/configuration"
	"github.com/distribution/distribution/v3/registry/handlers"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/inmemory" // the storage driver
	"github.com/sirupsen/logrus"

	"github.com/shiplane/shiplane/magefiles/registry/distribution"
)

// Request is one request the registry received, as recorded after it was answered.
type Request struct {
	Method string
	// Path is the URL path, e.g. "/v2/core/manifests/1.0.0".
	Path string
	// Query is the raw query, e.g. "mount=sha256:...&from=base".
	Query string
	// Status is the status code sent (by the registry or by a middleware).
	Status int
	// BytesIn is how many request body bytes the server read.
	BytesIn int64
}

// String renders r like "PUT /v2/core/manifests/1.0.0 201 (512 bytes in)".
func (r Request) String() string {
	p := r.Path
	if r.Query != "" {
		p += "?" + r.Query
	}
	return fmt.Sprintf("%s %s %d (%d bytes in)", r.Method, p, r.Status, r.BytesIn)
}

// Option configures New.
type Option func(*config)

type config struct {
	middleware []func(http.Handler) http.Handler
	user, pass string
	auth       bool
	noDelete   bool
}

// WithMiddleware wraps the registry handler, for fault injection (see FailFirst). Middlewares are
// applied in order, the first one outermost; all of them run inside the request log, so the
// answers they make up are logged too. Default: none.
func WithMiddleware(mw func(http.Handler) http.Handler) Option {
	return func(c *config) { c.middleware = append(c.middleware, mw) }
}

// WithBasicAuth requires HTTP Basic credentials on every request: without them (or with wrong
// ones) the answer is 401 with a `WWW-Authenticate: Basic realm="registrytest"` challenge.
// Default: no authentication.
func WithBasicAuth(user, pass string) Option {
	return func(c *config) { c.user, c.pass, c.auth = user, pass, true }
}

// WithoutDelete configures the registry with storage.delete.enabled false, as many production
// registries run: a manifest DELETE is answered 405 UNSUPPORTED. Default: deletes are enabled.
func WithoutDelete() Option { return func(c *config) { c.noDelete = true } }

// Registry is a running in-process registry.
type Registry struct {
	srv *httptest.Server
	app *handlers.App

	mu   sync.Mutex
	reqs []Request
}

var silenceOnce sync.Once

// New starts a registry on 127.0.0.1 with in-memory storage and stops it when the test ends.
// It fails the test (t.Fatal) if the registry cannot be set up.
func New(t testing.TB, opts ...Option) *Registry {
	t.Helper()
	var c config
	for _, o := range opts {
		o(&c)
	}
	silenceOnce.Do(func() { distribution.SetLog(io.Discard, logrus.PanicLevel) })

	cfg := distribution.Config(configuration.Storage{
		"inmemory":    configuration.Parameters{},
		"maintenance": configuration.Parameters{"uploadpurging": map[any]any{"enabled": false}},
	}, "registrytest-upload-state-secret")
	cfg.Validation.Disabled = true // allow any foreign-layer URL in test manifests
	if c.noDelete {
		cfg.Storage["delete"] = configuration.Parameters{"enabled": false}
	}

	app, err := distribution.NewApp(context.WithoutCancel(t.Context()), cfg)
	if err != nil {
		t.Fatalf("registrytest: starting the registry: %v", err)
	}
	r := &Registry{app: app}

	var h http.Handler = app
	if c.auth {
		h = basicAuth(h, c.user, c.pass)
	}
	for i := len(c.middleware) - 1; i >= 0; i-- {
		h = c.middleware[i](h)
	}
	r.srv = httptest.NewServer(r.logged(h))
	t.Cleanup(r.Close)
	return r
}

// Close stops the registry. It is called automatically when the test ends; calling it twice is fine.
func (r *Registry) Close() {
	r.srv.Close()
	_ = r.app.Shutdown()
}

// Host is the registry's host:port, e.g. "127.0.0.1:41234" (plain HTTP).
func (r *Registry) Host() string { return strings.TrimPrefix(r.srv.URL, "http://") }

// URL is the registry's base URL, e.g. "http://127.0.0.1:41234".
func (r *Registry) URL() string { return r.srv.URL }

// Ref returns Host() + "/" + repoAndTag, e.g. Ref("core:1.0.0").
func (r *Registry) Ref(repoAndTag string) string { return r.Host() + "/" + repoAndTag }

// Requests returns a copy of the requests answered since New or the last Reset, in order.
func (r *Registry) Requests() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Request(nil), r.reqs...)
}

// Reset clears the request log.
func (r *Registry) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.reqs = nil
}

// Count is how many logged requests have the method ("" for any) and a path containing
// pathSubstring ("" for any).
func (r *Registry) Count(method, pathSubstring string) int {
	return len(r.Matching(method, pathSubstring))
}

// Matching returns the logged requests Count counts.
func (r *Registry) Matching(method, pathSubstring string) []Request {
	var out []Request
	for _, q := range r.Requests() {
		if (method == "" || q.Method == method) && strings.Contains(q.Path, pathSubstring) {
			out = append(out, q)
		}
	}
	return out
}

// Writes counts logged requests that may change the registry: POST, PUT, PATCH and DELETE.
func (r *Registry) Writes() int {
	n := 0
	for _, q := range r.Requests() {
		switch q.Method {
		case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
			n++
		}
	}
	return n
}

// BytesIn is the total request body bytes received whose path contains pathSubstring ("" for
// all), e.g. BytesIn("/blobs/uploads/") for blob bytes uploaded.
func (r *Registry) BytesIn(pathSubstring string) int64 {
	var n int64
	for _, q := range r.Matching("", pathSubstring) {
		n += q.BytesIn
	}
	return n
}

// Dump renders the log one request per line, for failure messages.
func (r *Registry) Dump() string {
	var b strings.Builder
	for _, q := range r.Requests() {
		b.WriteString(q.String())
		b.WriteByte('\n')
	}
	return b.String()
}

func (r *Registry) logged(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body := &countingBody{rc: req.Body}
		req.Body = body
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, req)
		status := sw.status
		if status == 0 {
			status = http.StatusOK
		}
		r.mu.Lock()
		r.reqs = append(r.reqs, Request{
			Method: req.Method, Path: req.URL.Path, Query: req.URL.RawQuery,
			Status: status, BytesIn: body.n.Load(),
		})
		r.mu.Unlock()
	})
}

type countingBody struct {
	rc io.ReadCloser
	n  atomic.Int64
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.rc.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func (c *countingBody) Close() error { return c.rc.Close() }

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(p []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(p)
}

// Flush lets streaming answers through.
func (s *statusWriter) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap gives http.ResponseController access to the underlying writer.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func basicAuth(h http.Handler, user, pass string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || subtle.ConstantTimeCompare([]byte(u), []byte(user)) != 1 ||
			subtle.ConstantTimeCompare([]byte(p), []byte(pass)) != 1 {
			w.Header().Set("WWW-Authenticate", `Basic realm="registrytest"`)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// FailFirst returns a middleware answering the first n requests that have the method ("" for
// any) and a path containing pathSubstring with status and an OCI error body, then letting
// everything through. n < 0 fails every matching request. With status 429 or 503 it sets
// `Retry-After: 0`. Use it with WithMiddleware.
func FailFirst(method, pathSubstring string, n, status int) func(http.Handler) http.Handler {
	var seen atomic.Int64
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if (method == "" || r.Method == method) && strings.Contains(r.URL.Path, pathSubstring) {
				if k := seen.Add(1); n < 0 || k <= int64(n) {
					if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
						w.Header().Set("Retry-After", "0")
					}
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(status)
					if r.Method != http.MethodHead {
						_, _ = fmt.Fprintf(w, `{"errors":[{"code":%q,"message":"registrytest: injected %d"}]}`, errorCode(status), status)
					}
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}

// errorCode is the OCI distribution error code that goes with status.
func errorCode(status int) string {
	switch {
	case status == http.StatusUnauthorized:
		return "UNAUTHORIZED"
	case status == http.StatusForbidden:
		return "DENIED"
	case status == http.StatusNotFound:
		return "NAME_UNKNOWN"
	case status == http.StatusTooManyRequests:
		return "TOOMANYREQUESTS"
	case status >= 500:
		return "UNAVAILABLE"
	default:
		return "UNSUPPORTED"
	}
}

// When says when a Hook's function runs, relative to the request it is hooked on.
type When int

const (
	// Before runs the function before the registry sees the request.
	Before When = iota
	// After runs it once the registry has carried the request out, before the answer is sent.
	After
)

// Hook returns a middleware that calls fn once: on the first request that has the method ("" for
// any) and a path containing pathSubstring, Before the registry handles it or After (the answer
// is held back until fn returns). Other requests, fn's own among them, pass straight through, also
// while fn runs. It makes another client's write land at an exact point of a push, e.g. a foreign
// manifest under the same tag while the first blob uploads. Use it with WithMiddleware.
func Hook(when When, method, pathSubstring string, fn func()) func(http.Handler) http.Handler {
	var fired atomic.Bool
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if (method != "" && r.Method != method) || !strings.Contains(r.URL.Path, pathSubstring) ||
				!fired.CompareAndSwap(false, true) {
				next.ServeHTTP(w, r)
				return
			}
			if when == Before {
				fn()
				next.ServeHTTP(w, r)
				return
			}
			held := &heldAnswer{header: http.Header{}}
			next.ServeHTTP(held, r)
			fn()
			for k, v := range held.header {
				w.Header()[k] = v
			}
			if held.status == 0 {
				held.status = http.StatusOK
			}
			w.WriteHeader(held.status)
			_, _ = w.Write(held.body.Bytes())
		})
	}
}

// heldAnswer keeps an answer in memory until Hook sends it.
type heldAnswer struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (h *heldAnswer) Header() http.Header { return h.header }

func (h *heldAnswer) WriteHeader(code int) {
	if h.status == 0 {
		h.status = code
	}
}

func (h *heldAnswer) Write(p []byte) (int, error) {
	if h.status == 0 {
		h.status = http.StatusOK
	}
	return h.body.Write(p)
}
