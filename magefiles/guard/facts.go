// Package guard holds the release guardrails: pure checks over plain facts
// that return typed errors saying which component or file is wrong, what was
// found and the exact command or edit that fixes it.
//
// Callers gather the facts (from the manifest, the files, git and the
// registries) and run the guardrails, one by one or all together:
//
//	err := guard.Run(facts)              // every guardrail, errors.Join-ed
//	for _, v := range guard.Violations(err) { fmt.Println(v.Guardrail(), v) }
//
// Every error a guardrail reports implements Violation, so errors.As finds it
// by type, and Guardrail() names the guardrail that produced it. Violations
// drops nothing: an error that is not a Violation comes back as an
// *Unclassified.
//
// Tag placement (the release tag at HEAD, locally and on the remote, and
// pushed) needs git, so it is not one of All: the release lane decides it and
// reports it with the types here, *TagNotAtHead and *TagNotPushed, whose
// Guardrail() is TagPlacementName. The package does no I/O and imports no
// backend.
package guard

// Facts is everything the guardrails look at. Each guardrail reads only the
// part it needs; a nil Umbrella or Release makes the guardrails about them
// check nothing.
type Facts struct {
	// Manifest is the file declaring the components (e.g.
	// deploy/components.yaml); fixes that edit the manifest name it.
	Manifest string
	// Components are the repository's components, the umbrella included.
	Components []ComponentFacts
	// Umbrella is the umbrella chart, if there is one.
	Umbrella *UmbrellaFacts
	// Release describes the release being tagged or run, if any.
	Release *ReleaseFacts
}

// ComponentFacts is what the guardrails know about one component.
type ComponentFacts struct {
	// Name is the component's name, as used on the command line.
	Name string
	// VersionFile is the path of its VERSION file; Version its trimmed
	// content.
	VersionFile, Version string
	// DependsOn names the components it depends on.
	DependsOn []string
	// Publish is false for components that are never published.
	Publish bool
	// Chart describes its Helm chart, nil if it has none.
	Chart *ChartFacts
	// UmbrellaExcluded is true when the manifest says umbrella: false: the chart is deliberately
	// not a dependency of the umbrella chart.
	UmbrellaExcluded bool
	// Image describes its container image, nil if it has none.
	Image *ImageFacts
	// Tag is the component's git tag for Version (e.g. core/v1.2.0).
	Tag string
	// TagExists reports whether Tag exists.
	TagExists bool
	// HeadInputs is the hash of the component's inputs at HEAD, TagInputs the
	// hash at Tag; "" when unknown.
	HeadInputs, TagInputs string
	// ChangedFiles lists the component's files that differ between Tag and
	// HEAD.
	ChangedFiles []string
	// Published lists the artifacts already published at Version, each with
	// the inputs hash it carries.
	Published []PublishedArtifact
}

// PublishedArtifact is an artifact found in a registry at a component's
// current version.
type PublishedArtifact struct {
	// Ref is the artifact's reference, e.g. registry.example.com/core:1.2.0.
	Ref string
	// Inputs is the inputs hash recorded on it; "" when it carries none.
	Inputs string
}

// ChartFacts is what the guardrails know about a component's Chart.yaml.
type ChartFacts struct {
	// File is the Chart.yaml path.
	File string
	// Version, AppVersion and Description are the chart's fields ("" when
	// absent).
	Version, AppVersion, Description string
	// Sources are the chart's source URLs.
	Sources []string
	// License is the chart's license: the org.opencontainers.image.licenses
	// annotation, which Helm carries into the pushed chart's manifest.
	License string
	// HasMaintainersField reports whether the chart has a maintainers key.
	HasMaintainersField bool
	// Maintainers counts the maintainers entries.
	Maintainers int
	// Dependencies maps each chart dependency's name to its version.
	Dependencies map[string]string
}

// ImageFacts is the metadata a component's image gets from the manifest, as
// OCI labels.
type ImageFacts struct {
	// Source, License and Description become the labels
	// org.opencontainers.image.source, .licenses and .description.
	Source, License, Description string
}

// UmbrellaFacts describes the umbrella chart that depends on the components'
// charts.
type UmbrellaFacts struct {
	// Name is the umbrella's component name; File its Chart.yaml.
	Name, File string
	// Dependencies maps each dependency's name to the version it pins.
	Dependencies map[string]string
}

// ReleaseFacts describes the release being tagged (tagRelease) or run from a
// tag (releaseAll).
type ReleaseFacts struct {
	// Tag is the release tag, e.g. v1.2.0.
	Tag string
	// Component is the component whose version is the platform version (the
	// umbrella); VersionFile its VERSION file (the root VERSION) and Version
	// its content.
	Component, VersionFile, Version string
	// LocalTagExists and RemoteTagExists report whether Tag already exists
	// in the local repository and on the remote.
	LocalTagExists, RemoteTagExists bool
	// DirtyFiles lists uncommitted changes (modified, staged or untracked
	// files).
	DirtyFiles []string
}
