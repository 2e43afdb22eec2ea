// Package svc holds the few helpers every shiplane reference service shares:
// environment parsing, an HTTP mux that already answers /healthz and /version,
// JSON request and response helpers, a JSON client call, and a server loop that
// shuts down gracefully when its context ends (SIGTERM or SIGINT in Main).
//
// It uses the Go standard library only. Logs go to stderr.
package svc
