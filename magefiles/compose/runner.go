package compose

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/flags"
	"github.com/docker/compose/v5/pkg/api"
	sdk "github.com/docker/compose/v5/pkg/compose"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/shiplane/shiplane/magefiles/docker"
	"github.com/shiplane/shiplane/magefiles/progress"
)

// DefaultWaitTimeout bounds how long Up waits for every service to be healthy.
const DefaultWaitTimeout = 120 * time.Second

// SharedNetworkLabel marks the shared networks Runner created.
const SharedNetworkLabel = "io.shiplane.shared-network"

// Option configures New.
type Option func(*Runner)

// WithProgress sends human progress (Compose's events and warnings) to w. Default: io.Discard.
func WithProgress(w io.Writer) Option { return func(r *Runner) { r.progress = w } }

// WithWaitTimeout bounds how long Up waits for every service to be running and healthy.
// Default: DefaultWaitTimeout (120 s).
func WithWaitTimeout(d time.Duration) Option { return func(r *Runner) { r.wait = d } }

// WithEndpoint talks to the daemon ep names: the endpoint the run resolved once and also gives to
// its builds and pushes. Default: docker.ResolveEndpoint of the process environment (DOCKER_HOST,
// DOCKER_CONTEXT, config.json's currentContext, else the default socket).
func WithEndpoint(ep docker.Endpoint) Option { return func(r *Runner) { r.endpoint = ep } }

// WithDockerHost talks to the daemon at host as the default context, as if DOCKER_HOST were host.
// It is ignored when WithEndpoint is given. Default: as WithEndpoint's.
func WithDockerHost(host string) Option { return func(r *Runner) { r.host = host } }

// WithBuildHint is the command MissingImageError tells the user to run. Default: DefaultBuildHint.
func WithBuildHint(hint string) Option { return func(r *Runner) { r.hint = hint } }

// WithEngine uses e for the Engine API calls. Default: the docker CLI's API client.
func WithEngine(e Engine) Option { return func(r *Runner) { r.engine = e } }

// WithComposer uses c instead of the Compose SDK. Default: the SDK's service on the docker CLI.
func WithComposer(c Composer) Option { return func(r *Runner) { r.composer = c } }

// Runner brings compose projects up and down on one Docker daemon.
type Runner struct {
	progress io.Writer
	wait     time.Duration
	host     string
	endpoint docker.Endpoint
	hint     string
	engine   Engine
	composer Composer
	close    func() error
}

// New returns a Runner. Unless both WithEngine and WithComposer are given it initialises a docker
// CLI on the endpoint (its context, or its host for the default context, and an API client built
// from the endpoint with its TLS material or ssh connection helper) and connects it (the CLI pings
// the daemon, for at most 2 s, to negotiate the API version; an unreachable daemon shows at the
// first operation).
func New(ctx context.Context, opts ...Option) (*Runner, error) {
	r := &Runner{progress: io.Discard, wait: DefaultWaitTimeout, hint: DefaultBuildHint}
	for _, opt := range opts {
		opt(r)
	}
	r.progress = progress.Locked(r.progress)
	if r.engine != nil && r.composer != nil {
		return r, nil
	}
	if r.endpoint.IsZero() {
		env := docker.EndpointEnvFrom(os.Getenv)
		if r.host != "" {
			env.Host = r.host
		}
		ep, err := docker.ResolveEndpoint(env)
		if err != nil {
			return nil, err
		}
		r.endpoint = ep
	}
	api, err := r.endpoint.NewAPIClient()
	if err != nil {
		return nil, err
	}
	errs := &captureWriter{w: r.progress}
	dockerCLI, err := command.NewDockerCli(
		command.WithBaseContext(ctx),
		command.WithInputStream(io.NopCloser(strings.NewReader(""))),
		command.WithOutputStream(r.progress),
		command.WithErrorStream(errs),
		command.WithAPIClient(api),
	)
	if err != nil {
		api.Close()
		return nil, fmt.Errorf("creating the docker client: %w", err)
	}
	// The CLI names the same context (Compose labels and shell-outs read it) in the same config
	// folder; the API client it uses is the one built from the endpoint above.
	clientOpts := flags.NewClientOptions()
	clientOpts.ConfigDir = r.endpoint.ConfigDir
	if r.endpoint.Context == docker.DefaultContext {
		clientOpts.Hosts = []string{r.endpoint.Host}
	} else {
		clientOpts.Context = r.endpoint.Context
	}
	if err := dockerCLI.Initialize(clientOpts); err != nil {
		api.Close()
		return nil, fmt.Errorf("initialising the docker client for %s: %w", r.endpoint, err)
	}
	// The CLI resolves its endpoint lazily and exits the process when that fails at Client();
	// DockerEndpoint resolves it without exiting and writes the failure to the error stream.
	errs.start()
	ep := dockerCLI.DockerEndpoint()
	if msg := errs.stop(); ep.Host != r.endpoint.Host {
		api.Close()
		return nil, fmt.Errorf("the docker CLI resolved %s to %q, not %s: %s", r.endpoint, ep.Host, r.endpoint.Host, strings.TrimSpace(msg))
	}
	if r.composer == nil {
		svc, err := sdk.NewComposeService(dockerCLI,
			sdk.WithOutputStream(r.progress),
			sdk.WithErrorStream(r.progress),
			sdk.WithInputStream(strings.NewReader("")),
			sdk.WithPrompt(nonInteractive(r.progress)),
			sdk.WithEventProcessor(newEventWriter(r.progress)),
		)
		if err != nil {
			return nil, fmt.Errorf("creating the compose service: %w", err)
		}
		r.composer = svc
	}
	if r.engine == nil {
		r.engine = dockerCLI.Client()
	}
	r.close = func() error { return dockerCLI.Client().Close() }
	return r, nil
}

