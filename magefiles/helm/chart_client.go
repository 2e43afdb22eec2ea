package helm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"helm.sh/helm/v3/pkg/registry"
	"oras.land/oras-go/v2/errdef"

	"github.com/shiplane/shiplane/magefiles/identity"
	"github.com/shiplane/shiplane/magefiles/published"
)

const ociPrefix = "oci://"

// ErrChartNotFound marks a pull of a chart version the repository does not hold.
var ErrChartNotFound = errors.New("chart version not found")

// Client pushes charts to, pulls them from, and asks about them in OCI repositories
// ("oci://host[:port]/path"), through the Helm SDK's registry client. Credentials are the registry
// client's defaults: Helm's registry config, then the Docker config and its credential helpers.
// Safe for concurrent use.
type Client struct {
	progress  io.Writer
	insecure  map[string]bool
	transport http.RoundTripper
}

var (
	_ published.Charts = (*Client)(nil)
	_ Puller           = (*Client)(nil)
)

// ClientOption configures NewClient.
type ClientOption func(*Client)

// WithClientProgress writes human progress (what was pushed or pulled) to w. Default: io.Discard.
func WithClientProgress(w io.Writer) ClientOption {
	return func(c *Client) {
		if w != nil {
			c.progress = w
		}
	}
}

// WithInsecureHosts reaches these registries ("host" or "host:port") over plain HTTP.
// Default: none; only loopback hosts (localhost, 127.0.0.0/8, ::1) are reached over plain HTTP,
// every other host over HTTPS, with no fallback.
func WithInsecureHosts(hosts ...string) ClientOption {
	return func(c *Client) {
		for _, h := range hosts {
			c.insecure[strings.ToLower(h)] = true
		}
	}
}

// WithTransport sends every request through rt.
// Default: the Helm registry client's transport (registry.NewTransport), which retries 5xx, 408,
// 429 and dial timeouts up to five times with backoff.
func WithTransport(rt http.RoundTripper) ClientOption {
	return func(c *Client) {
		if rt != nil {
			c.transport = rt
		}
	}
}

// NewClient returns a Client.
func NewClient(opts ...ClientOption) (*Client, error) {
	c := &Client{progress: io.Discard, insecure: map[string]bool{}}
	for _, o := range opts {
		o(c)
	}
	if c.transport == nil {
		c.transport = registry.NewTransport(false)
	}
	return c, nil
}

// PushResult is what Push did.
type PushResult struct {
	// Ref is "host/path/name:version".
	Ref string
	// Digest is the manifest digest the repository holds for Ref.
	Digest string
	// AlreadyPresent is true when the repository already held this exact package and nothing
	// was written.
	AlreadyPresent bool
}

// Push publishes pkg to repo ("oci://host/path") as "<name>:<version>", unless it is there already.
// It never overwrites: if the version's tag already holds this package's manifest, nothing is
// written and AlreadyPresent is set; if it holds anything else, Push returns an *ExistsError. If
// the check cannot tell, the error wraps published.ErrUnknown and nothing is written.
//
// Another push of the same version racing this one is caught on both sides of the tag's manifest
// PUT, each time as a *ConcurrentWriteError: the tag is asked again right before that PUT goes
// on the wire (the Helm registry client uploads the blobs and the manifest by digest, then tags
// it, in one call; the check runs in its transport), and a tag written meanwhile is refused and
// left as it is; it is read back right after the PUT, and a tag holding another manifest then is
// reported. A check there that cannot tell fails too (published.ErrUnknown). OCI registries have
// no conditional write: a write landing in the one round trip between the last check and the PUT
// is still replaced unseen. A first push makes four manifest HEADs: three of the tag (before,
// right before the PUT, after) and the registry client's own of the manifest's digest.
//
// With Overwrite (a moving version: the dev lane's), a version holding another package is
// replaced, and the checks around the PUT are skipped: the last writer wins.
func (c *Client) Push(ctx context.Context, pkg *Package, repo string, opts ...PushOption) (*PushResult, error) {
	var o pushOptions
	for _, opt := range opts {
		opt(&o)
	}
	if pkg == nil {
		return nil, errors.New("pushing chart: no package")
	}
	ref, err := chartRef(repo, pkg.Name, pkg.Version)
	if err != nil {
		return nil, fmt.Errorf("pushing chart %s %s: %w", pkg.Name, pkg.Version, err)
	}
	res, err := c.push(ctx, pkg, ref, o)
	var cw *ConcurrentWriteError
	if errors.As(err, &cw) {
		return nil, cw // it names the chart
	}
	if err != nil {
		return nil, fmt.Errorf("pushing chart %s: %w", ref, err)
	}
	return res, nil
}

