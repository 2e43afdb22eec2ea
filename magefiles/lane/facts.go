package lane

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

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
			if _, err := w.Repo.Commit(ctx, rev); err != nil {
				// The tag's commit is not in this clone: leave TagInputs empty, so the guard
				// says it cannot tell and asks for a fetch.
				f.Components = append(f.Components, cf)
				return nil
			}
			at, err := w.Repo.TreesAt(ctx, rev, paths)
			if err != nil {
				return err
			}
			cf.TagInputs = treesOf(paths, at)
			if cf.TagInputs != cf.HeadInputs {
				if cf.ChangedFiles, err = w.Repo.ChangedFiles(ctx, rev, paths); err != nil {
					return err
				}
			}
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
	return f, nil
}

func treesOf(paths []string, trees map[string]string) string {
	parts := make([]string, len(paths))
	for i, p := range paths {
		parts[i] = p + "=" + trees[p]
	}
	return strings.Join(parts, " ")
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
