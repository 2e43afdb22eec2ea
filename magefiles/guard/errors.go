package guard

import (
	"errors"
	"fmt"
	"strings"

	"github.com/shiplane/shiplane/magefiles/version"
)

// BumpCommand is the command the fixes suggest for changing a version.
const BumpCommand = "go run mage.go bump"

// Violation is implemented by every error a guardrail reports.
type Violation interface {
	error
	// Guardrail names the guardrail that reported the violation.
	Guardrail() string
}

// Violations returns every Violation in err's tree (errors.Join-ed errors and
// wrapped errors included), in order. No error disappears: every joined
// error holding no Violation at all is returned whole (its wrapping included)
// as an *Unclassified, so listing the violations shows every error.
func Violations(err error) []Violation {
	var out []Violation
	var walk func(error)
	walk = func(err error) {
		if err == nil {
			return
		}
		if v, ok := err.(Violation); ok {
			out = append(out, v)
			return
		}
		if u, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range u.Unwrap() {
				walk(e)
			}
			return
		}
		if v := Violation(nil); !errors.As(err, &v) {
			out = append(out, &Unclassified{Err: err})
			return
		}
		if u, ok := err.(interface{ Unwrap() error }); ok {
			walk(u.Unwrap())
		}
	}
	walk(err)
	return out
}

// Names of the guardrails, as returned by Violation.Guardrail.
const (
	VersionsName        = "versions"
	MetadataName        = "metadata"
	BumpedName          = "bumped"
	PublishedInputsName = "published-inputs"
	PublishableName     = "publishable"
	CleanTreeName       = "clean-tree"
	ReleaseTagName      = "release-tag"
	TagFreeName         = "tag-free"
	// UmbrellaCoverageName: every publishable chart is a dependency of the umbrella chart.
	UmbrellaCoverageName = "umbrella-coverage"
	// TagPlacementName is reported by the release lanes' tag placement
	// check (*TagNotAtHead, *TagNotPushed), which needs git and the remote
	// and so is not one of All.
	TagPlacementName = "tag-placement"
	// UnclassifiedName is what an *Unclassified reports: an error that is
	// not a Violation, kept visible by Violations.
	UnclassifiedName = "unclassified"
)

// maxListed is how many files a message lists before "and N more".
const maxListed = 10

func list(items []string) string {
	if len(items) <= maxListed {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:maxListed], ", "), len(items)-maxListed)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

func bump(component, spec string) string {
	if component == "" {
		component = "<component>"
	}
	return fmt.Sprintf("%s %s %s", BumpCommand, component, spec)
}

// InvalidVersion reports a VERSION file or chart version that is not a strict
// semantic version.
type InvalidVersion struct {
	// Component is the component; File the file holding the value; Field
	// "version" for a Chart.yaml, "" for a VERSION file.
	Component, File, Field string
	// Value is the rejected text.
	Value string
	// Err is the *version.ParseError.
	Err error
	// Want is the component's valid VERSION when File is its chart, "" when
	// unknown.
	Want string
}

// Error implements error.
func (e *InvalidVersion) Error() string {
	what := "has"
	if e.Field != "" {
		what = "has " + e.Field
	}
	fix := "edit " + e.File
	if e.Want != "" {
		fix = fmt.Sprintf("run: %s (or edit %s)", bump(e.Component, e.Want), e.File)
	}
	return fmt.Sprintf("%s: %s %s %q, which is not a version %s such as %s; %s", e.Component, e.File, what, e.Value, version.Form, version.Example, fix)
}

// Unwrap returns the parse error.
func (e *InvalidVersion) Unwrap() error { return e.Err }

// Guardrail returns VersionsName.
func (e *InvalidVersion) Guardrail() string { return VersionsName }

// ChartVersionMismatch reports a chart whose version or appVersion differs
// from its component's VERSION.
type ChartVersionMismatch struct {
	// Component is the component; ChartFile its Chart.yaml; Field "version"
	// or "appVersion"; Found the field's value ("" when absent).
	Component, ChartFile, Field, Found string
	// VersionFile is the component's VERSION file and Want its version.
	VersionFile, Want string
}

