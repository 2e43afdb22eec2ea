package publish

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/shiplane/shiplane/magefiles/github"
	"github.com/shiplane/shiplane/magefiles/published"
)

// ManifestAsset is the name of the release manifest asset.
const ManifestAsset = "release-manifest.json"

// The kinds of a ReleasedArtifact.
const (
	ArtifactImage  = "image"
	ArtifactChart  = "chart"
	ArtifactGitTag = "git tag"
)

// ReleasedArtifact is one artifact a release carries: an image or chart tag with the manifest
// digest it holds, or a component's git tag with the commit it points at.
type ReleasedArtifact struct {
	// Kind is ArtifactImage, ArtifactChart or ArtifactGitTag.
	Kind string `json:"kind"`
	// Component owns the artifact.
	Component string `json:"component"`
	// Ref is the image reference ("host/rel/core:1.2.1"), the chart reference without scheme
	// ("host/rel/charts/core:1.2.1") or the git tag ("core/v1.2.1").
	Ref string `json:"ref"`
	// Digest is the manifest digest the tag held when the release was made, or the git tag's
	// commit.
	Digest string `json:"digest"`
}

// Key identifies the artifact whatever it holds: its kind and reference.
func (a ReleasedArtifact) Key() string { return a.Kind + " " + a.Ref }

func (a ReleasedArtifact) String() string {
	if a.Digest == "" {
		return a.Kind + " " + a.Ref
	}
	return fmt.Sprintf("%s %s (%s)", a.Kind, a.Ref, a.Digest)
}

// Artifacts lists what the release manifest says the release carries: every component's image
// and chart with its digest, and every component's git tag as tagName names it ("" for a
// component without one, such as the platform), without its commit (the manifest holds the
// release's commit, not each tag's).
func (m ReleaseManifest) Artifacts(tagName func(component, version string) string) []ReleasedArtifact {
	var out []ReleasedArtifact
	for _, c := range m.Components {
		if c.Image != "" {
			out = append(out, ReleasedArtifact{Kind: ArtifactImage, Component: c.Name, Ref: c.Image, Digest: c.ImageDigest})
		}
		if c.Chart != "" {
			out = append(out, ReleasedArtifact{Kind: ArtifactChart, Component: c.Name, Ref: strings.TrimPrefix(c.Chart, "oci://"), Digest: c.ChartDigest})
		}
		if t := tagName(c.Name, c.Version); t != "" {
			out = append(out, ReleasedArtifact{Kind: ArtifactGitTag, Component: c.Name, Ref: t})
		}
	}
	return out
}

// History is what reading the release history needs of GitHub; *github.Client and *Caching are
// ones.
type History interface {
	PublishedReleases(ctx context.Context) ([]github.PublishedRelease, error)
	AssetContent(ctx context.Context, a github.AssetDetail) ([]byte, error)
}

// PastRelease is a published release with its release manifest.
type PastRelease struct {
	github.PublishedRelease
	// Manifest is its release-manifest.json, nil when it has none (a release not made by
	// shiplane).
	Manifest *ReleaseManifest
}

// ReadHistory lists the published releases, newest first, each with its release manifest (one
// download each). A manifest that cannot be read or parsed is an error: what the releases hold
// cannot be told.
func ReadHistory(ctx context.Context, h History) ([]PastRelease, error) {
	rels, err := h.PublishedReleases(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]PastRelease, 0, len(rels))
	for _, r := range rels {
		p := PastRelease{PublishedRelease: r}
		if a, ok := r.Asset(ManifestAsset); ok {
			data, err := h.AssetContent(ctx, a)
			if err != nil {
				return nil, fmt.Errorf("reading %s of release %s: %w", ManifestAsset, r.Tag, err)
			}
			var m ReleaseManifest
			if err := json.Unmarshal(data, &m); err != nil {
				return nil, fmt.Errorf("reading %s of release %s: %w; fix or delete that asset", ManifestAsset, r.Tag, err)
			}
			p.Manifest = &m
		}
		out = append(out, p)
	}
	return out, nil
}

// Earlier returns the releases of history published before the release of tag; all of them
// when tag has no published release yet (it is being made).
func Earlier(history []PastRelease, tag string) []PastRelease {
	var own *PastRelease
	for i := range history {
		if history[i].Tag == tag {
			own = &history[i]
		}
	}
	var out []PastRelease
	for _, r := range history {
		if r.Tag != tag && (own == nil || r.Before(*own)) {
			out = append(out, r)
		}
	}
	return out
}

// Before reports whether r was published before o: by published_at, and by release ID (GitHub's
// are increasing) when both were published within the same second.
func (r PastRelease) Before(o PastRelease) bool {
	if !r.PublishedAt.Equal(o.PublishedAt) {
		return r.PublishedAt.Before(o.PublishedAt)
	}
	return r.ID < o.ID
}

// FirstPublished returns the artifacts of own that no release of earlier lists (by kind and
// reference), in own's order.
func FirstPublished(own []ReleasedArtifact, earlier []PastRelease, tagName func(component, version string) string) []ReleasedArtifact {
	listed := map[string]bool{}
	for _, r := range earlier {
		if r.Manifest == nil {
			continue
		}
		for _, a := range r.Manifest.Artifacts(tagName) {
			listed[a.Key()] = true
		}
	}
	var out []ReleasedArtifact
	for _, a := range own {
		if !listed[a.Key()] {
			out = append(out, a)
		}
	}
	return out
}

// PublishedReleases lists the published releases (never cached: the history is read once, when
// the release's assets are made).
func (o *Caching) PublishedReleases(ctx context.Context) ([]github.PublishedRelease, error) {
	if o.gh == nil {
		return nil, &published.UnknownError{What: "the GitHub releases", Err: ErrNoGitHub}
	}
	return o.gh.PublishedReleases(ctx)
}

// DeleteRelease deletes release id and forgets the releases.
func (o *Caching) DeleteRelease(ctx context.Context, id int64) error {
	if o.gh == nil {
		return ErrNoGitHub
	}
	defer o.forgetReleases()
	return o.gh.DeleteRelease(ctx, id)
}