// PushOption configures Push.
type PushOption func(*pushOptions)

type pushOptions struct{ overwrite bool }

// Overwrite lets Push replace a version that holds another package (a moving version). Default:
// off (a published version is never overwritten).
func Overwrite() PushOption { return func(o *pushOptions) { o.overwrite = true } }

func (c *Client) push(ctx context.Context, pkg *Package, ref string, o pushOptions) (*PushResult, error) {
	if pkg.Created.IsZero() {
		return nil, errNoCreated
	}
	data, err := os.ReadFile(pkg.Path)
	if err != nil {
		return nil, err
	}
	if got := sha256Digest(data); got != pkg.Digest {
		return nil, fmt.Errorf("%s changed since it was packaged: digest %s, not %s", pkg.Path, got, pkg.Digest)
	}
	// The Helm client pushes the blobs, the manifest by digest and then the manifest by tag in one
	// call, so the tag is asked in the transport, right before the tag's PUT is sent.
	var hc *registry.Client
	guard := func() error {
		if o.overwrite {
			return nil // a moving version: the last writer wins
		}
		desc, err := hc.Resolve(ref)
		switch {
		case err == nil && desc.Digest.String() != pkg.ManifestDigest:
			return &ConcurrentWriteError{Kind: "chart", Ref: ref, Ours: pkg.ManifestDigest, Theirs: desc.Digest.String(), Exists: &ExistsError{Ref: ref, Have: desc.Digest.String(), Want: pkg.ManifestDigest}}
		case err != nil && !isNotFound(err):
			return &published.UnknownError{What: "chart " + ociPrefix + ref, Err: fmt.Errorf("asking right before writing its tag: %w", err)}
		}
		return nil // absent, or the same package pushed by someone else: the PUT changes nothing
	}
	hc, err = c.helmClient(ctx, ref, guard)
	if err != nil {
		return nil, err
	}
	desc, err := hc.Resolve(ref)
	switch {
	case err == nil && desc.Digest.String() == pkg.ManifestDigest:
		fmt.Fprintf(c.progress, "chart %s already published (%s)\n", ref, desc.Digest)
		return &PushResult{Ref: ref, Digest: desc.Digest.String(), AlreadyPresent: true}, nil
	case err == nil && !o.overwrite:
		return nil, &ExistsError{Ref: ref, Have: desc.Digest.String(), Want: pkg.ManifestDigest}
	case err != nil && !isNotFound(err):
		return nil, &published.UnknownError{What: "chart " + ociPrefix + ref, Err: err}
	}
	fmt.Fprintf(c.progress, "pushing chart %s\n", ref)
	res, err := hc.Push(data, ref,
		registry.PushOptStrictMode(true),
		registry.PushOptCreationTime(createdString(pkg.Created)))
	var ue *published.UnknownError
	if errors.As(err, &ue) {
		return nil, ue // the guard's, without the registry client's wrapping
	}
	if err != nil {
		return nil, err
	}
	if res.Manifest.Digest != pkg.ManifestDigest {
		return nil, fmt.Errorf("the registry client wrote manifest %s, not the predicted %s (has helm's manifest layout changed?)",
			res.Manifest.Digest, pkg.ManifestDigest)
	}
	if o.overwrite {
		return &PushResult{Ref: ref, Digest: res.Manifest.Digest}, nil // a moving version: the last writer wins
	}
	// Read it back: a push of the same version right after ours shows here.
	desc, err = hc.Resolve(ref)
	switch {
	case err != nil && !isNotFound(err):
		return nil, &published.UnknownError{What: "chart " + ociPrefix + ref, Err: fmt.Errorf("reading its tag back after writing it: %w", err)}
	case err != nil:
		return nil, &ConcurrentWriteError{Kind: "chart", Ref: ref, Ours: pkg.ManifestDigest, AfterPut: true}
	case desc.Digest.String() != pkg.ManifestDigest:
		return nil, &ConcurrentWriteError{Kind: "chart", Ref: ref, Ours: pkg.ManifestDigest, Theirs: desc.Digest.String(), AfterPut: true}
	}
	return &PushResult{Ref: ref, Digest: res.Manifest.Digest}, nil
}

