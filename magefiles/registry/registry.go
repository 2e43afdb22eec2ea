// Package registry is shiplane's OCI image registry backend: it pushes images (from the local
// Docker daemon or any v1.Image) to tags, reads what a tag holds, and answers published.Images.
//
// It decides nothing: callers ask Digest or Image first and skip or refuse; Push itself only adds
// one safety net, refusing to move a tag that already points at another digest (see
// AllowOverwrite). It asks again right before the tag's manifest PUT, so another push of the same
// tag during our upload is refused (*ConcurrentWriteError) instead of silently replaced; a
// one-round-trip window is left, and a write after our PUT is reported only with ReadBack. Blobs
// already in the target repository are never sent again, and a blob the client knows to be in
// another repository of the same registry (it pushed it there, or MountFrom says so) is
// cross-repository mounted instead of uploaded.
//
// All I/O goes through the shared retrying transport (httpretry.Transport): it retries transient
// failures (5xx but 501 and 505, 408, 429, connection resets and refusals, timeouts, truncated
// bodies) with exponential backoff, honours a Retry-After up to the policy's Max and fails at once
// with *httpretry.RetryAfterTooLongError when one asks for longer, and never retries
// 400/401/403/404 or a permanent transport failure (an unknown certificate authority, no such
// host). Errors are typed (*AuthError, *UnreachableError, *TagExistsError, *ConcurrentWriteError,
// *InsecureError; *published.UnknownError for checks that cannot tell) and never carry
// credentials.
package registry

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/shiplane/shiplane/magefiles/httpretry"
	"github.com/shiplane/shiplane/magefiles/published"
)

// RetryPolicy says how often and how patiently transient failures are retried: the policy type
// every retrying client shares.
type RetryPolicy = httpretry.RetryPolicy

// DefaultRetry is the policy New uses: 5 attempts, waits of about 200 ms, 400 ms, 800 ms, 1.6 s,
// each raised to the registry's Retry-After when it asks for longer; a Retry-After over 30 s fails
// the request at once (*httpretry.RetryAfterTooLongError).
var DefaultRetry = RetryPolicy{Attempts: 5, Initial: 200 * time.Millisecond, Max: 30 * time.Second}

// Option configures New.
type Option func(*options)

type options struct {
	keychain       authn.Keychain
	insecure       func(host string) bool
	transport      http.RoundTripper
	retry          RetryPolicy
	userAgent      string
	progress       io.Writer
	attemptTimeout time.Duration
	jobs           int
}

// WithKeychain sets where credentials come from. Default: authn.DefaultKeychain, i.e. the Docker
// config (~/.docker/config.json or $DOCKER_CONFIG) and its credential helpers.
func WithKeychain(k authn.Keychain) Option { return func(o *options) { o.keychain = k } }

// WithInsecure sets which registry hosts ("host:port") may be reached over plain HTTP; every
// other host is HTTPS only (a plain-HTTP request to it fails with *InsecureError). Pass
// settings.Settings.Insecure to honour the configured list. Default: Loopback.
func WithInsecure(insecure func(host string) bool) Option {
	return func(o *options) { o.insecure = insecure }
}

// WithTransport sets the HTTP transport under the retries, auth and progress. Default:
// http.DefaultTransport.
func WithTransport(t http.RoundTripper) Option { return func(o *options) { o.transport = t } }

// WithRetry sets the retry policy; Attempts < 1 counts as 1. Default: DefaultRetry (5 attempts,
// from 200 ms, waits capped at 30 s).
func WithRetry(p RetryPolicy) Option { return func(o *options) { o.retry = p } }

// WithUserAgent sets the User-Agent prefix. Default: "shiplane".
func WithUserAgent(ua string) Option { return func(o *options) { o.userAgent = ua } }

// WithProgress sets where one line per uploaded or mounted blob, per pushed manifest and per
// pushed image goes. Writes are serialised. Default: io.Discard.
func WithProgress(w io.Writer) Option { return func(o *options) { o.progress = w } }

