// Package revert removes what a GitHub release newly published, within a window after it was
// published, as a package registry's revert window does: the release, the component git tags it
// created, and the image and chart tags it created (their manifests deleted where the registry
// allows it). What an earlier release had already published is kept.
//
// Decide is pure: from the release history (every published release with its
// release-manifest.json) it makes the Plan, which says what is removed, what is kept and why, or
// why the revert is refused. The plan's goals (Nodes) are run by the goal engine like any other:
// each assesses first, so a second run achieves nothing, and a run stopped anywhere is finished by
// the next. The release itself is deleted last, after a marker asset (MarkerAsset) recorded that
// the revert began, so the record of what to remove outlives every crash and a revert begun in
// the window is finished after it.
//
// The release manifest is an asset anyone with write access to the releases can edit, so it is
// not trusted alone: only artifacts it lists as first published, that belong to its own
// components, lie in the release registry or chart repository, and that no earlier release lists
// are removed; and a tag is deleted only while it still holds the digest (or commit) recorded.
package revert

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/shiplane/shiplane/magefiles/github"
	"github.com/shiplane/shiplane/magefiles/publish"
	"github.com/shiplane/shiplane/magefiles/settings"
)

// MarkerAsset is the asset a revert attaches to the release before it deletes anything: a re-run
// that finds it finishes the revert, inside the window or not.
const MarkerAsset = "revert-started.json"

// DefaultWindow is the revert window when Input.Window is zero.
const DefaultWindow = settings.DefaultRevertWindow

// Input is everything a revert decision is made from.
type Input struct {
	// Tag is the release to revert, e.g. v1.1.0.
	Tag string
	// History is every published release, each with its manifest (publish.ReadHistory).
	History []publish.PastRelease
	// Now is the time of the decision; Window how long after publishing a revert is allowed
	// (DefaultWindow when zero).
	Now    time.Time
	Window time.Duration
	// TagName names a component version's git tag ("" when it has none), as the release does.
	TagName func(component, version string) string
	// Allowed reports whether an image or chart reference lies in the release registry or chart
	// repository; nothing outside them is deleted. nil allows none.
	Allowed func(ref string) bool
	// Settings is the file revert_window is set in, for messages.
	Settings string
}

// Kept is an artifact of the release that the revert leaves in place, and why.
type Kept struct {
	publish.ReleasedArtifact
	Reason string
}

// Plan is what a revert does.
type Plan struct {
	Tag string
	// Found is false when Tag has no published release: there is nothing to revert.
	Found bool
	// Release is the release reverted (when Found).
	Release github.PublishedRelease
	// Deadline is the end of the window; Resuming is true when an earlier run began the revert
	// (the marker asset is there), which then finishes whatever the time.
	Deadline time.Time
	Resuming bool
	// Remove are the artifacts deleted, in the manifest's order.
	Remove []publish.ReleasedArtifact
	// Kept are the release's artifacts left in place, each with its reason.
	Kept []Kept
	// Refusals say why the revert may not run; nothing is written when there is one.
	Refusals []error
}

