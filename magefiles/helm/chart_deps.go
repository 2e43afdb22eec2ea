package helm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/Masterminds/semver/v3"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
)

// Dependency is one dependency of a packaged chart as the package records it.
type Dependency struct {
	// Name is the dependency's chart name.
	Name string
	// Alias is its alias in the parent chart, if any.
	Alias string
	// Version is the exact version the package points at.
	Version string
	// Repository is where that version is published: the OCI repository for a rewritten file://
	// dependency, otherwise the repository as written.
	Repository string
	// From is the repository as written in the source Chart.yaml, e.g. "file://../core".
	From string
}

// Rewritten reports whether the dependency was a file:// one rewritten to a published chart.
func (d Dependency) Rewritten() bool { return isFileRepo(d.From) }

func isFileRepo(r string) bool { return strings.HasPrefix(r, "file://") }

// ResolveChartDependencies says what the chart in dir will depend on once packaged: every
// file:// dependency rewritten to repo ("oci://host/path") at the version versions gives for its
// chart name. versions must name only published (or just pushed) versions; a file:// dependency
// it does not name is refused with a *MissingDependencyError (several are joined), never given a
// placeholder. Other dependencies are returned as written. dir is only read.
func ResolveChartDependencies(dir, repo string, versions map[string]string) ([]Dependency, error) {
	md, err := chartutil.LoadChartfile(filepath.Join(dir, chartutil.ChartfileName))
	if err != nil {
		return nil, fmt.Errorf("reading chart %s: %w", dir, err)
	}
	return resolveDeps(md, repo, versions)
}

