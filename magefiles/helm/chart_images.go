package helm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/opencontainers/go-digest"
	"go.yaml.in/yaml/v3"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"

	"github.com/shiplane/shiplane/magefiles/version"
)

// ImagesAnnotation is the Chart.yaml annotation listing the images a chart installs, as Artifact
// Hub reads it: a YAML list of entries with name and image.
const ImagesAnnotation = "artifacthub.io/images"

// ImageValues says where a chart keeps its image in values.yaml: the key path of the image's
// repository, tag and digest, keys joined by dots ("image.tag"). An empty field means its
// default, DefaultImageValues. The fields are manifest.ChartImageValues', so
// helm.ImageValues(c.ChartImageValues) converts a component's.
type ImageValues struct {
	Repository string
	Tag        string
	Digest     string
}

// DefaultImageValues are image.repository, image.tag and image.digest.
func DefaultImageValues() ImageValues {
	return ImageValues{Repository: "image.repository", Tag: "image.tag", Digest: "image.digest"}
}

func (v ImageValues) withDefaults() ImageValues {
	d := DefaultImageValues()
	if v.Repository == "" {
		v.Repository = d.Repository
	}
	if v.Tag == "" {
		v.Tag = d.Tag
	}
	if v.Digest == "" {
		v.Digest = d.Digest
	}
	return v
}

func (v ImageValues) paths() []string { return []string{v.Repository, v.Tag, v.Digest} }

func (v ImageValues) validate() error {
	p := v.paths()
	for i, a := range p {
		for _, k := range strings.Split(a, ".") {
			if k == "" || strings.TrimSpace(k) != k {
				return fmt.Errorf("image values path %q is not a key path (keys joined by dots)", a)
			}
		}
		for _, b := range p[i+1:] {
			if a == b || strings.HasPrefix(a, b+".") || strings.HasPrefix(b, a+".") {
				return fmt.Errorf("image values paths %s and %s overlap: name three different values, none inside another", a, b)
			}
		}
	}
	return nil
}

// PinnedImage is an image as published, which a chart is pointed at.
type PinnedImage struct {
	// Repository is the image repository with its registry, without tag or digest:
	// "registry.example/dev/core".
	Repository string
	// Tag is the tag the image was pushed under.
	Tag string
	// Digest is the image manifest's digest, "sha256:<64 hex digits>".
	Digest string
}

// Ref is the image's reference, "repository:tag@digest".
func (p PinnedImage) Ref() string { return p.Repository + ":" + p.Tag + "@" + p.Digest }

// ImageRef is p's entry in an ImagesAnnotation: named by the repository's last path component
// ("core"), with Ref as its image.
func (p PinnedImage) ImageRef() ImageRef {
	return ImageRef{Name: path.Base(p.Repository), Image: p.Ref()}
}

var tagPattern = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)

func (p PinnedImage) validate() error {
	last := path.Base(p.Repository)
	switch {
	case p.Repository == "" || strings.ContainsAny(p.Repository, " \t\r\n@") || strings.HasSuffix(p.Repository, "/"):
		return fmt.Errorf("image repository %q is not a repository (registry/path, no tag or digest)", p.Repository)
	case strings.Contains(last, ":"):
		return fmt.Errorf("image repository %q carries a tag; give the tag as PinnedImage.Tag", p.Repository)
	case !tagPattern.MatchString(p.Tag):
		return fmt.Errorf("image tag %q is not a valid tag", p.Tag)
	}
	d, err := digest.Parse(p.Digest)
	if err != nil || d.Algorithm() != digest.SHA256 {
		return fmt.Errorf("image digest %q is not a sha256 digest (sha256:<64 hex digits>)", p.Digest)
	}
	return nil
}

// ImageRef is one entry of an ImagesAnnotation.
type ImageRef struct {
	// Name names the image, e.g. the component's image name.
	Name string `yaml:"name"`
	// Image is its reference, e.g. "registry.example/dev/core:1.2.0@sha256:…".
	Image string `yaml:"image"`
}