// Error implements error.
func (e *ChartVersionMismatch) Error() string {
	has := fmt.Sprintf("has %s %s", e.Field, e.Found)
	if e.Found == "" {
		has = "has no " + e.Field
	}
	return fmt.Sprintf("%s: %s %s but %s says %s; run: %s (or edit %s)", e.Component, e.ChartFile, has, e.VersionFile, e.Want, bump(e.Component, e.Want), e.ChartFile)
}

// Guardrail returns VersionsName.
func (e *ChartVersionMismatch) Guardrail() string { return VersionsName }

// UmbrellaDependencyMismatch reports an umbrella chart dependency whose
// version differs from the component's VERSION.
type UmbrellaDependencyMismatch struct {
	// Umbrella is the umbrella component; File its Chart.yaml.
	Umbrella, File string
	// Dependency is the component depended on; Found the version the
	// umbrella pins ("" when none).
	Dependency, Found string
	// VersionFile is the dependency's VERSION file and Want its version.
	VersionFile, Want string
}

// Error implements error.
func (e *UmbrellaDependencyMismatch) Error() string {
	pins := fmt.Sprintf("pins dependency %s at %s", e.Dependency, e.Found)
	if e.Found == "" {
		pins = fmt.Sprintf("lists dependency %s without a version", e.Dependency)
	}
	return fmt.Sprintf("%s: %s %s but %s says %s; edit %s: set the version of dependency %s to %s", e.Umbrella, e.File, pins, e.VersionFile, e.Want, e.File, e.Dependency, e.Want)
}

// Guardrail returns VersionsName.
func (e *UmbrellaDependencyMismatch) Guardrail() string { return VersionsName }

// NotInUmbrella reports a publishable component's chart that the umbrella chart does not list
// as a dependency: the platform release would ship without it.
type NotInUmbrella struct {
	// Component is the component; Chart its chart's name and ChartFile its Chart.yaml.
	Component, Chart, ChartFile string
	// Umbrella is the umbrella's Chart.yaml; Manifest the components file.
	Umbrella, Manifest string
}

// Error implements error.
func (e *NotInUmbrella) Error() string {
	return fmt.Sprintf("%s: chart %s (%s) is not a dependency of the umbrella chart %s; add it under dependencies: in %s "+
		"(name: %s, version: its chart version, repository: file://../%s), or set umbrella: false on component %s in %s to leave it out on purpose",
		e.Component, e.Chart, e.ChartFile, e.Umbrella, e.Umbrella, e.Chart, e.Chart, e.Component, e.Manifest)
}

// Guardrail returns UmbrellaCoverageName.
func (e *NotInUmbrella) Guardrail() string { return UmbrellaCoverageName }

// MissingMetadata reports a chart field or image label that would be empty.
type MissingMetadata struct {
	// Component is the component; File the file to edit (the Chart.yaml, or
	// the manifest for an image).
	Component, File string
	// Field is the missing field: for a chart description, sources, license
	// or maintainers; for an image the manifest field (source, license,
	// description).
	Field string
	// Label is the image label left empty, "" for a chart field.
	Label string
}

// Error implements error.
func (e *MissingMetadata) Error() string {
	if e.Label != "" {
		return fmt.Sprintf("%s: image label %s would be empty; set %s for component %s in %s", e.Component, e.Label, e.Field, e.Component, e.File)
	}
	switch e.Field {
	case "description":
		return fmt.Sprintf("%s: %s has no description; add a line description: <what the chart deploys> to %s", e.Component, e.File, e.File)
	case "sources":
		return fmt.Sprintf("%s: %s has no sources; add sources: with a \"- <repository URL>\" entry to %s", e.Component, e.File, e.File)
	case "license":
		return fmt.Sprintf("%s: %s has no license; add %s: <SPDX license> under annotations: in %s", e.Component, e.File, version.LicenseAnnotation, e.File)
	case "maintainers":
		return fmt.Sprintf("%s: %s has an empty maintainers list; add a \"- name: <maintainer>\" entry under maintainers: in %s, or remove the key", e.Component, e.File, e.File)
	}
	return fmt.Sprintf("%s: %s has no %s; add it to %s", e.Component, e.File, e.Field, e.File)
}

