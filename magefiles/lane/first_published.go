package lane

import (
	"context"
	"fmt"

	"github.com/shiplane/shiplane/magefiles/publish"
)

// firstPublished is what the release of m publishes first: its images, charts and component git
// tags that no release published before it lists (it reads the release history once). Each git
// tag is recorded with the commit it points at on the remote. A re-run after a crash records the
// same: what counts is the history, not what this run happened to push.
func (w *Workspace) firstPublished(ctx context.Context, cache *publish.Caching, m ReleaseManifest) ([]publish.ReleasedArtifact, error) {
	history, err := publish.ReadHistory(ctx, cache)
	if err != nil {
		return nil, fmt.Errorf("reading the releases published before %s, to record what it publishes first: %w", m.Tag, err)
	}
	first := append([]publish.ReleasedArtifact{}, publish.FirstPublished(m.Artifacts(componentTagName), publish.Earlier(history, m.Tag), componentTagName)...)
	for i, a := range first {
		if a.Kind != publish.ArtifactGitTag {
			continue
		}
		t, err := cache.Tag(ctx, a.Ref)
		if err != nil {
			return nil, err
		}
		if !t.Present {
			return nil, fmt.Errorf("git tag %s is not on %s: its push did not finish", a.Ref, Remote)
		}
		first[i].Digest = t.Commit
	}
	return first, nil
}

// componentTagName is the git tag a release pushes for a component's version; the platform has
// none of its own (its tag is the release tag, pushed by tagRelease).
func componentTagName(component, version string) string {
	if component == PlatformComponent {
		return ""
	}
	return ComponentTag(component, version)
}