// imagesAnnotation renders images as an ImagesAnnotation value, sorted by name; an image listed
// twice is listed once, a name given two images is refused.
func imagesAnnotation(images []ImageRef) (string, []ImageRef, error) {
	byName := map[string]string{}
	var out []ImageRef
	for _, im := range images {
		if im.Name == "" || im.Image == "" || strings.ContainsAny(im.Name+im.Image, "\r\n") {
			return "", nil, fmt.Errorf("%s: entry %+v needs a name and an image, each on one line", ImagesAnnotation, im)
		}
		if have, dup := byName[im.Name]; dup {
			if have != im.Image {
				return "", nil, fmt.Errorf("%s: %s is given two images, %s and %s", ImagesAnnotation, im.Name, have, im.Image)
			}
			continue
		}
		byName[im.Name] = im.Image
		out = append(out, im)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	b, err := yaml.Marshal(out)
	if err != nil {
		return "", nil, fmt.Errorf("encoding %s: %w", ImagesAnnotation, err)
	}
	return string(b), out, nil
}

// ImageValuesError refuses to pin an image in a chart whose values.yaml has none of the values
// the chart is declared to keep its image in.
type ImageValuesError struct {
	// Chart is the chart's name.
	Chart string
	// File is the values file, under the chart directory as the caller named it.
	File string
	// Values are the declared paths (defaults filled in).
	Values ImageValues
}

func (e *ImageValuesError) Error() string {
	v := e.Values
	return fmt.Sprintf("chart %s: %s has none of %s, %s and %s, so the published chart cannot point at the published image; "+
		"add them (repository, tag, and digest: \"\" beside tag, with templates that render repository@digest when digest is set), "+
		"or declare where the chart keeps its image with chart_image_values in the components file",
		e.Chart, e.File, v.Repository, v.Tag, v.Digest)
}

// PinImage points the chart in dir at img: it writes img's repository, tag and digest into dir's
// values.yaml at paths, keeping every other byte (comments, layout, key order; see
// version.PlanValues), and checks that Helm reads the three values back as written.
//
// dir is written: it must be a copy the caller owns, such as the temporary one PackageChart
// prepares (see WithImage). A values.yaml with none of the paths is an *ImageValuesError; a
// value that cannot be written (its mapping missing, an alias, a block scalar) a *version.FileError.
func PinImage(ctx context.Context, dir string, paths ImageValues, img PinnedImage) error {
	if err := pinImage(ctx, dir, dir, paths, img); err != nil {
		return fmt.Errorf("pinning image %s in chart %s: %w", img.Ref(), dir, err)
	}
	return nil
}

// CheckImageValues reads, without writing, whether the chart in dir keeps its image where paths
// say: a values.yaml with none of the paths is an *ImageValuesError naming the chart, the file and
// the fix. The lanes call it before anything is built or pushed, so a chart is never published
// pointing nowhere.
func CheckImageValues(dir string, paths ImageValues) error {
	_, err := checkImageValues(dir, dir, paths)
	return err
}

// checkImageValues is CheckImageValues naming files as if the chart were at shown; it returns
// the paths with their defaults.
func checkImageValues(dir, shown string, paths ImageValues) (ImageValues, error) {
	paths = paths.withDefaults()
	if err := paths.validate(); err != nil {
		return paths, err
	}
	md, err := chartutil.LoadChartfile(filepath.Join(dir, chartutil.ChartfileName))
	if err != nil {
		return paths, fmt.Errorf("reading %s: %w", filepath.Join(shown, chartutil.ChartfileName), err)
	}
	shownFile := filepath.Join(shown, chartutil.ValuesfileName)
	vals, err := chartutil.ReadValuesFile(filepath.Join(dir, chartutil.ValuesfileName))
	if errors.Is(err, os.ErrNotExist) {
		return paths, &ImageValuesError{Chart: md.Name, File: shownFile, Values: paths}
	}
	if err != nil {
		return paths, fmt.Errorf("reading %s: %w", shownFile, err)
	}
	for _, p := range paths.paths() {
		if hasPath(vals, p) {
			return paths, nil
		}
	}
	return paths, &ImageValuesError{Chart: md.Name, File: shownFile, Values: paths}
}

// pinImage pins img in dir's values.yaml, naming files as if the chart were at shown.
func pinImage(ctx context.Context, dir, shown string, paths ImageValues, img PinnedImage) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := img.validate(); err != nil {
		return err
	}
	paths, err := checkImageValues(dir, shown, paths)
	if err != nil {
		return err
	}
	file := filepath.Join(dir, chartutil.ValuesfileName)
	shownFile := filepath.Join(shown, chartutil.ValuesfileName)
	want := []version.Value{{Path: paths.Repository, Value: img.Repository}, {Path: paths.Tag, Value: img.Tag}, {Path: paths.Digest, Value: img.Digest}}
	edit, err := version.PlanValues(file, want...)
	if err != nil {
		var fe *version.FileError
		if errors.As(err, &fe) {
			c := *fe
			c.Path = shownFile
			return &c
		}
		return err
	}
	if err := edit.Apply(); err != nil {
		return fmt.Errorf("writing %s: %w", shownFile, err)
	}
	// Helm reads values.yaml its own way: check it reads what was meant.
	vals, err := chartutil.ReadValuesFile(file)
	if err != nil {
		return fmt.Errorf("reading back %s: %w", shownFile, err)
	}
	for _, w := range want {
		if got, err := vals.PathValue(w.Path); err != nil || got != w.Value {
			return fmt.Errorf("%s: %s reads back as %v, not %q", shownFile, w.Path, got, w.Value)
		}
	}
	return nil
}