// Chart implements published.Charts: whether repo holds name at version, its manifest digest and
// its dev.shiplane.inputs annotation. A repository or tag that does not exist is absent; any
// other failure (5xx, timeout, refused connection, denied access, unreadable manifest) is a
// *published.UnknownError.
func (c *Client) Chart(ctx context.Context, repo, name, version string) (published.Chart, error) {
	ref, err := chartRef(repo, name, version)
	if err != nil {
		return published.Chart{}, fmt.Errorf("asking for chart %s %s: %w", name, version, err)
	}
	unknown := func(err error) (published.Chart, error) {
		return published.Chart{}, &published.UnknownError{What: "chart " + ociPrefix + ref, Err: err}
	}
	hc, err := c.helmClient(ctx, ref, nil)
	if err != nil {
		return unknown(err)
	}
	desc, err := hc.Resolve(ref)
	if isNotFound(err) {
		return published.Chart{}, nil
	}
	if err != nil {
		return unknown(err)
	}
	byDigest := ref[:strings.LastIndex(ref, ":")] + "@" + desc.Digest.String()
	// The manifest and config only: no chart layer, and a provenance layer if there is one.
	pr, err := hc.Pull(byDigest, registry.PullOptWithChart(false),
		registry.PullOptWithProv(true), registry.PullOptIgnoreMissingProv(true))
	if err != nil {
		return unknown(fmt.Errorf("reading manifest %s: %w", desc.Digest, err))
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(pr.Manifest.Data, &m); err != nil {
		return unknown(fmt.Errorf("reading manifest %s: %w", desc.Digest, err))
	}
	return published.Chart{Present: true, Digest: desc.Digest.String(), Inputs: m.Annotations[identity.LabelInputs]}, nil
}

// PullChart returns the archive of name at version in repo. A version the repository does not
// hold is an error wrapping ErrChartNotFound.
func (c *Client) PullChart(ctx context.Context, repo, name, version string) ([]byte, error) {
	pr, err := c.pull(ctx, repo, name, version, "")
	if err != nil {
		return nil, err
	}
	return pr.Chart.Data, nil
}

// PullChartAt returns the archive of the chart manifest digest (name at version in repo, as
// published): the bytes that digest names, whatever the version tag holds now (the registry
// client checks each blob against its digest). A digest the repository does not hold is an
// error wrapping ErrChartNotFound.
func (c *Client) PullChartAt(ctx context.Context, repo, name, version, digest string) ([]byte, error) {
	pr, err := c.pull(ctx, repo, name, version, digest)
	if err != nil {
		return nil, err
	}
	if pr.Manifest.Digest != digest {
		return nil, fmt.Errorf("pulling chart %s %s@%s: the registry answered manifest %s", name, version, digest, pr.Manifest.Digest)
	}
	return pr.Chart.Data, nil
}

// pull pulls name at version in repo, by its manifest digest unless digest is "".
func (c *Client) pull(ctx context.Context, repo, name, version, digest string) (*registry.PullResult, error) {
	ref, err := chartRef(repo, name, version)
	if err != nil {
		return nil, fmt.Errorf("pulling chart %s %s: %w", name, version, err)
	}
	hc, err := c.helmClient(ctx, ref, nil)
	if err != nil {
		return nil, fmt.Errorf("pulling chart %s: %w", ref, err)
	}
	if digest != "" {
		ref = ref[:strings.LastIndex(ref, ":")] + "@" + digest
	}
	pr, err := hc.Pull(ref)
	if isNotFound(err) {
		return nil, fmt.Errorf("pulling chart %s: %w: %v", ref, ErrChartNotFound, err)
	}
	if err != nil {
		return nil, fmt.Errorf("pulling chart %s: %w", ref, err)
	}
	return pr, nil
}

// helmClient returns a Helm registry client whose every request is bound to ctx. (The Helm v3
// registry client takes no context; it uses context.Background() inside.) With a guard, a
// manifest PUT to ref's repository by tag is sent only if guard, run right before, returns nil;
// its error is the PUT's.
func (c *Client) helmClient(ctx context.Context, ref string, guard func() error) (*registry.Client, error) {
	host := ref
	if i := strings.Index(host, "/"); i >= 0 {
		host = host[:i]
	}
	var rt http.RoundTripper = &ctxTransport{ctx: ctx, base: c.transport}
	if guard != nil {
		repo := strings.TrimPrefix(ref[:strings.LastIndex(ref, ":")], host)
		rt = &tagGuard{base: rt, manifests: "/v2" + repo + "/manifests/", check: guard}
	}
	opts := []registry.ClientOption{
		registry.ClientOptHTTPClient(&http.Client{Transport: rt}),
		// Helm's own "Pulled:/Pushed:/Digest:" lines repeat what this client already says.
		registry.ClientOptWriter(io.Discard),
		registry.ClientOptEnableCache(true),
	}
	if c.plainHTTP(host) {
		opts = append(opts, registry.ClientOptPlainHTTP())
	}
	hc, err := registry.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("making a registry client: %w", err)
	}
	return hc, nil
}