// Endpoint is the daemon the runner talks to (the zero Endpoint when WithEngine and WithComposer
// replace it).
func (r *Runner) Endpoint() docker.Endpoint { return r.endpoint }

// captureWriter passes writes on to w and, between start and stop, also keeps them.
type captureWriter struct {
	mu        sync.Mutex
	w         io.Writer
	capturing bool
	buf       bytes.Buffer
}

func (c *captureWriter) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.capturing {
		c.buf.Write(p)
	}
	return c.w.Write(p)
}

func (c *captureWriter) start() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.capturing = true
	c.buf.Reset()
}

func (c *captureWriter) stop() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.capturing = false
	return c.buf.String()
}

// Close releases the daemon connection.
func (r *Runner) Close() error {
	if r.close == nil {
		return nil
	}
	return r.close()
}

// nonInteractive answers Compose's questions with their default and says so.
func nonInteractive(w io.Writer) sdk.Prompt {
	return func(message string, defaultValue bool) (bool, error) {
		fmt.Fprintf(w, "%s (answering %t: not interactive)\n", strings.TrimSpace(message), defaultValue)
		return defaultValue, nil
	}
}

// Up checks that every service image is in the local daemon, creates the missing shared
// networks, then creates and starts the project (removing containers of services the project no
// longer has) and waits until every service is running and, where it has a healthcheck, healthy.
func (r *Runner) Up(ctx context.Context, p *Project) error {
	if err := r.CheckImages(ctx, p); err != nil {
		return err
	}
	if err := r.EnsureNetworks(ctx, p); err != nil {
		return err
	}
	err := r.composer.Up(ctx, p.Project, api.UpOptions{
		Create: api.CreateOptions{
			RemoveOrphans:        true,
			Recreate:             api.RecreateDiverged,
			RecreateDependencies: api.RecreateDiverged,
			QuietPull:            true,
		},
		Start: api.StartOptions{
			Project:     p.Project,
			Wait:        true,
			WaitTimeout: r.wait,
		},
	})
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("starting compose project %s: %w", p.Name, err)
	}
	states, derr := r.unhealthy(ctx, p)
	if derr != nil || len(states) == 0 {
		return fmt.Errorf("starting compose project %s: %w", p.Name, err)
	}
	return &UnhealthyError{Project: p.Name, Timeout: r.wait, Containers: states, Err: err}
}

// Down stops and removes the project's containers, its own networks and volumes (declared and
// anonymous) and containers of services the files no longer declare. Shared (external) networks
// stay.
func (r *Runner) Down(ctx context.Context, p *Project) error {
	err := r.composer.Down(ctx, p.Name, api.DownOptions{
		Project:       p.Project,
		RemoveOrphans: true,
		Volumes:       true,
	})
	if err != nil {
		return fmt.Errorf("removing compose project %s: %w", p.Name, err)
	}
	return nil
}

