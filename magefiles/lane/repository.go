// Package lane wires the lanes (local, dev, release). A run opens the repository once
// (repository.go: manifest, settings, environment, git facts, keys, levels), takes its lane's
// policy (policy.go), makes the one artifact list (artifacts.go), observes what is published and
// plans (release_plan.go), turns the plan into goal nodes (nodes.go), runs them and reports
// (report.go). Targets in magefiles call one function here.
package lane

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/shiplane/shiplane/magefiles/docker"
	"github.com/shiplane/shiplane/magefiles/git"
	"github.com/shiplane/shiplane/magefiles/graph"
	"github.com/shiplane/shiplane/magefiles/identity"
	"github.com/shiplane/shiplane/magefiles/manifest"
	"github.com/shiplane/shiplane/magefiles/settings"
)

// Workspace is a repository opened for a lane: its manifest, settings, environment and git
// facts, read once. It holds facts, not lanes: the lanes are functions over it and a Policy.
type Workspace struct {
	Config Config
	// Env is the environment, read once.
	Env      Env
	Manifest *manifest.Manifest
	Settings settings.Settings
	Repo     *git.Repo
	// Head is the commit checked out: what a release is tagged at, and what an artifact built
	// from uncommitted edits names (with "-dirty"). Committed artifacts name their Origin.
	Head git.Commit
	// Trees maps every input path to its git object id in the work tree as it is now.
	Trees map[string]string
	// Keys maps every component to its input key.
	Keys map[string]identity.Key
	// ChartKeys maps every chart (by component name, the umbrella as identity.PlatformChart) to
	// the key of its own files.
	ChartKeys map[string]identity.Key
	// HeadTrees maps every input path to its git object id at HEAD ("" when absent there).
	HeadTrees map[string]string
	// Inputs maps every component to the last commit (at or before HEAD) that changed its inputs:
	// its paths and, for an image built FROM another component, that component's inputs (what
	// its key covers). Its artifacts name that commit and take their times from it (see Origin),
	// so an unchanged component rebuilds to the same digest at a later commit.
	Inputs map[string]git.Commit
	// ChartInputs maps every chart (by component name, the umbrella as PlatformComponent) to the
	// last commit that changed what its package holds: its directory, the inputs of the image it
	// pins, and for the umbrella its version file and every chart it vendors.
	ChartInputs map[string]git.Commit
	// inputsErr is why Inputs cannot be told (a shallow clone), or nil; the release refuses on it.
	inputsErr error
	// Levels are the components in topological levels, dependencies first.
	Levels [][]*manifest.Component

	// endpoint is the Docker daemon of this run, resolved once from Env.Docker (endpointErr when that
	// failed; it matters only to the lanes that use Docker).
	endpoint    docker.Endpoint
	endpointErr error
	// Targets is which platforms the run builds images for, set by the lane once it has asked
	// the daemon (LocalTargets, PublishTargets). Default: the zero value, each image once for the
	// daemon's own platform, tagged :<version> and :latest.
	Targets Targets
	// Selection limits the local lane's builds and compose files (Select); the zero value, which
	// every other lane keeps, selects everything.
	Selection Selection
	// changelogs are the release notes' changelogs, read by MakePlan (which refuses a release
	// whose changelog lacks the version's section) for the GitHub release's body.
	changelogs Changelogs
}

// Open loads the manifest and settings and reads the git facts every lane needs.
func Open(ctx context.Context, cfg Config) (*Workspace, error) {
	ws, err := openManifest(cfg)
	if err != nil {
		return nil, err
	}
	cfg, root, m := ws.Config, ws.Config.Root, ws.Manifest
	s, err := settings.Load(root, cfg.Settings, ws.Env.Getenv)
	if err != nil {
		return nil, err
	}
	repo, err := git.Open(ctx, root, cfg.GitOptions...)
	if err != nil {
		return nil, err
	}
	head, err := repo.Head(ctx)
	if err != nil {
		return nil, err
	}
	trees, err := repo.Trees(ctx, identity.Paths(m))
	if err != nil {
		return nil, err
	}
	keys, err := identity.Keys(m, trees)
	if err != nil {
		return nil, err
	}
	chartKeys, err := identity.ChartKeys(m, trees)
	if err != nil {
		return nil, err
	}
	headTrees := map[string]string{}
	if head.Hash != "" {
		if headTrees, err = repo.TreesAt(ctx, head.Hash, identity.Paths(m)); err != nil {
			return nil, err
		}
	}
	levels, err := componentLevels(m)
	if err != nil {
		return nil, err
	}
	if head.Hash != "" {
		if ws.Inputs, ws.ChartInputs, ws.inputsErr, err = lastChanges(ctx, repo, m); err != nil {
			return nil, err
		}
	}
	ws.Settings, ws.Repo, ws.Head, ws.Trees, ws.Keys, ws.ChartKeys, ws.HeadTrees, ws.Levels = s, repo, head, trees, keys, chartKeys, headTrees, levels
	return ws, nil
}

