package lane

import (
	"context"
	"fmt"
	"time"

	"github.com/shiplane/shiplane/magefiles/build"
	"github.com/shiplane/shiplane/magefiles/goal"
	"github.com/shiplane/shiplane/magefiles/plan"
	"github.com/shiplane/shiplane/magefiles/publish"
	"github.com/shiplane/shiplane/magefiles/registry"
)

// loopbackWait is how long pushAllDev waits for a loopback dev registry that refuses connections
// (one started a moment before, in the background).
const loopbackWait = 15 * time.Second

// PushAllDev shares the current version of everything on the dev registry without bumping any
// version: it builds what is missing locally, pushes every image as <version> (a moving tag) and
// <version>-g<commit> (immutable), and packages and pushes every chart and then the umbrella
// chart to the dev chart repository. What is already there is left alone: each goal assesses
// its artifact (the dev lane does not plan from a snapshot).
func PushAllDev(ctx context.Context, cfg Config) error {
	return annotated(cfg, pushAllDev(ctx, cfg))
}

func pushAllDev(ctx context.Context, cfg Config) error {
	ws, err := Open(ctx, cfg)
	if err != nil {
		return err
	}
	p := ws.DevPolicy()
	if err := ws.Guard(ctx, p.Check, nil); err != nil {
		return err
	}
	if err := p.requireTarget(ws.Config.Settings); err != nil {
		return err
	}
	d, err := ws.Daemon(ctx)
	if err != nil {
		return err
	}
	defer d.Close()
	if ws.Targets, err = PublishTargets(ctx, d); err != nil {
		return err
	}
	cl, err := ws.clients(ctx, p.Target)
	if err != nil {
		return err
	}
	defer cl.disp.Close()
	out := cl.out
	for _, repo := range []string{p.Target.Registry, p.Target.ChartRepo} {
		// A local registry started just before (`localRegistry &`, then pushAllDev) gets a moment.
		waiting := func() {
			fmt.Fprintf(out, "waiting up to %s for the registry of %s to accept connections…\n", loopbackWait, repo)
		}
		if err := registry.Reachable(ctx, repo, registry.WaitForLoopback(loopbackWait, waiting)); err != nil {
			return fmt.Errorf("nothing was built or pushed: %w", err)
		}
	}
	fmt.Fprintf(out, "dev registry %s, charts %s; daemon: %s\n", p.Target.Registry, p.Target.ChartRepo, d.Endpoint())
	ws.warnDirty(out)
	pl := plan.Unobserved(plan.Input{Commit: ws.Head.Hash, Manifest: ws.Manifest.File, Components: ws.Artifacts(p, nil, "")})
	if err := ws.checkChartImages(pl); err != nil {
		return err
	}
	cache := publish.NewCaching(cl.reg, cl.charts, nil, nil)
	memo := publish.NewDigestMemo(ws.Env.memoDir())
	src := ws.localImages(d.API(), memo)
	defer src.Close()
	mk := &publishGoals{w: ws, daemon: d, buildOpts: []build.Option{build.WithProgress(out)},
		images: cache, src: src, charts: cache.Charts(),
		memo: memo, umbrellaDeps: umbrellaDeps(pl), movingCharts: p.MovingTag, out: out}
	nodes := ws.Nodes(pl, mk, nil)
	if err := ws.CheckForeignRuns(nodes); err != nil {
		return err
	}
	r := goal.New(goal.WithWorkers(ws.Config.Workers), goal.WithObserver(cl.disp.Observer(nil))).Run(ctx, nodes)
	cl.disp.Close()
	return ws.finishRun(r, cl, runOutput{title: "pushAllDev", plan: pl})
}

// warnDirty names the components built from uncommitted edits: their images carry a -dirty tag.
func (w *Workspace) warnDirty(out interface{ Write([]byte) (int, error) }) {
	for _, c := range w.Manifest.Components {
		if w.Dirty(c) {
			fmt.Fprintf(out, "warning: %s is built from uncommitted changes; its immutable tag is %s\n", c.Name, w.ImmutableTag(c))
		}
	}
}
