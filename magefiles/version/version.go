// Package version parses and bumps component versions and edits the files that
// carry them: a component's one-line VERSION file and its Helm Chart.yaml.
//
// Versions are strict semantic versions, X.Y.Z[-prerelease][+build], parsed by
// github.com/Masterminds/semver/v3. Chart.yaml edits replace only the scalars
// they change and keep every other byte (comments, key order, quoting, layout)
// as it was. Every write is atomic: a temporary file in the same directory,
// synced, then renamed over the original with its mode kept.
//
// The package is pure planning code: it touches only the files it is given and
// imports no backend.
package version

import (
	"errors"
	"fmt"
	"math"

	"github.com/Masterminds/semver/v3"
)

// Example is the valid version shown in error messages.
const Example = "1.4.2"

// Form describes the accepted version syntax in error messages.
const Form = "X.Y.Z[-prerelease][+build]"

// Bump specs accepted by Next besides an explicit version.
const (
	Patch = "patch"
	Minor = "minor"
	Major = "major"
)

// ErrNilVersion is returned when a nil current version is given to Next.
var ErrNilVersion = errors.New("no current version given")

// ParseError reports a string that is not a strict semantic version.
type ParseError struct {
	// Input is the rejected string, as given.
	Input string
	// Err is the semver library's reason.
	Err error
}

// Error implements error.
func (e *ParseError) Error() string {
	return fmt.Sprintf("invalid version %q: %v; want a semantic version %s without a leading v, e.g. %s or 2.0.0-rc.1", e.Input, e.Err, Form, Example)
}

// Unwrap returns the semver library's error (e.g. semver.ErrInvalidSemVer).
func (e *ParseError) Unwrap() error { return e.Err }

// InvalidSpecError reports a bump spec that is neither a bump keyword nor a
// valid version.
type InvalidSpecError struct {
	// Spec is the rejected spec.
	Spec string
	// Err is the *ParseError from reading Spec as a version.
	Err error
}

// Error implements error.
func (e *InvalidSpecError) Error() string {
	return fmt.Sprintf("invalid bump %q: want %s, %s, %s or an explicit version %s (e.g. %s)", e.Spec, Patch, Minor, Major, Form, Example)
}

// Unwrap returns the reason Spec is not a version.
func (e *InvalidSpecError) Unwrap() error { return e.Err }

// DowngradeError reports a bump to a lower version.
type DowngradeError struct {
	// From is the current version; To the requested lower one.
	From, To *semver.Version
}

// Error implements error.
func (e *DowngradeError) Error() string {
	return fmt.Sprintf("refusing to downgrade from %s to %s: a version, once published, is never reused; pick a version above %s or use %s", e.From, e.To, e.From, Patch)
}

// SameVersionError reports a bump to the current version. Build metadata does
// not count: 1.2.3+a and 1.2.3+b are the same version.
type SameVersionError struct {
	// Version is the current version.
	Version *semver.Version
}

// Error implements error.
func (e *SameVersionError) Error() string {
	return fmt.Sprintf("version is already %s; pick a higher version or use %s", e.Version, Patch)
}

// OverflowError reports a bump past the largest representable number.
type OverflowError struct {
	// Version is the current version.
	Version *semver.Version
	// Part is the part that cannot grow: patch, minor or major.
	Part string
}

// Error implements error.
func (e *OverflowError) Error() string {
	return fmt.Sprintf("cannot bump the %s part of %s: it is at its maximum; give an explicit version", e.Part, e.Version)
}

// Parse reads s as a strict semantic version X.Y.Z[-prerelease][+build]. It
// does not trim spaces and refuses a leading "v", partial versions (1.2) and
// leading zeros, returning a *ParseError.
func Parse(s string) (*semver.Version, error) {
	v, err := semver.StrictNewVersion(s)
	if err != nil {
		return nil, &ParseError{Input: s, Err: err}
	}
	return v, nil
}

// Next returns the version after cur according to spec: "patch", "minor" or
// "major" (semver bump semantics: patch on 1.3.0-rc.1 gives 1.3.0, and the
// result never has prerelease or build parts), or an explicit version that
// must be higher than cur. It fails with *InvalidSpecError, *DowngradeError,
// *SameVersionError, *OverflowError or ErrNilVersion.
func Next(cur *semver.Version, spec string) (*semver.Version, error) {
	if cur == nil {
		return nil, ErrNilVersion
	}
	var next semver.Version
	switch spec {
	case Patch:
		if cur.Prerelease() == "" && cur.Patch() == math.MaxUint64 {
			return nil, &OverflowError{Version: cur, Part: Patch}
		}
		next = cur.IncPatch()
	case Minor:
		if cur.Minor() == math.MaxUint64 {
			return nil, &OverflowError{Version: cur, Part: Minor}
		}
		next = cur.IncMinor()
	case Major:
		if cur.Major() == math.MaxUint64 {
			return nil, &OverflowError{Version: cur, Part: Major}
		}
		next = cur.IncMajor()
	default:
		v, err := Parse(spec)
		if err != nil {
			return nil, &InvalidSpecError{Spec: spec, Err: err}
		}
		switch c := v.Compare(cur); {
		case c < 0:
			return nil, &DowngradeError{From: cur, To: v}
		case c == 0:
			return nil, &SameVersionError{Version: cur}
		}
		return v, nil
	}
	return &next, nil
}
