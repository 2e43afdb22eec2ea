package publish

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"oras.land/oras-go/v2/registry/remote/errcode"

	"github.com/shiplane/shiplane/magefiles/goal"
	"github.com/shiplane/shiplane/magefiles/guard"
	"github.com/shiplane/shiplane/magefiles/helm"
	"github.com/shiplane/shiplane/magefiles/identity"
	"github.com/shiplane/shiplane/magefiles/plan"
	"github.com/shiplane/shiplane/magefiles/published"
	"github.com/shiplane/shiplane/magefiles/registry"
)

// Charts is what ChartPushed needs of a chart repository client.
type Charts interface {
	Chart(ctx context.Context, repo, name, version string) (published.Chart, error)
	Push(ctx context.Context, pkg *helm.Package, repo string, opts ...helm.PushOption) (*helm.PushResult, error)
}

// ChartPushed is the end state "this chart version, from these chart files, is in the repository".
type ChartPushed struct {
	// Component owns the chart ("" for the umbrella); it names the fix when the version was not bumped.
	Component string
	// Name and Version are the chart's.
	Name, Version string
	// Dir is the chart directory (absolute).
	Dir string
	// Repo is the OCI repository, "oci://host/path".
	Repo string
	// Stamp is what the package records; Stamp.Inputs is the chart's key.
	Stamp helm.Stamp
	// Dependencies, for an umbrella chart, map each file:// dependency to the version published in Repo.
	Dependencies map[string]string
	// Pins are the images the chart installs, pinned by the digest their reference holds when it
	// is packaged; the pins are part of its identity (plan.PinnedInputs). They need a Digester
	// (WithVerified).
	Pins []ChartPin
	// Moving: a version present with other inputs is pushed again (the dev lane's charts move with
	// its images). Otherwise it is refused, as the version was not bumped.
	Moving bool

	charts   Charts
	puller   helm.Puller
	out      io.Writer
	digester Digester
	verified *DigestMemo
}

// ChartPin is one image a chart installs, and where the chart keeps it in its values.
type ChartPin struct {
	plan.Pin
	Values helm.ImageValues
}

// Digester answers a manifest HEAD.
type Digester interface {
	Digest(ctx context.Context, ref string) (digest string, present bool, err error)
}

// WithVerified lets Assess settle the chart with one manifest HEAD when the tag still holds a
// digest already verified to carry the chart's inputs (memo keyed by reference and inputs).
func (g *ChartPushed) WithVerified(d Digester, memo *DigestMemo) *ChartPushed {
	g.digester, g.verified = d, memo
	return g
}

func (g *ChartPushed) ref() string { return published.ChartRef(g.Repo, g.Name, g.Version) }

func (g *ChartPushed) memoKey(inputs string) string { return "chart " + g.ref() + " " + inputs }

// inputs is the identity the chart must carry: its files' key, with the digest each pinned image
// reference holds now. ok is false while a pinned image is not published.
func (g *ChartPushed) inputs(ctx context.Context) (inputs string, digests map[string]string, ok bool, err error) {
	digests = map[string]string{}
	if len(g.Pins) > 0 && g.digester == nil {
		return "", nil, false, fmt.Errorf("chart %s pins images but has no registry to read their digests from", g.Name)
	}
	for _, p := range g.Pins {
		d, present, err := g.digester.Digest(ctx, p.Ref)
		if err != nil {
			return "", nil, false, fmt.Errorf("reading the digest of %s, which chart %s pins: %w", p.Ref, g.Name, err)
		}
		if present {
			digests[p.Ref] = d
		}
	}
	a := plan.Artifact{Inputs: string(g.Stamp.Inputs)}
	for _, p := range g.Pins {
		a.Pins = append(a.Pins, p.Pin)
	}
	inputs, ok = plan.PinnedInputs(a, func(ref string) string { return digests[ref] })
	return inputs, digests, ok, nil
}

var _ goal.Goal = (*ChartPushed)(nil)

// NewChartPushed returns the goal. puller fetches dependency charts for an umbrella.
func NewChartPushed(g ChartPushed, charts Charts, puller helm.Puller, progress io.Writer) *ChartPushed {
	g.charts, g.puller, g.out = charts, puller, progress
	if g.out == nil {
		g.out = io.Discard
	}
	return &g
}

func (g *ChartPushed) String() string {
	return plan.ChartGoal(g.Repo, g.Name, g.Version)
}