// openManifest applies cfg's defaults and loads the manifest: all the compose, deploy and bump
// lanes need. Unlike Open it reads no git facts or settings, so it works in any checkout.
func openManifest(cfg Config) (*Workspace, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	m, err := manifest.Load(cfg.Root, cfg.Components)
	if err != nil {
		return nil, err
	}
	ws := &Workspace{Config: cfg, Env: readEnv(cfg.Getenv), Manifest: m}
	ws.endpoint, ws.endpointErr = docker.ResolveEndpoint(ws.Env.Docker)
	return ws, nil
}

// DockerEndpoint is the Docker daemon every backend of this run talks to (builds, pushes from the
// daemon, Compose): resolved once, when the workspace was opened, as the docker CLI resolves it
// (DOCKER_HOST, DOCKER_CONTEXT, config.json's currentContext, else the default socket).
func (w *Workspace) DockerEndpoint() (docker.Endpoint, error) {
	return w.endpoint, w.endpointErr
}

// Daemon connects to the run's Docker daemon (DockerEndpoint) and pings it.
func (w *Workspace) Daemon(ctx context.Context) (*docker.Client, error) {
	ep, err := w.DockerEndpoint()
	if err != nil {
		return nil, err
	}
	return docker.New(ctx, docker.WithEndpoint(ep))
}

// Dirty reports whether c is built from anything that differs from HEAD: an uncommitted edit in
// one of its paths, or in the component its image is built FROM. Such a build is not traceable to
// a commit, and the lanes say so.
func (w *Workspace) Dirty(c *manifest.Component) bool {
	for _, p := range c.Paths {
		if w.Trees[p] != w.HeadTrees[p] {
			return true
		}
	}
	if c.Image != nil && c.Image.From != "" {
		if from := w.Manifest.Component(c.Image.From); from != nil && from != c {
			return w.Dirty(from)
		}
	}
	return false
}

func componentLevels(m *manifest.Manifest) ([][]*manifest.Component, error) {
	nodes := make([]graph.Node, len(m.Components))
	for i, c := range m.Components {
		nodes[i] = graph.Node{Name: c.Name, DependsOn: c.DependsOn, Publish: c.Publish}
	}
	g, err := graph.New(nodes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", m.File, err)
	}
	names, err := g.Levels()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", m.File, err)
	}
	out := make([][]*manifest.Component, len(names))
	for i, level := range names {
		for _, n := range level {
			out[i] = append(out[i], m.Component(n))
		}
	}
	return out, nil
}

// Stamp is what c's artifacts record: version, revision and time (its Origin's) and input key.
func (w *Workspace) Stamp(c *manifest.Component) identity.Stamp {
	o := w.Origin(c)
	return identity.Stamp{
		Version:  c.Version,
		Revision: o.Revision(),
		Created:  o.Time,
		Key:      w.Keys[c.Name],
		Trees:    identity.Trees(c, w.Trees),
	}
}

// Labels are c's image labels.
func (w *Workspace) Labels(c *manifest.Component) map[string]string {
	return identity.Labels(w.Manifest, c, w.Stamp(c))
}

// LocalImage is c's image repository in the local daemon: "<project>/<image name>".
func (w *Workspace) LocalImage(c *manifest.Component) string {
	return w.Manifest.Project + "/" + c.Image.Name
}

// Path makes a manifest path absolute.
func (w *Workspace) Path(p string) string {
	return filepath.Join(w.Config.Root, filepath.FromSlash(p))
}
