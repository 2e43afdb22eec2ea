package registry

import (
	"context"
	"net"
	"strings"
	"time"
)

// Reachable opens (and closes) a TCP connection to the registry host of repo ("host[:port]/path"),
// so a lane can say at once that nothing listens there instead of failing every goal. It sends no
// HTTP request. The port defaults to 443.
func Reachable(ctx context.Context, repo string) error {
	host, _, _ := strings.Cut(strings.TrimPrefix(repo, "oci://"), "/")
	addr := host
	if _, _, err := net.SplitHostPort(host); err != nil {
		addr = net.JoinHostPort(host, "443")
	}
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(dctx, "tcp", addr)
	if err != nil {
		return &UnreachableError{Registry: host, Err: err}
	}
	return conn.Close()
}
