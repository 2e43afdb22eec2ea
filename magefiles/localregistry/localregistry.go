// Package localregistry serves the reference OCI registry (github.com/distribution/distribution/v3)
// in-process on loopback, storing on disk, so the dev lane can be tried on a machine without any
// registry: `go run mage.go localRegistry`, then push to localhost:5000.
package localregistry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/distribution/distribution/v3/configuration"
	_ "github.com/distribution/distribution/v3/registry/storage/driver/filesystem" // the storage driver
	"github.com/sirupsen/logrus"

	"github.com/shiplane/shiplane/magefiles/registry/distribution"
)

// DefaultAddr is where Serve listens when addr is "".
const DefaultAddr = "127.0.0.1:5000"

// DefaultDir is where Serve stores when dir is "": <user cache dir>/shiplane/registry, e.g.
// ~/.cache/shiplane/registry on Linux.
func DefaultDir() (string, error) {
	c, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("finding the user cache directory for the local registry: %w", err)
	}
	return filepath.Join(c, "shiplane", "registry"), nil
}

// AddrInUseError says the address Serve was asked to listen on is taken.
type AddrInUseError struct {
	Addr string
	Err  error
}

func (e *AddrInUseError) Error() string {
	return fmt.Sprintf("something already listens on %s — another localRegistry? stop it, "+
		"or serve on another address and point DEV_REGISTRY (and DEV_CHART_REPO) at it: %v", e.Addr, e.Err)
}

// Unwrap returns the cause.
func (e *AddrInUseError) Unwrap() error { return e.Err }

// shutdownGrace is how long in-flight requests get once ctx is cancelled.
const shutdownGrace = 5 * time.Second

// CatalogMaxEntries is the most repositories one GET /v2/_catalog answers with, and the page size
// when the request names no n; a longer catalog is paged with a Link header, as distribution does.
// It is distribution's own default (configuration.Catalog), which distribution applies only when
// it parses a YAML configuration: a configuration built in code has 0, and an empty catalog.
const CatalogMaxEntries = 1000

// Serve serves an OCI registry over plain HTTP on addr ("" means DefaultAddr; use a loopback
// address) with the filesystem storage under dir ("" means DefaultDir(), created if missing)
// until ctx is cancelled; then it stops gracefully and returns nil. What the registry holds
// survives restarts.
//
// GET /v2/_catalog lists the repositories held, CatalogMaxEntries at most per page, with the n
// and last parameters and the Link header of the distribution API.
//
// progress gets one line once the registry accepts connections, naming its address and storage
// folder ("local registry ready on 127.0.0.1:5000 (storage: /home/u/.cache/shiplane/registry);
// Ctrl-C stops it"), a line when it stops, one per manifest pushed, and the registry's own fatal
// errors (they go through the process-wide logrus standard logger, which Serve points at
// progress). nil means io.Discard.
func Serve(ctx context.Context, addr, dir string, progress io.Writer) error {
	if addr == "" {
		addr = DefaultAddr
	}
	if progress == nil {
		progress = io.Discard
	}
	if dir == "" {
		d, err := DefaultDir()
		if err != nil {
			return err
		}
		dir = d
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating the local registry's storage directory: %w", err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("resolving the local registry's storage directory %s: %w", dir, err)
	}

	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return &AddrInUseError{Addr: addr, Err: err}
		}
		return fmt.Errorf("listening on %s for the local registry: %w", addr, err)
	}
	defer ln.Close()

	pw := &lineWriter{w: progress}
	// The registry logs every "not there yet" answer (a 404 to a HEAD, the normal first question of
	// a push) at error level; clients report real failures themselves, so only fatal lines show.
	distribution.SetLog(pw, logrus.FatalLevel)

	cfg := distribution.Config(configuration.Storage{
		"filesystem": configuration.Parameters{"rootdirectory": abs},
	}, "")
	cfg.Catalog.MaxEntries = CatalogMaxEntries
	app, err := distribution.NewApp(context.WithoutCancel(ctx), cfg)
	if err != nil {
		return fmt.Errorf("starting the local registry: %w", err)
	}
	defer func() { _ = app.Shutdown() }()

	srv := &http.Server{
		Handler:           announce(app, ln.Addr().String(), pw),
		ReadHeaderTimeout: 30 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	// The socket has listened since Listen returned, so a connection made now is queued and then
	// served: the registry is ready.
	pw.line(fmt.Sprintf("local registry ready on %s (storage: %s); Ctrl-C stops it", ln.Addr(), abs))
	select {
	case err := <-errc:
		return fmt.Errorf("serving the local registry on %s: %w", addr, err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
	}
	<-errc
	pw.line("local registry: stopped")
	return nil
}

// announce writes a line for every manifest pushed.
func announce(h http.Handler, host string, pw *lineWriter) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPut || !strings.Contains(r.URL.Path, "/manifests/") {
			h.ServeHTTP(w, r)
			return
		}
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		if sw.status == http.StatusCreated {
			p := strings.TrimPrefix(r.URL.Path, "/v2/")
			repo, ref, _ := strings.Cut(p, "/manifests/")
			sep := ":"
			if strings.Contains(ref, ":") {
				sep = "@"
			}
			pw.line(fmt.Sprintf("local registry: received %s/%s%s%s", host, repo, sep, ref))
		}
	})
}

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

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

type lineWriter struct {
	mu sync.Mutex
	w  io.Writer
}

// Write implements io.Writer, for the registry's logger.
func (l *lineWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (l *lineWriter) line(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = io.WriteString(l.w, s+"\n")
}
