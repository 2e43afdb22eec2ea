package lane

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/shiplane/shiplane/magefiles/build"
	"github.com/shiplane/shiplane/magefiles/docker"
	"github.com/shiplane/shiplane/magefiles/goal"
	"github.com/shiplane/shiplane/magefiles/helm"
	"github.com/shiplane/shiplane/magefiles/identity"
	"github.com/shiplane/shiplane/magefiles/manifest"
	"github.com/shiplane/shiplane/magefiles/progress"
	"github.com/shiplane/shiplane/magefiles/publish"
	"github.com/shiplane/shiplane/magefiles/registry"
)

// PushAllDev shares the current version of everything on the dev registry without bumping any
// version: it builds what is missing locally (the local lane's goals), pushes every image as
// <version> (a moving tag) and <version>-g<commit> (immutable), and packages and pushes every chart
// and then the umbrella chart to the dev chart repository. What is already there is left alone.
func PushAllDev(ctx context.Context, cfg Config) error {
	ws, err := Open(ctx, cfg)
	if err != nil {
		return err
	}
	if err := ws.Guard(ctx, DevCheck, nil); err != nil {
		return err
	}
	d, err := docker.New(ctx, docker.WithHost(ws.Config.Getenv("DOCKER_HOST")))
	if err != nil {
		return err
	}
	defer d.Close()
	cl, err := ws.clients(ctx, ws.Settings.Dev)
	if err != nil {
		return err
	}
	out := cl.out
	dev := Publisher{
		Registry:  ws.Settings.Dev.Registry,
		ChartRepo: ws.Settings.Dev.ChartRepo,
		Images:    cl.reg,
		Source:    registry.NewDaemon(d.API()),
		Charts:    cl.charts,
		Memo:      publish.NewDigestMemo(publish.DefaultMemoDir()),
		Moving:    true,
		Out:       out,
	}
	if err := dev.check(); err != nil {
		return err
	}
	for _, repo := range []string{dev.Registry, dev.ChartRepo} {
		if err := registry.Reachable(ctx, repo); err != nil {
			return fmt.Errorf("nothing was built or pushed: %w", err)
		}
	}
	fmt.Fprintf(out, "dev registry %s, charts %s\n", dev.Registry, dev.ChartRepo)
	ws.warnDirty(out)
	builds := ws.LocalBuildNodes(d, build.WithProgress(out))
	nodes := append(builds, ws.PublishNodes(dev, builds)...)
	r := goal.New(goal.WithWorkers(ws.Config.Workers), goal.WithProgress(out)).Run(ctx, nodes)
	return ws.finishRedacted(r, cl.red)
}

// Publisher is where and how a lane publishes: the policy, set once.
type Publisher struct {
	// Registry is the image repository prefix ("localhost:5000/dev").
	Registry string
	// ChartRepo is the OCI chart repository ("oci://localhost:5000/dev/charts").
	ChartRepo string
	Images    publish.Registry
	Source    publish.Source
	Charts    interface {
		publish.Charts
		helm.Puller
	}
	Memo *publish.DigestMemo
	// Moving adds the moving <version> tag next to the immutable one (the dev lane).
	Moving bool
	// Release tags images <version> only (immutable) and decides present tags by their inputs,
	// so what is already published needs no local build.
	Release bool
	// Skip names components not to publish (blocked ones, under ALLOW_BLOCKED=1).
	Skip map[string]bool
	// Out receives the goals' progress (the lane's redacting writer). Default: the workspace's.
	Out io.Writer
}

func (p Publisher) check() error {
	var missing []string
	if p.Registry == "" {
		missing = append(missing, "an image registry (DEV_REGISTRY / RELEASE_REGISTRY, or deploy/settings.yaml)")
	}
	if !strings.HasPrefix(p.ChartRepo, "oci://") {
		missing = append(missing, fmt.Sprintf("an oci:// chart repository (DEV_CHART_REPO / RELEASE_CHART_REPO, or deploy/settings.yaml; got %q)", p.ChartRepo))
	}
	if len(missing) > 0 {
		return fmt.Errorf("nowhere to publish: set %s", strings.Join(missing, " and "))
	}
	return nil
}

// ImageRepository is c's repository in the publisher's registry.
func (p Publisher) ImageRepository(c *manifest.Component) string {
	return p.Registry + "/" + c.Image.Name
}

// ImmutableTag is the tag that always names one build: <version>-g<commit>, plus a dirty marker
// and the input key's prefix when the component's inputs differ from the commit.
func (w *Workspace) ImmutableTag(c *manifest.Component) string {
	tag := c.Version + "-g" + shortHash(w.Head.Hash)
	if w.Dirty(c) {
		tag += "-dirty." + strings.TrimPrefix(string(w.Keys[c.Name]), "sha256:")[:12]
	}
	return tag
}