// Guardrail returns MetadataName.
func (e *MissingMetadata) Guardrail() string { return MetadataName }

// ChangedWithoutBump reports a component whose inputs changed since the tag of
// its current version.
type ChangedWithoutBump struct {
	// Component is the component; VersionFile its VERSION file; Version the
	// unchanged version; Tag that version's tag.
	Component, VersionFile, Version, Tag string
	// Files are the component's files changed since Tag.
	Files []string
}

// Error implements error.
func (e *ChangedWithoutBump) Error() string {
	changed := "inputs changed"
	if len(e.Files) > 0 {
		changed = fmt.Sprintf("%s changed (%s)", plural(len(e.Files), "file", "files"), list(e.Files))
	}
	return fmt.Sprintf("%s: %s since tag %s but %s still says %s; run: %s (or minor, major)", e.Component, changed, e.Tag, e.VersionFile, e.Version, bump(e.Component, version.Patch))
}

// Guardrail returns BumpedName.
func (e *ChangedWithoutBump) Guardrail() string { return BumpedName }

// PublishedWithDifferentInputs reports an artifact already published at the
// component's version but built from other inputs: the version was not
// bumped, and published versions are never overwritten.
type PublishedWithDifferentInputs struct {
	// Component is the component and Version its version.
	Component, Version string
	// Artifact is the published reference.
	Artifact string
	// Published is the inputs hash the artifact carries; Current the hash
	// of the inputs now.
	Published, Current string
}

// Error implements error.
func (e *PublishedWithDifferentInputs) Error() string {
	return fmt.Sprintf("%s: %s is already published from inputs %s but the current inputs are %s, so version %s was not bumped; run: %s (published versions are never overwritten)", e.Component, e.Artifact, e.Published, e.Current, e.Version, bump(e.Component, version.Patch))
}

// Guardrail returns PublishedInputsName.
func (e *PublishedWithDifferentInputs) Guardrail() string { return PublishedInputsName }

// Where says where a tag was found.
type Where string

// Places a tag can exist.
const (
	Local  Where = "local"
	Remote Where = "remote"
)

// TagExists reports a release tag that already exists.
type TagExists struct {
	// Tag is the tag.
	Tag string
	// Where is Local or Remote (Remote when both).
	Where Where
	// Component is the component whose version the tag carries (the
	// umbrella), used in the fix.
	Component string
}

// Error implements error.
func (e *TagExists) Error() string {
	next := fmt.Sprintf("run: %s (or minor, major) and tag the new version", bump(e.Component, version.Patch))
	prefix := ""
	if e.Component != "" {
		prefix = e.Component + ": "
	}
	if e.Where == Remote {
		return fmt.Sprintf("%stag %s already exists on the remote, and a pushed tag is never moved; %s", prefix, e.Tag, next)
	}
	return fmt.Sprintf("%stag %s already exists locally; if it is stale delete it (git tag -d %s), otherwise %s", prefix, e.Tag, e.Tag, next)
}

// Guardrail returns TagFreeName.
func (e *TagExists) Guardrail() string { return TagFreeName }

// DirtyTree reports uncommitted changes, which a release never builds from.
type DirtyTree struct {
	// Files are the changed, staged or untracked files.
	Files []string
}

// Error implements error.
func (e *DirtyTree) Error() string {
	return fmt.Sprintf("working tree has %s (%s); commit or stash (git stash --include-untracked) before releasing", plural(len(e.Files), "uncommitted change", "uncommitted changes"), list(e.Files))
}

// Guardrail returns CleanTreeName.
func (e *DirtyTree) Guardrail() string { return CleanTreeName }

// TagMismatch reports a release tag that is not v<root VERSION>.
type TagMismatch struct {
	// Tag is the release tag; Component the umbrella; VersionFile the root
	// VERSION file; Version its content.
	Tag, Component, VersionFile, Version string
}

