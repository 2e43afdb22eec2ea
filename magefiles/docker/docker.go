// Package docker is the Docker Engine API backend: inspect, build (classic builder), tag and remove
// images in a local daemon. It carries out requests; it decides nothing.
package docker

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/shiplane/shiplane/magefiles/platform"
)

// Client talks to one Docker daemon. Build one with New; it is safe for concurrent use.
type Client struct {
	api      *client.Client
	endpoint Endpoint
}

type options struct {
	host        string
	endpoint    *Endpoint
	pingTimeout time.Duration
}

// Option configures New.
type Option func(*options)

// WithEndpoint connects to ep, an endpoint resolved once by ResolveEndpoint and shared with the
// other backends of a run. Default: ResolveEndpoint of the process environment (DOCKER_HOST,
// DOCKER_CONTEXT, config.json's currentContext, else the default socket).
func WithEndpoint(ep Endpoint) Option {
	return func(o *options) { o.endpoint = &ep }
}

// WithHost connects to host ("unix:///var/run/docker.sock", "tcp://127.0.0.1:2375",
// "ssh://user@host") as the default context, as if DOCKER_HOST were host. An empty host keeps the
// default. It is ignored when WithEndpoint is given. Default: as WithEndpoint's.
func WithHost(host string) Option {
	return func(o *options) {
		if host != "" {
			o.host = host
		}
	}
}

// WithPingTimeout bounds how long New waits for the daemon to answer. Default: 10s.
func WithPingTimeout(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.pingTimeout = d
		}
	}
}

// New connects to the daemon and pings it, negotiating the API version (Engine 20.10 speaks 1.41).
// A daemon that does not answer gives an *UnreachableError naming the context and its address.
// DOCKER_API_VERSION comes from the process environment, as with the docker CLI.
func New(ctx context.Context, opts ...Option) (*Client, error) {
	o := options{pingTimeout: 10 * time.Second}
	for _, opt := range opts {
		opt(&o)
	}
	var ep Endpoint
	switch {
	case o.endpoint != nil:
		ep = *o.endpoint
	default:
		env := EndpointEnvFrom(os.Getenv)
		if o.host != "" {
			env.Host = o.host
		}
		var err error
		if ep, err = ResolveEndpoint(env); err != nil {
			return nil, err
		}
	}
	api, err := ep.NewAPIClient()
	if err != nil {
		return nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, o.pingTimeout)
	defer cancel()
	if _, err := api.Ping(pctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		api.Close()
		if ctx.Err() == nil {
			return nil, &UnreachableError{Endpoint: ep, Host: ep.Host, Err: err}
		}
		return nil, fmt.Errorf("pinging the Docker daemon of %s: %w", ep, err)
	}
	return &Client{api: api, endpoint: ep}, nil
}

// UnreachableError is a daemon that did not answer (or answered something other than the Engine
// API).
type UnreachableError struct {
	// Endpoint is the daemon tried: its context, address and what chose them.
	Endpoint Endpoint
	// Host is Endpoint.Host.
	Host string
	Err  error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("cannot reach the Docker daemon of %s, chosen by %s: %v; fix: %s", e.Endpoint, e.Endpoint.From, e.Err, e.fix())
}

// fix says how to start the daemon the endpoint names, or how to choose another.
func (e *UnreachableError) fix() string {
	ep := e.Endpoint
	if ep.Context == DefaultContext {
		start := "start it (`sudo dockerd &`, or `bash scripts/setup-docker.sh` on a fresh machine)"
		if ep.From == client.EnvOverrideHost {
			return start + ", or set DOCKER_HOST to a running daemon, or unset DOCKER_HOST to use the Docker context (`docker context ls`)"
		}
		return start + ", or choose a running one: `docker context use NAME` (`docker context ls` lists them) or DOCKER_HOST"
	}
	var start string
	switch {
	case ep.Context == "colima" || strings.HasPrefix(ep.Context, "colima-"):
		start = "`colima start`"
		if p := strings.TrimPrefix(ep.Context, "colima-"); p != ep.Context {
			start = "`colima start --profile " + p + "`"
		}
	case strings.HasPrefix(ep.Context, "desktop-"):
		start = "start Docker Desktop"
	case strings.HasPrefix(ep.Host, "ssh://"):
		start = "check that `ssh " + strings.TrimPrefix(ep.Host, "ssh://") + " docker version` works (ssh keys in the agent, the user in the remote docker group)"
	default:
		start = "start the engine at " + ep.Host
	}
	other := "`docker context use default`"
	if ep.From == "DOCKER_CONTEXT" {
		other = "unset DOCKER_CONTEXT or set it to another context"
	}
	return start + ", or choose another daemon: " + other + " (`docker context ls` lists them)"
}

