package helm_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"

	"github.com/shiplane/shiplane/magefiles/git/gittest"
	"github.com/shiplane/shiplane/magefiles/helm"
	"github.com/shiplane/shiplane/magefiles/identity"
	"github.com/shiplane/shiplane/magefiles/registry/registrytest"
)

func TestLintRepositoryCharts(t *testing.T) {
	ctx := context.Background()
	charts := repoCharts(t)
	before := treeHash(t, charts)
	for _, name := range leafCharts {
		if err := helm.LintChart(ctx, filepath.Join(charts, name)); err != nil {
			t.Errorf("lint %s: %v", name, err)
		}
	}

	// The umbrella does not lint as it stands: its file:// dependencies are not vendored.
	err := helm.LintChart(ctx, filepath.Join(charts, "platform"))
	var le *helm.LintError
	if !errors.As(err, &le) {
		t.Fatalf("lint platform as it stands: got %v, want a *LintError", err)
	}
	if le.Chart != "platform" || len(le.Problems) == 0 || le.Problems[0].File != "Chart.yaml" {
		t.Errorf("lint error names chart %q, problems %v; want platform, Chart.yaml", le.Chart, le.Problems)
	}
	t.Logf("as expected: %v", err)

	// After vendoring, in a temporary copy, it lints with its default values and with the scanner
	// bundle's values (PackageChart lints the prepared copy).
	scannerValues, err := chartutil.ReadValuesFile(filepath.Join(charts, "platform", "values-scanner.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	packageAll(t, ctx, charts, "oci://registry.invalid/charts", commitTime)
	packageAll(t, ctx, charts, "oci://registry.invalid/charts", commitTime, helm.WithLint(true, helm.WithLintValues(scannerValues)))

	if after := treeHash(t, charts); after != before {
		t.Error("linting and packaging changed the repository's charts/")
	}
}

func TestLintNamesChartAndFile(t *testing.T) {
	charts := copyCharts(t, false)
	bad := filepath.Join(charts, "core", "templates", "broken.yaml")
	if err := os.WriteFile(bad, []byte("kind: ConfigMap\nmetadata: {{ .Values.nope.missing }}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := helm.LintChart(context.Background(), filepath.Join(charts, "core"))
	var le *helm.LintError
	if !errors.As(err, &le) {
		t.Fatalf("got %v, want *LintError", err)
	}
	if le.Chart != "core" || !strings.Contains(err.Error(), "templates/broken.yaml") {
		t.Errorf("error should name chart core and templates/broken.yaml: %v", err)
	}
	t.Log(err)

	// PackageChart lints too, and names the source directory, not its temporary copy.
	_, err = helm.PackageChart(context.Background(), filepath.Join(charts, "core"), stampFor("core", commitTime))
	if !errors.As(err, &le) || le.Dir != filepath.Join(charts, "core") || strings.Contains(err.Error(), "shiplane-chart-") {
		t.Errorf("PackageChart lint error should name %s: %v", filepath.Join(charts, "core"), err)
	}
}

func TestPackageIsReproducible(t *testing.T) {
	ctx := context.Background()
	repo := "oci://registry.invalid/charts"
	leavesA, platformA := packageAll(t, ctx, copyCharts(t, false), repo, commitTime)
	leavesB, platformB := packageAll(t, ctx, copyCharts(t, true), repo, commitTime)

	same := func(name string, a, b *helm.Package) {
		t.Helper()
		if a.Digest != b.Digest || a.ManifestDigest != b.ManifestDigest {
			t.Errorf("%s: two packagings of the same tree differ: %s/%s vs %s/%s", name, a.Digest, a.ManifestDigest, b.Digest, b.ManifestDigest)
		}
		if !bytes.Equal(readFile(t, a.Path), readFile(t, b.Path)) {
			t.Errorf("%s: archives differ", name)
		}
	}
	for _, name := range leafCharts {
		same(name, leavesA[name], leavesB[name])
	}
	same("platform", platformA, platformB)

	// Every file time in the archive is the commit time, and so is the created annotation.
	for name, mt := range tarEntries(t, readFile(t, platformA.Path)) {
		if !mt.Equal(commitTime) {
			t.Errorf("platform archive: %s has time %v, want %v", name, mt, commitTime)
		}
	}
	if got := platformA.Annotations["org.opencontainers.image.created"]; got != "2026-01-02T03:04:05Z" {
		t.Errorf("created annotation = %q", got)
	}
	for k, want := range map[string]string{
		identity.LabelInputs:    string(stampFor("platform", commitTime).Inputs),
		identity.LabelRevision:  "0123456789abcdef0123456789abcdef01234567",
		identity.LabelSource:    "https://github.com/shiplane/shiplane",
		identity.LabelComponent: "platform",
		identity.LabelVersion:   platformA.Version,
		identity.LabelTitle:     "platform",
	} {
		if got := platformA.Annotations[k]; got != want {
			t.Errorf("annotation %s = %q, want %q", k, got, want)
		}
	}

	// Another commit time is another package.
	_, platformC := packageAll(t, ctx, copyCharts(t, false), repo, commitTime.Add(time.Second))
	if platformC.Digest == platformA.Digest || platformC.ManifestDigest == platformA.ManifestDigest {
		t.Error("a different commit time gave the same digests")
	}

	// Pushed to two repositories, both packagings give the predicted manifest digest.
	isolateCredentials(t)
	reg := registrytest.New(t)
	c, err := helm.NewClient(helm.WithClientProgress(logWriter{t}))
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range []*helm.Package{leavesA["core"], leavesB["core"]} {
		r := "oci://" + reg.Host() + []string{"/a", "/b"}[i]
		res, err := c.Push(ctx, p, r)
		if err != nil {
			t.Fatal(err)
		}
		if res.Digest != p.ManifestDigest {
			t.Errorf("pushed manifest %s, predicted %s", res.Digest, p.ManifestDigest)
		}
	}
}

func TestMissingDependencyIsRefused(t *testing.T) {
	ctx := context.Background()
	charts := copyCharts(t, false)
	platform := filepath.Join(charts, "platform")
	versions := map[string]string{"core": "1.2.0", "connector-fs": "0.3.0", "connector-webhook": "0.3.0", "web": "0.1.0"} // no scanner

	for name, opts := range map[string][]helm.PackageOption{
		"no scanner":      {helm.WithDependencies("oci://registry.invalid/charts", versions)},
		"no dependencies": nil,
	} {
		_, err := helm.PackageChart(ctx, platform, stampFor("platform", commitTime), opts...)
		var me *helm.MissingDependencyError
		if !errors.As(err, &me) {
			t.Fatalf("%s: got %v, want *MissingDependencyError", name, err)
		}
		if me.Chart != "platform" || !strings.Contains(err.Error(), "scanner") {
			t.Errorf("%s: error should name platform and scanner: %v", name, err)
		}
		if name == "no scanner" && (me.Dependency != "scanner" || strings.Contains(err.Error(), "connector-fs")) {
			t.Errorf("%s: error should name only scanner: %v", name, err)
		}
		t.Logf("%s: %v", name, err)
	}

	if _, err := helm.ResolveChartDependencies(platform, "oci://registry.invalid/charts", versions); err == nil {
		t.Error("ResolveChartDependencies accepted a missing dependency")
	}
	versions["scanner"] = "0.9.0"
	deps, err := helm.ResolveChartDependencies(platform, "oci://registry.invalid/charts", versions)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range deps {
		if d.Repository != "oci://registry.invalid/charts" || d.Version != versions[d.Name] || !d.Rewritten() {
			t.Errorf("dependency %+v not rewritten", d)
		}
	}

	// A local package that is not the published version is refused too.
	out := t.TempDir()
	core, err := helm.PackageChart(ctx, filepath.Join(charts, "core"), stampFor("core", commitTime), helm.WithOutputDir(out))
	if err != nil {
		t.Fatal(err)
	}
	versions["core"] = "1.2.1"
	_, err = helm.PackageChart(ctx, platform, stampFor("platform", commitTime),
		helm.WithDependencies("oci://registry.invalid/charts", versions), helm.WithVendored(core))
	var me *helm.MissingDependencyError
	if !errors.As(err, &me) || me.Dependency != "core" {
		t.Errorf("got %v, want *MissingDependencyError for core", err)
	}
}

// TestPublishAll pushes every chart of a real git checkout, pulls the umbrella back and checks
// where its dependencies point, pushes again to see nothing written, and checks the checkout is
// untouched.
func TestPublishAll(t *testing.T) {
	ctx := context.Background()
	isolateCredentials(t)

	// A real git checkout of the charts; the commit time stamps the packages.
	work := t.TempDir()
	if err := os.Rename(copyCharts(t, false), filepath.Join(work, "charts")); err != nil {
		t.Fatal(err)
	}
	gittest.Git(t, work, "init", "-q")
	gittest.Git(t, work, "add", "-A")
	gittest.Git(t, work, "commit", "-q", "-m", "charts")
	created, err := time.Parse(time.RFC3339, gittest.Git(t, work, "log", "-1", "--format=%cI"))
	if err != nil {
		t.Fatal(err)
	}
	charts := filepath.Join(work, "charts")
	before := treeHash(t, charts)
	statusBefore := gittest.Git(t, work, "status", "--porcelain", "--ignored", "--untracked-files=all")

	reg := registrytest.New(t)
	repo := "oci://" + reg.Host() + "/dev/charts"
	c, err := helm.NewClient(helm.WithClientProgress(logWriter{t}))
	if err != nil {
		t.Fatal(err)
	}

	leaves, platform := packageAll(t, ctx, charts, repo, created, helm.WithProgress(logWriter{t}))
	pushed := map[string]string{}
	for _, name := range append(append([]string(nil), leafCharts...), "platform") {
		p := platform
		if name != "platform" {
			p = leaves[name]
		}
		res, err := c.Push(ctx, p, repo)
		if err != nil {
			t.Fatalf("push %s: %v", name, err)
		}
		if res.AlreadyPresent || res.Digest != p.ManifestDigest {
			t.Errorf("push %s: %+v, want a new push of %s", name, res, p.ManifestDigest)
		}
		pushed[name] = res.Digest

		got, err := c.Chart(ctx, repo, p.Name, p.Version)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Present || got.Digest != res.Digest || got.Inputs != string(stampFor(name, created).Inputs) {
			t.Errorf("Chart(%s) = %+v after pushing %s", name, got, res.Digest)
		}
	}

	// Pull the umbrella back: its dependencies point at the pushed charts, which resolve.
	data, err := c.PullChart(ctx, repo, "platform", platform.Version)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, readFile(t, platform.Path)) {
		t.Error("the pulled umbrella is not the pushed archive")
	}
	ch, err := loader.LoadArchive(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if len(ch.Metadata.Dependencies) != len(leafCharts) {
		t.Fatalf("umbrella has %d dependencies", len(ch.Metadata.Dependencies))
	}
	vendored := map[string]string{}
	for _, sub := range ch.Dependencies() {
		vendored[sub.Name()] = sub.Metadata.Version
	}
	for _, d := range ch.Metadata.Dependencies {
		leaf := leaves[d.Name]
		if leaf == nil || d.Repository != repo || d.Version != leaf.Version {
			t.Errorf("dependency %s points at %s %s; want %s %v", d.Name, d.Repository, d.Version, repo, leaf)
			continue
		}
		if vendored[d.Name] != leaf.Version {
			t.Errorf("dependency %s: vendored version %q, want %s", d.Name, vendored[d.Name], leaf.Version)
		}
		got, err := c.Chart(ctx, d.Repository, d.Name, d.Version)
		if err != nil || !got.Present || got.Digest != pushed[d.Name] {
			t.Errorf("dependency %s %s in %s: %+v, %v; want pushed %s", d.Name, d.Version, d.Repository, got, err, pushed[d.Name])
		}
	}
	if ch.Lock != nil {
		t.Error("the packaged umbrella keeps a Chart.lock of its file:// sources")
	}

	// Packaging the umbrella with its dependencies pulled from the repository gives the same package.
	versions := map[string]string{}
	for name, p := range leaves {
		versions[name] = p.Version
	}
	pulled, err := helm.PackageChart(ctx, filepath.Join(charts, "platform"), stampFor("platform", created),
		helm.WithOutputDir(t.TempDir()), helm.WithDependencies(repo, versions), helm.WithPuller(c))
	if err != nil {
		t.Fatal(err)
	}
	if pulled.ManifestDigest != platform.ManifestDigest {
		t.Errorf("umbrella with pulled dependencies: %s, with local ones %s", pulled.ManifestDigest, platform.ManifestDigest)
	}

	// A second push of everything, unchanged, writes nothing: no blob upload, no manifest PUT.
	reg.Reset()
	for _, p := range append([]*helm.Package{platform}, leaves["core"], leaves["connector-fs"], leaves["connector-webhook"], leaves["scanner"], leaves["web"]) {
		res, err := c.Push(ctx, p, repo)
		if err != nil {
			t.Fatal(err)
		}
		if !res.AlreadyPresent || res.Digest != p.ManifestDigest {
			t.Errorf("second push of %s: %+v, want already present", p.Name, res)
		}
	}
	if n := reg.Writes(); n != 0 || reg.Count("", "/blobs/uploads/") != 0 || reg.Count("PUT", "/manifests/") != 0 {
		t.Errorf("second push wrote %d times:\n%s", n, reg.Dump())
	}

	// Repackaging from the same commit is the same package, so pushing it is also a no-op.
	_, again := packageAll(t, ctx, charts, repo, created)
	reg.Reset()
	if res, err := c.Push(ctx, again, repo); err != nil || !res.AlreadyPresent {
		t.Errorf("push of the repackaged umbrella: %+v, %v", res, err)
	}
	if reg.Writes() != 0 {
		t.Errorf("push of the repackaged umbrella wrote:\n%s", reg.Dump())
	}

	if after := treeHash(t, charts); after != before {
		t.Error("packaging and pushing changed the source tree")
	}
	if after := gittest.Git(t, work, "status", "--porcelain", "--ignored", "--untracked-files=all"); after != statusBefore {
		t.Errorf("git status changed:\nbefore:\n%s\nafter:\n%s", statusBefore, after)
	}
}

func TestPushRefusesToOverwrite(t *testing.T) {
	ctx := context.Background()
	isolateCredentials(t)
	reg := registrytest.New(t)
	repo := "oci://" + reg.Host() + "/charts"
	c, err := helm.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	charts := copyCharts(t, false)
	first, err := helm.PackageChart(ctx, filepath.Join(charts, "core"), stampFor("core", commitTime), helm.WithOutputDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Push(ctx, first, repo); err != nil {
		t.Fatal(err)
	}

	// Same version, different content (here: another commit).
	second, err := helm.PackageChart(ctx, filepath.Join(charts, "core"), stampFor("core", commitTime.Add(time.Hour)), helm.WithOutputDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	reg.Reset()
	_, err = c.Push(ctx, second, repo)
	var ee *helm.ExistsError
	if !errors.As(err, &ee) {
		t.Fatalf("got %v, want *ExistsError", err)
	}
	if ee.Have != first.ManifestDigest || ee.Want != second.ManifestDigest || !strings.Contains(err.Error(), "core:"+first.Version) {
		t.Errorf("ExistsError %+v", ee)
	}
	if reg.Writes() != 0 {
		t.Errorf("a refused push wrote:\n%s", reg.Dump())
	}
	got, err := c.Chart(ctx, repo, "core", first.Version)
	if err != nil || got.Digest != first.ManifestDigest {
		t.Errorf("after the refused push the repository holds %+v, %v; want %s", got, err, first.ManifestDigest)
	}
}

// TestStaleVendoredChartsAreReplaced: charts a developer vendored into the umbrella's charts/
// (helm dependency build) are neither used nor removed from the source tree.
func TestStaleVendoredChartsAreReplaced(t *testing.T) {
	ctx := context.Background()
	repo := "oci://registry.invalid/charts"
	_, clean := packageAll(t, ctx, copyCharts(t, false), repo, commitTime)

	charts := copyCharts(t, false)
	vendored := filepath.Join(charts, "platform", "charts")
	if err := os.MkdirAll(vendored, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := helm.PackageChart(ctx, filepath.Join(charts, "core"), stampFor("core", commitTime.Add(-time.Hour)),
		helm.WithOutputDir(vendored)); err != nil {
		t.Fatal(err)
	}
	before := treeHash(t, charts)
	_, stale := packageAll(t, ctx, charts, repo, commitTime)
	if stale.ManifestDigest != clean.ManifestDigest {
		t.Errorf("a stale charts/ in the source changed the umbrella: %s vs %s", stale.ManifestDigest, clean.ManifestDigest)
	}
	if treeHash(t, charts) != before {
		t.Error("the source tree changed")
	}
}
