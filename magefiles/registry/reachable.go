package registry

import (
	"context"
	"errors"
	"net"
	"strings"
	"syscall"
	"time"
)

// ReachOption configures Reachable.
type ReachOption func(*reach)

type reach struct {
	wait    time.Duration
	waiting func()
}

// WaitForLoopback keeps trying, for up to d, a loopback registry (localhost, 127.0.0.1, ::1) that
// refuses connections: one started a moment ago, as `go run mage.go localRegistry &` followed at
// once by `go run mage.go pushAllDev` does. waiting (nil for none) is called once, before the first
// retry. Default: no wait; a refused connection is an UnreachableError at once.
func WaitForLoopback(d time.Duration, waiting func()) ReachOption {
	return func(r *reach) { r.wait, r.waiting = d, waiting }
}

// Reachable opens (and closes) a TCP connection to the registry host of repo ("host[:port]/path"),
// so a lane can say at once that nothing listens there instead of failing every goal. It sends no
// HTTP request. The port defaults to 443.
func Reachable(ctx context.Context, repo string, opts ...ReachOption) error {
	var o reach
	for _, opt := range opts {
		opt(&o)
	}
	host, _, _ := strings.Cut(strings.TrimPrefix(repo, "oci://"), "/")
	addr := host
	if _, _, err := net.SplitHostPort(host); err != nil {
		addr = net.JoinHostPort(host, "443")
	}
	deadline := time.Now().Add(o.wait)
	for first := true; ; first = false {
		err := dial(ctx, addr)
		if err == nil {
			return nil
		}
		if !errors.Is(err, syscall.ECONNREFUSED) || !loopback(addr) || time.Now().After(deadline) {
			return &UnreachableError{Registry: host, Err: err}
		}
		if first && o.waiting != nil {
			o.waiting()
		}
		select {
		case <-ctx.Done():
			return &UnreachableError{Registry: host, Err: err}
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func dial(ctx context.Context, addr string) error {
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(dctx, "tcp", addr)
	if err != nil {
		return err
	}
	return conn.Close()
}

// loopback reports whether addr ("host:port") names this machine's loopback interface.
func loopback(addr string) bool {
	h, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
