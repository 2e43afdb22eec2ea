package registry

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/shiplane/shiplane/magefiles/httpretry"
)

// registryTransport refuses plain HTTP to hosts that must use HTTPS, keeps a whole PUT body in
// memory so that it can be sent again, and retries through the shared httpretry.Transport. A
// transient failure of a streamed upload it cannot send again is a *httpretry.UnreplayedError,
// which go-containerregistry's upload loop redoes.
type registryTransport struct {
	retry    *httpretry.Transport
	insecure func(host string) bool
}

var _ http.RoundTripper = (*registryTransport)(nil)

// newRetryTransport is the transport of a Client built with o, sending through inner.
func newRetryTransport(inner http.RoundTripper, o options) *registryTransport {
	return &registryTransport{
		retry:    httpretry.New(inner, o.retry, httpretry.WithAttemptTimeout(o.attemptTimeout), httpretry.WithUnreplayed()),
		insecure: o.insecure,
	}
}

// isUnreplayedTransient is the retry predicate handed to go-containerregistry.
func isUnreplayedTransient(err error) bool {
	var u *httpretry.UnreplayedError
	return errors.As(err, &u)
}

func (t *registryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" && !t.insecure(req.URL.Host) {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, &InsecureError{Host: req.URL.Host}
	}
	if httpretry.HasBody(req) && req.GetBody == nil && req.Method == http.MethodPut &&
		req.ContentLength >= 0 && req.ContentLength <= httpretry.MaxBuffered {
		// A whole blob or manifest sent in one PUT (the chart client's uploads) is kept in memory,
		// so a failed try can be sent again; streamed uploads (PATCH) are redone by their caller.
		r, err := withReplayableBody(req)
		if err != nil {
			return nil, err
		}
		req = r
	}
	return t.retry.RoundTrip(req)
}

// withReplayableBody returns a copy of req whose body, read into memory, can be had again.
func withReplayableBody(req *http.Request) (*http.Request, error) {
	data, err := io.ReadAll(req.Body)
	_ = req.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("reading the request body: %w", err)
	}
	r := req.Clone(req.Context())
	r.Body = io.NopCloser(bytes.NewReader(data))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
	return r, nil
}
