package lane

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/shiplane/shiplane/magefiles/guard"
	"github.com/shiplane/shiplane/magefiles/identity"
	"github.com/shiplane/shiplane/magefiles/plan"
	"github.com/shiplane/shiplane/magefiles/published"
)

// Remote is the git remote releases read and push tags on.
const Remote = "origin"

// ReleaseCheck are the guardrails a release refuses on before planning; changed-without-bump,
// published-inputs and blocked are decided per artifact by the plan.
var ReleaseCheck = []string{guard.VersionsName, guard.MetadataName, guard.CleanTreeName, guard.ReleaseTagName}

// releaseTag is the tag a release runs from: RELEASE_TAG, else GITHUB_REF_NAME, else a v* tag at
// HEAD, else "" (nothing tagged yet).
func (w *Workspace) releaseTag(ctx context.Context) (string, error) {
	for _, k := range []string{"RELEASE_TAG", "GITHUB_REF_NAME"} {
		if t := strings.TrimSpace(w.Config.Getenv(k)); t != "" {
			return t, nil
		}
	}
	tags, err := w.Repo.TagsAt(ctx, "HEAD")
	if err != nil {
		return "", err
	}
	for _, t := range tags {
		if strings.HasPrefix(t, "v") {
			return t, nil
		}
	}
	return "", nil
}

// releaseFacts adds what a release knows about itself to the guard facts.
func (w *Workspace) releaseFacts(ctx context.Context, facts *guard.Facts, tag string, remoteTags map[string]string) error {
	dirty, err := w.Repo.Dirty(ctx)
	if err != nil {
		return err
	}
	local, err := w.Repo.Tags(ctx)
	if err != nil {
		return err
	}
	_, remote := remoteTags[tag]
	facts.Release = &guard.ReleaseFacts{
		Tag: tag, Component: PlatformComponent, VersionFile: w.Manifest.Platform.VersionFile, Version: w.Manifest.Platform.Version,
		LocalTagExists: local[tag], RemoteTagExists: remote, DirtyFiles: dirty,
	}
	return nil
}

// PlanInput turns the workspace into the plan's input for a release to p.
func (w *Workspace) PlanInput(p Publisher, facts guard.Facts, tag string) plan.Input {
	byName := map[string]guard.ComponentFacts{}
	for _, f := range facts.Components {
		byName[f.Name] = f
	}
	in := plan.Input{Tag: tag, Commit: w.Head.Hash, Manifest: w.Manifest.File}
	var charted []string
	for _, c := range w.Manifest.Components {
		pc := plan.Component{Name: c.Name, Version: c.Version, DependsOn: c.DependsOn, Publish: c.Publish, Facts: byName[c.Name]}
		if c.Image != nil {
			ref := p.ImageRepository(c) + ":" + c.Version
			pc.Artifacts = append(pc.Artifacts, plan.Artifact{Kind: plan.Image, Goal: "image pushed " + ref, Ref: ref, Inputs: string(w.Keys[c.Name])})
		}
		if c.Chart != "" {
			name := chartName(c.Chart)
			pc.Artifacts = append(pc.Artifacts, plan.Artifact{Kind: plan.Chart, Goal: fmt.Sprintf("chart pushed %s/%s:%s", strings.TrimPrefix(p.ChartRepo, "oci://"), name, c.Version),
				Repo: p.ChartRepo, Name: name, Version: c.Version, Inputs: string(w.ChartKeys[c.Name])})
			charted = append(charted, c.Name)
		}
		t := ComponentTag(c.Name, c.Version)
		pc.Artifacts = append(pc.Artifacts, plan.Artifact{Kind: plan.GitTag, Goal: "git tag pushed " + t, Ref: t})
		in.Components = append(in.Components, pc)
	}
	if pc := w.Manifest.Platform.Chart; pc != "" {
		v := w.Manifest.Platform.Version
		name := chartName(pc)
		in.Components = append(in.Components, plan.Component{
			Name: PlatformComponent, Version: v, DependsOn: charted, Publish: true, Facts: byName[PlatformComponent],
			Artifacts: []plan.Artifact{
				{Kind: plan.Chart, Goal: fmt.Sprintf("chart pushed %s/%s:%s", strings.TrimPrefix(p.ChartRepo, "oci://"), name, v),
					Repo: p.ChartRepo, Name: name, Version: v, Inputs: string(w.ChartKeys[identity.PlatformChart])},
				{Kind: plan.Release, Goal: "release published " + tag, Ref: tag},
			},
		})
	}
	return in
}

