package lane

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/shiplane/shiplane/magefiles/git"
	"github.com/shiplane/shiplane/magefiles/guard"
	"github.com/shiplane/shiplane/magefiles/version"
)

// Facts gathers what the guardrails look at: versions, charts, metadata, and for every component
// whether its inputs changed since the tag of its current version. The platform (root VERSION and
// umbrella chart) is a component here, tagged v<version>.
func (w *Workspace) Facts(ctx context.Context) (guard.Facts, error) {
	return w.facts(ctx, nil)
}

// facts gathers the facts, reading the tags of the components' versions from remote (tag name →
// commit, as ls-remote lists them) when it is not nil, else from the local repository. A release
// decides from the remote: a local tag that was never pushed proves nothing, and a pushed one this
// clone has not fetched still counts (its commit must be here to compare, else the check cannot
// tell and says to fetch).
//
// Its git processes do not grow with the components: one cat-file answers, for every tagged
// component at once, whether the tag's commit is here and what its paths hold there
// (git.Repo.ResolveMany); and only for components whose inputs differ from their tag's, one diff
// per distinct tag commit and one ls-files list the changed files (git.Repo.ChangedFilesMany).
func (w *Workspace) facts(ctx context.Context, remote map[string]string) (guard.Facts, error) {
	m := w.Manifest
	f := guard.Facts{Manifest: m.File}
	local, err := w.Repo.Tags(ctx)
	if err != nil {
		return f, err
	}
	tagRev := func(tag string) (string, bool) {
		if remote != nil {
			c, ok := remote[tag]
			return c, ok
		}
		return "refs/tags/" + tag, local[tag]
	}
	var (
		tagged []int          // the components whose tag exists, by index in f.Components
		qs     []git.RevPaths // and what to ask git about each
	)
	add := func(name, versionFile, ver string, deps []string, publish bool, chart string, paths []string, img *guard.ImageFacts, tag string) error {
		cf := guard.ComponentFacts{Name: name, VersionFile: versionFile, Version: ver, DependsOn: deps, Publish: publish, Image: img, Tag: tag}
		if chart != "" {
			ch, err := version.ReadChart(w.Path(filepath.Join(chart, "Chart.yaml")))
			if err != nil {
				return err
			}
			cf.Chart = &guard.ChartFacts{
				File: filepath.ToSlash(filepath.Join(chart, "Chart.yaml")), Version: ch.Version, AppVersion: ch.AppVersion,
				Description: ch.Description, Sources: ch.Sources, License: ch.License(),
				HasMaintainersField: ch.HasMaintainers, Maintainers: len(ch.Maintainers),
				Dependencies: map[string]string{},
			}
			for _, d := range ch.Dependencies {
				cf.Chart.Dependencies[d.Name] = d.Version
			}
		}
		cf.HeadInputs = treesOf(paths, w.Trees)
		if rev, ok := tagRev(tag); ok {
			cf.TagExists = true
			tagged = append(tagged, len(f.Components))
			qs = append(qs, git.RevPaths{Rev: rev, Paths: paths})
		}
		f.Components = append(f.Components, cf)
		return nil
	}
	for _, c := range m.Components {
		var img *guard.ImageFacts
		if c.Image != nil {
			img = &guard.ImageFacts{Source: m.Source, License: m.License, Description: c.Description}
		}
		if err := add(c.Name, c.VersionFile, c.Version, c.DependsOn, c.Publish, c.Chart, c.Paths, img, ComponentTag(c.Name, c.Version)); err != nil {
			return f, err
		}
		f.Components[len(f.Components)-1].UmbrellaExcluded = c.UmbrellaExcluded
	}
	if m.Platform.Chart != "" {
		paths := []string{m.Platform.Chart, m.Platform.VersionFile}
		if err := add(PlatformComponent, m.Platform.VersionFile, m.Platform.Version, nil, true, m.Platform.Chart, paths, nil, ReleaseTag(m.Platform.Version)); err != nil {
			return f, err
		}
		umbrella := f.Components[len(f.Components)-1].Chart
		f.Umbrella = &guard.UmbrellaFacts{Name: PlatformComponent, File: umbrella.File, Dependencies: umbrella.Dependencies}
	}
	if err := w.tagInputs(ctx, &f, tagged, qs); err != nil {
		return f, err
	}
	return f, nil
}

