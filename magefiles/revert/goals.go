package revert

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/shiplane/shiplane/magefiles/git"
	"github.com/shiplane/shiplane/magefiles/github"
	"github.com/shiplane/shiplane/magefiles/goal"
	"github.com/shiplane/shiplane/magefiles/publish"
	"github.com/shiplane/shiplane/magefiles/registry"
)

// GitHub is what a revert needs of GitHub; *github.Client and *publish.Caching are ones.
type GitHub interface {
	publish.History
	ReleaseDetail(ctx context.Context, tag string) (github.ReleaseDetail, error)
	EnsureAsset(ctx context.Context, id int64, name string, content []byte) error
	DeleteRelease(ctx context.Context, id int64) error
}

// Registry is what a revert needs of the registry holding the images and charts; *registry.Client
// is one.
type Registry interface {
	Digest(ctx context.Context, ref string) (digest string, present bool, err error)
	DeleteManifest(ctx context.Context, ref, digest string) error
}

// Git is what a revert needs of git: the remote's tags, and deleting one there.
type Git interface {
	RemoteTags(ctx context.Context, remote string) (map[string]string, error)
	DeleteRemoteTag(ctx context.Context, remote, name string) error
}

var (
	_ GitHub   = (*github.Client)(nil)
	_ GitHub   = (*publish.Caching)(nil)
	_ Registry = (*registry.Client)(nil)
	_ Git      = Repo{}
)

// Repo is a git repository as a revert's Git: it deletes a remote tag with git push.
type Repo struct{ *git.Repo }

// DeleteRemoteTag deletes the tag name on remote (git push <remote> :refs/tags/<name>); the local
// tag, if any, stays.
func (r Repo) DeleteRemoteTag(ctx context.Context, remote, name string) error {
	if _, err := r.Run(ctx, "push", "--quiet", remote, ":refs/tags/"+name); err != nil {
		return fmt.Errorf("deleting tag %s on %s: %w", name, remote, err)
	}
	return nil
}

// Backends are the clients the goals act through.
type Backends struct {
	GitHub   GitHub
	Registry Registry
	Git      Git
	// Remote is the git remote the tags are on (e.g. origin).
	Remote string
	// Now gives the time recorded in the marker. Default: time.Now.
	Now func() time.Time
}

// Nodes returns the plan's goals: the marker first, then every removal, then the release. Nil
// when there is nothing to revert or the plan refuses.
func (p *Plan) Nodes(b Backends) []*goal.Node {
	if !p.Found || len(p.Refusals) > 0 {
		return nil
	}
	if b.Now == nil {
		b.Now = time.Now
	}
	rel := release{b: b, tag: p.Tag, id: p.Release.ID}
	start := &goal.Node{Component: p.Tag, Goal: &markerAttached{rel}}
	nodes := []*goal.Node{start}
	for _, a := range p.Remove {
		nodes = append(nodes, &goal.Node{Component: a.Component, Goal: &deleted{b: b, tag: p.Tag, a: a}, After: []*goal.Node{start}})
	}
	nodes = append(nodes, &goal.Node{Component: p.Tag, Goal: &releaseDeleted{rel}, After: nodes[:len(nodes):len(nodes)]})
	return nodes
}

// release is the GitHub release a goal is about: the one planned, by its ID.
type release struct {
	b   Backends
	tag string
	id  int64
}

// detail reads the release of tag, refusing one that is not the release planned.
func (r release) detail(ctx context.Context) (github.ReleaseDetail, error) {
	d, err := r.b.GitHub.ReleaseDetail(ctx, r.tag)
	if err == nil && d.Present && d.ID != r.id {
		return d, fmt.Errorf("the release of %s is now release %d, not %d that was planned: run revertRelease %s -plan again", r.tag, d.ID, r.id, r.tag)
	}
	return d, err
}

// markerAttached is "the release carries the marker that its revert began".
type markerAttached struct{ release }

