package plan

import (
	"strings"

	"github.com/shiplane/shiplane/magefiles/identity"
	"github.com/shiplane/shiplane/magefiles/published"
)

// Kind is the kind of artifact.
type Kind int

// The artifact kinds.
const (
	Image Kind = iota
	Chart
	GitTag
	// Release is the GitHub release of the tag in Ref, with its assets.
	Release
	// Attestation is one signed statement (Predicate) attached to the image or chart at Ref.
	Attestation
)

func (k Kind) String() string {
	switch k {
	case Image:
		return "image"
	case Chart:
		return "chart"
	case GitTag:
		return "git tag"
	case Attestation:
		return "attestation"
	default:
		return "release"
	}
}

// Artifact is one thing a run publishes: made once per run from the manifest and the lane's
// policy, planned, printed, and turned into exactly one goal. Its names and references come from
// the constructors below, the only places that spell them.
type Artifact struct {
	Kind Kind
	// Component owns the artifact (the platform for the umbrella chart and the release).
	Component string
	// Goal is the end state's name, the name it is reported under ("image pushed reg/core:1.2.0").
	Goal string
	// Ref is the image reference, the chart reference without scheme, the git tag or the
	// release's tag.
	Ref string
	// Tags are every image reference the image goal fills (Ref first); Moving lists those that
	// may move to a new image (the dev lane's <version> tag).
	Tags, Moving []string
	// MountFrom names the repositories that may already hold an image's base layers.
	MountFrom []string
	// Repo, Name and Version locate a chart ("oci://host/charts", "core", "1.2.0").
	Repo, Name, Version string
	// Inputs is the key the artifact must carry to count as published from the current inputs.
	Inputs string
	// Digest is the expected digest, where known before publishing ("" otherwise).
	Digest string
	// Pins are the images a chart installs: it is published pinning each by the digest its
	// reference holds, and that pin is part of its identity (PinnedInputs).
	Pins []Pin
	// Assets are the assets a release must carry, each with the component it comes from (a
	// blocked component's is not expected).
	Assets []Asset
	// Predicate is an attestation's kind (AttestSignature, AttestSBOM, AttestProvenance), and
	// Subject the kind of the artifact it is attached to (Image or Chart).
	Predicate string
	Subject   Kind
	// After lists the goals of the artifacts this one references or must follow: a chart follows
	// the images it installs, the umbrella every chart and image, a git tag its component's
	// artifacts, the release everything.
	After []string
}

// Asset is one file a release carries.
type Asset struct{ Name, Component string }

// Pin is one image a chart installs.
type Pin struct {
	// Component owns the image; Name is the image's name (its key in the chart's identity).
	Component, Name string
	// Ref is the image's reference in the lane's registry ("reg/rel/core:1.2.0").
	Ref string
	// Subchart, for an umbrella, is the vendored chart that installs the image ("" for the
	// chart's own image).
	Subchart string
}

// PinnedInputs is the identity a chart with pins must carry, given the digest each pinned
// reference holds (digestOf answers "" for an image not published): the chart's own key with
// every pinned image (identity.ChartKeyWithImages). ok is false when a pinned image has no
// digest yet: the chart cannot be published, or told apart, before its images.
func PinnedInputs(a Artifact, digestOf func(ref string) string) (inputs string, ok bool) {
	if len(a.Pins) == 0 {
		return a.Inputs, true
	}
	images := make(map[string]string, len(a.Pins))
	for _, p := range a.Pins {
		d := digestOf(p.Ref)
		if d == "" {
			return "", false
		}
		images[p.Name] = p.Ref + "@" + d
	}
	return string(identity.ChartKeyWithImages(identity.Key(a.Inputs), images)), true
}

// ImageArtifact is the image pushed to tags (the first is its reference).
func ImageArtifact(component string, tags, moving []string, inputs string) Artifact {
	return Artifact{Kind: Image, Component: component, Goal: ImageGoal(tags), Ref: first(tags), Tags: tags, Moving: moving, Inputs: inputs}
}

// ChartArtifact is the chart version pushed to the OCI repository repo ("oci://host/path").
func ChartArtifact(component, repo, name, version, inputs string) Artifact {
	ref := published.ChartRef(repo, name, version)
	return Artifact{Kind: Chart, Component: component, Goal: ChartGoal(repo, name, version), Ref: ref, Repo: repo, Name: name, Version: version, Inputs: inputs}
}

// TagArtifact is the git tag pushed to the release remote.
func TagArtifact(component, tag string) Artifact {
	return Artifact{Kind: GitTag, Component: component, Goal: TagGoal(tag), Ref: tag}
}

// ReleaseArtifact is the GitHub release of tag, published with its assets.
func ReleaseArtifact(component, tag string) Artifact {
	return Artifact{Kind: Release, Component: component, Goal: ReleaseGoal(tag), Ref: tag}
}

// ChartGoal names the goal of a chart version pushed to repo.
func ChartGoal(repo, name, version string) string {
	return "chart pushed " + published.ChartRef(repo, name, version)
}

// TagGoal names the goal of a git tag pushed to the release remote.
func TagGoal(tag string) string { return "git tag pushed " + tag }

// ReleaseGoal names the goal of the GitHub release of tag.
func ReleaseGoal(tag string) string { return "release published " + tag }

// ImageGoal names the goal of an image pushed to tags: "image pushed reg/core:1.2.0 (+1.2.0-gabc)".
func ImageGoal(tags []string) string {
	if len(tags) == 0 {
		return "image pushed"
	}
	name := tags[0]
	extra := make([]string, 0, len(tags)-1)
	for _, t := range tags[1:] {
		extra = append(extra, t[strings.LastIndex(t, ":")+1:])
	}
	if len(extra) > 0 {
		name += " (+" + strings.Join(extra, ", ") + ")"
	}
	return "image pushed " + name
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}
