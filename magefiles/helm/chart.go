// Package helm is shiplane's Helm chart packaging and publishing backend, built on the Helm v3 SDK:
// it lints charts strictly, packages them reproducibly (the same commit always gives the same
// archive and the same OCI manifest digest), points an umbrella chart's file:// dependencies at
// their published OCI versions in a temporary copy, pushes to OCI repositories without ever
// overwriting a published version, and answers published.Charts from a real registry.
//
// It never decides policy: which charts to publish, and in what order, is the caller's business.
// The source tree is only ever read.
package helm

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"

	"github.com/shiplane/shiplane/magefiles/identity"
)

// Stamp is what a package records about where it came from.
type Stamp struct {
	// Created is the time of the commit the chart is built from. Every file time in the archive
	// and the manifest's org.opencontainers.image.created annotation are set to it (whole seconds,
	// UTC). Required.
	Created time.Time
	// Revision is the commit, recorded as org.opencontainers.image.revision. Omitted when empty.
	Revision string
	// Source is the source repository URL, recorded as org.opencontainers.image.source. When
	// empty, helm's default applies: the chart's first `sources` entry.
	Source string
	// Inputs is the component's input key, recorded as dev.shiplane.inputs: the annotation the
	// "already published" decision reads. Omitted when empty.
	Inputs identity.Key
	// Annotations are further annotations (e.g. dev.shiplane.component). They are written to the
	// packaged Chart.yaml's annotations, which helm copies onto the OCI manifest. The version,
	// title and created keys are not taken from here: they are the chart's own and Created.
	Annotations map[string]string
}

func (s Stamp) annotations() map[string]string {
	a := map[string]string{}
	for k, v := range s.Annotations {
		a[k] = v
	}
	delete(a, ocispec.AnnotationVersion)
	delete(a, ocispec.AnnotationTitle)
	delete(a, ocispec.AnnotationCreated)
	if s.Revision != "" {
		a[identity.LabelRevision] = s.Revision
	}
	if s.Source != "" {
		a[identity.LabelSource] = s.Source
	}
	if s.Inputs != "" {
		a[identity.LabelInputs] = string(s.Inputs)
	}
	return a
}

// Package is a packaged chart, ready to push.
type Package struct {
	// Name and Version are the chart's.
	Name    string
	Version string
	// Path is the archive, "<dir>/<name>-<version>.tgz".
	Path string
	// Digest is the archive's sha256 digest: the chart layer's digest in the registry.
	Digest string
	// ManifestDigest is the digest of the OCI manifest Push writes for this package.
	ManifestDigest string
	// Created is the stamp's creation time, as pushed.
	Created time.Time
	// Annotations are the OCI manifest's annotations.
	Annotations map[string]string
	// Dependencies are the chart's dependencies as packaged.
	Dependencies []Dependency
	// Images are the entries of the ImagesAnnotation the package was given (WithImage,
	// WithSubchartImages, WithImagesAnnotation), sorted by name; nil when it was given none.
	Images []ImageRef
}

// Puller fetches a published chart archive. *Client is one.
type Puller interface {
	PullChart(ctx context.Context, repo, name, version string) ([]byte, error)
}

// DigestPuller fetches a published chart archive by its manifest's digest. *Client is one.
type DigestPuller interface {
	PullChartAt(ctx context.Context, repo, name, version, digest string) ([]byte, error)
}

// PackageOption configures PackageChart.
type PackageOption func(*packageConfig)

type packageConfig struct {
	outDir   string
	repo     string
	versions map[string]string
	local    map[string]*Package
	puller   Puller
	progress io.Writer
	lint     bool
	lintOpts []LintOption

	image     *ImageValues // with pinned, set by WithImage
	pinned    PinnedImage
	subcharts map[string]SubchartImage
	images    []ImageRef
	imagesSet bool
}

// WithOutputDir writes the archive into dir, which must exist.
// Default: a new temporary directory; the caller removes it (filepath.Dir(pkg.Path)).
func WithOutputDir(dir string) PackageOption {
	return func(c *packageConfig) { c.outDir = dir }
}

// WithDependencies points every file:// dependency at repo ("oci://host/path") at the version
// versions gives for its chart name; versions must be published or just pushed there.
// Default: none, and a chart with a file:// dependency is refused with *MissingDependencyError.
func WithDependencies(repo string, versions map[string]string) PackageOption {
	return func(c *packageConfig) {
		c.repo = repo
		c.versions = versions
	}
}

