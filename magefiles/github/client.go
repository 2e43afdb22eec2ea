// Package github is shiplane's GitHub release backend. It answers published.Releases (is there a
// release for this tag, is it a draft, which assets does it hold) and offers the idempotent,
// crash-safe steps a "release published" goal is built from:
//
//	id, err := c.EnsureDraftAt(ctx, github.Draft{Tag: tag, Commit: sha, Name: name, Body: notes})
//	err = c.PruneAssets(ctx, id, names)                   // drops what a reused draft holds beyond names
//	err = c.EnsureAsset(ctx, id, "shiplane.tar.gz", data) // no-op when already uploaded
//	err = c.Publish(ctx, id)                               // no-op when already published
//
// Each step looks at what GitHub holds before writing and writes only what is missing, so a run
// interrupted anywhere can simply be run again: it never creates a second release for a tag,
// never leaves two assets of one name, and replaces a half-uploaded asset. Of several drafts
// carrying one tag it uses the one it marked as its own (DraftMarker), else the oldest, and names
// the others. A draft targets the commit being released. A published release's name, notes and
// assets are never changed or deleted; an asset it lacks is uploaded.
//
// It decides nothing: which tag, whether it is a prerelease and when to publish are the caller's.
//
// All I/O goes through one transport that adds the token (as an Authorization header, only to
// the API and upload hosts). Idempotent requests (GET, DELETE, PATCH — every PATCH sent here sets
// absolute values) go through the shared retrying transport (httpretry.Transport), which
// retries, with exponential backoff, transient answers (408, 5xx but 501 and 505), rate-limit
// answers (429, or 403 marked as a rate limit) and transient connection failures (resets,
// timeouts, truncated answers; never an unknown certificate authority or a host that does not
// exist). A wait GitHub asks for (Retry-After, a rate-limit reset) is honoured up to the policy's
// Max; a longer one fails the request at once with *httpretry.RetryAfterTooLongError, which names
// the wait. A create or upload (POST) is sent once: one that fails with a 5xx, a lost connection
// or a rate limit is not resent blind, since it may have been carried out; the operation looks
// at GitHub again (lists the releases, or the release's assets) and carries on from what it
// finds, after the same waits.
//
// Drafts are seen only with a token that may push: without one, a tag whose only releases are
// drafts reads as having none.
//
// Errors are typed (*AuthError, *RepoNotFoundError, ErrReleaseNotFound, ErrPublished,
// ErrInvalidAssetName, ErrListLimit; *published.UnknownError from the assessing calls) and never carry the
// token: it is scrubbed from every error text, every error go-github returns, and the progress
// output, in plain, URL-escaped and base64 forms, by the shared redactor (package redact), which
// masks it as "***".
package github

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	gh "github.com/google/go-github/v89/github"

	"github.com/shiplane/shiplane/magefiles/httpretry"
	"github.com/shiplane/shiplane/magefiles/published"
	"github.com/shiplane/shiplane/magefiles/redact"
)

// DefaultBaseURL is the API of github.com.
const DefaultBaseURL = "https://api.github.com/"

// RetryPolicy says how often and how patiently transient failures are retried: the policy type
// every retrying client shares. Here Attempts also bounds the tries of a create or upload step.
type RetryPolicy = httpretry.RetryPolicy

// DefaultRetry is the policy New uses: 4 attempts, waits of about 1 s, 2 s, 4 s, or as long as
// GitHub asks when it asks for longer; a wait GitHub asks for over 1 min fails the request at once
// (*httpretry.RetryAfterTooLongError).
var DefaultRetry = RetryPolicy{Attempts: 4, Initial: time.Second, Max: time.Minute}

// Option configures New.
type Option func(*options)

type options struct {
	baseURL        string
	uploadURL      string
	transport      http.RoundTripper
	retry          RetryPolicy
	attemptTimeout time.Duration
	progress       io.Writer
	maxPages       int
	makeLatest     string
	userAgent      string
}

