package svc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// ShutdownTimeout is how long Serve waits for in-flight requests after its
// context ends.
const ShutdownTimeout = 10 * time.Second

// ListenAndServe listens on addr (":8080") and calls Serve.
func ListenAndServe(ctx context.Context, log *slog.Logger, addr string, h http.Handler) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", addr, err)
	}
	return Serve(ctx, log, ln, h)
}

// Serve serves h on ln until ctx ends, then shuts down gracefully, waiting up
// to ShutdownTimeout for in-flight requests. It returns nil after a clean
// shutdown and the server's error if it stops for another reason.
func Serve(ctx context.Context, log *slog.Logger, ln net.Listener, h http.Handler) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String())

	select {
	case err := <-errc:
		return fmt.Errorf("serving on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutting down server on %s: %w", ln.Addr(), err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving on %s: %w", ln.Addr(), err)
	}
	return nil
}

// RunFunc is a service's body: it runs until ctx ends and returns nil after a
// clean stop.
type RunFunc func(ctx context.Context, info Info, env Env, log *slog.Logger) error

// Main runs a service: it logs to stderr, cancels the context on SIGTERM or
// SIGINT, calls run with the process environment and exits 1 if run fails.
func Main(info Info, run RunFunc) {
	log := NewLogger(info)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	log.Info("starting")
	if err := run(ctx, info, OSEnv, log); err != nil {
		log.Error("exiting", "err", err)
		stop()
		os.Exit(1)
	}
	log.Info("stopped")
}

// NewLogger returns a text logger on stderr tagged with the service name and
// version.
func NewLogger(info Info) *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, nil)).With("service", info.Name, "version", info.Version)
}

// DiscardLogger returns a logger that drops everything, for tests.
func DiscardLogger() *slog.Logger {
	return slog.New(slog.DiscardHandler)
}
