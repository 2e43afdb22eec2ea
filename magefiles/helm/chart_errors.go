package helm

import (
	"fmt"
	"github.com/shiplane/shiplane/magefiles/published"
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

// ConcurrentWriteError is published.ConcurrentWriteError: another write of the same tag raced
// this push.
type ConcurrentWriteError = published.ConcurrentWriteError

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
