package guard

import (
	"fmt"

	"github.com/shiplane/shiplane/magefiles/version"
)

// Match is the answer to "was this published artifact made from the current inputs?".
type Match int

// The answers. There is no "probably": an artifact that carries no inputs key, or current inputs
// that are unknown, cannot be told apart, and a release refuses rather than guess.
const (
	// Same: the artifact carries the current inputs key; it is ours and up to date.
	Same Match = iota
	// Different: the artifact carries another inputs key; the version was not bumped.
	Different
	// CannotTellMatch: no key on the artifact, or none for the current inputs.
	CannotTellMatch
)

func (m Match) String() string {
	switch m {
	case Same:
		return "same"
	case Different:
		return "different"
	default:
		return "cannot tell"
	}
}

// Subject names the published artifact a SameInputs question is about.
type Subject struct {
	// Component and Version are the component's; Component "" means the umbrella/platform.
	Component, Version string
	// Ref is the artifact's reference ("reg/core:1.2.0", "reg/charts/core:1.2.0").
	Ref string
	// Where is where the key lives on the artifact: "label" (image) or "annotation" (chart).
	Where string
}

// SameInputs is the one decision, used by the release plan, by every publishing goal's Assess and
// by its re-check right before a write: does the published artifact (carrying have) hold the
// current inputs (want)? Different comes with a *PublishedWithDifferentInputs, CannotTellMatch
// with a *CannotTell; both name the component and the bump command that fixes them.
func SameInputs(s Subject, have, want string) (Match, error) {
	question := fmt.Sprintf("whether %s was built from the current inputs", s.Ref)
	switch {
	case have == "":
		return CannotTellMatch, &CannotTell{
			Check: PublishedInputsName, Component: s.Component, Question: question,
			Reason: fmt.Sprintf("the artifact at %s carries no dev.shiplane.inputs %s: it was not published by shiplane", s.Ref, orWord(s.Where, "label")),
			Fix:    fmt.Sprintf("bump the version: run: %s (published versions are never overwritten)", bump(s.Component, version.Patch)),
		}
	case want == "":
		return CannotTellMatch, &CannotTell{
			Check: PublishedInputsName, Component: s.Component, Question: question,
			Reason: "the current inputs are unknown",
			Fix:    "check that the component's source paths exist at HEAD and retry",
		}
	case have == want:
		return Same, nil
	default:
		return Different, &PublishedWithDifferentInputs{Component: s.Component, Version: s.Version, Artifact: s.Ref, Published: have, Current: want}
	}
}

func orWord(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