// WithBaseURL sets the REST API base URL, e.g. $GITHUB_API_URL ("https://api.github.com",
// "https://ghe.example.com/api/v3"). User information in it is dropped (the token is only ever
// sent as an Authorization header). Uploads go to the matching uploads URL unless WithUploadURL
// says otherwise: uploads.github.com for api.github.com (likewise api.X → uploads.X),
// "<host>/api/uploads/" for a "<host>/api/v3" base, and the base itself for any other URL (a test
// server). Default: DefaultBaseURL.
func WithBaseURL(u string) Option { return func(o *options) { o.baseURL = u } }

// WithUploadURL sets the asset upload base URL. Default: derived from the base URL (see
// WithBaseURL).
func WithUploadURL(u string) Option { return func(o *options) { o.uploadURL = u } }

// WithTransport sets the HTTP transport under the retries and the token. Default:
// http.DefaultTransport.
func WithTransport(t http.RoundTripper) Option { return func(o *options) { o.transport = t } }

// WithRetry sets the retry policy; Attempts < 1 counts as 1. Default: DefaultRetry (4 attempts,
// from 1 s, waits capped at 1 min).
func WithRetry(p RetryPolicy) Option { return func(o *options) { o.retry = p } }

// WithAttemptTimeout bounds each try of an API request that sends no body, from sending it to
// reading the whole answer; a try that takes longer counts as a transient failure. Uploads and
// asset downloads are bounded only by the caller's context. 0 means no bound. Default: 30 s.
func WithAttemptTimeout(d time.Duration) Option { return func(o *options) { o.attemptTimeout = d } }

// WithProgress sets where one line per change made (draft created, asset uploaded or replaced,
// release published) and per retry goes. Writes are serialised; the token never appears.
// Default: io.Discard.
func WithProgress(w io.Writer) Option { return func(o *options) { o.progress = w } }

// WithMaxListPages bounds how many pages of 100 releases (or assets) are read when looking for a
// draft (or an asset). When a draft is not found within the bound and more pages remain, the
// answer is unknown, never "absent". Default: 10.
func WithMaxListPages(n int) Option { return func(o *options) { o.maxPages = n } }

// WithMakeLatest sets make_latest when Publish publishes a release that is not a prerelease:
// "true", "false" or "legacy" (GitHub picks the latest by creation date and higher semantic
// version, so publishing a patch of an older line does not take "latest" from a newer one).
// Prereleases are always published with "false": GitHub never makes them latest. Default:
// "legacy".
func WithMakeLatest(v string) Option { return func(o *options) { o.makeLatest = v } }

// WithUserAgent sets the User-Agent. Default: "shiplane".
func WithUserAgent(ua string) Option { return func(o *options) { o.userAgent = ua } }

// Client talks to the releases of one GitHub repository. Safe for concurrent use.
type Client struct {
	owner, name string
	o           options
	api         *gh.Client
	// download fetches asset contents from the hosts the API redirects to: it never sends the
	// token there (the URLs are pre-signed).
	download *http.Client
	// authed fetches redirect targets on the API or upload host itself (GitHub Enterprise).
	authed     *http.Client
	tokenHosts map[string]bool
	red        *redact.Redactor

	pmu sync.Mutex
}

var _ published.Releases = (*Client)(nil)

var repoPart = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

