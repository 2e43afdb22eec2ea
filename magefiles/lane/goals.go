package lane

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/Masterminds/semver/v3"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/shiplane/shiplane/magefiles/build"
	"github.com/shiplane/shiplane/magefiles/goal"
	"github.com/shiplane/shiplane/magefiles/helm"
	"github.com/shiplane/shiplane/magefiles/identity"
	"github.com/shiplane/shiplane/magefiles/manifest"
	"github.com/shiplane/shiplane/magefiles/plan"
	"github.com/shiplane/shiplane/magefiles/platform"
	"github.com/shiplane/shiplane/magefiles/publish"
)

// publishGoals is the lanes' GoalMaker: it makes each planned step's goal from the step's
// artifact and the clients of the run. The policy shaped the artifacts; nothing here asks which
// lane it is in.
type publishGoals struct {
	w *Workspace
	// daemon builds the images (nil when the plan builds nothing).
	daemon    build.Daemon
	buildOpts []build.Option
	images    publish.Registry
	src       publish.Source
	charts    publish.ChartRepository
	// byInputs decides present immutable image tags by their inputs (Policy.DecideByInputs).
	byInputs bool
	// memo remembers verified digests across runs (the dev lane); nil for none.
	memo *publish.DigestMemo
	// tags and releases serve the git tag and release goals (nil where the lane has none).
	tags     *publish.RemoteTags
	releases publish.ReleaseClient
	// beforeWrite runs right before each write that depends on the release tag (nil: none).
	beforeWrite func(ctx context.Context, step string) error
	// release is the GitHub release's content, made from the plan.
	release publish.ReleasePublished
	// movingCharts lets a chart version move to new contents (Policy.MovingTag: the dev lane).
	movingCharts bool
	// umbrellaDeps maps each chart the umbrella vendors to the version published for it.
	umbrellaDeps map[string]string
	out          io.Writer

	// signing signs and attaches the plan's attestation steps (nil: the plan has none), and plan
	// is the release's plan (what the attestations' statements name).
	signing *releaseSigning
	plan    *plan.Plan

	// requireOrigin makes an image count as built only when its revision is its component's
	// Origin (Policy.RequireCommit).
	requireOrigin bool
}

var _ GoalMaker = (*publishGoals)(nil)

func (g *publishGoals) Build(c *manifest.Component, p platform.Platform) goal.Goal {
	opts := g.buildOpts
	if g.requireOrigin {
		opts = append(opts[:len(opts):len(opts)], build.WithRequiredRevision(g.w.Origin(c).Revision()))
	}
	return g.w.imageBuilt(c, p, g.daemon, opts...)
}

func (g *publishGoals) Publish(s plan.Step) goal.Goal {
	w := g.w
	switch s.Kind {
	case plan.Image:
		c := w.Manifest.Component(s.Component)
		// One local image per platform: two or more are pushed as an OCI image index.
		var local []publish.LocalImage
		for _, p := range w.Platforms(c) {
			local = append(local, publish.LocalImage{Platform: p.String(), Ref: w.LocalRef(c, p)})
		}
		return publish.NewImagePushed(publish.ImagePushed{
			Local: local, Tags: s.Tags, Moving: s.Moving, Component: c.Name, Version: c.Version,
			Key: w.Keys[c.Name], MountFrom: s.MountFrom, ByInputs: g.byInputs,
		}, g.images, g.src, g.memo, g.out)
	case plan.Chart:
		cp := publish.ChartPushed{Component: s.Component, Name: s.Name, Version: s.Version, Repo: s.Repo, Moving: g.movingCharts}
		for _, pin := range s.Pins {
			cp.Pins = append(cp.Pins, publish.ChartPin{Pin: pin, Values: helm.ImageValues(w.Manifest.Component(pin.Component).ChartImageValues)})
		}
		if s.Component == PlatformComponent {
			cp.Component = ""
			cp.Dir = w.Path(w.Manifest.Platform.Chart)
			cp.Stamp = w.chartStamp(PlatformComponent, w.Manifest.Platform.Chart, w.ChartKeys[identity.PlatformChart])
			cp.Dependencies = g.umbrellaDeps
		} else {
			c := w.Manifest.Component(s.Component)
			cp.Dir = w.Path(c.Chart)
			cp.Stamp = w.chartStamp(c.Name, c.Chart, w.ChartKeys[c.Name])
		}
		return publish.NewChartPushed(cp, g.charts, g.charts, g.out).WithVerified(g.images, g.memo)
	case plan.GitTag:
		c := w.Manifest.Component(s.Component)
		return publish.NewTagPushed(publish.TagPushed{
			Name: s.Ref, Commit: w.Head.Hash, Message: fmt.Sprintf("%s %s (release %s)", c.Name, c.Version, g.release.Tag),
			Component: c.Name, BeforeWrite: g.beforeWrite,
			SameInputs: func(ctx context.Context, commit string) (bool, error) {
				at, err := w.Repo.TreesAt(ctx, commit, c.Paths)
				if err != nil {
					return false, err
				}
				return treesOf(c.Paths, at) == treesOf(c.Paths, w.HeadTrees), nil
			},
		}, g.tags, g.out)
	case plan.Attestation:
		return g.attestationGoal(s)
	default:
		return publish.NewReleasePublished(g.release, g.releases, g.out)
	}
}

// checkChartImages refuses, before anything is built or pushed, a chart the plan would publish
// pinning its image when its values.yaml has none of the declared image paths: it would be
// published pointing nowhere.
func (w *Workspace) checkChartImages(pl *plan.Plan) error {
	var errs []error
	for _, s := range pl.Steps(plan.Publish) {
		if s.Kind != plan.Chart || s.Component == PlatformComponent || len(s.Pins) == 0 {
			continue
		}
		c := w.Manifest.Component(s.Component)
		if err := helm.CheckImageValues(w.Path(c.Chart), helm.ImageValues(c.ChartImageValues)); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", c.Name, err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("nothing was built or pushed: %w", errors.Join(errs...))
	}
	return nil
}

// noLocalImages is the image source of a run that builds nothing: every image is published.
type noLocalImages struct{}

func (noLocalImages) LocalImage(_ context.Context, ref string) (v1.Image, error) {
	return nil, fmt.Errorf("%s: the plan found it published, so it was not built", ref)
}

func prerelease(v string) bool {
	sv, err := semver.StrictNewVersion(v)
	return err == nil && sv.Prerelease() != ""
}