// Error implements error.
func (e *TagMismatch) Error() string {
	msg := fmt.Sprintf("release tag %s does not match %s, which says %s; tag v%s instead", e.Tag, e.VersionFile, e.Version, e.Version)
	tagged, err1 := version.Parse(strings.TrimPrefix(e.Tag, "v"))
	current, err2 := version.Parse(e.Version)
	if err1 == nil && err2 == nil && tagged.GreaterThan(current) {
		msg += fmt.Sprintf(", or run: %s and commit before tagging %s", bump(e.Component, tagged.String()), e.Tag)
	}
	return msg
}

// Guardrail returns ReleaseTagName.
func (e *TagMismatch) Guardrail() string { return ReleaseTagName }

// TagNotSemver reports a release tag that is not "v" and a semantic version.
type TagNotSemver struct {
	// Tag is the release tag.
	Tag string
	// Err says why it is not a version.
	Err error
	// VersionFile and Version are the root VERSION file and its content,
	// for the fix.
	VersionFile, Version string
}

// Error implements error.
func (e *TagNotSemver) Error() string {
	return fmt.Sprintf("release tag %q is not v<semantic version>; tag the release v%s (from %s)", e.Tag, e.Version, e.VersionFile)
}

// Unwrap returns the parse error.
func (e *TagNotSemver) Unwrap() error { return e.Err }

// Guardrail returns ReleaseTagName.
func (e *TagNotSemver) Guardrail() string { return ReleaseTagName }

// Blocked reports a publishable component that depends, directly or
// transitively, on components that are never published.
type Blocked struct {
	// Component is the blocked component.
	Component string
	// Immediate are its own dependencies that stop it; Causes the
	// non-publishable components behind them.
	Immediate, Causes []string
	// Manifest is the file where publish: is set.
	Manifest string
}

// Error implements error.
func (e *Blocked) Error() string {
	return fmt.Sprintf("%s: blocked by %s (publish: false on %s); set publish: true for %s in %s, or set ALLOW_BLOCKED=1 to publish the rest without %s", e.Component, strings.Join(e.Immediate, ", "), strings.Join(e.Causes, ", "), strings.Join(e.Causes, ", "), e.Manifest, e.Component)
}

// Guardrail returns PublishableName.
func (e *Blocked) Guardrail() string { return PublishableName }

// CannotTell reports a guardrail that lacked the facts to decide. A check
// that cannot tell fails; it never guesses.
type CannotTell struct {
	// Check names the guardrail; Component the component concerned.
	Check, Component string
	// Question is what could not be decided, Reason why, Fix what to do.
	Question, Reason, Fix string
}

// Error implements error.
func (e *CannotTell) Error() string {
	return fmt.Sprintf("%s: cannot tell %s: %s; %s", e.Component, e.Question, e.Reason, e.Fix)
}

// Guardrail returns the guardrail that could not decide.
func (e *CannotTell) Guardrail() string { return e.Check }

// InvalidDependencies reports a dependency graph the publishable check cannot
// be run on (an unknown, empty or repeated component name). Unwrap returns
// the graph's errors, so errors.As finds e.g. a *graph.UnknownDependencyError.
type InvalidDependencies struct {
	// Manifest is the file declaring the dependencies ("" when unknown).
	Manifest string
	// Err is the graph's error, which says what is wrong and how to fix it.
	Err error
}

// Error implements error.
func (e *InvalidDependencies) Error() string {
	if e.Manifest == "" {
		return fmt.Sprintf("cannot check publishable dependencies: %v", e.Err)
	}
	return fmt.Sprintf("%s: cannot check publishable dependencies: %v", e.Manifest, e.Err)
}

// Unwrap returns the graph's error.
func (e *InvalidDependencies) Unwrap() error { return e.Err }

// Guardrail returns PublishableName.
func (e *InvalidDependencies) Guardrail() string { return PublishableName }

