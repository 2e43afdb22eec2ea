package lane

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/shiplane/shiplane/magefiles/manifest"
	"github.com/shiplane/shiplane/magefiles/version"
)

// PlatformComponent is the name bump accepts for the platform release version (root VERSION and
// the umbrella chart).
const PlatformComponent = "platform"

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
// the same version or an invalid spec is refused before anything is written.
func Bump(ctx context.Context, cfg Config, component, spec string) error {
	ws, err := openManifest(cfg)
	if err != nil {
		return err
	}
	root, m := ws.Config.Root, ws.Manifest
	var versionFile, chartDir, umbrellaDep string
	if component == PlatformComponent {
		versionFile, chartDir = m.Platform.VersionFile, m.Platform.Chart
	} else {
		c := m.Component(component)
		if c == nil {
			return &UnknownComponentError{Name: component, Known: append(m.Names(), PlatformComponent)}
		}
		versionFile, chartDir = c.VersionFile, c.Chart
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
	if err != nil {
		return fmt.Errorf("bump %s: %w", component, err)
	}

	// Check every file before writing any, so a bad chart leaves nothing half-bumped.
	var edits []func() error
	var touched []string
	edits = append(edits, func() error { return version.WriteFile(abs(versionFile), next) })
	touched = append(touched, versionFile)
	if chartDir != "" {
		chartFile := filepath.Join(chartDir, "Chart.yaml")
		if _, err := version.ReadChart(abs(chartFile)); err != nil {
			return fmt.Errorf("bump %s: %w", component, err)
		}
		edits = append(edits, func() error { return version.SetChartVersion(abs(chartFile), next.String()) })
		touched = append(touched, chartFile)
	}
	if umbrellaDep != "" && m.Platform.Chart != "" {
		umbrellaFile := filepath.Join(m.Platform.Chart, "Chart.yaml")
		u, err := version.ReadChart(abs(umbrellaFile))
		if err != nil {
			return fmt.Errorf("bump %s: %w", component, err)
		}
		for _, d := range u.Dependencies {
			if d.Name == umbrellaDep {
				edits = append(edits, func() error {
					err := version.SetDependencyVersion(abs(umbrellaFile), umbrellaDep, next.String())
					var nf *version.DependencyNotFoundError
					if errors.As(err, &nf) {
						return nil
					}
					return err
				})
				touched = append(touched, umbrellaFile+" (dependency "+umbrellaDep+")")
				break
			}
		}
	}
	for _, edit := range edits {
		if err := edit(); err != nil {
			return fmt.Errorf("bump %s: %w", component, err)
		}
	}
	fmt.Fprintf(cfg.Stdout, "%s: %s → %s\n", component, cur, next)
	for _, f := range touched {
		fmt.Fprintf(cfg.Progress, "  updated %s\n", f)
	}
	return nil
}
