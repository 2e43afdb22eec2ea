package lane

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/shiplane/shiplane/magefiles/changelog"
	"github.com/shiplane/shiplane/magefiles/manifest"
	"github.com/shiplane/shiplane/magefiles/version"
)

// PlatformComponent is the name bump accepts for the platform release version (root VERSION and
// the umbrella chart).
const PlatformComponent = manifest.ReservedName

// UnknownComponentError is a component name the manifest does not know.
type UnknownComponentError struct {
	Name  string
	Known []string
}

func (e *UnknownComponentError) Error() string {
	return fmt.Sprintf("unknown component %q; %s", e.Name, manifest.Suggest(e.Name, e.Known))
}

// Bump moves one component to a new version: spec is patch, minor, major or an explicit X.Y.Z.
// It rewrites the component's VERSION file, its chart's version and appVersion, and the umbrella
// chart's pin on that chart (so the umbrella stays consistent); comments and layout are kept and
// nothing else is touched. "platform" bumps the root VERSION and the umbrella chart. A downgrade,
// the same version, an invalid spec or a file whose edit cannot be made is refused before anything
// is written. When the changelog exists (the root CHANGELOG.md for "platform", else a CHANGELOG.md
// in the component's paths), an empty "## [<new version>] - unreleased" section is added to it,
// unless it has one. Its lines are human progress: they go to cfg's Progress (default stderr);
// it writes no machine output.
func Bump(ctx context.Context, cfg Config, component, spec string) error {
	return annotated(cfg, bump(ctx, cfg, component, spec))
}

func bump(ctx context.Context, cfg Config, component, spec string) error {
	ws, err := openManifest(cfg)
	if err != nil {
		return err
	}
	// ws.Config is cfg with its defaults: output goes there, never to the caller's (maybe nil) writers.
	cfg, root, m := ws.Config, ws.Config.Root, ws.Manifest
	var versionFile, chartDir, umbrellaDep string
	changelogFile := changelog.DefaultFile // the release's notes
	if component == PlatformComponent {
		versionFile, chartDir = m.Platform.VersionFile, m.Platform.Chart
	} else {
		c := m.Component(component)
		if c == nil {
			return &UnknownComponentError{Name: component, Known: append(m.Names(), PlatformComponent)}
		}
		versionFile, chartDir, changelogFile = c.VersionFile, c.Chart, ws.changelogPath(c)
		if chartDir != "" {
			umbrellaDep = filepath.Base(chartDir)
		}
	}
	abs := func(p string) string { return filepath.Join(root, filepath.FromSlash(p)) }
	cur, err := version.ReadFile(abs(versionFile))
	if err != nil {
		return fmt.Errorf("bump %s: %w", component, err)
	}
	next, err := version.Next(cur, spec)
	var same *version.SameVersionError
	resync := errors.As(err, &same)
	if resync {
		// bump X <its current version>: what the version guardrail suggests when the chart or the
		// umbrella's pin disagrees with VERSION. Bring them in step; refuse if nothing disagrees.
		next, err = cur, nil
	}
	if err != nil {
		return fmt.Errorf("bump %s: %w", component, err)
	}

	// Plan every edit in memory before writing any: an edit that cannot be made (a chart value
	// with a tag or an anchor, a flow-style chart) is refused here and leaves nothing half-bumped.
	var edits []*version.Edit
	var touched []string
	plan := func(file string, e *version.Edit, err error) error {
		if err != nil {
			return fmt.Errorf("bump %s: %w", component, err)
		}
		edits = append(edits, e)
		touched = append(touched, file)
		return nil
	}
	e, err := version.PlanFile(abs(versionFile), next)
	if err := plan(versionFile, e, err); err != nil {
		return err
	}
	if chartDir != "" {
		chartFile := filepath.ToSlash(filepath.Join(chartDir, "Chart.yaml"))
		e, err := version.PlanChartVersion(abs(chartFile), next.String())
		if err := plan(chartFile, e, err); err != nil {
			return err
		}
	}
	if umbrellaDep != "" && m.Platform.Chart != "" {
		umbrellaFile := filepath.ToSlash(filepath.Join(m.Platform.Chart, "Chart.yaml"))
		e, err := version.PlanDependencyVersion(abs(umbrellaFile), umbrellaDep, next.String())
		var nf *version.DependencyNotFoundError
		if !errors.As(err, &nf) { // an umbrella without a pin on this chart has nothing to follow
			if err := plan(umbrellaFile+" (dependency "+umbrellaDep+")", e, err); err != nil {
				return err
			}
		}
	}
	if changelogFile != "" && !resync {
		// The next version's notes start as an empty section, when the changelog is kept.
		e, err := ws.changelogEdit(changelogFile, next.String())
		if err != nil {
			return fmt.Errorf("bump %s: %w", component, err)
		}
		if e != nil {
			edits, touched = append(edits, e), append(touched, changelogFile+" (section ["+next.String()+"])")
		}
	}
	if resync {
		var changed []*version.Edit
		var files []string
		for i, e := range edits {
			if e.Changed() {
				changed, files = append(changed, e), append(files, touched[i])
			}
		}
		if len(changed) == 0 {
			return fmt.Errorf("bump %s: %w", component, same)
		}
		edits, touched = changed, files
	}
	if err := version.ApplyAll(edits...); err != nil {
		return fmt.Errorf("bump %s: %w", component, err)
	}
	if resync {
		fmt.Fprintf(cfg.Progress, "%s: %s (chart brought in step with %s)\n", component, cur, versionFile)
	} else {
		fmt.Fprintf(cfg.Progress, "%s: %s → %s\n", component, cur, next)
	}
	for _, f := range touched {
		fmt.Fprintf(cfg.Progress, "  updated %s\n", f)
	}
	return nil
}