func (c *Client) plainHTTP(host string) bool {
	if c.insecure[strings.ToLower(host)] {
		return true
	}
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	h = strings.Trim(h, "[]")
	if c.insecure[strings.ToLower(h)] {
		return true
	}
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// chartRef is "host/path/name:version" for repo "oci://host/path".
func chartRef(repo, name, version string) (string, error) {
	if !strings.HasPrefix(repo, ociPrefix) {
		return "", fmt.Errorf("chart repository %q is not an oci:// repository", repo)
	}
	base := strings.TrimSuffix(strings.TrimPrefix(repo, ociPrefix), "/")
	if base == "" || strings.HasPrefix(base, "/") {
		return "", fmt.Errorf("chart repository %q names no registry host", repo)
	}
	if name == "" || version == "" || strings.ContainsAny(name, ":@/") {
		return "", fmt.Errorf("invalid chart name %q or version %q", name, version)
	}
	return base + "/" + name + ":" + version, nil
}

func isNotFound(err error) bool { return err != nil && errors.Is(err, errdef.ErrNotFound) }

// ctxTransport binds every request to ctx: ctx's deadline and cancellation, with the values of
// the request's own context (which carry the registry client's auth scopes).
type ctxTransport struct {
	ctx  context.Context
	base http.RoundTripper
}

func (t *ctxTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.ctx.Err(); err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	return t.base.RoundTrip(req.WithContext(boundContext{Context: t.ctx, values: req.Context()}))
}

// boundContext is ctx for deadline and cancellation, and values first for values.
type boundContext struct {
	context.Context
	values context.Context
}

func (b boundContext) Value(key any) any {
	if v := b.values.Value(key); v != nil {
		return v
	}
	return b.Context.Value(key)
}

// tagGuard runs check right before each manifest PUT by tag (not by digest) under the path
// prefix manifests ("/v2/<repository>/manifests/"), and sends the PUT only if check returns nil.
type tagGuard struct {
	base      http.RoundTripper
	manifests string
	check     func() error
}

func (g *tagGuard) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodPut {
		if tag, ok := strings.CutPrefix(req.URL.Path, g.manifests); ok && tag != "" && !strings.Contains(tag, ":") {
			if err := g.check(); err != nil {
				if req.Body != nil {
					req.Body.Close()
				}
				return nil, err
			}
		}
	}
	return g.base.RoundTrip(req)
}