func (g *markerAttached) String() string { return "revert begun " + g.tag }

func (g *markerAttached) Assess(ctx context.Context) (goal.State, error) {
	d, err := g.detail(ctx)
	if err != nil {
		return goal.State{}, err
	}
	a, ok := d.Asset(MarkerAsset)
	return goal.State{Achieved: !d.Present || (ok && a.Uploaded())}, nil
}

func (g *markerAttached) Achieve(ctx context.Context) error {
	data, err := json.Marshal(map[string]string{"tag": g.tag, "started_at": g.b.Now().UTC().Format(time.RFC3339)})
	if err != nil {
		return err
	}
	return g.b.GitHub.EnsureAsset(ctx, g.id, MarkerAsset, append(data, '\n'))
}

// deleted is "the image or chart tag, or the component git tag, no longer holds what the release
// published".
type deleted struct {
	b   Backends
	tag string
	a   publish.ReleasedArtifact
}

func (g *deleted) String() string { return g.a.Kind + " deleted " + g.a.Ref }

// current is what the tag holds now: the manifest digest in the registry, or the commit on the
// remote.
func (g *deleted) current(ctx context.Context) (string, bool, error) {
	if g.a.Kind != publish.ArtifactGitTag {
		return g.b.Registry.Digest(ctx, g.a.Ref)
	}
	tags, err := g.b.Git.RemoteTags(ctx, g.b.Remote)
	if err != nil {
		return "", false, err
	}
	c, ok := tags[g.a.Ref]
	return c, ok, nil
}

// Assess finds the tag gone (achieved), still at what was recorded (to delete), or holding
// something else: pushed since, never deleted.
func (g *deleted) Assess(ctx context.Context) (goal.State, error) {
	now, ok, err := g.current(ctx)
	switch {
	case err != nil:
		return goal.State{}, err
	case !ok:
		return goal.State{Achieved: true}, nil
	case now != g.a.Digest:
		return goal.State{}, &TamperedError{Tag: g.tag, Artifact: g.a, Now: now}
	}
	return goal.State{Digest: now}, nil
}

// Achieve deletes the git tag, or exactly the recorded manifest, by digest: a tag moved since is
// never deleted.
func (g *deleted) Achieve(ctx context.Context) error {
	if g.a.Kind == publish.ArtifactGitTag {
		return g.b.Git.DeleteRemoteTag(ctx, g.b.Remote, g.a.Ref)
	}
	return g.b.Registry.DeleteManifest(ctx, g.a.Ref, g.a.Digest)
}

// releaseDeleted is "the GitHub release is gone"; it comes last, so its manifest and the marker
// outlive every other step.
type releaseDeleted struct{ release }

func (g *releaseDeleted) String() string { return "release deleted " + g.tag }

func (g *releaseDeleted) Assess(ctx context.Context) (goal.State, error) {
	d, err := g.detail(ctx)
	if err != nil {
		return goal.State{}, err
	}
	return goal.State{Achieved: !d.Present}, nil
}

func (g *releaseDeleted) Achieve(ctx context.Context) error {
	return g.b.GitHub.DeleteRelease(ctx, g.id)
}

// Finish turns a run's report into the revert's error: nil when every goal succeeded; a
// *LeftError listing everything left when the registry refused a DELETE; else the report's
// error.
func Finish(tag string, rep *goal.Report) error {
	err := rep.Err()
	if err == nil {
		return nil
	}
	le := &LeftError{Tag: tag}
	for _, r := range rep.Results {
		if r.Status.OK() {
			continue
		}
		le.Left = append(le.Left, fmt.Sprintf("%s (%s)", r.Goal, r.Status))
		var ue *registry.DeleteUnsupportedError
		if errors.As(r.Err, &ue) {
			le.Unsupported = append(le.Unsupported, ue.Ref)
		}
	}
	if len(le.Unsupported) == 0 {
		return err
	}
	return le
}