// hasPath reports whether values has a key at the dotted path p, whatever its value.
func hasPath(values map[string]any, p string) bool {
	keys := strings.Split(p, ".")
	m := values
	for i, k := range keys {
		v, ok := m[k]
		if !ok {
			return false
		}
		if i == len(keys)-1 {
			return true
		}
		if m, ok = asMap(v); !ok {
			return false
		}
	}
	return false
}

func asMap(v any) (map[string]any, bool) {
	switch m := v.(type) {
	case map[string]any:
		return m, true
	case chartutil.Values:
		return m, true
	}
	return nil, false
}

// SubchartImage is what an umbrella chart is told about one subchart's image.
type SubchartImage struct {
	// Values is where the subchart keeps its image (empty fields: DefaultImageValues).
	Values ImageValues
	// Image is the image the subchart's published chart pins.
	Image PinnedImage
}

// ImageOverrideError refuses an umbrella chart whose values set a value its subchart keeps its
// image in: installed, the umbrella would run another image than the one its published subchart
// pins.
type ImageOverrideError struct {
	// Chart is the umbrella's name.
	Chart string
	// File is the values file, under the chart directory as the caller named it.
	File string
	// Line is the line of the overriding key.
	Line int
	// Subchart is the dependency's name.
	Subchart string
	// Key is the overriding key path in the umbrella's values, e.g. "core.image.repository".
	Key string
}

func (e *ImageOverrideError) Error() string {
	return fmt.Sprintf("chart %s: %s:%d: %s overrides the image the %s chart pins; remove it from the umbrella's values (the published %s chart points at its published image)",
		e.Chart, e.File, e.Line, e.Key, e.Subchart, e.Subchart)
}

// SubchartImageError refuses an umbrella whose vendored subchart does not pin the image it was
// told the subchart's published chart pins.
type SubchartImageError struct {
	// Chart is the umbrella's name; Subchart and Version the vendored dependency's.
	Chart, Subchart, Version string
	// Key is the subchart's values path; Have its value in the vendored chart; Want the expected.
	Key, Have, Want string
}

func (e *SubchartImageError) Error() string {
	return fmt.Sprintf("chart %s: the vendored %s %s has %s %q, not %q: it does not pin the image published with it; publish the subchart with its image pinned (a new version) before the umbrella",
		e.Chart, e.Subchart, e.Version, e.Key, e.Have, e.Want)
}

// CheckUmbrellaImages refuses an umbrella chart whose values set where its subcharts keep their
// images: subcharts maps a dependency's chart name to those paths (empty fields:
// DefaultImageValues). Every values file at the top of dir is read: values.yaml and the
// values-*.yaml files a chart ships for `helm install -f`. A key at one of the paths, under the
// dependency's alias or name, overrides it, and so does a key on the way that is not a mapping
// (it replaces the whole mapping). Each override is an *ImageOverrideError naming the file and
// the line; several are joined. Only the dependencies named in subcharts are checked; a name in
// subcharts that is no dependency is ignored. dir is only read.
func CheckUmbrellaImages(ctx context.Context, dir string, subcharts map[string]ImageValues) error {
	if err := checkUmbrellaImages(ctx, dir, dir, subcharts); err != nil {
		return fmt.Errorf("checking the subchart images of chart %s: %w", dir, err)
	}
	return nil
}

