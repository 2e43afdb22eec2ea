// Package manifest loads and validates deploy/components.yaml, the list of components a repository
// builds and releases. Every validation error names the file, the line and the fix.
package manifest

import (
	"path"
	"sort"

	"github.com/shiplane/shiplane/magefiles/platform"
)

// DefaultFile is the manifest's path relative to the repository root.
const DefaultFile = "deploy/components.yaml"

// Manifest is a validated components file.
type Manifest struct {
	// File is the manifest's path as given to Load (relative to Root when it was relative).
	File string
	// Root is the absolute repository root every path in the manifest is relative to.
	Root string
	// Project names the compose project, the shared network and the local image prefix.
	Project string
	// Source is the repository URL stamped as org.opencontainers.image.source.
	Source string
	// License is the SPDX expression stamped as org.opencontainers.image.licenses.
	License string
	// Platform is the umbrella release: root VERSION and umbrella chart.
	Platform Platform
	// Components in file order.
	Components []*Component
	// Bundles are optional stacks, started by compose only when asked for.
	Bundles []*Bundle
	// Platforms is the top-level platforms: list, the target platforms of every image that names
	// none of its own; nil when the file has none (images are then built for the engine's own
	// platform).
	Platforms []platform.Platform
}

// Platform is the release as a whole.
type Platform struct {
	// VersionFile holds the platform release version (tag v<version>).
	VersionFile string
	// Version is the content of VersionFile.
	Version string
	// Chart is the umbrella chart directory whose file:// dependencies are the component charts.
	Chart string
	// Line is where the platform block starts.
	Line int

	chartLine int // the line of the chart value, 0 when unknown
}

// Component is one independently versioned part of the repository.
type Component struct {
	Name        string
	Description string
	// Paths are the input paths: the component's identity is their git tree hash. Every manifest
	// path is normalised (slash-separated, cleaned: "./c" and "c/" are "c") and lies inside the
	// repository.
	Paths []string
	// VersionFile is the path of the component's VERSION file.
	VersionFile string
	// Version is the content of VersionFile, valid semver.
	Version string
	Image   *Image
	// Chart is the chart directory, or "".
	Chart string
	// ChartImageValues says where the chart keeps the component's image in its values.yaml, so
	// that a published chart can be pointed at the published image. It is set, every field filled
	// (DefaultChartImageValues for what chart_image_values does not name), exactly when the
	// component has both a chart and an image; otherwise it is the zero value.
	ChartImageValues ChartImageValues
	// Compose is the compose file layered for this component, or "".
	Compose string
	// DependsOn names the components this one needs, at build or run time.
	DependsOn []string
	// Publish is false for components that never leave the machine.
	Publish bool
	// UmbrellaExcluded is true when the components file says umbrella: false: the component's
	// chart is deliberately left out of the umbrella chart's dependencies. Default false: every
	// publishable chart must be one of them (the umbrella-coverage guardrail).
	UmbrellaExcluded bool
	// Bundle is the name of the optional bundle the component belongs to, or "".
	Bundle string
	// Line is the manifest line where the component starts.
	Line int

	// lines are the manifest lines of some values, for precise errors: keyed by field name
	// ("chart", "version_file", "image.name", "image.dockerfile", "image.main") or "paths:" + path.
	lines map[string]int
}

// line returns the manifest line of a field's value, or the component's line when unknown.
func (c *Component) line(field string) int {
	if l := c.lines[field]; l > 0 {
		return l
	}
	return c.Line
}

// Image describes how a component's container image is built.
type Image struct {
	// Name is the repository name, without registry or project prefix (e.g. "core").
	Name string
	// Dockerfile is the Dockerfile's path; its directory is the build context.
	Dockerfile string
	// Main is the Go main package compiled into the context as bin/<base name>, or "".
	Main string
	// From names the component whose image this one is built FROM (passed as build arg BASE_IMAGE).
	From string
	// Platforms are the platforms the publishing lanes build and push the image for: its own
	// image.platforms, else the file's top-level platforms; nil when neither is given (the
	// engine's own platform).
	Platforms []platform.Platform
}

// Binary is the file name the main package compiles to inside the build context (bin/<Binary>).
func (i *Image) Binary() string {
	if i.Main == "" {
		return ""
	}
	return path.Base(path.Clean(i.Main))
}

// Context is the build context directory: the Dockerfile's directory.
func (i *Image) Context() string { return path.Dir(i.Dockerfile) }

// ChartImageValues names the values of a chart that hold its image, each as a key path into
// values.yaml with the keys joined by dots (e.g. "image.tag").
type ChartImageValues struct {
	// Repository holds the image repository, without tag or digest ("registry/project/core").
	Repository string
	// Tag holds the image tag (the component's version).
	Tag string
	// Digest holds the image manifest's digest ("sha256:…"); a chart pins its image by it.
	Digest string
}

// DefaultChartImageValues are the paths a chart made by `helm create` uses, with digest beside tag.
func DefaultChartImageValues() ChartImageValues {
	return ChartImageValues{Repository: "image.repository", Tag: "image.tag", Digest: "image.digest"}
}

// Bundle is an optional stack of components.
type Bundle struct {
	Name       string
	Components []string
	Line       int
}

// Component returns the named component, or nil.
func (m *Manifest) Component(name string) *Component {
	for _, c := range m.Components {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// Names returns the component names in file order.
func (m *Manifest) Names() []string {
	out := make([]string, len(m.Components))
	for i, c := range m.Components {
		out[i] = c.Name
	}
	return out
}

// Bundle returns the named bundle, or nil.
func (m *Manifest) Bundle(name string) *Bundle {
	for _, b := range m.Bundles {
		if b.Name == name {
			return b
		}
	}
	return nil
}

// BundleNames returns the bundle names, sorted.
func (m *Manifest) BundleNames() []string {
	out := make([]string, 0, len(m.Bundles))
	for _, b := range m.Bundles {
		out = append(out, b.Name)
	}
	sort.Strings(out)
	return out
}