func resolveDeps(md *chart.Metadata, repo string, versions map[string]string) ([]Dependency, error) {
	var (
		out  []Dependency
		errs []error
	)
	for _, d := range md.Dependencies {
		if d == nil {
			continue
		}
		dep := Dependency{Name: d.Name, Alias: d.Alias, Version: d.Version, Repository: d.Repository, From: d.Repository}
		if !isFileRepo(d.Repository) {
			out = append(out, dep)
			continue
		}
		missing := func(reason string) {
			errs = append(errs, &MissingDependencyError{Chart: md.Name, Dependency: d.Name, Repository: d.Repository, Reason: reason})
		}
		if md.APIVersion != chart.APIVersionV2 {
			missing("file:// dependencies are rewritten only in apiVersion v2 charts")
			continue
		}
		v, ok := versions[d.Name]
		switch {
		case !ok || v == "":
			missing("no published version of it was given; publish it first")
			continue
		case repo == "":
			missing(fmt.Sprintf("version %s was given but no chart repository to point at", v))
			continue
		}
		if _, err := semver.StrictNewVersion(v); err != nil {
			missing(fmt.Sprintf("published version %q is not a semantic version: %v", v, err))
			continue
		}
		if !strings.HasPrefix(repo, ociPrefix) {
			missing(fmt.Sprintf("chart repository %q is not an oci:// repository", repo))
			continue
		}
		dep.Version = v
		dep.Repository = strings.TrimSuffix(repo, "/")
		out = append(out, dep)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// rewriteChartfile points the copy's file:// dependencies at their published versions and adds
// the stamp's annotations. Chart.lock is dropped when a dependency was rewritten: it records the
// file:// sources and would no longer match.
func rewriteChartfile(dir string, deps []Dependency, annotations map[string]string) error {
	file := filepath.Join(dir, chartutil.ChartfileName)
	md, err := chartutil.LoadChartfile(file)
	if err != nil {
		return fmt.Errorf("reading %s: %w", file, err)
	}
	rewritten := false
	for i, d := range md.Dependencies {
		if d == nil || !isFileRepo(d.Repository) {
			continue
		}
		for _, r := range deps {
			if r.From == d.Repository && r.Name == d.Name && r.Alias == d.Alias {
				md.Dependencies[i].Repository = r.Repository
				md.Dependencies[i].Version = r.Version
				rewritten = true
			}
		}
	}
	if len(annotations) > 0 {
		if md.Annotations == nil {
			md.Annotations = map[string]string{}
		}
		for k, v := range annotations {
			md.Annotations[k] = v
		}
	}
	if err := chartutil.SaveChartfile(file, md); err != nil {
		return fmt.Errorf("writing %s: %w", file, err)
	}
	if rewritten {
		for _, lock := range []string{"Chart.lock", "requirements.lock"} {
			if err := os.Remove(filepath.Join(dir, lock)); err != nil && !os.IsNotExist(err) {
				return fmt.Errorf("dropping %s: %w", lock, err)
			}
		}
	}
	return nil
}

// vendorDeps puts an archive of every rewritten dependency into the copy's charts/, from the
// given local packages or else pulled from the repository, replacing whatever the copy held for
// that chart name.
func vendorDeps(ctx context.Context, chartName, dir string, deps []Dependency, local map[string]*Package, puller func() (Puller, error), progress io.Writer) error {
	want := map[string]bool{}
	for _, d := range deps {
		if d.Rewritten() {
			want[d.Name] = true
		}
	}
	if len(want) == 0 {
		return nil
	}
	chartsDir := filepath.Join(dir, chartutil.ChartsDir)
	if err := removeVendored(chartsDir, want); err != nil {
		return fmt.Errorf("clearing vendored charts: %w", err)
	}
	if err := os.MkdirAll(chartsDir, 0o755); err != nil {
		return err
	}
	// Refuse a local package of the wrong version before fetching anything.
	for _, d := range deps {
		if p, ok := local[d.Name]; ok && d.Rewritten() && p.Version != d.Version {
			return &MissingDependencyError{Chart: chartName, Dependency: d.Name, Repository: d.From,
				Reason: fmt.Sprintf("the local package given for it is version %s, not the published %s", p.Version, d.Version)}
		}
	}
	done := map[string]bool{}
	sorted := append([]Dependency(nil), deps...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	for _, d := range sorted {
		key := d.Name + "@" + d.Version
		if !d.Rewritten() || done[key] {
			continue
		}
		done[key] = true
		var data []byte
		if p, ok := local[d.Name]; ok {
			b, err := os.ReadFile(p.Path)
			if err != nil {
				return fmt.Errorf("vendoring %s %s: %w", d.Name, d.Version, err)
			}
			if got := sha256Digest(b); got != p.Digest {
				return fmt.Errorf("vendoring %s %s: %s has digest %s, not the packaged %s", d.Name, d.Version, p.Path, got, p.Digest)
			}
			data = b
			fmt.Fprintf(progress, "vendoring %s %s from %s\n", d.Name, d.Version, p.Path)
		} else {
			pl, err := puller()
			if err != nil {
				return fmt.Errorf("vendoring %s %s: %w", d.Name, d.Version, err)
			}
			fmt.Fprintf(progress, "vendoring %s %s from %s\n", d.Name, d.Version, d.Repository)
			b, err := pl.PullChart(ctx, d.Repository, d.Name, d.Version)
			if err != nil {
				return fmt.Errorf("vendoring %s %s: %w", d.Name, d.Version, err)
			}
			data = b
		}
		c, err := loader.LoadArchive(bytes.NewReader(data))
		if err != nil {
			return fmt.Errorf("vendoring %s %s: reading the archive: %w", d.Name, d.Version, err)
		}
		if c.Name() != d.Name || c.Metadata.Version != d.Version {
			return fmt.Errorf("vendoring %s %s: the archive holds %s %s", d.Name, d.Version, c.Name(), c.Metadata.Version)
		}
		dst := filepath.Join(chartsDir, fmt.Sprintf("%s-%s.tgz", d.Name, d.Version))
		if err := os.WriteFile(dst, data, 0o644); err != nil {
			return fmt.Errorf("vendoring %s %s: %w", d.Name, d.Version, err)
		}
	}
	return nil
}

// removeVendored removes from chartsDir every archive or directory holding a chart named in names.
func removeVendored(chartsDir string, names map[string]bool) error {
	entries, err := os.ReadDir(chartsDir)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		p := filepath.Join(chartsDir, e.Name())
		if !e.IsDir() && !strings.HasSuffix(e.Name(), ".tgz") && !strings.HasSuffix(e.Name(), ".tar.gz") {
			continue
		}
		c, err := loader.Load(p)
		if err != nil || !names[c.Name()] {
			continue
		}
		if err := os.RemoveAll(p); err != nil {
			return err
		}
	}
	return nil
}
