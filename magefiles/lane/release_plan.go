package lane

import (
	"cmp"
	"context"
	"strings"

	"github.com/shiplane/shiplane/magefiles/guard"
	"github.com/shiplane/shiplane/magefiles/pipeline"
	"github.com/shiplane/shiplane/magefiles/plan"
	"github.com/shiplane/shiplane/magefiles/published"
)

// Remote is the git remote releases read and push tags on.
const Remote = "origin"

// releaseTag is the tag a release runs from: RELEASE_TAG, else GITHUB_REF_NAME, else a v* tag at
// HEAD, else "" (nothing tagged yet).
func (w *Workspace) releaseTag(ctx context.Context) (string, error) {
	if w.Env.ReleaseTag != "" {
		return w.Env.ReleaseTag, nil
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

// MakePlan gathers the facts, observes what is published (every question at once, into a
// snapshot) and decides the release under policy p. remote is the release remote's tags (name →
// commit); st answers the rest. released is true when the release is to run now (releaseAll):
// the tag must then be on the remote at HEAD. The release file is checked and listed in the plan,
// loaded with pipeOpts and pipeline.ValidateOnly (no sh! command runs).
func (w *Workspace) MakePlan(ctx context.Context, p Policy, st published.State, remote map[string]string, tag string, released bool, pipeOpts ...pipeline.Option) (*plan.Plan, error) {
	return w.makePlan(ctx, p, st, remote, tag, released, nil, pipeOpts...)
}

// makePlan is MakePlan with the release's signing (nil: the plan signs nothing): its refusal, and
// one assessment of what is attached to each published image and chart.
func (w *Workspace) makePlan(ctx context.Context, p Policy, st published.State, remote map[string]string, tag string, released bool, sg *releaseSigning, pipeOpts ...pipeline.Option) (*plan.Plan, error) {
	facts, err := w.facts(ctx, remote)
	if err != nil {
		return nil, err
	}
	if err := w.releaseFacts(ctx, &facts, tag, remote); err != nil {
		return nil, err
	}
	checks, err := guard.Select(p.Check.Refuse...)
	if err != nil {
		return nil, err
	}
	in := plan.Input{Tag: tag, Commit: w.Head.Hash, Manifest: w.Manifest.File, AllowBlocked: p.AllowBlocked,
		Components: w.Artifacts(p, &facts, tag)}
	for _, v := range guard.Violations(guard.Run(facts, checks...)) {
		in.Refusals = append(in.Refusals, v)
	}
	placement, err := w.tagPlacement(ctx, tag, remote, released)
	if err != nil {
		return nil, err
	}
	in.Refusals = append(in.Refusals, placement...)
	// The release notes start with the changelog's section for the version.
	if w.changelogs, err = w.Changelogs(); err == nil {
		err = w.checkChangelog()
	}
	if err != nil {
		in.Refusals = append(in.Refusals, err)
	}
	// The release file, loaded once to check and list it (no sh! command runs): a malformed one is
	// a refusal here, by releasePlan and tagRelease, never first found by releaseAll after the tag
	// is pushed; a good one is listed in the plan, as releaseAll runs it.
	pipe, err := w.loadPipeline(ctx, p.ReleaseFile, true, pipeOpts...)
	if err != nil {
		in.Refusals = append(in.Refusals, err)
	}
	snap, err := published.Observe(ctx, st, in.Query(), 0)
	if err != nil {
		return nil, err
	}
	if sg != nil && sg.refusal != nil {
		in.Refusals = append(in.Refusals, sg.refusal)
	}
	if sg != nil && sg.absent != nil && released {
		in.Refusals = append(in.Refusals, sg.absent)
	}
	if hp := sg.helmProv(); hp != nil && (hp.refusal != nil || hp.absent != nil && released) {
		in.Refusals = append(in.Refusals, cmp.Or(hp.refusal, hp.absent))
	}
	in.Signing, in.HelmProv = sg.planSigning(ctx, in, snap), sg.helmProv().planInput()
	pl, err := plan.Make(in, snap)
	if err != nil {
		return nil, err
	}
	listPipeline(pl, p.ReleaseFile, pipe)
	return pl, nil
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
	// One refusal, the remote's when it has the tag: its advice depends on how the tag relates to
	// HEAD (released earlier: bump; moved: fetch; elsewhere: check it out).
	r, onRemote := remote[tag]
	notAtHead := func(commit, other string, where guard.Where) error {
		cause, err := w.tagCause(ctx, commit, other)
		if err != nil {
			return err
		}
		errs = append(errs, &guard.TagNotAtHead{Tag: tag, TagCommit: commit, Head: w.Head.Hash, Where: where, Cause: cause, Component: PlatformComponent})
		return nil
	}
	switch {
	case onRemote && r != w.Head.Hash:
		err = notAtHead(r, local, guard.Remote)
	case local != "" && local != w.Head.Hash:
		other := ""
		if onRemote {
			other = r
		}
		err = notAtHead(local, other, guard.Local)
	}
	if err != nil {
		return nil, err
	}
	if !onRemote && released {
		errs = append(errs, &guard.TagNotPushed{Tag: tag, Remote: Remote, LocalExists: local != ""})
	}
	return errs, nil
}