func shortHash(h string) string {
	if h == "" {
		return "0000000"
	}
	if len(h) > 7 {
		return h[:7]
	}
	return h
}

// PublishNodes returns the push goals of every image and chart, and the umbrella chart after the
// charts it depends on. builds are the local build nodes (by component) the image pushes follow;
// a push follows the push of the image it is built FROM, so shared layers can be mounted.
func (w *Workspace) PublishNodes(p Publisher, builds []*goal.Node) []*goal.Node {
	out := p.Out
	if out == nil {
		out = progress.Locked(w.Config.Progress)
	}
	buildOf := map[string]*goal.Node{}
	for _, b := range builds {
		buildOf[b.Component] = b
	}
	pushOf := map[string]*goal.Node{}
	var nodes, chartNodes []*goal.Node
	for _, level := range w.Levels {
		for _, c := range level {
			if c.Image == nil || !c.Publish || p.Skip[c.Name] {
				continue
			}
			repo := p.ImageRepository(c)
			tags := []string{repo + ":" + w.ImmutableTag(c)}
			if p.Release {
				tags = []string{repo + ":" + c.Version}
			}
			var moving []string
			if p.Moving {
				tags = append([]string{repo + ":" + c.Version}, tags...)
				moving = tags[:1]
			}
			g := publish.ImagePushed{Local: w.LocalImage(c) + ":" + c.Version, Tags: tags, Moving: moving, Key: w.Keys[c.Name], ByInputs: p.Release}
			n := &goal.Node{Component: c.Name}
			if b := buildOf[c.Name]; b != nil {
				n.After = append(n.After, b)
			}
			if from := w.Manifest.Component(c.Image.From); from != nil && pushOf[from.Name] != nil {
				n.After = append(n.After, pushOf[from.Name])
				g.MountFrom = []string{p.ImageRepository(from)}
			}
			n.Goal = publish.NewImagePushed(g, p.Images, p.Source, p.Memo, out)
			pushOf[c.Name] = n
			nodes = append(nodes, n)
		}
	}
	deps := map[string]string{}
	for _, c := range w.Manifest.Components {
		if c.Chart == "" || !c.Publish || p.Skip[c.Name] {
			continue
		}
		n := &goal.Node{Component: c.Name, Goal: publish.NewChartPushed(publish.ChartPushed{
			Component: c.Name, Name: chartName(c.Chart), Version: c.Version, Dir: w.Path(c.Chart), Repo: p.ChartRepo,
			Stamp: w.chartStamp(c.Name, c.Chart, w.ChartKeys[c.Name]),
		}, p.Charts, p.Charts, out).WithVerified(p.Images, p.Memo)}
		deps[chartName(c.Chart)] = c.Version
		chartNodes = append(chartNodes, n)
	}
	nodes = append(nodes, chartNodes...)
	if pc := w.Manifest.Platform.Chart; pc != "" && !p.Skip[PlatformComponent] {
		nodes = append(nodes, &goal.Node{Component: PlatformComponent, After: chartNodes, Goal: publish.NewChartPushed(publish.ChartPushed{
			Name: chartName(pc), Version: w.Manifest.Platform.Version, Dir: w.Path(pc), Repo: p.ChartRepo,
			Stamp:        w.chartStamp(PlatformComponent, pc, w.ChartKeys[identity.PlatformChart]),
			Dependencies: deps,
		}, p.Charts, p.Charts, out).WithVerified(p.Images, p.Memo)})
	}
	return nodes
}

func (w *Workspace) chartStamp(component, dir string, key identity.Key) helm.Stamp {
	rev := w.Head.Hash
	if w.Trees[dir] != w.HeadTrees[dir] {
		rev += "-dirty" // packaged from uncommitted edits: no commit holds this chart
	}
	return helm.Stamp{
		Created:     w.Head.Time,
		Revision:    rev,
		Source:      w.Manifest.Source,
		Inputs:      key,
		Annotations: map[string]string{identity.LabelComponent: component},
	}
}

func chartName(dir string) string {
	dir = strings.TrimSuffix(dir, "/")
	return dir[strings.LastIndex(dir, "/")+1:]
}

// warnDirty names the components built from uncommitted edits: their images carry a -dirty tag.
func (w *Workspace) warnDirty(out interface{ Write([]byte) (int, error) }) {
	for _, c := range w.Manifest.Components {
		if w.Dirty(c) {
			fmt.Fprintf(out, "warning: %s is built from uncommitted changes; its immutable tag is %s\n", c.Name, w.ImmutableTag(c))
		}
	}
}