// tagInputs fills the TagInputs of the tagged components (f.Components[tagged[i]], whose tag is
// qs[i]) and, where they differ from the HeadInputs, their ChangedFiles. A tag whose commit is not
// in this clone keeps TagInputs empty, so the guard says it cannot tell and asks for a fetch.
func (w *Workspace) tagInputs(ctx context.Context, f *guard.Facts, tagged []int, qs []git.RevPaths) error {
	at, err := w.Repo.ResolveMany(ctx, qs)
	if err != nil {
		return fmt.Errorf("reading the inputs at each component's tag: %w", err)
	}
	var changed []int
	var cqs []git.RevPaths
	for i, r := range at {
		if r.Commit == "" {
			continue
		}
		cf := &f.Components[tagged[i]]
		cf.TagInputs = treesOf(qs[i].Paths, r.Trees)
		if cf.TagInputs != cf.HeadInputs {
			changed = append(changed, tagged[i])
			cqs = append(cqs, git.RevPaths{Rev: r.Commit, Paths: qs[i].Paths})
		}
	}
	files, err := w.Repo.ChangedFilesMany(ctx, cqs)
	if err != nil {
		return err
	}
	for i, c := range changed {
		f.Components[c].ChangedFiles = files[i]
	}
	return nil
}

func treesOf(paths []string, trees map[string]string) string {
	parts := make([]string, len(paths))
	for i, p := range paths {
		parts[i] = p + "=" + trees[p]
	}
	return strings.Join(parts, " ")
}

// tagCause says how a release tag at commit relates to HEAD, for the advice of a
// *guard.TagNotAtHead: moved (other, the tag's commit on the other side, local or remote, is set and
// differs), not in this clone, an earlier commit of HEAD's history (that version is released, and
// HEAD is later work: bump), or elsewhere (check it out).
func (w *Workspace) tagCause(ctx context.Context, commit, other string) (guard.TagCause, error) {
	if other != "" && other != commit {
		return guard.CauseMoved, nil
	}
	exit := func(err error) int {
		var ge *git.Error
		var ee *exec.ExitError
		if errors.As(err, &ge) && errors.As(ge.Err, &ee) {
			return ee.ExitCode()
		}
		return -1
	}
	if _, err := w.Repo.Run(ctx, "cat-file", "-e", commit+"^{commit}"); err != nil {
		if exit(err) > 0 {
			return guard.CauseNotHere, nil
		}
		return "", fmt.Errorf("looking up commit %s: %w", commit, err)
	}
	_, err := w.Repo.Run(ctx, "merge-base", "--is-ancestor", commit, "HEAD")
	switch {
	case err == nil:
		return guard.CauseReleased, nil
	case exit(err) == 1:
		return guard.CauseElsewhere, nil
	}
	return "", fmt.Errorf("comparing %s with HEAD: %w", commit, err)
}

// Guard runs the lane's guardrails before it writes anything: warnings go to progress, refusals
// come back as the joined guardrail errors.
func (w *Workspace) Guard(ctx context.Context, check Check, facts *guard.Facts) error {
	if facts == nil {
		f, err := w.Facts(ctx)
		if err != nil {
			return fmt.Errorf("checking versions: %w", err)
		}
		facts = &f
	}
	warn, err := guard.Select(check.Warn...)
	if err != nil {
		return err
	}
	for _, v := range guard.Violations(guard.Run(*facts, warn...)) {
		fmt.Fprintf(w.Config.Progress, "warning: %v\n", v)
	}
	refuse, err := guard.Select(check.Refuse...)
	if err != nil {
		return err
	}
	if err := guard.Run(*facts, refuse...); err != nil {
		return &RefusedError{Lane: check, Err: err}
	}
	return nil
}

// RefusedError is a lane that refused to start because a guardrail failed.
type RefusedError struct {
	Lane Check
	Err  error
}

func (e *RefusedError) Error() string {
	var b strings.Builder
	b.WriteString("refusing to start; fix these first:")
	for _, v := range guard.Violations(e.Err) {
		b.WriteString("\n  - ")
		b.WriteString(v.Error())
	}
	if len(guard.Violations(e.Err)) == 0 {
		b.WriteString(" ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *RefusedError) Unwrap() error { return e.Err }
