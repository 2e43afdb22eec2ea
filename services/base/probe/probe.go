// Package probe is the logic of the base image's healthcheck binary: one GET
// that must answer 200 within a timeout.
package probe

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/shiplane/shiplane/services/base/svc"
)

// Timeout is how long one probe may take.
const Timeout = 2 * time.Second

// DefaultPort is used when PORT is unset.
const DefaultPort = 8080

// Target returns the URL to probe: args[0] when given, else
// http://127.0.0.1:$PORT/healthz (PORT defaults to DefaultPort).
func Target(args []string, env svc.Env) (string, error) {
	if len(args) > 1 {
		return "", fmt.Errorf("usage: healthcheck [url]")
	}
	if len(args) == 1 {
		return args[0], nil
	}
	port, err := env.Port(DefaultPort)
	if err != nil {
		return "", err
	}
	return "http://127.0.0.1:" + strconv.Itoa(port) + "/healthz", nil
}

// Check GETs url and returns nil if it answers 200 OK within Timeout (or
// sooner if ctx ends).
func Check(ctx context.Context, client *http.Client, url string) error {
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("probing %s: %w", url, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("probing %s: %w", url, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("probing %s: got %s, want 200 OK", url, resp.Status)
	}
	return nil
}