// WithVendored vendors these packages (the ones just built) for the dependencies they are,
// instead of pulling them. Default: none; every rewritten dependency is pulled from its repository.
func WithVendored(pkgs ...*Package) PackageOption {
	return func(c *packageConfig) {
		for _, p := range pkgs {
			if p != nil {
				c.local[p.Name] = p
			}
		}
	}
}

// WithPuller pulls the dependencies not given by WithVendored with p.
// Default: a Client from NewClient(WithProgress(progress)), made only when needed.
func WithPuller(p Puller) PackageOption {
	return func(c *packageConfig) { c.puller = p }
}

// WithProgress writes human progress to w. Default: io.Discard.
func WithProgress(w io.Writer) PackageOption {
	return func(c *packageConfig) {
		if w != nil {
			c.progress = w
		}
	}
}

// WithLint lints (strictly) the prepared copy before packaging, with opts. Default: on, with
// LintChart's defaults.
func WithLint(on bool, opts ...LintOption) PackageOption {
	return func(c *packageConfig) {
		c.lint = on
		c.lintOpts = opts
	}
}

// WithImage points the chart at img, the image published with it: the copy's values.yaml gets
// img's repository, tag and digest at paths before it is linted and packaged (see PinImage; the
// chart's templates should render repository@digest when the digest is set). Unless
// WithImagesAnnotation is given, img is also the copy's ImagesAnnotation (img.ImageRef()).
// A values.yaml with none of the paths is refused with *ImageValuesError.
// Default: values.yaml as written, and the chart's own ImagesAnnotation, if any.
func WithImage(paths ImageValues, img PinnedImage) PackageOption {
	return func(c *packageConfig) {
		c.image = &paths
		c.pinned = img
	}
}

// WithSubchartImages is WithImage for an umbrella chart: subs maps each dependency's chart name to
// where that chart keeps its image and the image its published chart pins. Before packaging, the
// umbrella's values files are refused if they override one of those values (*ImageOverrideError,
// see CheckUmbrellaImages), and every vendored subchart must pin the image given for it
// (*SubchartImageError). Unless WithImagesAnnotation is given, the copy's ImagesAnnotation lists
// every image in subs. Default: none of these checks, and the chart's own ImagesAnnotation.
func WithSubchartImages(subs map[string]SubchartImage) PackageOption {
	return func(c *packageConfig) { c.subcharts = subs }
}

// WithImagesAnnotation sets the copy's Chart.yaml annotation ImagesAnnotation (which Push also
// writes onto the OCI manifest) to images, sorted by name, replacing the chart's own; an image
// listed twice is listed once, a name given two images is refused. With no images, the chart's
// own annotation, if any, is kept and none is derived. Default: derived from WithImage or
// WithSubchartImages, else the chart's own annotation, if any.
func WithImagesAnnotation(images ...ImageRef) PackageOption {
	return func(c *packageConfig) {
		c.images = images
		c.imagesSet = true
	}
}

// imagesToAnnotate is the ImagesAnnotation the options ask for, and whether they ask for one.
func (c *packageConfig) imagesToAnnotate() ([]ImageRef, bool) {
	if c.imagesSet {
		return c.images, len(c.images) > 0
	}
	var out []ImageRef
	if c.image != nil {
		out = append(out, c.pinned.ImageRef())
	}
	for _, s := range c.subcharts {
		out = append(out, s.Image.ImageRef())
	}
	return out, c.image != nil || len(c.subcharts) > 0
}

// PackageChart packages the chart in dir reproducibly: the archive and the OCI manifest Push will
// write depend only on the chart's content and stamp, never on file times on disk or the clock.
//
// It works in a temporary copy of dir: it adds the stamp's annotations to Chart.yaml, rewrites
// file:// dependencies to their published versions (see WithDependencies), points the chart at
// its published image (WithImage) and checks an umbrella's subchart images (WithSubchartImages),
// vendors the dependencies into the copy's charts/ so that linting and packaging need no network,
// lints the copy strictly, and writes "<name>-<version>.tgz". dir itself is never written.
func PackageChart(ctx context.Context, dir string, stamp Stamp, opts ...PackageOption) (*Package, error) {
	cfg := packageConfig{progress: io.Discard, lint: true, local: map[string]*Package{}}
	for _, o := range opts {
		o(&cfg)
	}
	pkg, err := packageChart(ctx, dir, stamp, cfg)
	if err != nil {
		return nil, fmt.Errorf("packaging chart %s: %w", dir, err)
	}
	return pkg, nil
}