// New returns a Client for repo ("owner/name", as in $GITHUB_REPOSITORY) that authenticates with
// token ($GITHUB_TOKEN; empty sends no Authorization header, enough to read public releases).
func New(repo, token string, opts ...Option) (*Client, error) {
	o := options{
		baseURL:        DefaultBaseURL,
		transport:      http.DefaultTransport,
		retry:          DefaultRetry,
		attemptTimeout: 30 * time.Second,
		progress:       io.Discard,
		maxPages:       10,
		makeLatest:     "legacy",
		userAgent:      "shiplane",
	}
	for _, opt := range opts {
		opt(&o)
	}
	if o.retry.Attempts < 1 {
		o.retry.Attempts = 1
	}
	if o.transport == nil {
		o.transport = http.DefaultTransport
	}
	if o.progress == nil {
		o.progress = io.Discard
	}
	if o.maxPages < 1 {
		o.maxPages = 1
	}
	switch o.makeLatest {
	case "true", "false", "legacy":
	default:
		return nil, fmt.Errorf("make_latest %q is not one of true, false, legacy", o.makeLatest)
	}
	owner, name, ok := strings.Cut(repo, "/")
	if !ok || !repoPart.MatchString(owner) || !repoPart.MatchString(name) {
		return nil, fmt.Errorf("GITHUB_REPOSITORY %q is not of the form owner/name", repo)
	}

	base, baseSecrets, err := parseAPIURL(o.baseURL)
	if err != nil {
		return nil, fmt.Errorf("GitHub API URL (GITHUB_API_URL): %w", err)
	}
	var upload *url.URL
	var uploadSecrets []string
	if o.uploadURL != "" {
		if upload, uploadSecrets, err = parseAPIURL(o.uploadURL); err != nil {
			return nil, fmt.Errorf("GitHub upload URL: %w", err)
		}
	} else {
		upload = uploadURLFor(base)
	}
	// Keep only the cleaned URLs: the raw ones may hold credentials.
	o.baseURL, o.uploadURL = base.String(), upload.String()
	c := &Client{
		owner: owner, name: name, o: o,
		red:        redact.New(),
		tokenHosts: map[string]bool{base.Host: true, upload.Host: true},
	}
	c.red.Add(token)
	c.red.Add(baseSecrets...)
	c.red.Add(uploadSecrets...)
	retry := func(inner http.RoundTripper) http.RoundTripper { return newRetryTransport(inner, o, c.logf) }
	auth := &authTransport{inner: o.transport, token: secret(token), hosts: c.tokenHosts}
	authed := retry(auth)
	c.authed = &http.Client{Transport: authed}
	c.download = &http.Client{Transport: retry(o.transport)}
	b, u := base.String(), upload.String()
	api, err := gh.NewClient(
		gh.WithHTTPClient(&http.Client{Transport: &writesOnce{once: auth, retrying: authed}}),
		gh.WithURLs(&b, &u),
		gh.WithUserAgent(o.userAgent),
	)
	if err != nil {
		return nil, fmt.Errorf("setting up the GitHub client: %w", c.wrap(err))
	}
	c.api = api
	return c, nil
}

// Repo is the repository, "owner/name".
func (c *Client) Repo() string { return c.owner + "/" + c.name }

// parseAPIURL checks an API or upload base URL, drops its user information (returned as secrets
// to redact), query and fragment, and makes its path end in "/". Its error never quotes the URL,
// which may hold credentials.
func parseAPIURL(raw string) (*url.URL, []string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil, nil, errors.New("not a valid URL")
	}
	var secrets []string
	if u.User != nil {
		secrets = append(secrets, u.User.Username())
		if pw, ok := u.User.Password(); ok {
			secrets = append(secrets, pw)
		}
		u.User = nil
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return nil, secrets, fmt.Errorf("%s: scheme must be https (or http)", u.Redacted())
	}
	if u.Host == "" {
		return nil, secrets, fmt.Errorf("%s: no host", u.Redacted())
	}
	u.RawQuery, u.Fragment, u.RawFragment, u.ForceQuery = "", "", "", false
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	if u.RawPath != "" && !strings.HasSuffix(u.RawPath, "/") {
		u.RawPath += "/"
	}
	return u, secrets, nil
}

// uploadURLFor derives the uploads base URL from an API base URL (see WithBaseURL).
func uploadURLFor(base *url.URL) *url.URL {
	u := *base
	switch {
	case strings.HasPrefix(strings.ToLower(u.Host), "api."):
		u.Host = "uploads." + u.Host[len("api."):]
	case strings.HasSuffix(u.Path, "/api/v3/"):
		u.Path = strings.TrimSuffix(u.Path, "v3/") + "uploads/"
		u.RawPath = ""
	}
	return &u
}

// logf writes one progress line, with every secret redacted.
func (c *Client) logf(format string, args ...any) {
	line := c.red.String(fmt.Sprintf(format, args...))
	if !strings.HasSuffix(line, "\n") {
		line += "\n"
	}
	c.pmu.Lock()
	defer c.pmu.Unlock()
	_, _ = io.WriteString(c.o.progress, line)
}