func checkUmbrellaImages(ctx context.Context, dir, shown string, subcharts map[string]ImageValues) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	md, err := chartutil.LoadChartfile(filepath.Join(dir, chartutil.ChartfileName))
	if err != nil {
		return fmt.Errorf("reading Chart.yaml: %w", err)
	}
	// key in the umbrella's values → paths checked under it
	type sub struct {
		name  string
		paths ImageValues
	}
	checked := map[string]sub{}
	for _, d := range md.Dependencies {
		if d == nil {
			continue
		}
		paths, ok := subcharts[d.Name]
		if !ok {
			continue
		}
		paths = paths.withDefaults()
		if err := paths.validate(); err != nil {
			return fmt.Errorf("subchart %s: %w", d.Name, err)
		}
		key := d.Name
		if d.Alias != "" {
			key = d.Alias
		}
		checked[key] = sub{name: d.Name, paths: paths}
	}
	files, err := valuesFiles(dir)
	if err != nil {
		return err
	}
	var errs []error
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			return err
		}
		var doc yaml.Node
		if err := yaml.Unmarshal(data, &doc); err != nil {
			return fmt.Errorf("reading %s: %w", filepath.Join(shown, f), err)
		}
		if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
			continue
		}
		keys := make([]string, 0, len(checked))
		for k := range checked {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			s := checked[k]
			for _, p := range s.paths.paths() {
				if key, line, ok := overrides(doc.Content[0], append([]string{k}, strings.Split(p, ".")...)); ok {
					errs = append(errs, &ImageOverrideError{Chart: md.Name, File: filepath.Join(shown, f), Line: line, Subchart: s.name, Key: key})
				}
			}
		}
	}
	return dedupJoin(errs)
}

// dedupJoin joins errs, dropping repeats (a key on the way is found for each path under it).
func dedupJoin(errs []error) error {
	seen := map[string]bool{}
	var out []error
	for _, e := range errs {
		if !seen[e.Error()] {
			seen[e.Error()] = true
			out = append(out, e)
		}
	}
	return errors.Join(out...)
}

// valuesFiles lists values.yaml and values-*.yaml (and .yml) at the top of a chart directory.
func valuesFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		n := e.Name()
		ext := filepath.Ext(n)
		base := strings.TrimSuffix(n, ext)
		if e.IsDir() || (ext != ".yaml" && ext != ".yml") || (base != "values" && !strings.HasPrefix(base, "values-")) {
			continue
		}
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}

// overrides reports whether mapping m sets the value at keys: the key itself, or a key on the
// way below the first (the subchart's) whose value is not a mapping.
func overrides(m *yaml.Node, keys []string) (string, int, bool) {
	for i, k := range keys {
		var v, kn *yaml.Node
		for j := 0; j+1 < len(m.Content); j += 2 {
			if m.Content[j].Value == k {
				kn, v = m.Content[j], m.Content[j+1]
			}
		}
		if v == nil {
			return "", 0, false
		}
		for n := 0; v.Kind == yaml.AliasNode && v.Alias != nil && n < 64; n++ {
			v = v.Alias
		}
		name := strings.Join(keys[:i+1], ".")
		switch {
		case i == len(keys)-1:
			return name, kn.Line, true
		case v.Kind == yaml.MappingNode:
			m = v
		case i == 0:
			return "", 0, false // the subchart's own key: null or odd, not an image override
		default:
			return name, kn.Line, true
		}
	}
	return "", 0, false
}

// checkVendoredImages checks that each subchart of the loaded umbrella c pins the image given
// for it.
func checkVendoredImages(c *chart.Chart, subs map[string]SubchartImage) error {
	vendored := map[string]*chart.Chart{}
	for _, d := range c.Dependencies() {
		vendored[d.Name()] = d
	}
	names := make([]string, 0, len(subs))
	for n := range subs {
		names = append(names, n)
	}
	sort.Strings(names)
	var errs []error
	for _, n := range names {
		s := subs[n]
		d := vendored[n]
		if d == nil {
			errs = append(errs, fmt.Errorf("chart %s: an image is given for subchart %s, which it does not have", c.Name(), n))
			continue
		}
		p := s.Values.withDefaults()
		vals := chartutil.Values(d.Values)
		for _, w := range []struct{ key, want string }{{p.Repository, s.Image.Repository}, {p.Tag, s.Image.Tag}, {p.Digest, s.Image.Digest}} {
			got, err := vals.PathValue(w.key)
			if err != nil || got != w.want {
				errs = append(errs, &SubchartImageError{Chart: c.Name(), Subchart: n, Version: d.Metadata.Version, Key: w.key, Have: fmt.Sprint(got), Want: w.want})
			}
		}
	}
	return errors.Join(errs...)
}
