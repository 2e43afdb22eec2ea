package lane

import (
	"context"
	"fmt"
	"path"
	"path/filepath"

	"github.com/shiplane/shiplane/magefiles/build"
	"github.com/shiplane/shiplane/magefiles/docker"
	"github.com/shiplane/shiplane/magefiles/goal"
	"github.com/shiplane/shiplane/magefiles/manifest"
	"github.com/shiplane/shiplane/magefiles/platform"
)

// BuildAllLocal builds every component image into the local Docker daemon, for the daemon's own
// platform, tagged :<version> and :latest and stamped with the component's labels. With
// PLATFORMS=linux/amd64,linux/arm64 it builds each image for each platform named instead, tagged
// :<version>-<os>-<arch> (:latest is left alone). cfg.Only (else $COMPONENTS) limits it to the components named and the images
// they are built FROM; an unknown name is refused before anything is built. Images already built from the same inputs are
// left alone; a base image builds before the images FROM it, and independent images build at once
// (at most cfg.Workers). The daemon is the one the docker CLI would use (Workspace.DockerEndpoint):
// DOCKER_HOST, DOCKER_CONTEXT, config.json's currentContext, else the default socket.
func BuildAllLocal(ctx context.Context, cfg Config) error {
	return annotated(cfg, buildAllLocal(ctx, cfg))
}

func buildAllLocal(ctx context.Context, cfg Config) error {
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
	d, err := ws.Daemon(ctx)
	if err != nil {
		return err
	}
	defer d.Close()
	fmt.Fprintf(ws.Config.Progress, "daemon: %s\n", d.Endpoint())
	if ws.Targets, err = LocalTargets(ctx, d, ws.Env.Platforms); err != nil {
		return err
	}
	return ws.BuildLocal(ctx, d)
}

// Targets is which platforms a run builds each image for, and how it tags the local images: a
// lane's choice, made once when it starts (LocalTargets, PublishTargets). The zero value builds
// each image once, for the daemon's own platform unchecked, tagged :<version> and :latest.
type Targets struct {
	// Engine is the daemon: its own platform, and whether it emulates others.
	Engine build.Engine
	// Only, when set, replaces every image's platforms (PLATFORMS in the local lane).
	Only []platform.Platform
	// Manifest builds each image for its components-file platforms (image.platforms, else the
	// top-level platforms:), the engine's own when the file names none: the publishing lanes.
	Manifest bool
}

// For is the platforms c's image is built for, in order.
func (t Targets) For(c *manifest.Component) []platform.Platform {
	switch {
	case len(t.Only) > 0:
		return t.Only
	case t.Manifest && c.Image != nil && len(c.Image.Platforms) > 0:
		return c.Image.Platforms
	}
	return []platform.Platform{t.Engine.Platform}
}

// PerPlatform says every local image is tagged :<version>-<os>-<arch>[-<variant>] (and :latest
// is not moved): always, except for the local lane building for the daemon's own platform.
func (t Targets) PerPlatform() bool { return t.Manifest || len(t.Only) > 0 }

// LocalTargets is the local lane's choice: the daemon's own platform, tagged :<version> and
// :latest as compose expects; or, when platforms (PLATFORMS, comma-separated) names any, each of
// them, tagged per platform.
func LocalTargets(ctx context.Context, d *docker.Client, platforms string) (Targets, error) {
	only, err := platform.ParseList(platforms)
	if err != nil {
		return Targets{}, fmt.Errorf("PLATFORMS: %w; fix: write a comma-separated list such as linux/amd64,linux/arm64, or unset PLATFORMS to build for the daemon's own platform", err)
	}
	e, err := engine(ctx, d, len(only) == 0)
	return Targets{Engine: e, Only: only}, err
}

// PublishTargets is the publishing lanes' choice: each image's components-file platforms (the
// daemon's own when the file names none), one local image per platform tagged
// :<version>-<os>-<arch>.
func PublishTargets(ctx context.Context, d *docker.Client) (Targets, error) {
	e, err := engine(ctx, d, false)
	return Targets{Engine: e, Manifest: true}, err
}

// engine describes the daemon; its platform must be known when it is the target.
func engine(ctx context.Context, d *docker.Client, target bool) (build.Engine, error) {
	info, err := d.Info(ctx)
	if err != nil {
		return build.Engine{}, err
	}
	if target && info.Platform.IsZero() {
		return build.Engine{}, &docker.UnknownPlatformError{Host: d.Host(), OSType: info.OSType, Architecture: info.Architecture}
	}
	return build.EngineOf(info, d.Host()), nil
}

// Platforms is the platforms c's image is built for in this run (Workspace.Targets).
func (w *Workspace) Platforms(c *manifest.Component) []platform.Platform { return w.Targets.For(c) }

// LocalRef is the local tag of c's image built for p in this run: "<project>/<name>:<version>",
// or "<project>/<name>:<version>-<os>-<arch>" when the run tags per platform.
func (w *Workspace) LocalRef(c *manifest.Component, p platform.Platform) string {
	return build.PlatformRef(w.LocalImage(c), c.Version, p, w.Targets.PerPlatform())
}