// Assess: absent → to push; present from the same chart files and pinned images → achieved;
// present from others → refused, as the version was not bumped (or, Moving, to push again).
func (g *ChartPushed) Assess(ctx context.Context) (goal.State, error) {
	want, _, ok, err := g.inputs(ctx)
	if err != nil {
		return goal.State{}, err
	}
	if ok && g.verified != nil && g.digester != nil {
		if d0, hit := g.verified.Get(g.memoKey(want)); hit {
			d, present, err := g.digester.Digest(ctx, g.ref())
			if err != nil {
				return goal.State{}, err
			}
			if present && d == d0 {
				return goal.State{Achieved: true, Digest: d}, nil
			}
		}
	}
	c, err := g.charts.Chart(ctx, g.Repo, g.Name, g.Version)
	if err != nil {
		return goal.State{}, err
	}
	if !c.Present {
		return goal.State{}, nil
	}
	if !ok {
		// A pinned image is not pushed yet: whatever the chart pins, it is not that image.
		want = "a chart pinning images not yet published"
	}
	if c.Inputs == want && g.verified != nil {
		g.verified.Put(g.memoKey(want), c.Digest)
	}
	if _, err := guard.SameInputs(guard.Subject{Component: g.component(), Version: g.Version, Ref: g.ref(), Where: "annotation"}, c.Inputs, want); err != nil {
		if g.Moving {
			return goal.State{Detail: "published from other inputs: moving it"}, nil
		}
		return goal.State{}, err
	}
	return goal.State{Achieved: true, Digest: c.Digest}, nil
}

// Achieve packages the chart reproducibly in a temporary copy, its images pinned by the digests
// their references hold now, and pushes it.
func (g *ChartPushed) Achieve(ctx context.Context) error {
	want, digests, ok, err := g.inputs(ctx)
	if err != nil {
		return err
	}
	if !ok {
		var missing []string
		for _, p := range g.Pins {
			if digests[p.Ref] == "" {
				missing = append(missing, p.Ref)
			}
		}
		return fmt.Errorf("chart %s %s pins %s, which is not in the registry: its image must be pushed first", g.Name, g.Version, strings.Join(missing, ", "))
	}
	tmp, err := os.MkdirTemp("", "shiplane-chart-*")
	if err != nil {
		return fmt.Errorf("packaging chart %s: %w", g.Name, err)
	}
	defer os.RemoveAll(tmp)
	opts := []helm.PackageOption{helm.WithOutputDir(tmp), helm.WithProgress(g.out)}
	if g.Dependencies != nil {
		opts = append(opts, helm.WithDependencies(g.Repo, g.Dependencies), helm.WithPuller(g.puller))
	}
	subs := map[string]helm.SubchartImage{}
	for _, p := range g.Pins {
		img := helm.PinnedImage{Repository: p.Ref[:strings.LastIndex(p.Ref, ":")], Tag: p.Ref[strings.LastIndex(p.Ref, ":")+1:], Digest: digests[p.Ref]}
		if p.Subchart == "" {
			opts = append(opts, helm.WithImage(p.Values, img))
		} else {
			subs[p.Subchart] = helm.SubchartImage{Values: p.Values, Image: img}
		}
	}
	if len(subs) > 0 {
		opts = append(opts, helm.WithSubchartImages(subs))
	}
	stamp := g.Stamp
	stamp.Inputs = identity.Key(want)
	pkg, err := helm.PackageChart(ctx, g.Dir, stamp, opts...)
	if err != nil {
		return err
	}
	var popts []helm.PushOption
	if g.Moving {
		popts = append(popts, helm.Overwrite())
	}
	if _, err := g.charts.Push(ctx, pkg, g.Repo, popts...); err != nil {
		return fmt.Errorf("pushing chart %s %s: %w", g.Name, g.Version, chartAuthError(g.Repo, err))
	}
	return nil
}

// chartAuthError makes the chart repository's refusal (401, 403) the *registry.AuthError an image
// push gives, which names the registry and says how to log in.
func chartAuthError(repo string, err error) error {
	var er *errcode.ErrorResponse
	if errors.As(err, &er) && (er.StatusCode == http.StatusUnauthorized || er.StatusCode == http.StatusForbidden) {
		host, _, _ := strings.Cut(strings.TrimPrefix(repo, "oci://"), "/")
		return &registry.AuthError{Registry: host, Status: er.StatusCode, Err: err}
	}
	return err
}

// component is who the fix bumps: the owner, or the platform for the umbrella.
func (g *ChartPushed) component() string {
	if g.Component == "" {
		return "platform"
	}
	return g.Component
}
