package plan

import (
	"fmt"
	"slices"
)

// The attestations a release attaches: every published image gets all three, every chart a
// signature and a provenance. Each is one step of kind Attestation, run after its artifact's push.
const (
	AttestSignature  = "signature"
	AttestSBOM       = "sbom"
	AttestProvenance = "provenance"
)

// AttestationsOf lists the attestations an artifact of kind k carries (none for a git tag or a
// release).
func AttestationsOf(k Kind) []string {
	switch k {
	case Image:
		return []string{AttestSignature, AttestSBOM, AttestProvenance}
	case Chart:
		return []string{AttestSignature, AttestProvenance}
	}
	return nil
}

// AttestationGoal names the goal of one attestation attached to the artifact at ref:
// "signature attached reg/core:1.2.0".
func AttestationGoal(what, ref string) string { return what + " attached " + ref }

// Signing is what the plan needs to decide the attestation steps. A nil *Signing in Input plans
// none and says nothing (a lane that never signs).
type Signing struct {
	// None: the settings say `signing: none`; the plan has no attestation step and says so in one
	// line. Default false.
	None bool
	// Source names where the mode was set, for that line (e.g. "deploy/settings.yaml").
	Source string
	// Unassessed, when set, says why this run cannot sign or assess (no key on this machine):
	// the plan has no attestation step and says so in one line (releaseAll refuses instead).
	Unassessed string
	// CannotSign, when set, says why this run cannot sign (SIGNING_KEY is not set) although it
	// could assess what is attached (with the committed public key): the attestation steps are
	// planned as a run with the key runs them, and the signing line says this machine cannot run
	// them. Default "": the run signs.
	CannotSign string
	// Attached is, for each published image or chart reference (Artifact.Ref), what one
	// assessment of its digest found attached by the release's signer. An artifact the plan
	// finds published with no answer here cannot be told.
	Attached map[string]Attached
}

// Attached is one assessment of what a published artifact carries.
type Attached struct {
	// Digest is the artifact's digest the assessment was about.
	Digest string
	// Have lists the attestations (AttestSignature …) attached by the release's signer.
	Have []string
	// Err: the assessment could not tell; every attestation of the artifact is refused.
	Err error
}

// attestationSteps are the steps attaching subject's attestations, decided from what is
// attached: a subject to publish gets every one, after its push; a published one the missing
// ones; anything else (refused, blocked, skipped) none.
func attestationSteps(sg *Signing, subject Step) []Step {
	if !sg.signs() {
		return nil
	}
	var out []Step
	for _, what := range AttestationsOf(subject.Kind) {
		a := Artifact{Kind: Attestation, Component: subject.Component, Goal: AttestationGoal(what, subject.Ref),
			Ref: subject.Ref, Repo: subject.Repo, Name: subject.Name, Version: subject.Version, Inputs: subject.Inputs,
			Predicate: what, Subject: subject.Kind, After: []string{subject.Goal}}
		s := Step{Artifact: a}
		switch subject.Decision {
		case Publish:
			s.Decision, s.Cause = Publish, "after its push"
		case AlreadyPublished:
			s.Digest = subject.Digest
			ans, ok := sg.Attached[subject.Ref]
			switch {
			case !ok:
				cannotTell(&s, fmt.Errorf("%s: what is attached to %s was not assessed", s.Goal, subject.Ref))
			case ans.Err != nil:
				cannotTell(&s, ans.Err)
			case ans.Digest != subject.Digest:
				cannotTell(&s, fmt.Errorf("%s: assessed %s at %s, but the plan found %s", s.Goal, subject.Ref, ans.Digest, subject.Digest))
			case slices.Contains(ans.Have, what):
				s.Decision, s.Cause = AlreadyPublished, "attached, signed by the release key"
			default:
				s.Decision, s.Cause = Publish, "not attached"
			}
		default:
			continue
		}
		out = append(out, s)
	}
	return out
}

// withAttestations adds the attestation steps of e's images and charts, each after its artifact,
// and makes the release wait for them (it publishes the signed manifest of what is signed).
func withAttestations(sg *Signing, p *Plan) {
	if !sg.signs() {
		return
	}
	var goals []string
	var release *Step
	for li := range p.Levels {
		for ei := range p.Levels[li] {
			e := &p.Levels[li][ei]
			var steps []Step
			for _, s := range e.Steps {
				steps = append(steps, s)
				for _, a := range attestationSteps(sg, s) {
					steps = append(steps, a)
					goals = append(goals, a.Goal)
				}
			}
			e.Steps = steps
		}
	}
	for li := range p.Levels {
		for ei := range p.Levels[li] {
			for si := range p.Levels[li][ei].Steps {
				if s := &p.Levels[li][ei].Steps[si]; s.Kind == Release {
					release = s
				}
			}
		}
	}
	if release != nil && len(goals) > 0 {
		release.After = append(append([]string(nil), release.After...), goals...)
	}
}

// signingLine is the plan's line about signing, "" when the plan does not sign.
func (p *Plan) signingLine() string {
	switch {
	case p.Signing == nil:
		return ""
	case p.Signing.None:
		src := ""
		if p.Signing.Source != "" {
			src = " (" + p.Signing.Source + ")"
		}
		return "signing: none" + src + ": nothing is signed, and no SBOM or provenance is attached"
	case p.Signing.Unassessed != "":
		return "signing: not assessed here (" + p.Signing.Unassessed + "); releaseAll attaches a signature, SBOM and provenance to each image, a signature and provenance to each chart"
	}
	line := fmt.Sprintf("signing: %d attestation(s) to attach, %d attached", p.CountAttestations(Publish), p.CountAttestations(AlreadyPublished))
	if p.Signing.CannotSign != "" {
		line += " (assessed with the public key; this machine cannot sign them: " + p.Signing.CannotSign + ")"
	}
	return line
}

// ManifestBundleAsset is the release asset holding the Sigstore bundle of release-manifest.json.
const ManifestBundleAsset = "release-manifest.json.sigstore.json"

// withSignedManifest adds ManifestBundleAsset to the assets of every release that carries
// release-manifest.json, when the plan signs. It copies what it changes.
func withSignedManifest(sg *Signing, cs []Component) []Component {
	if !sg.signs() {
		return cs
	}
	out := append([]Component(nil), cs...)
	for i := range out {
		arts := append([]Artifact(nil), out[i].Artifacts...)
		for j := range arts {
			a := &arts[j]
			if a.Kind != Release || !slices.ContainsFunc(a.Assets, func(x Asset) bool { return x.Name == "release-manifest.json" }) ||
				slices.ContainsFunc(a.Assets, func(x Asset) bool { return x.Name == ManifestBundleAsset }) {
				continue
			}
			a.Assets = append(append([]Asset(nil), a.Assets...), Asset{Name: ManifestBundleAsset})
		}
		out[i].Artifacts = arts
	}
	return out
}

// signs reports whether the plan has attestation steps.
func (sg *Signing) signs() bool { return sg != nil && !sg.None && sg.Unassessed == "" }