// State answers the plan's questions from the real registries, the git remote and GitHub.
type State struct {
	published.Images
	published.Charts
	Tags     map[string]string
	Releases published.Releases
}

var _ published.State = State{}

// Tag answers from the remote's tag list, read once.
func (s State) Tag(_ context.Context, name string) (published.Tag, error) {
	c, ok := s.Tags[name]
	return published.Tag{Present: ok, Commit: c}, nil
}

// Release answers from GitHub, or fails when GitHub is not configured: it cannot tell.
func (s State) Release(ctx context.Context, tag string) (published.Release, error) {
	if s.Releases == nil {
		return published.Release{}, &published.UnknownError{What: "the GitHub release " + tag, Err: ErrNoGitHub}
	}
	return s.Releases.Release(ctx, tag)
}

// ErrNoGitHub is a release without GITHUB_TOKEN or GITHUB_REPOSITORY.
var ErrNoGitHub = errors.New("GITHUB_TOKEN and GITHUB_REPOSITORY must be set (GITHUB_API_URL for GitHub Enterprise)")

// MakePlan gathers the facts and the published state and decides the release. released is true
// when the release is to run now (releaseAll): the tag must then be on the remote at HEAD.
func (w *Workspace) MakePlan(ctx context.Context, p Publisher, st State, tag string, released bool) (*plan.Plan, error) {
	facts, err := w.facts(ctx, st.Tags)
	if err != nil {
		return nil, err
	}
	if err := w.releaseFacts(ctx, &facts, tag, st.Tags); err != nil {
		return nil, err
	}
	checks, err := guard.Select(ReleaseCheck...)
	if err != nil {
		return nil, err
	}
	in := w.PlanInput(p, facts, tag)
	for _, v := range guard.Violations(guard.Run(facts, checks...)) {
		in.Refusals = append(in.Refusals, v)
	}
	placement, err := w.tagPlacement(ctx, tag, st.Tags, released)
	if err != nil {
		return nil, err
	}
	in.Refusals = append(in.Refusals, placement...)
	in.AllowBlocked = w.Config.Getenv("ALLOW_BLOCKED") == "1"
	if o, ok := st.Images.(*observed); ok {
		o.prefetch(ctx, in)
	}
	return plan.Make(ctx, in, st)
}

// tagPlacement checks that HEAD is the release tag's commit, locally and on the remote.
func (w *Workspace) tagPlacement(ctx context.Context, tag string, remote map[string]string, released bool) ([]error, error) {
	if tag == "" {
		return nil, nil
	}
	var errs []error
	local, err := w.Repo.TagCommit(ctx, tag)
	if err != nil {
		return nil, err
	}
	if local != "" && local != w.Head.Hash {
		errs = append(errs, &guard.TagNotAtHead{Tag: tag, TagCommit: local, Head: w.Head.Hash, Where: guard.Local})
	}
	r, onRemote := remote[tag]
	switch {
	case !onRemote && released:
		errs = append(errs, &guard.TagNotPushed{Tag: tag, Remote: Remote})
	case onRemote && r != w.Head.Hash:
		errs = append(errs, &guard.TagNotAtHead{Tag: tag, TagCommit: r, Head: w.Head.Hash, Where: guard.Remote})
	}
	return errs, nil
}