// WithAttemptTimeout bounds each try of a request that sends no body (HEAD, GET, upload
// initiation), from sending it to reading the whole answer; a try that takes longer counts as a
// transient failure. Uploads are bounded only by the caller's context. 0 means no bound.
// Default: 30 s.
func WithAttemptTimeout(d time.Duration) Option { return func(o *options) { o.attemptTimeout = d } }

// WithJobs sets how many blobs of one image are uploaded at once. Default: 4.
func WithJobs(n int) Option { return func(o *options) { o.jobs = n } }

// Loopback reports whether host ("host" or "host:port") is localhost, 127.0.0.1 or ::1: the
// default set of hosts reached over plain HTTP.
func Loopback(host string) bool {
	h := host
	if sh, _, err := net.SplitHostPort(host); err == nil {
		h = sh
	}
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	switch h {
	case "localhost", "127.0.0.1", "::1":
		return true
	}
	return false
}

// Client talks to OCI registries. It is safe for concurrent use and remembers, for the blobs it
// pushed, which repository holds them, so later pushes to the same registry mount them.
type Client struct {
	o  options
	rt http.RoundTripper
	pw *lockedWriter

	mu      sync.Mutex
	pullers map[string]*remote.Puller
	pushers map[string]*remote.Pusher
	// blobs: registry → blob digest → a repository known to hold it.
	blobs map[string]map[string]string

	totals counters
}

var _ published.Images = (*Client)(nil)

// New returns a Client.
func New(opts ...Option) *Client {
	o := options{
		keychain:       authn.DefaultKeychain,
		insecure:       Loopback,
		transport:      http.DefaultTransport,
		retry:          DefaultRetry,
		userAgent:      "shiplane",
		progress:       io.Discard,
		attemptTimeout: 30 * time.Second,
		jobs:           4,
	}
	for _, opt := range opts {
		opt(&o)
	}
	if o.retry.Attempts < 1 {
		o.retry.Attempts = 1
	}
	if o.insecure == nil {
		o.insecure = Loopback
	}
	if o.progress == nil {
		o.progress = io.Discard
	}
	if o.jobs < 1 {
		o.jobs = 1
	}
	c := &Client{
		o:       o,
		pw:      &lockedWriter{w: o.progress},
		pullers: map[string]*remote.Puller{},
		pushers: map[string]*remote.Pusher{},
		blobs:   map[string]map[string]string{},
	}
	c.rt = newRetryTransport(&observer{inner: o.transport, c: c}, o)
	return c
}

// NewTransport returns the transport a Client built with the same options sends its requests
// through, for other clients of the same registries (the Helm chart client): it retries transient
// failures (see the package comment) of the requests it can replay, and refuses plain HTTP to hosts the insecure predicate
// does not allow. Of the options it uses WithTransport, WithRetry, WithInsecure and
// WithAttemptTimeout, with New's defaults.
func NewTransport(opts ...Option) http.RoundTripper { return New(opts...).rt }

