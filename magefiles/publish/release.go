package publish

import (
	"context"
	"fmt"
	"io"

	"github.com/shiplane/shiplane/magefiles/github"
	"github.com/shiplane/shiplane/magefiles/goal"
)

// Releaser is what ReleasePublished needs of GitHub.
type Releaser interface {
	ReleaseDetail(ctx context.Context, tag string) (github.ReleaseDetail, error)
	EnsureDraft(ctx context.Context, tag, name, body string, prerelease bool) (int64, error)
	EnsureAsset(ctx context.Context, id int64, name string, content []byte) error
	Publish(ctx context.Context, id int64) error
}

// Asset is a file attached to a release.
type Asset struct {
	Name    string
	Content []byte
}

// ReleasePublished is the end state "the GitHub release of Tag is published with its assets". It
// is achieved as a draft first, assets attached (each once), then published, so a run stopped
// anywhere is finished by the next one.
type ReleasePublished struct {
	Tag, Name, Body string
	Prerelease      bool
	// Assets makes the assets; it runs only when the release needs work.
	Assets func(ctx context.Context) ([]Asset, error)

	gh  Releaser
	out io.Writer
}

var _ goal.Goal = (*ReleasePublished)(nil)

// NewReleasePublished returns the goal.
func NewReleasePublished(g ReleasePublished, gh Releaser, progress io.Writer) *ReleasePublished {
	g.gh, g.out = gh, progress
	if g.out == nil {
		g.out = io.Discard
	}
	return &g
}

func (g *ReleasePublished) String() string { return "release published " + g.Tag }

// Assess: published (not a draft) is achieved; GitHub refuses changes to a published release's
// assets, so there is nothing more to check.
func (g *ReleasePublished) Assess(ctx context.Context) (goal.State, error) {
	d, err := g.gh.ReleaseDetail(ctx, g.Tag)
	if err != nil {
		return goal.State{}, err
	}
	switch {
	case !d.Present:
		return goal.State{Detail: "no release"}, nil
	case d.Draft:
		return goal.State{Detail: fmt.Sprintf("draft with %d asset(s)", len(d.Assets))}, nil
	}
	return goal.State{Achieved: true, Detail: d.HTMLURL}, nil
}

// Achieve makes or reuses the draft, attaches what is missing, and publishes.
func (g *ReleasePublished) Achieve(ctx context.Context) error {
	assets, err := g.Assets(ctx)
	if err != nil {
		return fmt.Errorf("making the assets of %s: %w", g.Tag, err)
	}
	id, err := g.gh.EnsureDraft(ctx, g.Tag, g.Name, g.Body, g.Prerelease)
	if err != nil {
		return err
	}
	for _, a := range assets {
		if err := g.gh.EnsureAsset(ctx, id, a.Name, a.Content); err != nil {
			return err
		}
		fmt.Fprintf(g.out, "release %s: asset %s (%d bytes)\n", g.Tag, a.Name, len(a.Content))
	}
	return g.gh.Publish(ctx, id)
}
