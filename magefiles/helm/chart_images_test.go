package helm_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"

	"github.com/shiplane/shiplane/magefiles/helm"
	"github.com/shiplane/shiplane/magefiles/testenv/golden"
	"github.com/shiplane/shiplane/magefiles/version"
)

// testRegistry stands for the registry the lane pushed the images to.
const testRegistry = "registry.example:5000/dev"

// pinnedImage is the image the lane would have pushed for chart name in charts: tagged with the
// chart's appVersion, with a made-up digest.
func pinnedImage(t *testing.T, charts, name string) helm.PinnedImage {
	t.Helper()
	md, err := chartutil.LoadChartfile(filepath.Join(charts, name, "Chart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("image " + name))
	return helm.PinnedImage{Repository: testRegistry + "/" + name, Tag: md.AppVersion, Digest: "sha256:" + hex.EncodeToString(sum[:])}
}

// packagePinned packages the leaf charts of charts each pointing at its image, then the umbrella
// told about every subchart's image, as the publishing lanes would.
func packagePinned(t *testing.T, ctx context.Context, charts string, opts ...helm.PackageOption) (map[string]*helm.Package, *helm.Package) {
	t.Helper()
	out := t.TempDir()
	leaves := map[string]*helm.Package{}
	versions := map[string]string{}
	subs := map[string]helm.SubchartImage{}
	var pkgs []*helm.Package
	for _, name := range leafCharts {
		img := pinnedImage(t, charts, name)
		o := append([]helm.PackageOption{helm.WithOutputDir(out), helm.WithImage(helm.DefaultImageValues(), img)}, opts...)
		p, err := helm.PackageChart(ctx, filepath.Join(charts, name), stampFor(name, commitTime), o...)
		if err != nil {
			t.Fatalf("packaging %s: %v", name, err)
		}
		leaves[name] = p
		versions[name] = p.Version
		pkgs = append(pkgs, p)
		subs[name] = helm.SubchartImage{Image: img} // default values paths
	}
	o := append([]helm.PackageOption{helm.WithOutputDir(out), helm.WithDependencies("oci://"+testRegistry+"/charts", versions),
		helm.WithVendored(pkgs...), helm.WithSubchartImages(subs)}, opts...)
	platform, err := helm.PackageChart(ctx, filepath.Join(charts, "platform"), stampFor("platform", commitTime), o...)
	if err != nil {
		t.Fatalf("packaging platform: %v", err)
	}
	return leaves, platform
}

// render renders a chart archive as `helm template` does, with vals over its values.
func render(t *testing.T, ctx context.Context, archive string, vals map[string]any) string {
	t.Helper()
	ch, err := loader.Load(archive)
	if err != nil {
		t.Fatal(err)
	}
	in := action.NewInstall(&action.Configuration{Log: func(string, ...any) {}})
	in.DryRun = true
	in.ClientOnly = true
	in.ReleaseName = "rel"
	in.Namespace = "shiplane"
	in.DisableHooks = true
	if vals == nil {
		vals = map[string]any{}
	}
	rel, err := in.RunWithContext(ctx, ch, vals)
	if err != nil {
		t.Fatalf("rendering %s: %v", archive, err)
	}
	return rel.Manifest
}

var (
	imageLine = regexp.MustCompile(`(?m)^\s*(?:-\s+)?image:\s*(.*)$`)
	// pinnedRef is <registry>/<name>:<tag>@sha256:… or <repository>@sha256:….
	pinnedRef = regexp.MustCompile(`^"?[a-z0-9.-]+(?::[0-9]+)?(?:/[a-z0-9._-]+)+(?::[A-Za-z0-9_][A-Za-z0-9_.-]*)?@sha256:[0-9a-f]{64}"?$`)
)

// pinnedImages returns every image a manifest runs, failing the test for one not pinned by digest
// in testRegistry.
func pinnedImages(t *testing.T, manifest string) []string {
	t.Helper()
	var out []string
	for _, m := range imageLine.FindAllStringSubmatch(manifest, -1) {
		ref := strings.TrimSpace(m[1])
		if !pinnedRef.MatchString(ref) || !strings.HasPrefix(strings.Trim(ref, `"`), testRegistry+"/") {
			t.Errorf("image %s is not pinned by digest in %s", ref, testRegistry)
		}
		out = append(out, strings.Trim(ref, `"`))
	}
	return out
}

// TestPinnedChartsRenderPublishedImages packages the repository's charts pointing at their
// published images and renders them: every image is the published one, by digest, and the
// repository's charts/ is left byte for byte as it was.
func TestPinnedChartsRenderPublishedImages(t *testing.T) {
	ctx := context.Background()
	charts := repoCharts(t)
	before := treeHash(t, charts)
	leaves, platform := packagePinned(t, ctx, charts)
	if after := treeHash(t, charts); after != before {
		t.Fatal("packaging with pinned images changed the repository's charts/")
	}

	for _, name := range leafCharts {
		got := render(t, ctx, leaves[name].Path, nil)
		golden.Check(t, "pinned-"+name, got)
		img := pinnedImage(t, charts, name)
		if imgs := pinnedImages(t, got); len(imgs) != 1 || imgs[0] != img.Repository+"@"+img.Digest {
			t.Errorf("%s runs %q, want %s@%s", name, imgs, img.Repository, img.Digest)
		}
	}

	got := render(t, ctx, platform.Path, nil)
	golden.Check(t, "pinned-platform", got)
	if imgs := pinnedImages(t, got); len(imgs) != 4 {
		t.Errorf("the umbrella runs %q, want core, both connectors and web", imgs)
	}
	scanner, err := chartutil.ReadValuesFile(filepath.Join(charts, "platform", "values-scanner.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	got = render(t, ctx, platform.Path, scanner)
	golden.Check(t, "pinned-platform-scanner", got)
	imgs := pinnedImages(t, got)
	for _, name := range leafCharts {
		img := pinnedImage(t, charts, name)
		found := false
		for _, i := range imgs {
			found = found || i == img.Repository+"@"+img.Digest
		}
		if !found {
			t.Errorf("with the scanner, the umbrella runs %q, not %s's image", imgs, name)
		}
	}

	// Packaging is still reproducible.
	again, _ := packagePinned(t, ctx, copyCharts(t, true))
	if again["core"].ManifestDigest != leaves["core"].ManifestDigest {
		t.Errorf("two packagings of core with the same image differ: %s, %s", leaves["core"].ManifestDigest, again["core"].ManifestDigest)
	}
	// Unpinned, the same chart is another package, and renders repository:tag.
	plain, err := helm.PackageChart(ctx, filepath.Join(charts, "core"), stampFor("core", commitTime), helm.WithOutputDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	if plain.ManifestDigest == leaves["core"].ManifestDigest {
		t.Error("pinning the image did not change the package")
	}
	if got := render(t, ctx, plain.Path, nil); !strings.Contains(got, `image: "shiplane/core:`+plain.Version+`"`) {
		t.Errorf("the unpinned chart renders:\n%s", got)
	}
}

// TestPinImageKeepsComments: only the three values change in the packaged values.yaml; every
// comment and line of the chart's own stays.
func TestPinImageKeepsComments(t *testing.T) {
	ctx := context.Background()
	charts := copyCharts(t, false)
	src := string(readFile(t, filepath.Join(charts, "core", "values.yaml")))
	img := pinnedImage(t, charts, "core")
	want := strings.NewReplacer(
		"  repository: shiplane/core\n", "  repository: "+img.Repository+"\n",
		"  tag: \"\"\n", "  tag: \""+img.Tag+"\"\n",
		"  digest: \"\"\n", "  digest: \""+img.Digest+"\"\n",
	).Replace(src)
	if strings.Count(want, img.Repository) != 1 || strings.Count(want, img.Digest) != 1 || !strings.Contains(want, `tag: "`+img.Tag+`"`) {
		t.Fatalf("test bug: charts/core/values.yaml does not hold the image values as expected:\n%s", src)
	}

	// PinImage, on a copy the caller owns.
	dir := filepath.Join(charts, "core")
	if err := helm.PinImage(ctx, dir, helm.ImageValues{}, img); err != nil {
		t.Fatal(err)
	}
	if got := string(readFile(t, filepath.Join(dir, "values.yaml"))); got != want {
		t.Errorf("pinned values.yaml:\n%s\nwant:\n%s", got, want)
	}
	for _, comment := range []string{"# Default values for the core chart.", "# -- Defaults to the chart's appVersion when empty.", "# The images are FROM scratch"} {
		if !strings.Contains(want, comment) {
			t.Errorf("test bug: %q not in charts/core/values.yaml", comment)
		}
	}

	// PackageChart, in its temporary copy: the archive's values.yaml is the same.
	pristine := copyCharts(t, false)
	p, err := helm.PackageChart(ctx, filepath.Join(pristine, "core"), stampFor("core", commitTime),
		helm.WithOutputDir(t.TempDir()), helm.WithImage(helm.DefaultImageValues(), img))
	if err != nil {
		t.Fatal(err)
	}
	ch, err := loader.Load(p.Path)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(rawFile(ch, "values.yaml")); got != want {
		t.Errorf("packaged values.yaml:\n%s\nwant:\n%s", got, want)
	}
	if got := string(readFile(t, filepath.Join(pristine, "core", "values.yaml"))); got != src {
		t.Error("PackageChart wrote the source values.yaml")
	}
}

func rawFile(ch *chart.Chart, name string) []byte {
	for _, f := range ch.Raw {
		if f.Name == name {
			return f.Data
		}
	}
	return nil
}

// TestChartWithoutImageValuesIsRefused: a chart whose values.yaml has none of the declared paths
// is refused, naming the chart, its values file and both fixes, and nothing is written.
func TestChartWithoutImageValuesIsRefused(t *testing.T) {
	ctx := context.Background()
	charts := copyCharts(t, false)
	img := pinnedImage(t, charts, "core")
	dir := filepath.Join(charts, "core")

	// The repository's chart, declared to keep its image elsewhere.
	elsewhere := helm.ImageValues{Repository: "app.image.repo", Tag: "app.image.version", Digest: "app.image.sha"}
	// A chart that keeps no image in its values at all.
	bare := t.TempDir()
	if err := os.WriteFile(filepath.Join(bare, "Chart.yaml"), []byte("apiVersion: v2\nname: bare\nversion: 0.1.0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bare, "values.yaml"), []byte("# no image here\nreplicaCount: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, dir, chart string
		paths            helm.ImageValues
	}{
		{"declared elsewhere", dir, "core", elsewhere},
		{"no image values", bare, "bare", helm.DefaultImageValues()},
	} {
		before := treeHash(t, tc.dir)
		_, err := helm.PackageChart(ctx, tc.dir, stampFor(tc.chart, commitTime), helm.WithOutputDir(t.TempDir()), helm.WithImage(tc.paths, img))
		var ie *helm.ImageValuesError
		if !errors.As(err, &ie) {
			t.Fatalf("%s: got %v, want *ImageValuesError", tc.name, err)
		}
		file := filepath.Join(tc.dir, "values.yaml")
		if ie.Chart != tc.chart || ie.File != file {
			t.Errorf("%s: error names chart %q, file %q; want %q, %q", tc.name, ie.Chart, ie.File, tc.chart, file)
		}
		for _, s := range []string{"chart " + tc.chart, file, "add them", "chart_image_values"} {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("%s: error does not say %q: %v", tc.name, s, err)
			}
		}
		if strings.Contains(err.Error(), "shiplane-chart-") {
			t.Errorf("%s: error names the temporary copy: %v", tc.name, err)
		}
		t.Logf("%s: %v", tc.name, err)

		err = helm.PinImage(ctx, tc.dir, tc.paths, img)
		if !errors.As(err, &ie) || ie.File != file {
			t.Errorf("%s: PinImage: got %v, want *ImageValuesError naming %s", tc.name, err, file)
		}
		if treeHash(t, tc.dir) != before {
			t.Errorf("%s: a refused pin wrote the chart", tc.name)
		}
	}

	// Some of the paths present: the missing ones are added beside them.
	partial := copyCharts(t, false)
	values := filepath.Join(partial, "core", "values.yaml")
	if err := os.WriteFile(values, bytes.Replace(readFile(t, values), []byte("  digest: \"\"\n"), nil, 1), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := helm.PinImage(ctx, filepath.Join(partial, "core"), helm.DefaultImageValues(), img); err != nil {
		t.Fatal(err)
	}
	if got := string(readFile(t, values)); !strings.Contains(got, "  tag: \""+img.Tag+"\"\n  digest: \""+img.Digest+"\"\n") {
		t.Errorf("digest not added after tag:\n%s", got)
	}

	// A value whose mapping is missing cannot be added: a *version.FileError naming the source file
	// and the line, from PackageChart as from PinImage.
	_, err := helm.PackageChart(ctx, dir, stampFor("core", commitTime), helm.WithOutputDir(t.TempDir()),
		helm.WithImage(helm.ImageValues{Digest: "pinning.digest"}, img))
	var fe *version.FileError
	if !errors.As(err, &fe) || fe.Path != filepath.Join(dir, "values.yaml") || fe.Line == 0 || !strings.Contains(fe.Problem, "pinning") {
		t.Errorf("a digest in a missing mapping: got %v, want a *version.FileError naming %s", err, filepath.Join(dir, "values.yaml"))
	}

	// A malformed image is refused before anything is written.
	bad := img
	bad.Digest = "sha256:1234"
	if err := helm.PinImage(ctx, dir, helm.ImageValues{}, bad); err == nil || !strings.Contains(err.Error(), "sha256") {
		t.Errorf("a short digest: %v", err)
	}
	bad = img
	bad.Repository += ":1.0"
	if err := helm.PinImage(ctx, dir, helm.ImageValues{}, bad); err == nil {
		t.Error("a repository with a tag was accepted")
	}
}

// TestImagesAnnotation: a chart packaged with its image lists it in artifacthub.io/images, in
// Chart.yaml and on the OCI manifest; the umbrella lists every subchart's image.
func TestImagesAnnotation(t *testing.T) {
	ctx := context.Background()
	charts := copyCharts(t, false)
	leaves, platform := packagePinned(t, ctx, charts)

	annotation := func(p *helm.Package) []helm.ImageRef {
		t.Helper()
		ch, err := loader.Load(p.Path)
		if err != nil {
			t.Fatal(err)
		}
		value := ch.Metadata.Annotations[helm.ImagesAnnotation]
		if p.Annotations[helm.ImagesAnnotation] != value {
			t.Errorf("%s: the OCI manifest's %s is %q, Chart.yaml's %q", p.Name, helm.ImagesAnnotation, p.Annotations[helm.ImagesAnnotation], value)
		}
		var refs []helm.ImageRef
		if err := yaml.Unmarshal([]byte(value), &refs); err != nil {
			t.Fatalf("%s: %s is not a YAML list: %v\n%s", p.Name, helm.ImagesAnnotation, err, value)
		}
		return refs
	}

	core := pinnedImage(t, charts, "core")
	want := "- name: core\n  image: " + core.Repository + ":" + core.Tag + "@" + core.Digest + "\n"
	ch, err := loader.Load(leaves["core"].Path)
	if err != nil {
		t.Fatal(err)
	}
	if got := ch.Metadata.Annotations[helm.ImagesAnnotation]; got != want {
		t.Errorf("core's %s:\n%s\nwant:\n%s", helm.ImagesAnnotation, got, want)
	}
	if refs := annotation(leaves["core"]); len(refs) != 1 || refs[0] != core.ImageRef() || leaves["core"].Images[0] != core.ImageRef() {
		t.Errorf("core lists %+v (package: %+v)", refs, leaves["core"].Images)
	}

	refs := annotation(platform)
	if len(refs) != len(leafCharts) {
		t.Fatalf("the umbrella lists %+v", refs)
	}
	for i, name := range []string{"connector-fs", "connector-webhook", "core", "scanner", "web"} { // sorted
		if img := pinnedImage(t, charts, name); refs[i] != img.ImageRef() {
			t.Errorf("entry %d is %+v, want %+v", i, refs[i], img.ImageRef())
		}
	}

	// Given explicitly, the annotation is exactly what was given; a name with two images is refused.
	other := helm.ImageRef{Name: "core", Image: "elsewhere/core@" + core.Digest}
	p, err := helm.PackageChart(ctx, filepath.Join(charts, "core"), stampFor("core", commitTime), helm.WithOutputDir(t.TempDir()),
		helm.WithImage(helm.DefaultImageValues(), core), helm.WithImagesAnnotation(other, other))
	if err != nil {
		t.Fatal(err)
	}
	if refs := annotation(p); len(refs) != 1 || refs[0] != other {
		t.Errorf("explicit annotation: %+v", refs)
	}
	_, err = helm.PackageChart(ctx, filepath.Join(charts, "core"), stampFor("core", commitTime), helm.WithOutputDir(t.TempDir()),
		helm.WithImagesAnnotation(other, core.ImageRef()))
	if err == nil || !strings.Contains(err.Error(), "two images") {
		t.Errorf("a name with two images: %v", err)
	}
	// Without any image option, the chart has no such annotation.
	if _, ok := leavesUnpinned(t, ctx, charts).Annotations[helm.ImagesAnnotation]; ok {
		t.Error("an unpinned chart got an images annotation")
	}
}

func leavesUnpinned(t *testing.T, ctx context.Context, charts string) *helm.Package {
	t.Helper()
	p, err := helm.PackageChart(ctx, filepath.Join(charts, "core"), stampFor("core", commitTime), helm.WithOutputDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestUmbrellaImageOverridesAreRefused: the umbrella's values must leave its subcharts' images
// alone; the repository's do.
func TestUmbrellaImageOverridesAreRefused(t *testing.T) {
	ctx := context.Background()
	subs := map[string]helm.ImageValues{}
	for _, name := range leafCharts {
		subs[name] = helm.ImageValues{}
	}
	if err := helm.CheckUmbrellaImages(ctx, filepath.Join(repoCharts(t), "platform"), subs); err != nil {
		t.Fatalf("the repository's umbrella: %v", err)
	}

	charts := copyCharts(t, false)
	platform := filepath.Join(charts, "platform")
	// edit replaces old with new in a values file and returns the line of marker in the result.
	edit := func(name, old, new, marker string) int {
		t.Helper()
		p := filepath.Join(platform, name)
		text := string(readFile(t, p))
		if !strings.Contains(text, old) {
			t.Fatalf("test bug: %q not in %s", old, name)
		}
		text = strings.Replace(text, old, new, 1)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return strings.Count(text[:strings.Index(text, marker)], "\n") + 1
	}
	tagLine := edit("values.yaml", "core:\n  scanner:\n", "core:\n  image:\n    tag: latest # from the hub\n    pullPolicy: Always\n  scanner:\n", "tag: latest")
	edit("values.yaml", "connector-fs: {}\n", "connector-fs: {}\n\nextra:\n  image:\n    repository: not/a/subchart\n", "extra:")
	digestLine := edit("values-scanner.yaml", "scanner:\n  enabled: true\n", "scanner:\n  enabled: true\n  image:\n    digest: sha256:0\n", "digest: sha256:0")
	nullLine := edit("values-scanner.yaml", "core:\n", "connector-fs:\n  image: null\n\ncore:\n", "  image: null")

	err := helm.CheckUmbrellaImages(ctx, platform, subs)
	var oe *helm.ImageOverrideError
	if !errors.As(err, &oe) {
		t.Fatalf("got %v, want *ImageOverrideError", err)
	}
	t.Log(err)
	type found struct {
		file, key, sub string
		line           int
	}
	var got []found
	for _, e := range leafErrors(err) {
		if errors.As(e, &oe) {
			got = append(got, found{filepath.Base(oe.File), oe.Key, oe.Subchart, oe.Line})
		}
	}
	want := []found{
		{"values-scanner.yaml", "connector-fs.image", "connector-fs", nullLine},
		{"values-scanner.yaml", "scanner.image.digest", "scanner", digestLine},
		{"values.yaml", "core.image.tag", "core", tagLine},
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("overrides found:\n%v\nwant:\n%v", got, want)
	}
	if !strings.Contains(err.Error(), filepath.Join(platform, "values.yaml")+fmt.Sprintf(":%d: core.image.tag overrides the image the core chart pins", tagLine)) {
		t.Errorf("the error does not name the file, the line and the key: %v", err)
	}

	// PackageChart refuses it too, naming the source files.
	_, err = func() (*helm.Package, error) {
		var pkgs []*helm.Package
		versions := map[string]string{}
		subImages := map[string]helm.SubchartImage{}
		for _, name := range leafCharts {
			img := pinnedImage(t, charts, name)
			p, err := helm.PackageChart(ctx, filepath.Join(charts, name), stampFor(name, commitTime), helm.WithOutputDir(t.TempDir()),
				helm.WithImage(helm.ImageValues{}, img))
			if err != nil {
				t.Fatal(err)
			}
			pkgs = append(pkgs, p)
			versions[name] = p.Version
			subImages[name] = helm.SubchartImage{Image: img}
		}
		return helm.PackageChart(ctx, platform, stampFor("platform", commitTime), helm.WithOutputDir(t.TempDir()),
			helm.WithDependencies("oci://"+testRegistry+"/charts", versions), helm.WithVendored(pkgs...), helm.WithSubchartImages(subImages))
	}()
	if !errors.As(err, &oe) || !strings.HasPrefix(oe.File, platform) || strings.Contains(err.Error(), "shiplane-chart-") {
		t.Errorf("PackageChart: got %v, want *ImageOverrideError naming %s", err, platform)
	}
}

// TestUmbrellaRefusesUnpinnedSubcharts: an umbrella told which images its subcharts pin refuses a
// vendored subchart that points elsewhere (say, one published before charts pinned their images).
func TestUmbrellaRefusesUnpinnedSubcharts(t *testing.T) {
	ctx := context.Background()
	charts := copyCharts(t, false)
	leaves, _ := packageAll(t, ctx, charts, "oci://"+testRegistry+"/charts", commitTime) // unpinned
	var pkgs []*helm.Package
	versions := map[string]string{}
	subs := map[string]helm.SubchartImage{}
	for _, name := range leafCharts {
		pkgs = append(pkgs, leaves[name])
		versions[name] = leaves[name].Version
		subs[name] = helm.SubchartImage{Image: pinnedImage(t, charts, name)}
	}
	_, err := helm.PackageChart(ctx, filepath.Join(charts, "platform"), stampFor("platform", commitTime), helm.WithOutputDir(t.TempDir()),
		helm.WithDependencies("oci://"+testRegistry+"/charts", versions), helm.WithVendored(pkgs...), helm.WithSubchartImages(subs))
	var se *helm.SubchartImageError
	if !errors.As(err, &se) || se.Chart != "platform" || se.Have == se.Want {
		t.Fatalf("got %v, want *SubchartImageError", err)
	}
	t.Log(err)
}

// leafErrors lists the errors joined or wrapped in err that wrap nothing further.
func leafErrors(err error) []error {
	switch u := err.(type) {
	case interface{ Unwrap() []error }:
		var out []error
		for _, e := range u.Unwrap() {
			out = append(out, leafErrors(e)...)
		}
		return out
	case interface{ Unwrap() error }:
		if inner := u.Unwrap(); inner != nil {
			return leafErrors(inner)
		}
	}
	return []error{err}
}