// CheckForeignRuns refuses, before anything is built, the build nodes among nodes whose
// Dockerfile has a RUN step for a platform the engine cannot be shown to run (no emulation): the
// error names the component, the Dockerfile and line of the RUN, the platform, and the fixes.
func (w *Workspace) CheckForeignRuns(nodes []*goal.Node) error {
	var specs []build.Spec
	for _, n := range nodes {
		if b, ok := n.Goal.(*build.ImageBuilt); ok {
			specs = append(specs, b.Spec())
		}
	}
	err := build.CheckForeignRuns(specs, w.Targets.Engine, func(p string) string {
		if rel, err := filepath.Rel(w.Config.Root, p); err == nil {
			return filepath.ToSlash(rel)
		}
		return p
	})
	if err != nil {
		return fmt.Errorf("nothing was built: %w", err)
	}
	return nil
}

// BuildLocal runs the local build goals against d, prints the summary, writes the JSON report
// when SHIPLANE_REPORT names a path, and returns the run's error (a *goal.RunError when a goal
// failed or was blocked). opts are passed to every goal after the workspace's own (progress,
// compiler), so they can replace them.
func (w *Workspace) BuildLocal(ctx context.Context, d build.Daemon, opts ...build.Option) error {
	disp := w.localDisplay()
	defer disp.Close()
	nodes := w.LocalBuildNodes(d, append([]build.Option{build.WithProgress(disp.Writer())}, opts...)...)
	if err := w.CheckForeignRuns(nodes); err != nil {
		return err
	}
	return w.finish(w.runLocal(ctx, disp, nodes))
}

// RunLocalBuild runs the local build goals against d and returns the report, without printing
// the summary or writing the report file, nor checking for foreign RUN steps (BuildLocal does).
func (w *Workspace) RunLocalBuild(ctx context.Context, d build.Daemon, opts ...build.Option) *goal.Report {
	disp := w.localDisplay()
	defer disp.Close()
	nodes := w.LocalBuildNodes(d, append([]build.Option{build.WithProgress(disp.Writer())}, opts...)...)
	return w.runLocal(ctx, disp, nodes)
}

// LocalBuildNodes returns one "image built" node per component with an image and platform it is
// built for (Workspace.Platforms), in manifest order,
// limited to w.Selection's components and the images they are built FROM. A node runs after the node of the
// component its image is built FROM, for the same platform, so that image is built first. Every
// goal compiles with go in the repository root and then applies opts.
func (w *Workspace) LocalBuildNodes(d build.Daemon, opts ...build.Option) []*goal.Node {
	return w.buildNodes(w.selectedBuilds(w.Manifest.Components), d, opts...)
}

// buildNodes is LocalBuildNodes for the components comps (in their order), which must include
// the components their images are built FROM.
func (w *Workspace) buildNodes(comps []*manifest.Component, d build.Daemon, opts ...build.Option) []*goal.Node {
	type key struct {
		name string
		p    platform.Platform
	}
	byKey := map[key]*goal.Node{}
	var nodes []*goal.Node
	var plats []platform.Platform
	for _, c := range comps {
		if c.Image == nil {
			continue
		}
		for _, p := range w.Platforms(c) {
			n := &goal.Node{Component: c.Name, Goal: w.imageBuilt(c, p, d, opts...)}
			byKey[key{c.Name, p}] = n
			nodes = append(nodes, n)
			plats = append(plats, p)
		}
	}
	for i, n := range nodes {
		if from := w.baseOf(w.Manifest.Component(n.Component)); from != nil {
			if dep := byKey[key{from.Name, plats[i]}]; dep != nil {
				n.After = append(n.After, dep)
			}
		}
	}
	return nodes
}

// imageBuilt is the goal "image built" of c for platform p in the daemon d: compiled with go in
// the repository root for p, FROM its base's image for p, stamped with c's labels, tagged as the
// run tags (LocalRef), its output streamed or kept as Config.Verbose says, then opts applied.
func (w *Workspace) imageBuilt(c *manifest.Component, p platform.Platform, d build.Daemon, opts ...build.Option) goal.Goal {
	spec := build.Spec{
		Component:   c.Name,
		Repository:  w.LocalImage(c),
		Version:     c.Version,
		Key:         w.Keys[c.Name],
		Labels:      w.Labels(c),
		Dockerfile:  w.Path(c.Image.Dockerfile),
		Dir:         w.Config.Root,
		Main:        mainPackage(c.Image.Main),
		Binary:      c.Image.Binary(),
		Clean:       !w.Dirty(c),
		Platform:    p,
		PlatformTag: w.Targets.PerPlatform(),
	}
	if from := w.baseOf(c); from != nil {
		spec.BaseImage = w.LocalRef(from, p)
	}
	return build.NewImageBuilt(spec, d, append([]build.Option{build.WithCompiler(build.NewGoCompiler()), build.WithVerbose(w.Config.Verbose)}, opts...)...)
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
