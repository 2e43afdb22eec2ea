package revert

import (
	"fmt"
	"strings"
	"time"

	"github.com/shiplane/shiplane/magefiles/publish"
)

// OutsideWindowError is a revert asked for after the window closed.
type OutsideWindowError struct {
	Tag         string
	PublishedAt time.Time
	Window      time.Duration
	Now         time.Time
	// Settings is the file revert_window is set in.
	Settings string
}

func (e *OutsideWindowError) Error() string {
	return fmt.Sprintf("%s was published at %s, %s ago: the revert window (revert_window: %s in %s) closed at %s; "+
		"people may already use what it published: publish a fixed patch release instead (go run mage.go bump <component> patch, then tagRelease)",
		e.Tag, e.PublishedAt.UTC().Format(time.RFC3339), e.Now.Sub(e.PublishedAt).Round(time.Second), e.Window, e.Settings,
		e.PublishedAt.Add(e.Window).UTC().Format(time.RFC3339))
}

// NotRecordedError is a release whose manifest does not say what it first published: nothing can
// be removed safely.
type NotRecordedError struct {
	Tag, Reason string
}

func (e *NotRecordedError) Error() string {
	return fmt.Sprintf("cannot revert %s: %s, so what it published first cannot be told; remove its artifacts by hand, or publish a fixed patch release instead", e.Tag, e.Reason)
}

// ReferencedError is an artifact the reverted release first published that a later release
// lists too: removing it would break that release.
type ReferencedError struct {
	Tag      string
	Artifact publish.ReleasedArtifact
	// By is the later release's tag.
	By string
}

func (e *ReferencedError) Error() string {
	return fmt.Sprintf("cannot revert %s: the later release %s references %s, which %s published first; revert %s first, or publish a fixed patch release instead",
		e.Tag, e.By, e.Artifact, e.Tag, e.By)
}

// TamperedError is a tag that no longer holds what the release recorded: it was pushed again (or
// the manifest edited) since, and is not deleted.
type TamperedError struct {
	Tag      string
	Artifact publish.ReleasedArtifact
	// Now is what the tag holds now.
	Now string
}

func (e *TamperedError) Error() string {
	what := "holds"
	if e.Artifact.Kind == publish.ArtifactGitTag {
		what = "points at"
	}
	return fmt.Sprintf("%s %s now %s %s, not %s as release %s recorded: something was pushed there since (or the release manifest was edited); it is not deleted: find out who wrote it, and delete it by hand if it must go",
		e.Artifact.Kind, e.Artifact.Ref, what, e.Now, e.Artifact.Digest, e.Tag)
}

// LeftError is a revert that could not finish because the registry refuses to delete manifests:
// it lists everything left, so it can be removed by other means.
type LeftError struct {
	Tag string
	// Unsupported are the tags whose DELETE the registry refused; Left every goal not achieved.
	Unsupported, Left []string
}

func (e *LeftError) Error() string {
	return fmt.Sprintf("revert of %s incomplete: the registry does not allow deleting manifests (DELETE answered 405 or UNSUPPORTED) for %s; "+
		"delete them in the registry's own interface or enable deletes (storage.delete.enabled for the reference registry), then run revertRelease %s again to finish; left:\n  - %s",
		e.Tag, strings.Join(e.Unsupported, ", "), e.Tag, strings.Join(e.Left, "\n  - "))
}