// Decide makes the plan.
func Decide(in Input) *Plan {
	if in.Window <= 0 {
		in.Window = DefaultWindow
	}
	if in.Allowed == nil {
		in.Allowed = func(string) bool { return false }
	}
	p := &Plan{Tag: in.Tag}
	var own *publish.PastRelease
	for i := range in.History {
		if in.History[i].Tag == in.Tag {
			own = &in.History[i]
		}
	}
	if own == nil {
		return p
	}
	p.Found, p.Release = true, own.PublishedRelease
	p.Deadline = own.PublishedAt.Add(in.Window)
	// A revert started (its marker attached) finishes even after the window closed. Only a marker
	// GitHub says was created within the window counts: anyone who can edit the release can
	// upload one later, and that must not open the window again.
	if a, ok := own.Asset(MarkerAsset); ok {
		p.Resuming = a.Uploaded() && !a.CreatedAt.After(p.Deadline)
	}
	if !p.Resuming && in.Now.After(p.Deadline) {
		p.Refusals = append(p.Refusals, &OutsideWindowError{Tag: in.Tag, PublishedAt: own.PublishedAt, Window: in.Window, Now: in.Now, Settings: in.Settings})
	}
	m := own.Manifest
	switch {
	case m == nil:
		p.Refusals = append(p.Refusals, &NotRecordedError{Tag: in.Tag, Reason: "it has no " + publish.ManifestAsset})
		return p
	case m.FirstPublished == nil:
		p.Refusals = append(p.Refusals, &NotRecordedError{Tag: in.Tag, Reason: publish.ManifestAsset + " does not record first_published (the release was made before revertRelease existed)"})
		return p
	}
	// What the manifest's own components carry, by key: a first_published entry must be one.
	carried := map[string]publish.ReleasedArtifact{}
	for _, a := range m.Artifacts(in.TagName) {
		carried[a.Key()] = a
	}
	earlier := publish.Earlier(in.History, in.Tag)
	listedBy := func(rels []publish.PastRelease, a publish.ReleasedArtifact, sameDigest bool) string {
		for _, r := range rels {
			if r.Manifest == nil || r.Tag == in.Tag {
				continue
			}
			for _, b := range r.Manifest.Artifacts(in.TagName) {
				if b.Key() == a.Key() && (!sameDigest || b.Digest == "" || b.Digest == a.Digest) {
					return r.Tag
				}
			}
		}
		return ""
	}
	var later []publish.PastRelease
	for _, r := range in.History {
		if r.Tag != in.Tag && own.Before(r) {
			later = append(later, r)
		}
	}
	first := map[string]bool{}
	for _, a := range m.FirstPublished {
		first[a.Key()] = true
		c, ok := carried[a.Key()]
		switch {
		case !ok || (a.Kind != publish.ArtifactGitTag && c.Digest != a.Digest):
			p.Kept = append(p.Kept, Kept{a, "listed as first published but not one of the release's own components' artifacts in its manifest: never deleted"})
		case a.Kind != publish.ArtifactGitTag && !in.Allowed(a.Ref):
			p.Kept = append(p.Kept, Kept{a, "outside the release registry and chart repository: never deleted"})
		case a.Kind == publish.ArtifactGitTag && a.Digest == "":
			p.Kept = append(p.Kept, Kept{a, "no commit recorded for it: never deleted"})
		case listedBy(earlier, a, false) != "":
			p.Kept = append(p.Kept, Kept{a, "the earlier release " + listedBy(earlier, a, false) + " lists it"})
		case listedBy(later, a, true) != "":
			p.Refusals = append(p.Refusals, &ReferencedError{Tag: in.Tag, Artifact: a, By: listedBy(later, a, true)})
		default:
			p.Remove = append(p.Remove, a)
		}
	}
	for _, a := range m.Artifacts(in.TagName) {
		if !first[a.Key()] {
			p.Kept = append(p.Kept, Kept{a, "published before this release"})
		}
	}
	return p
}

// Err is the plan's refusals joined, nil when the revert may run.
func (p *Plan) Err() error { return errors.Join(p.Refusals...) }

// String renders the plan for people.
func (p *Plan) String() string {
	var b strings.Builder
	if !p.Found {
		fmt.Fprintf(&b, "revert %s: no published GitHub release %s: nothing to revert (already reverted, or never published)\n", p.Tag, p.Tag)
		return b.String()
	}
	fmt.Fprintf(&b, "revert %s: published %s, window until %s", p.Tag, p.Release.PublishedAt.UTC().Format(time.RFC3339), p.Deadline.UTC().Format(time.RFC3339))
	if p.Resuming {
		b.WriteString(" (resuming a revert already begun)")
	}
	b.WriteString("\n")
	if len(p.Remove) > 0 {
		b.WriteString("  remove (first published by this release):\n")
		for _, a := range p.Remove {
			fmt.Fprintf(&b, "    %s\n", a)
		}
	}
	fmt.Fprintf(&b, "  remove: the GitHub release %s, last\n", p.Tag)
	b.WriteString("  keep:\n")
	for _, k := range p.Kept {
		fmt.Fprintf(&b, "    %s: %s\n", k.ReleasedArtifact, k.Reason)
	}
	fmt.Fprintf(&b, "    git tag %s: the release tag (tagRelease made it) stays\n", p.Tag)
	if len(p.Refusals) > 0 {
		b.WriteString("  refused:\n")
		for _, e := range p.Refusals {
			fmt.Fprintf(&b, "    %v\n", e)
		}
	}
	return b.String()
}
