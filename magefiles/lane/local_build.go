package lane

import (
	"context"
	"path"

	"github.com/shiplane/shiplane/magefiles/build"
	"github.com/shiplane/shiplane/magefiles/docker"
	"github.com/shiplane/shiplane/magefiles/goal"
	"github.com/shiplane/shiplane/magefiles/manifest"
	"github.com/shiplane/shiplane/magefiles/progress"
)

// BuildAllLocal builds every component image into the local Docker daemon, tagged :<version> and
// :latest and stamped with the component's labels. cfg.Only (else $COMPONENTS) limits it to the
// components named and the images they are built FROM; an unknown name is refused before anything
// is built. Images already built from the same inputs are left alone; a base image builds before
// the images FROM it, and independent images build at once (at most cfg.Workers). The daemon is
// $DOCKER_HOST, else the default socket.
func BuildAllLocal(ctx context.Context, cfg Config) error {
	ws, err := Open(ctx, cfg)
	if err != nil {
		return err
	}
	if err := ws.selectForBuild(ws.Config.Progress); err != nil {
		return err
	}
	if err := ws.Guard(ctx, LocalPolicy().Check, nil); err != nil {
		return err
	}
	d, err := docker.New(ctx, docker.WithHost(ws.Env.DockerHost))
	if err != nil {
		return err
	}
	defer d.Close()
	return ws.BuildLocal(ctx, d)
}

// BuildLocal runs the local build goals against d, prints the summary, writes the JSON report
// when SHIPLANE_REPORT names a path, and returns the run's error (a *goal.RunError when a goal
// failed or was blocked). opts are passed to every goal after the workspace's own (progress,
// compiler), so they can replace them.
func (w *Workspace) BuildLocal(ctx context.Context, d build.Daemon, opts ...build.Option) error {
	return w.finish(w.RunLocalBuild(ctx, d, opts...))
}

// RunLocalBuild runs the local build goals against d and returns the report, without printing
// the summary or writing the report file.
func (w *Workspace) RunLocalBuild(ctx context.Context, d build.Daemon, opts ...build.Option) *goal.Report {
	out := progress.Locked(w.Config.Progress)
	nodes := w.LocalBuildNodes(d, append([]build.Option{build.WithProgress(out)}, opts...)...)
	return goal.New(goal.WithWorkers(w.Config.Workers), goal.WithProgress(out)).Run(ctx, nodes)
}

// LocalBuildNodes returns one "image built" node per component with an image, in manifest order,
// limited to w.Selection's components and the images they are built FROM.
// A node runs after the node of the component its image is built FROM, so that image is built
// first. Every goal compiles with go in the repository root and then applies opts.
func (w *Workspace) LocalBuildNodes(d build.Daemon, opts ...build.Option) []*goal.Node {
	byName := map[string]*goal.Node{}
	var nodes []*goal.Node
	for _, c := range w.selectedBuilds(w.Manifest.Components) {
		if c.Image == nil {
			continue
		}
		n := &goal.Node{Component: c.Name, Goal: w.imageBuilt(c, d, opts...)}
		byName[c.Name] = n
		nodes = append(nodes, n)
	}
	for _, n := range nodes {
		if from := w.baseOf(w.Manifest.Component(n.Component)); from != nil {
			n.After = append(n.After, byName[from.Name])
		}
	}
	return nodes
}

// imageBuilt is the goal "image built" of c in the daemon d: compiled with go in the repository
// root, stamped with c's labels, then opts applied.
func (w *Workspace) imageBuilt(c *manifest.Component, d build.Daemon, opts ...build.Option) goal.Goal {
	spec := build.Spec{
		Component:  c.Name,
		Repository: w.LocalImage(c),
		Version:    c.Version,
		Key:        w.Keys[c.Name],
		Labels:     w.Labels(c),
		Dockerfile: w.Path(c.Image.Dockerfile),
		Dir:        w.Config.Root,
		Main:       mainPackage(c.Image.Main),
		Binary:     c.Image.Binary(),
		Clean:      !w.Dirty(c),
	}
	if from := w.baseOf(c); from != nil {
		spec.BaseImage = w.LocalImage(from) + ":" + from.Version
	}
	return build.NewImageBuilt(spec, d, append([]build.Option{build.WithCompiler(build.NewGoCompiler())}, opts...)...)
}

// mainPackage makes a manifest main path a package path go build accepts from the repository
// root: "services/core/cmd/core" becomes "./services/core/cmd/core".
func mainPackage(p string) string {
	if p == "" {
		return ""
	}
	p = path.Clean(p)
	if path.IsAbs(p) || p == "." || p == ".." || len(p) > 2 && p[:3] == "../" {
		return p
	}
	return "./" + p
}
