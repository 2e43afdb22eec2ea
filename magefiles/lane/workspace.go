// Package lane wires the lanes (local, dev, release): it opens the workspace, turns the manifest into
// goals for one lane's policy, runs them, and reports. Targets in magefiles call one function here.
package lane

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/shiplane/shiplane/magefiles/git"
	"github.com/shiplane/shiplane/magefiles/goal"
	"github.com/shiplane/shiplane/magefiles/graph"
	"github.com/shiplane/shiplane/magefiles/identity"
	"github.com/shiplane/shiplane/magefiles/manifest"
	"github.com/shiplane/shiplane/magefiles/settings"
)

// Config is what a target passes in. The zero value means: the current directory's repository,
// deploy/components.yaml, the process environment, progress on stderr.
type Config struct {
	// Root is the repository root. Default: the current directory.
	Root string
	// Components is the components file, relative to Root. Default: $SHIPLANE_COMPONENTS, else
	// manifest.DefaultFile.
	Components string
	// Settings is the settings file, relative to Root. Default: settings.DefaultFile.
	Settings string
	// Getenv reads the environment. Default: os.Getenv.
	Getenv func(string) string
	// Progress receives human progress. Default: os.Stderr.
	Progress io.Writer
	// Stdout receives machine-readable output. Default: os.Stdout.
	Stdout io.Writer
	// Workers bounds concurrent goals. Default: the engine's default.
	Workers int
}

func (c Config) withDefaults() Config {
	if c.Getenv == nil {
		c.Getenv = os.Getenv
	}
	if c.Root == "" {
		c.Root = "."
	}
	if c.Components == "" {
		c.Components = c.Getenv("SHIPLANE_COMPONENTS")
	}
	if c.Components == "" {
		c.Components = manifest.DefaultFile
	}
	if c.Settings == "" {
		c.Settings = settings.DefaultFile
	}
	if c.Progress == nil {
		c.Progress = os.Stderr
	}
	if c.Stdout == nil {
		c.Stdout = os.Stdout
	}
	return c
}

// Workspace is a repository opened for a lane: its manifest, settings and git facts.
type Workspace struct {
	Config   Config
	Manifest *manifest.Manifest
	Settings settings.Settings
	Repo     *git.Repo
	// Head is the commit artifacts are stamped with.
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
	// Levels are the components in topological levels, dependencies first.
	Levels [][]*manifest.Component
}

// Open loads the manifest and settings and reads the git facts every lane needs.
func Open(ctx context.Context, cfg Config) (*Workspace, error) {
	ws, err := openManifest(cfg)
	if err != nil {
		return nil, err
	}
	cfg, root, m := ws.Config, ws.Config.Root, ws.Manifest
	s, err := settings.Load(root, cfg.Settings, cfg.Getenv)
	if err != nil {
		return nil, err
	}
	repo, err := git.Open(ctx, root)
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
	return &Workspace{Config: cfg, Manifest: m, Settings: s, Repo: repo, Head: head, Trees: trees, Keys: keys,
		ChartKeys: chartKeys, HeadTrees: headTrees, Levels: levels}, nil
}

// openManifest applies cfg's defaults and loads the manifest: all the compose, deploy and bump
// lanes need. Unlike Open it reads no git facts or settings, so it works in any checkout.
func openManifest(cfg Config) (*Workspace, error) {
	cfg = cfg.withDefaults()
	root, err := filepath.Abs(cfg.Root)
	if err != nil {
		return nil, fmt.Errorf("resolving %s: %w", cfg.Root, err)
	}
	cfg.Root = root
	m, err := manifest.Load(root, cfg.Components)
	if err != nil {
		return nil, err
	}
	return &Workspace{Config: cfg, Manifest: m}, nil
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

// Stamp is what c's artifacts record: version, revision, commit time and input key.
func (w *Workspace) Stamp(c *manifest.Component) identity.Stamp {
	rev := w.Head.Hash
	if w.Dirty(c) {
		rev += "-dirty" // built from uncommitted edits: no commit holds these inputs
	}
	return identity.Stamp{
		Version:  c.Version,
		Revision: rev,
		Created:  w.Head.Time,
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

// finish prints the summary, writes the JSON report when SHIPLANE_REPORT names a path, and returns
// the report's error.
func (w *Workspace) finish(r *goal.Report) error {
	fmt.Fprintln(w.Config.Progress, r.Summary())
	if path := w.Config.Getenv("SHIPLANE_REPORT"); path != "" {
		if err := r.WriteFile(path); err != nil {
			return err
		}
		fmt.Fprintf(w.Config.Progress, "report written to %s\n", path)
	}
	return r.Err()
}