// CheckImages returns a *MissingImageError naming every service image the local daemon lacks.
func (r *Runner) CheckImages(ctx context.Context, p *Project) error {
	var missing []Image
	for _, im := range p.Images() {
		_, err := r.engine.ImageInspect(ctx, im.Ref)
		switch {
		case err == nil:
		case cerrdefs.IsNotFound(err):
			missing = append(missing, im)
		default:
			return fmt.Errorf("inspecting image %s of service %s: %w", im.Ref, im.Service, err)
		}
	}
	if len(missing) > 0 {
		me := &MissingImageError{Images: missing, Hint: r.hint}
		if !r.endpoint.IsZero() {
			me.Daemon = r.endpoint.String()
		}
		return me
	}
	return nil
}

// EnsureNetworks creates the project's shared networks that do not exist yet (bridge driver
// unless the files say otherwise) and leaves existing ones alone.
func (r *Runner) EnsureNetworks(ctx context.Context, p *Project) error {
	for _, name := range p.SharedNetworks() {
		_, err := r.engine.NetworkInspect(ctx, name, client.NetworkInspectOptions{})
		if err == nil {
			continue
		}
		if !cerrdefs.IsNotFound(err) {
			return fmt.Errorf("inspecting shared network %s: %w", name, err)
		}
		_, err = r.engine.NetworkCreate(ctx, name, networkConfig(p, name))
		if err != nil {
			// Someone else may have created it meanwhile: that is as good.
			if _, ierr := r.engine.NetworkInspect(ctx, name, client.NetworkInspectOptions{}); ierr == nil {
				continue
			}
			return fmt.Errorf("creating shared network %s: %w", name, err)
		}
		fmt.Fprintf(r.progress, "Network %s Created (shared, kept by down)\n", name)
	}
	return nil
}

func networkConfig(p *Project, name string) client.NetworkCreateOptions {
	opts := client.NetworkCreateOptions{Driver: "bridge", Labels: map[string]string{SharedNetworkLabel: "true"}}
	for _, n := range p.Networks {
		if n.Name != name {
			continue
		}
		if n.Driver != "" {
			opts.Driver = n.Driver
		}
		for k, v := range n.Labels {
			opts.Labels[k] = v
		}
		opts.Internal = n.Internal
		opts.Attachable = n.Attachable
	}
	return opts
}

// unhealthy lists the project's containers that are not running and healthy.
func (r *Runner) unhealthy(ctx context.Context, p *Project) ([]ContainerState, error) {
	list, err := r.engine.ContainerList(ctx, client.ContainerListOptions{
		All:     true,
		Filters: make(client.Filters).Add("label", api.ProjectLabel+"="+p.Name),
	})
	if err != nil {
		return nil, err
	}
	var out []ContainerState
	for _, c := range list.Items {
		if c.Labels[api.OneoffLabel] == "True" {
			continue
		}
		service := c.Labels[api.ServiceLabel]
		name := c.ID
		if len(c.Names) > 0 {
			name = strings.TrimPrefix(c.Names[0], "/")
		}
		st := ContainerState{Service: service, Container: name, State: string(c.State)}
		in, err := r.engine.ContainerInspect(ctx, c.ID, client.ContainerInspectOptions{})
		if err != nil {
			return nil, err
		}
		if s := in.Container.State; s != nil {
			st.State = string(s.Status)
			if s.Health != nil {
				st.Health = string(s.Health.Status)
				if n := len(s.Health.Log); n > 0 && s.Health.Status != container.Healthy {
					st.Detail = strings.TrimSpace(s.Health.Log[n-1].Output)
				}
			}
			if !s.Running && s.Status == container.StateExited {
				st.Detail = fmt.Sprintf("exit code %d", s.ExitCode)
				if s.Error != "" {
					st.Detail += ", " + s.Error
				}
			}
		}
		if st.State == string(container.StateRunning) && (st.Health == "" || st.Health == string(container.Healthy)) {
			continue
		}
		out = append(out, st)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Service < out[j].Service })
	return out, nil
}