// TagNotAtHead reports a release tag that points at another commit than
// HEAD, so a release from HEAD would publish something other than the tag.
// Its fix depends on Cause: the tag may be a release already made from an
// earlier commit (bump the version), a remote tag that moved (fetch), a
// commit this clone lacks (fetch), or another checkout (check out the tag).
type TagNotAtHead struct {
	// Tag is the release tag; TagCommit the commit it points at (peeled);
	// Head the commit checked out.
	Tag, TagCommit, Head string
	// Where is Local (the local tag) or Remote (the remote's tag); anything
	// but Remote is read as Local.
	Where Where
	// Cause is how TagCommit relates to HEAD. Default: CauseElsewhere.
	Cause TagCause
	// Component is the component whose version the tag carries (the
	// umbrella), named in the bump command; "" reads as <component>.
	Component string
}

// TagCause is how a release tag's commit relates to HEAD; it decides the fix.
type TagCause string

// The causes of a TagNotAtHead.
const (
	// CauseElsewhere: HEAD is neither the tag's commit nor after it (behind
	// it, or on another branch). Fix: check out the tag.
	CauseElsewhere TagCause = ""
	// CauseReleased: the tag points at an earlier commit of HEAD's history:
	// that version was tagged (released, when the tag is on the remote) and
	// HEAD is later work. Fix: bump the version and tag the new one.
	CauseReleased TagCause = "released"
	// CauseMoved: the remote's tag and the local tag point at different
	// commits: one of them was moved. Fix: fetch the remote's tags, forced.
	CauseMoved TagCause = "moved"
	// CauseNotHere: the tag's commit is not in this clone. Fix: fetch it.
	CauseNotHere TagCause = "not-here"
)

// Error implements error.
func (e *TagNotAtHead) Error() string {
	tag, at, head := e.Tag, shortCommit(e.TagCommit), shortCommit(e.Head)
	next := fmt.Sprintf("bump the version: %s (or minor, major), commit, then go run mage.go tagRelease", bump(e.Component, version.Patch))
	switch {
	case e.Where == Remote && e.Cause == CauseReleased:
		return fmt.Sprintf("tag %s is already released: the remote has it at %s, an earlier commit than HEAD (%s), and a pushed tag is never moved; to release HEAD, %s", tag, at, head, next)
	case e.Cause == CauseReleased:
		return fmt.Sprintf("tag %s points at %s, an earlier commit than HEAD (%s), and is not on the remote; to release HEAD, %s; or, if the tag is stale, delete it (git tag -d %s) and run go run mage.go tagRelease", tag, at, head, next, tag)
	case e.Where == Remote && e.Cause == CauseMoved:
		return fmt.Sprintf("tag %s on the remote points at %s, another commit than the local tag, and HEAD is %s; the remote tag moved: git fetch --tags --force and check it out (git checkout %s)", tag, at, head, tag)
	case e.Cause == CauseMoved:
		return fmt.Sprintf("tag %s here points at %s, but the remote's is at HEAD (%s); the local tag is stale: git fetch --tags --force", tag, at, head)
	case e.Cause == CauseNotHere:
		where := "tag " + tag
		if e.Where == Remote {
			where += " on the remote"
		}
		return fmt.Sprintf("%s points at %s, a commit this clone does not have; fetch it (git fetch --tags) and run again", where, at)
	case e.Where == Remote:
		return fmt.Sprintf("tag %s on the remote points at %s, but HEAD is %s (not after it); check out the tag: git checkout %s", tag, at, head, tag)
	}
	return fmt.Sprintf("tag %s points at %s, but HEAD is %s; check out the tag: git checkout %s", tag, at, head, tag)
}

// Guardrail returns TagPlacementName.
func (e *TagNotAtHead) Guardrail() string { return TagPlacementName }

// TagNotPushed reports a release tag that is not on the remote: a release
// runs from a pushed tag.
type TagNotPushed struct {
	// Tag is the release tag; Remote the git remote it is missing from
	// ("" when unknown: the fix then says <remote>).
	Tag, Remote string
	// LocalExists reports that the tag exists in this clone (then the fix is
	// to push it; otherwise it was never created: tagRelease creates it).
	LocalExists bool
}