func (e *UnreachableError) Unwrap() error { return e.Err }

// Endpoint is the daemon the client talks to: its context, address and what chose them.
func (c *Client) Endpoint() Endpoint { return c.endpoint }

// Host is the daemon address the client talks to.
func (c *Client) Host() string { return c.endpoint.Host }

// APIVersion is the negotiated Engine API version.
func (c *Client) APIVersion() string { return c.api.ClientVersion() }

// Close releases the client's connections.
func (c *Client) Close() error { return c.api.Close() }

// Image is what the daemon knows about a local image.
type Image struct {
	// ID is the image ID, "sha256:<hex>".
	ID string
	// Tags are the image's repository tags ("shiplane/core:1.2.0").
	Tags []string
	// Labels are the image config's labels.
	Labels map[string]string
	// Parent is the ID of the image this one was built on by the classic builder, or "" (set by
	// ListImages only).
	Parent string
	// Created is the image's creation time (RFC 3339).
	Created string
	// Platform is the image config's os, architecture and variant (set by InspectImage only).
	Platform platform.Platform
}

// InspectImage looks ref (a tag or an ID) up. An image that does not exist is found == false and no
// error; any other failure is an error.
func (c *Client) InspectImage(ctx context.Context, ref string) (Image, bool, error) {
	res, err := c.api.ImageInspect(ctx, ref)
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return Image{}, false, nil
		}
		return Image{}, false, fmt.Errorf("inspecting image %s: %w", ref, err)
	}
	img := Image{ID: res.ID, Tags: res.RepoTags, Created: res.Created,
		Platform: platform.Platform{OS: res.Os, Architecture: res.Architecture, Variant: res.Variant}}
	if res.Config != nil {
		img.Labels = res.Config.Labels
	}
	return img, true, nil
}

// TagImage points target ("repo:tag") at source (a tag or an ID).
func (c *Client) TagImage(ctx context.Context, source, target string) error {
	if _, err := c.api.ImageTag(ctx, client.ImageTagOptions{Source: source, Target: target}); err != nil {
		return fmt.Errorf("tagging %s as %s: %w", source, target, err)
	}
	return nil
}

// ListOptions select images for ListImages.
type ListOptions struct {
	// Reference keeps images with a tag matching this pattern ("shiplane/*", "shiplane/core").
	// Default: any.
	Reference string
	// All includes the intermediate images the classic builder leaves as parents. Default: false.
	All bool
}

// ListImages returns the local images o selects.
func (c *Client) ListImages(ctx context.Context, o ListOptions) ([]Image, error) {
	f := make(client.Filters)
	if o.Reference != "" {
		f.Add("reference", o.Reference)
	}
	res, err := c.api.ImageList(ctx, client.ImageListOptions{Filters: f, All: o.All})
	if err != nil {
		return nil, fmt.Errorf("listing images %s: %w", o.Reference, err)
	}
	out := make([]Image, 0, len(res.Items))
	for _, s := range res.Items {
		var tags []string
		for _, t := range s.RepoTags {
			if t != "<none>:<none>" {
				tags = append(tags, t)
			}
		}
		out = append(out, Image{ID: s.ID, Parent: s.ParentID, Tags: tags, Labels: s.Labels,
			Created: time.Unix(s.Created, 0).UTC().Format(time.RFC3339Nano)})
	}
	return out, nil
}

// RemoveImage removes ref: a tag is untagged, and an image left without tags is deleted together
// with its untagged parents. Removing an image that does not exist is not an error. An image that
// is in use or has child images is an error (classify with errdefs.IsConflict).
func (c *Client) RemoveImage(ctx context.Context, ref string) error {
	_, err := c.api.ImageRemove(ctx, ref, client.ImageRemoveOptions{Force: true, PruneChildren: true})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("removing image %s: %w", ref, err)
	}
	return nil
}