func packageChart(ctx context.Context, dir string, stamp Stamp, cfg packageConfig) (*Package, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if stamp.Created.IsZero() {
		return nil, errNoCreated
	}
	src, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	md, err := chartutil.LoadChartfile(filepath.Join(src, chartutil.ChartfileName))
	if err != nil {
		return nil, fmt.Errorf("reading Chart.yaml: %w", err)
	}
	deps, err := resolveDeps(md, cfg.repo, cfg.versions)
	if err != nil {
		return nil, err
	}
	annotations := stamp.annotations()
	var images []ImageRef
	if refs, ok := cfg.imagesToAnnotate(); ok {
		var value string
		if value, images, err = imagesAnnotation(refs); err != nil {
			return nil, err
		}
		annotations[ImagesAnnotation] = value
	}
	if cfg.image != nil {
		if err := cfg.pinned.validate(); err != nil {
			return nil, err
		}
	}
	for _, name := range slices.Sorted(maps.Keys(cfg.subcharts)) {
		if err := cfg.subcharts[name].Image.validate(); err != nil {
			return nil, fmt.Errorf("subchart %s: %w", name, err)
		}
	}
	fmt.Fprintf(cfg.progress, "packaging chart %s %s from %s\n", md.Name, md.Version, dir)

	work, err := os.MkdirTemp("", "shiplane-chart-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	cp := filepath.Join(work, filepath.Base(src))
	if err := copyTree(ctx, src, cp); err != nil {
		return nil, fmt.Errorf("copying the chart: %w", err)
	}
	if err := rewriteChartfile(cp, deps, annotations); err != nil {
		return nil, err
	}
	if cfg.image != nil {
		if err := pinImage(ctx, cp, dir, *cfg.image, cfg.pinned); err != nil {
			return nil, fmt.Errorf("pinning image %s: %w", cfg.pinned.Ref(), err)
		}
		fmt.Fprintf(cfg.progress, "pinned image %s\n", cfg.pinned.Ref())
	}
	if len(cfg.subcharts) > 0 {
		paths := map[string]ImageValues{}
		for name, s := range cfg.subcharts {
			paths[name] = s.Values
		}
		if err := checkUmbrellaImages(ctx, cp, dir, paths); err != nil {
			return nil, err
		}
	}
	var lazy Puller
	puller := func() (Puller, error) {
		if cfg.puller != nil {
			return cfg.puller, nil
		}
		if lazy == nil {
			c, err := NewClient(WithClientProgress(cfg.progress))
			if err != nil {
				return nil, err
			}
			lazy = c
		}
		return lazy, nil
	}
	if err := vendorDeps(ctx, md.Name, cp, deps, cfg.local, puller, cfg.progress); err != nil {
		return nil, err
	}
	if cfg.lint {
		lc := lintConfig{namespace: "default"}
		for _, o := range cfg.lintOpts {
			o(&lc)
		}
		if err := lintDir(ctx, cp, dir, lc); err != nil {
			return nil, err
		}
	}
	c, err := loader.Load(cp)
	if err != nil {
		return nil, fmt.Errorf("loading the prepared chart: %w", err)
	}
	if len(cfg.subcharts) > 0 {
		if err := checkVendoredImages(c, cfg.subcharts); err != nil {
			return nil, err
		}
	}
	data, err := archiveChart(c, stamp.Created)
	if err != nil {
		return nil, err
	}
	m, err := predictManifest(data, stamp.Created)
	if err != nil {
		return nil, err
	}

	out := cfg.outDir
	if out == "" {
		if out, err = os.MkdirTemp("", "shiplane-charts-"); err != nil {
			return nil, err
		}
	}
	path := filepath.Join(out, fmt.Sprintf("%s-%s.tgz", c.Name(), c.Metadata.Version))
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return nil, err
	}
	pkg := &Package{
		Name:           c.Name(),
		Version:        c.Metadata.Version,
		Path:           path,
		Digest:         sha256Digest(data),
		ManifestDigest: m.Digest,
		Created:        stamp.Created.UTC().Truncate(time.Second),
		Annotations:    m.Annotations,
		Dependencies:   deps,
		Images:         images,
	}
	fmt.Fprintf(cfg.progress, "packaged %s (%s, manifest %s)\n", path, pkg.Digest, pkg.ManifestDigest)
	return pkg, nil
}

// copyTree copies the regular files under src to dst, following symbolic links to files, as the
// chart loader does. Links to directories are refused.
func copyTree(ctx context.Context, src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		fi, err := os.Stat(p) // follows links
		if err != nil {
			return err
		}
		if fi.IsDir() {
			return fmt.Errorf("%s links to a directory, which packaging does not follow", p)
		}
		if !fi.Mode().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
}