// Error implements error.
func (e *TagNotPushed) Error() string {
	remote, on := e.Remote, "the remote "+e.Remote
	if remote == "" {
		remote, on = "<remote>", "the remote"
	}
	if !e.LocalExists {
		return fmt.Sprintf("tag %s does not exist yet, here or on %s; create and push it: go run mage.go tagRelease", e.Tag, on)
	}
	return fmt.Sprintf("tag %s is not on %s; push it: git push %s %s", e.Tag, on, remote, e.Tag)
}

// Guardrail returns TagPlacementName.
func (e *TagNotPushed) Guardrail() string { return TagPlacementName }

// Unclassified is an error found among guardrail errors that is not a
// Violation. Violations returns it rather than dropping it; its message is
// the error's own.
type Unclassified struct {
	// Err is the error.
	Err error
}

// Error implements error.
func (e *Unclassified) Error() string { return e.Err.Error() }

// Unwrap returns the error.
func (e *Unclassified) Unwrap() error { return e.Err }

// Guardrail returns UnclassifiedName.
func (e *Unclassified) Guardrail() string { return UnclassifiedName }

// shortCommit abbreviates a commit hash to 12 characters for messages.
func shortCommit(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// Compile-time proof that every type is a Violation.
var (
	_ Violation = (*InvalidVersion)(nil)
	_ Violation = (*ChartVersionMismatch)(nil)
	_ Violation = (*UmbrellaDependencyMismatch)(nil)
	_ Violation = (*MissingMetadata)(nil)
	_ Violation = (*ChangedWithoutBump)(nil)
	_ Violation = (*PublishedWithDifferentInputs)(nil)
	_ Violation = (*TagExists)(nil)
	_ Violation = (*DirtyTree)(nil)
	_ Violation = (*TagMismatch)(nil)
	_ Violation = (*TagNotSemver)(nil)
	_ Violation = (*Blocked)(nil)
	_ Violation = (*CannotTell)(nil)
	_ Violation = (*InvalidDependencies)(nil)
	_ Violation = (*TagNotAtHead)(nil)
	_ Violation = (*TagNotPushed)(nil)
	_ Violation = (*Unclassified)(nil)
)

// TagMoved reports a release tag that moved or was deleted on the remote while the release ran:
// the release stops before the next write that depends on it.
type TagMoved struct {
	// Tag is the release tag; Head the commit being released; Now what the remote tag points at
	// now ("" when it was deleted); Step the write the release stopped before (or "after
	// publishing").
	Tag, Head, Now, Step string
}

// Error implements error.
func (e *TagMoved) Error() string {
	now := "was deleted from the remote"
	if e.Now != "" {
		now = "now points at " + shortCommit(e.Now) + " on the remote"
	}
	return fmt.Sprintf("the release tag %s %s, not at %s, the commit being released; stopped before %s: find out who moved it, restore it (git push origin %s:refs/tags/%s, if %s is right), then re-run",
		e.Tag, now, shortCommit(e.Head), e.Step, e.Head, e.Tag, shortCommit(e.Head))
}

// Guardrail returns TagPlacementName.
func (e *TagMoved) Guardrail() string { return TagPlacementName }

// TagElsewhere reports a component tag, local or on the remote, at another commit than the one the
// release approved, holding other inputs: a pushed tag is never moved, and a local one is never
// pushed.
type TagElsewhere struct {
	// Tag is the component tag; Commit where it points; Want the approved commit; Where Local or
	// Remote.
	Tag, Commit, Want string
	Where             Where
	// Component is the component, for the fix.
	Component string
}

// Error implements error.
func (e *TagElsewhere) Error() string {
	if e.Where == Remote {
		return fmt.Sprintf("%s: the remote tag %s points at %s, which holds other inputs than %s; a pushed tag is never moved: run: %s",
			e.Component, e.Tag, shortCommit(e.Commit), shortCommit(e.Want), bump(e.Component, version.Patch))
	}
	return fmt.Sprintf("%s: the local tag %s points at %s, not at %s, the commit being released; it was never pushed by this release and will not be: delete it (git tag -d %s) and re-run",
		e.Component, e.Tag, shortCommit(e.Commit), shortCommit(e.Want), e.Tag)
}

// Guardrail returns TagPlacementName.
func (e *TagElsewhere) Guardrail() string { return TagPlacementName }