// Secrets returns the credential values the client's keychain holds for a registry host
// ("host:port"), in the forms they travel in ("username:password", the password, tokens), so a
// caller can keep them out of everything it prints; a registry that answers with a copy of the
// credentials must not get them into a log. A host without credentials gives none.
func (c *Client) Secrets(ctx context.Context, host string) []string {
	reg, err := name.NewRegistry(host)
	if err != nil {
		return nil
	}
	a, err := authn.Resolve(ctx, c.o.keychain, reg)
	if err != nil || a == nil || a == authn.Anonymous {
		return nil
	}
	cfg, err := authn.Authorization(ctx, a)
	if err != nil || cfg == nil {
		return nil
	}
	var out []string
	if cfg.Password != "" {
		out = append(out, cfg.Username+":"+cfg.Password, cfg.Password)
	}
	for _, v := range []string{cfg.Auth, cfg.IdentityToken, cfg.RegistryToken} {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

// Stats are totals over a Client's life: what went over the wire.
type Stats struct {
	// Requests is every HTTP request sent, retries included.
	Requests int64
	// Writes is the POST, PUT, PATCH and DELETE requests among them.
	Writes int64
	// BlobsUploaded and BytesUploaded count blobs whose bytes were sent (bytes of every try).
	BlobsUploaded int64
	BytesUploaded int64
	// BlobsMounted counts blobs mounted from another repository instead of uploaded.
	BlobsMounted int64
	// BlobsExisting counts blobs found already in the target repository.
	BlobsExisting int64
	// ManifestsPut counts manifests written.
	ManifestsPut int64
}

type counters struct {
	requests, writes, blobsUploaded, bytesUploaded, blobsMounted, blobsExisting, manifestsPut atomic.Int64
}

// Stats returns the totals so far.
func (c *Client) Stats() Stats {
	t := &c.totals
	return Stats{
		Requests: t.requests.Load(), Writes: t.writes.Load(),
		BlobsUploaded: t.blobsUploaded.Load(), BytesUploaded: t.bytesUploaded.Load(),
		BlobsMounted: t.blobsMounted.Load(), BlobsExisting: t.blobsExisting.Load(),
		ManifestsPut: t.manifestsPut.Load(),
	}
}

func (c *Client) remoteOptions() []remote.Option {
	p := c.o.retry
	return []remote.Option{
		remote.WithTransport(c.rt),
		remote.WithAuthFromKeychain(c.o.keychain),
		remote.WithUserAgent(c.o.userAgent),
		remote.WithJobs(c.o.jobs),
		// Our transport retries every request it can replay. go-containerregistry's own retries
		// are left for what only it can redo: a whole blob upload whose streamed body failed.
		remote.WithRetryStatusCodes(),
		remote.WithRetryPredicate(isUnreplayedTransient),
		remote.WithRetryBackoff(remote.Backoff{Duration: p.Initial, Factor: 2, Jitter: 0.1, Steps: p.Attempts}),
	}
}

// puller returns the cached puller for a repository; forget drops it after a failure, so that a
// failed handshake is not remembered.
func (c *Client) puller(repo name.Repository) (*remote.Puller, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, ok := c.pullers[repo.Name()]; ok {
		return p, nil
	}
	p, err := remote.NewPuller(c.remoteOptions()...)
	if err != nil {
		return nil, err
	}
	c.pullers[repo.Name()] = p
	return p, nil
}

func (c *Client) pusher(repo name.Repository) (*remote.Pusher, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, ok := c.pushers[repo.Name()]; ok {
		return p, nil
	}
	p, err := remote.NewPusher(c.remoteOptions()...)
	if err != nil {
		return nil, err
	}
	c.pushers[repo.Name()] = p
	return p, nil
}

func (c *Client) forget(repo name.Repository) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.pullers, repo.Name())
	delete(c.pushers, repo.Name())
}

// parse turns "registry/repository:tag" into a reference, allowing plain HTTP for the hosts the
// insecure predicate allows.
func (c *Client) parse(ref string) (name.Reference, error) {
	r, err := name.ParseReference(ref, name.StrictValidation)
	if err != nil {
		return nil, err
	}
	if c.o.insecure(r.Context().RegistryStr()) {
		return name.ParseReference(ref, name.StrictValidation, name.Insecure)
	}
	return r, nil
}

func (c *Client) parseTag(ref string) (name.Tag, error) {
	opts := []name.Option{name.StrictValidation}
	t, err := name.NewTag(ref, opts...)
	if err != nil {
		return name.Tag{}, err
	}
	if c.o.insecure(t.RegistryStr()) {
		return name.NewTag(ref, append(opts, name.Insecure)...)
	}
	return t, nil
}

func (c *Client) parseRepo(repo string) (name.Repository, error) {
	opts := []name.Option{name.StrictValidation}
	r, err := name.NewRepository(repo, opts...)
	if err != nil {
		return name.Repository{}, err
	}
	if c.o.insecure(r.RegistryStr()) {
		return name.NewRepository(repo, append(opts, name.Insecure)...)
	}
	return r, nil
}

// lockedWriter serialises progress lines from concurrent uploads.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) line(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, _ = io.WriteString(l.w, s+"\n")
}

// contextKey keys values this package puts on request contexts.
type contextKey int

const pushKey contextKey = 0

func withPush(ctx context.Context, p *pushStats) context.Context {
	return context.WithValue(ctx, pushKey, p)
}

func pushFrom(ctx context.Context) *pushStats {
	p, _ := ctx.Value(pushKey).(*pushStats)
	return p
}
