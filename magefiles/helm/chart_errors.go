package helm

import (
	"fmt"
	"strings"
)

// ExistsError refuses to overwrite a chart version that the repository already holds with
// different content. A chart version, once pushed, is never rewritten: bump the version.
type ExistsError struct {
	// Ref is the chart reference, "host/path/name:version".
	Ref string
	// Have is the digest of the manifest the repository holds.
	Have string
	// Want is the digest of the manifest the push would have written.
	Want string
}

func (e *ExistsError) Error() string {
	return fmt.Sprintf("chart %s is already published with digest %s, not %s; refusing to overwrite it (bump the chart version)",
		e.Ref, e.Have, e.Want)
}

// ConcurrentWriteError says someone else wrote a chart version's tag while Push was pushing it.
// Push asks the tag right before its manifest PUT and reads it back right after: a tag that
// appeared while the blobs uploaded is refused with AfterPut false (the tag is not written;
// errors.As finds an *ExistsError too), and a tag the read-back finds holding another manifest,
// or gone, fails with AfterPut true. OCI has no conditional PUT: another write landing between
// the last check and the PUT (one round trip) is replaced unseen; registry-side tag immutability
// is what closes that window.
type ConcurrentWriteError struct {
	// Ref is the chart reference, "host/path/name:version".
	Ref string
	// Ours is the manifest digest Push wrote or was about to; Theirs is what the tag holds now
	// ("" when the read-back found it gone).
	Ours, Theirs string
	// AfterPut says the other write was found by the read-back after this push's manifest PUT.
	AfterPut bool
}

func (e *ConcurrentWriteError) Error() string {
	if !e.AfterPut {
		return fmt.Sprintf("refusing to overwrite chart %s: someone else pushed it while this push uploaded its blobs: "+
			"it holds %s, this package is %s", e.Ref, e.Theirs, e.Ours)
	}
	theirs := "holds " + e.Theirs
	if e.Theirs == "" {
		theirs = "is gone"
	}
	return fmt.Sprintf("chart %s was pushed by someone else right after this push wrote %s to it: it now %s; "+
		"find out which push is right before using the version", e.Ref, e.Ours, theirs)
}

// Unwrap makes a refusal before the PUT also an *ExistsError: the version held another package
// when asked, as if Push had found it at the start.
func (e *ConcurrentWriteError) Unwrap() error {
	if e.AfterPut {
		return nil
	}
	return &ExistsError{Ref: e.Ref, Have: e.Theirs, Want: e.Ours}
}

// MissingDependencyError refuses to package a chart whose dependency has no published version to
// point at. It is never papered over with a placeholder version.
type MissingDependencyError struct {
	// Chart is the chart that needs the dependency.
	Chart string
	// Dependency is the dependency's chart name.
	Dependency string
	// Repository is the dependency's repository as written in Chart.yaml, e.g. "file://../core".
	Repository string
	// Reason says what is missing.
	Reason string
}

func (e *MissingDependencyError) Error() string {
	return fmt.Sprintf("chart %s: dependency %s (%s): %s", e.Chart, e.Dependency, e.Repository, e.Reason)
}

// LintError reports everything strict linting found wrong with a chart.
type LintError struct {
	// Chart is the chart's name, or its directory when Chart.yaml could not be read.
	Chart string
	// Dir is the chart directory that was linted, as the caller named it.
	Dir string
	// Problems are the findings at warning severity or above.
	Problems []LintProblem
}

// LintProblem is one lint finding.
type LintProblem struct {
	// Severity is "WARNING" or "ERROR".
	Severity string
	// File is the file the finding is about, relative to the chart directory when helm says which.
	File string
	// Message is helm's description.
	Message string
}

func (p LintProblem) String() string {
	if p.File == "" {
		return fmt.Sprintf("[%s] %s", p.Severity, p.Message)
	}
	return fmt.Sprintf("[%s] %s: %s", p.Severity, p.File, p.Message)
}

func (e *LintError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "chart %s (%s) failed lint with %d problem(s)", e.Chart, e.Dir, len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n\t")
		b.WriteString(p.String())
	}
	return b.String()
}
