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
	"github.com/shiplane/shiplane/magefiles/plan"
	"github.com/shiplane/shiplane/magefiles/published"
	"github.com/shiplane/shiplane/magefiles/registry"
)

// Charts is what ChartPushed needs of a chart repository client.
type Charts interface {
	Chart(ctx context.Context, repo, name, version string) (published.Chart, error)
	Push(ctx context.Context, pkg *helm.Package, repo string) (*helm.PushResult, error)
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

	charts   Charts
	puller   helm.Puller
	out      io.Writer
	digester Digester
	verified *DigestMemo
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

func (g *ChartPushed) memoKey() string { return "chart " + g.ref() + " " + string(g.Stamp.Inputs) }

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

// Assess: absent → to push; present from the same chart files → achieved; present from other
// chart files → refused, as the version was not bumped.
func (g *ChartPushed) Assess(ctx context.Context) (goal.State, error) {
	if g.verified != nil && g.digester != nil {
		if want, ok := g.verified.Get(g.memoKey()); ok {
			d, present, err := g.digester.Digest(ctx, g.ref())
			if err != nil {
				return goal.State{}, err
			}
			if present && d == want {
				return goal.State{Achieved: true, Digest: d}, nil
			}
		}
	}
	c, err := g.charts.Chart(ctx, g.Repo, g.Name, g.Version)
	if err != nil {
		return goal.State{}, err
	}
	if c.Present && c.Inputs == string(g.Stamp.Inputs) && g.verified != nil {
		g.verified.Put(g.memoKey(), c.Digest)
	}
	if !c.Present {
		return goal.State{}, nil
	}
	if _, err := guard.SameInputs(guard.Subject{Component: g.component(), Version: g.Version, Ref: g.ref(), Where: "annotation"}, c.Inputs, string(g.Stamp.Inputs)); err != nil {
		return goal.State{}, err
	}
	return goal.State{Achieved: true, Digest: c.Digest}, nil
}

// Achieve packages the chart reproducibly in a temporary directory and pushes it.
func (g *ChartPushed) Achieve(ctx context.Context) error {
	tmp, err := os.MkdirTemp("", "shiplane-chart-*")
	if err != nil {
		return fmt.Errorf("packaging chart %s: %w", g.Name, err)
	}
	defer os.RemoveAll(tmp)
	opts := []helm.PackageOption{helm.WithOutputDir(tmp), helm.WithProgress(g.out)}
	if g.Dependencies != nil {
		opts = append(opts, helm.WithDependencies(g.Repo, g.Dependencies), helm.WithPuller(g.puller))
	}
	pkg, err := helm.PackageChart(ctx, g.Dir, g.Stamp, opts...)
	if err != nil {
		return err
	}
	if _, err := g.charts.Push(ctx, pkg, g.Repo); err != nil {
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
