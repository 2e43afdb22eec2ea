package registry

import (
	"errors"
	"fmt"
	"github.com/shiplane/shiplane/magefiles/published"
	"net"
	"net/http"
	"syscall"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/shiplane/shiplane/magefiles/redact"
)

// AuthError says a registry refused us (401 or 403): the credentials are missing, wrong, or do
// not allow what was asked.
type AuthError struct {
	// Registry is the registry host, e.g. "ghcr.io".
	Registry string
	// Status is 401 or 403.
	Status int
	Err    error
}

func (e *AuthError) Error() string {
	what := "asks for credentials"
	if e.Status == http.StatusForbidden {
		what = "refuses access with these credentials"
	}
	return redactText(fmt.Sprintf("registry %s %s (%d %s): log in with `docker login %s` "+
		"(credentials come from the Docker config and its credential helpers): %v",
		e.Registry, what, e.Status, http.StatusText(e.Status), e.Registry, e.Err))
}

// Unwrap returns the cause.
func (e *AuthError) Unwrap() error { return e.Err }

// UnreachableError says the registry could not be reached at all (connection refused, no such
// host, no route).
type UnreachableError struct {
	Registry string
	Err      error
}

func (e *UnreachableError) Error() string {
	hint := "is it running, and is the address right?"
	switch e.Registry {
	case "localhost:5000", "127.0.0.1:5000", "[::1]:5000":
		hint = "start the local registry with `go run mage.go localRegistry`"
	}
	return redactText(fmt.Sprintf("registry %s is unreachable (%v): %s", e.Registry, e.Err, hint))
}

// Unwrap returns the cause.
func (e *UnreachableError) Unwrap() error { return e.Err }

// TagExistsError says Push refused to move a tag that already points at another image.
type TagExistsError struct {
	// Ref is the tag, e.g. "registry.example/core:1.2.0".
	Ref string
	// Digest is what the tag points at now; Want is the image Push was given.
	Digest, Want string
}

func (e *TagExistsError) Error() string {
	return fmt.Sprintf("refusing to overwrite %s: it holds %s, this image is %s", e.Ref, e.Digest, e.Want)
}

// ConcurrentWriteError is published.ConcurrentWriteError: another write of the same tag raced
// this push.
type ConcurrentWriteError = published.ConcurrentWriteError

// InsecureError says a plain-HTTP request to a host not allowed to use plain HTTP was refused.
type InsecureError struct {
	Host string
}

func (e *InsecureError) Error() string {
	return fmt.Sprintf("refusing plain HTTP to %s: only loopback and configured insecure registries may use it", e.Host)
}

// classify turns a failure talking to host into *AuthError or *UnreachableError when it is one,
// and otherwise returns it unchanged.
func classify(host string, err error) error {
	if err == nil {
		return nil
	}
	var ae *AuthError
	var ue *UnreachableError
	if errors.As(err, &ae) || errors.As(err, &ue) {
		return err
	}
	var te *transport.Error
	if errors.As(err, &te) && (te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden) {
		return &AuthError{Registry: host, Status: te.StatusCode, Err: err}
	}
	if isUnreachable(err) {
		return &UnreachableError{Registry: host, Err: err}
	}
	return err
}

func isUnreachable(err error) bool {
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return true
	}
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH) {
		return true
	}
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// statusOf returns the HTTP status of a registry error answer, or 0.
func statusOf(err error) int {
	var te *transport.Error
	if errors.As(err, &te) {
		return te.StatusCode
	}
	return 0
}

// isNotFound reports whether err is the registry saying the tag or repository does not exist.
func isNotFound(err error) bool {
	var te *transport.Error
	if !errors.As(err, &te) {
		return false
	}
	if te.StatusCode == http.StatusNotFound {
		return true
	}
	if te.StatusCode >= 500 || te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden {
		return false
	}
	for _, d := range te.Errors {
		switch d.Code {
		case transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode:
			return true
		}
	}
	return false
}

// credentials is the shared redactor, knowing no secret of its own: it masks credentials by their
// shape (URL user information, Authorization values, token parameters) in every error text.
var credentials = redact.New()

// safe wraps err so that its text never shows credentials; errors.Is and errors.As still reach it.
func safe(err error) error { return credentials.Error(err) }

// redactText removes credentials from a message (see credentials).
func redactText(s string) string { return credentials.String(s) }
