// Package plan decides, for every component and every artifact of a release, what a release would
// do, from what is published and never from local state: publish what is missing, leave what is
// published from the same inputs, refuse what is published from other inputs or changed without a
// version bump, and block what depends on a component that is never published. It is pure: it
// reads the published state through published.State and imports no backend.
package plan

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/shiplane/shiplane/magefiles/graph"
	"github.com/shiplane/shiplane/magefiles/guard"
	"github.com/shiplane/shiplane/magefiles/identity"
	"github.com/shiplane/shiplane/magefiles/published"
)

// Decision is what the release does with one artifact.
type Decision int

// The decisions.
const (
	Publish Decision = iota
	AlreadyPublished
	Refuse
	Blocked
	Skip
)

func (d Decision) String() string {
	switch d {
	case Publish:
		return "publish"
	case AlreadyPublished:
		return "ok (already published, same inputs)"
	case Refuse:
		return "refuse"
	case Blocked:
		return "blocked"
	default:
		return "skip"
	}
}

// Component is one component as the release sees it.
type Component struct {
	Name, Version string
	DependsOn     []string
	Publish       bool
	Artifacts     []Artifact
	// Facts are the component's guard facts (its tag and inputs at the tag, for changed-without-bump).
	Facts guard.ComponentFacts
}

// Input is everything a plan is made from.
type Input struct {
	// Tag is the release tag, for the heading.
	Tag, Commit string
	// Manifest is the components file, named by blocked refusals.
	Manifest string
	// Components in any order; the plan orders them in topological levels.
	Components []Component
	// Refusals are release-wide guardrail violations found before planning (dirty tree, tag mismatch …).
	Refusals []error
	// AllowBlocked publishes the rest when some components are blocked (ALLOW_BLOCKED=1).
	AllowBlocked bool
	// Signing decides the attestation steps (attest.go). Default nil: none, and no plan line.
	Signing *Signing
	// HelmProv decides the release's .prov assets (helmprov.go). Default nil: none, and no plan
	// line.
	HelmProv *HelmProv
}

// Step is one artifact's decision and its cause. It carries its artifact, so the goal that runs
// it is made from the step alone.
type Step struct {
	Artifact
	Decision Decision
	Cause    string
	// Err is the guardrail error behind a Refuse or Blocked decision.
	Err error
}

// Entry is one component in the plan.
type Entry struct {
	Name, Version string
	Steps         []Step
}

// Plan is what a release would do.
type Plan struct {
	Tag, Commit  string
	Levels       [][]Entry
	Refusals     []error
	AllowBlocked bool
	// PipelineFile and Pipeline are the release file and its goals, section by section, as the
	// release runs them; empty when there is no release file.
	PipelineFile string
	Pipeline     []PipelineGoal
	// Signing is the input's (nil: the plan does not sign).
	Signing *Signing
	// HelmProv is the input's (nil: no .prov assets, no plan line).
	HelmProv *HelmProv
}

// PipelineGoal is one goal of the release file as the plan lists it.
type PipelineGoal struct {
	// Section is verify, publish or after_publish; Name the goal's name.
	Section, Name string
	// Kind is the goal's kind, or "" for a built-in publish goal (Builtin).
	Kind    string
	Builtin bool
	// Optional: its failure fails nothing. Effectful: it may be already achieved; otherwise it is
	// a check, run in every release. Enabled false: listed, never run. Default: the file does not
	// list it.
	Optional, Effectful, Enabled, Default bool
	// After names the goals of its section it runs after.
	After []string
}

// runs reports whether the goal runs in this release: a disabled goal never does, and verify
// and publish goals of the file only when something is to publish.
func (p *Plan) runs(g PipelineGoal) (bool, string) {
	switch {
	case !g.Enabled:
		return false, "disabled"
	case !g.Builtin && g.Section != "after_publish" && p.Count(Publish) == 0:
		return false, "nothing to publish"
	}
	return true, ""
}

// describe is the goal's line in the plan: "after_publish: notify chat (webhook, optional)".
func (p *Plan) describe(g PipelineGoal) string {
	var traits []string
	if g.Builtin {
		traits = append(traits, "built-in")
	} else {
		traits = append(traits, g.Kind)
		if g.Effectful {
			traits = append(traits, "effectful")
		} else {
			traits = append(traits, "check")
		}
	}
	if g.Optional {
		traits = append(traits, "optional")
	}
	if g.Default {
		traits = append(traits, "default")
	}
	if len(g.After) > 0 {
		traits = append(traits, "after "+strings.Join(g.After, ", "))
	}
	line := fmt.Sprintf("%s: %s (%s)", g.Section, g.Name, strings.Join(traits, ", "))
	if ok, why := p.runs(g); !ok {
		line += ": not run (" + why + ")"
	}
	return line
}

// Query is every question the plan of in asks about what is published: observe it once
// (published.Observe), then Make decides from the snapshot.
func (in Input) Query() published.Query {
	var q published.Query
	for _, c := range in.Components {
		for _, a := range c.Artifacts {
			switch a.Kind {
			case Image:
				q.Images = append(q.Images, a.Ref)
			case Chart:
				q.Charts = append(q.Charts, published.ChartQuery{Repo: a.Repo, Name: a.Name, Version: a.Version})
				for _, p := range a.Pins {
					q.Images = append(q.Images, p.Ref)
				}
			case GitTag:
				q.Tags = append(q.Tags, a.Ref)
			case Release:
				q.Releases = append(q.Releases, a.Ref)
			}
		}
	}
	return q
}

// Make decides every artifact from the snapshot. It is pure: the same input and snapshot give the
// same plan. An answer the snapshot could not have refuses its artifact ("cannot tell"), so the
// plan still shows everything it could decide.
func Make(in Input, snap *published.Snapshot) (*Plan, error) {
	in.Components = withSignedManifest(in.Signing, in.Components)
	in.Components = withHelmProv(in.HelmProv, in.Components)
	nodes := make([]graph.Node, len(in.Components))
	byName := map[string]*Component{}
	for i := range in.Components {
		c := &in.Components[i]
		nodes[i] = graph.Node{Name: c.Name, DependsOn: c.DependsOn, Publish: c.Publish}
		byName[c.Name] = c
	}
	g, err := graph.New(nodes)
	if err != nil {
		return nil, err
	}
	levels, err := g.Levels()
	if err != nil {
		return nil, err
	}
	blocked := g.Blocked()
	p := &Plan{Tag: in.Tag, Commit: in.Commit, Refusals: append([]error(nil), in.Refusals...), AllowBlocked: in.AllowBlocked}
	for _, level := range levels {
		var entries []Entry
		for _, name := range level {
			entries = append(entries, decide(byName[name], in.Manifest, blocked, snap))
		}
		p.Levels = append(p.Levels, entries)
	}
	p.Signing, p.HelmProv = in.Signing, in.HelmProv
	withAttestations(in.Signing, p)
	return p, nil
}

// Unobserved is the plan of a lane that does not decide from a snapshot (the dev lane): every
// artifact of a publishable component is to publish, and its goal assesses it.
func Unobserved(in Input) *Plan {
	p := &Plan{Tag: in.Tag, Commit: in.Commit, Refusals: append([]error(nil), in.Refusals...), AllowBlocked: in.AllowBlocked}
	var entries []Entry
	for _, c := range in.Components {
		e := Entry{Name: c.Name, Version: c.Version}
		for _, a := range c.Artifacts {
			s := Step{Artifact: a, Decision: Publish, Cause: "assessed by its goal"}
			if !c.Publish {
				s.Decision, s.Cause = Skip, "publish: false"
			}
			e.Steps = append(e.Steps, s)
		}
		entries = append(entries, e)
	}
	p.Levels = [][]Entry{entries}
	return p
}

func decide(c *Component, manifest string, blocked map[string]graph.Block, snap *published.Snapshot) Entry {
	e := Entry{Name: c.Name, Version: c.Version}
	all := func(d Decision, cause string, err error) Entry {
		for _, a := range c.Artifacts {
			e.Steps = append(e.Steps, Step{Artifact: a, Decision: d, Cause: cause, Err: err})
		}
		return e
	}
	if !c.Publish {
		return all(Skip, "publish: false", nil)
	}
	artifacts := c.Artifacts
	if b, ok := blocked[c.Name]; ok {
		err := &guard.Blocked{Component: c.Name, Immediate: b.Immediate, Causes: b.Causes, Manifest: manifest}
		cause := fmt.Sprintf("by %s (never published: %s)", strings.Join(b.Immediate, ", "), strings.Join(b.Causes, ", "))
		// The release itself is never blocked with its component (the umbrella): it carries what
		// is not blocked (its expected assets leave the blocked out), and its notes say what is.
		artifacts = nil
		for _, a := range c.Artifacts {
			if a.Kind == Release {
				artifacts = append(artifacts, a)
			} else {
				e.Steps = append(e.Steps, Step{Artifact: a, Decision: Blocked, Cause: cause, Err: err})
			}
		}
	} else if err := guard.Bumped(c.Facts); err != nil {
		var cwb *guard.ChangedWithoutBump
		cause := err.Error()
		if errors.As(err, &cwb) {
			cause = fmt.Sprintf("changed since %s without a version bump", cwb.Tag)
		}
		return all(Refuse, cause, err)
	}
	for _, a := range artifacts {
		s := Step{Artifact: a}
		switch a.Kind {
		case Image, Chart:
			where, present, have, digest, err := "label", false, "", "", error(nil)
			if a.Kind == Image {
				var img published.Image
				img, err = snap.Image(a.Ref)
				present, have, digest = img.Present, img.Inputs, img.Digest
			} else {
				var ch published.Chart
				ch, err = snap.Chart(a.Repo, a.Name, a.Version)
				where, present, have, digest = "annotation", ch.Present, ch.Inputs, ch.Digest
			}
			if err != nil {
				cannotTell(&s, err)
				break
			}
			if a.Kind == Chart && len(a.Pins) > 0 {
				if err := pinnedChart(&s, c, snap, present, have, digest); err != nil {
					cannotTell(&s, err)
				}
				break
			}
			s.Decision, s.Cause, s.Err = ByInputs(c.Name, c.Version, a, where, present, have)
			if s.Decision == AlreadyPublished {
				s.Digest = digest
			}
		case Release:
			r, err := snap.Release(a.Ref)
			switch {
			case err != nil:
				cannotTell(&s, err)
			case !r.Present:
				s.Decision, s.Cause = Publish, "no release for the tag"
			case r.Draft:
				s.Decision, s.Cause = Publish, "a draft exists: finish it"
			default:
				s.Decision, s.Cause = releaseAssets(a, r, func(component string) bool {
					_, b := blocked[component]
					return b
				})
			}
		case GitTag:
			t, err := snap.Tag(a.Ref)
			switch {
			case err != nil:
				cannotTell(&s, err)
			case t.Present:
				// The tag of this version exists; Bumped above proved its inputs equal HEAD's.
				s.Decision, s.Cause, s.Digest = AlreadyPublished, "tag exists at "+short(t.Commit), t.Commit
			default:
				s.Decision, s.Cause = Publish, "tag not on the remote"
			}
		}
		e.Steps = append(e.Steps, s)
	}
	return e
}

// pinnedChart decides a chart that pins images: its identity is its files plus the digests its
// pinned references hold now (PinnedInputs). Not published: publish, after its images. Published
// while a pinned image is not: it pins something else, and the version was not bumped.
func pinnedChart(s *Step, c *Component, snap *published.Snapshot, present bool, have, digest string) error {
	if !present {
		s.Decision, s.Cause = Publish, "not published"
		return nil
	}
	var unknown error
	want, ok := PinnedInputs(s.Artifact, func(ref string) string {
		img, err := snap.Image(ref)
		if err != nil {
			unknown = err
		}
		return img.Digest
	})
	if unknown != nil {
		return unknown
	}
	a := s.Artifact
	if !ok {
		a.Inputs = "a chart pinning images not yet published"
	} else {
		a.Inputs = want
	}
	s.Decision, s.Cause, s.Err = ByInputs(c.Name, c.Version, a, "annotation", present, have)
	if s.Decision == AlreadyPublished {
		s.Digest = digest // Inputs stays the files' key: PinnedInputs derives from it
	}
	return nil
}

// releaseAssets decides a published release by its assets: exactly the expected names (those of
// components not blocked) → already published; any missing → publish (the goal completes it);
// any foreign → publish (the goal stops with the asset to delete).
func releaseAssets(a Artifact, r published.Release, blocked func(string) bool) (Decision, string) {
	want := map[string]bool{}
	for _, x := range a.Assets {
		if !blocked(x.Component) {
			want[x.Name] = true
		}
	}
	have := map[string]bool{}
	var foreign, missing []string
	for _, n := range r.Assets {
		if published.IsRecord(n) {
			continue // an after-publish goal's record, not the release's content
		}
		have[n] = true
		if !want[n] {
			foreign = append(foreign, n)
		}
	}
	for n := range want {
		if !have[n] {
			missing = append(missing, n)
		}
	}
	sort.Strings(missing)
	sort.Strings(foreign)
	switch {
	case len(a.Assets) == 0:
		return AlreadyPublished, "" // nothing expected of it
	case len(missing) > 0:
		return Publish, fmt.Sprintf("published without %s: complete it", strings.Join(missing, ", "))
	case len(foreign) > 0:
		return Publish, fmt.Sprintf("published with foreign assets %s: remove them", strings.Join(foreign, ", "))
	}
	return AlreadyPublished, "its assets are all there"
}

// cannotTell turns an answer that could not be had into a refused step.
func cannotTell(s *Step, err error) {
	s.Decision, s.Cause, s.Err = Refuse, "cannot tell whether it is published", err
}

// ByInputs decides an artifact from what its registry holds at its reference, with the one
// same-inputs decision (guard.SameInputs): absent → publish; the current inputs → already
// published; other inputs → refuse (the version was not bumped); no key, or unknown current
// inputs → refuse (cannot tell). where names where the key lives ("label", "annotation").
func ByInputs(component, version string, a Artifact, where string, present bool, have string) (Decision, string, error) {
	if !present {
		return Publish, "not published", nil
	}
	m, err := guard.SameInputs(guard.Subject{Component: component, Version: version, Ref: a.Ref, Where: where}, have, a.Inputs)
	switch m {
	case guard.Same:
		return AlreadyPublished, "", nil
	case guard.Different:
		return Refuse, "published from other inputs: the version was not bumped", err
	default:
		if have == "" {
			return Refuse, fmt.Sprintf("cannot tell: published without a %s %s", identity.LabelInputs, where), err
		}
		return Refuse, "cannot tell: the current inputs are unknown", err
	}
}

func short(commit string) string {
	if len(commit) > 12 {
		return commit[:12]
	}
	return commit
}

// Count returns how many artifact steps (attestations aside: CountAttestations) have the decision.
func (p *Plan) Count(d Decision) int {
	return p.count(d, func(k Kind) bool { return k != Attestation })
}

// CountAttestations returns how many attestation steps have the decision.
func (p *Plan) CountAttestations(d Decision) int {
	return p.count(d, func(k Kind) bool { return k == Attestation })
}

func (p *Plan) count(d Decision, kind func(Kind) bool) int {
	n := 0
	for _, l := range p.Levels {
		for _, e := range l {
			for _, s := range e.Steps {
				if s.Decision == d && kind(s.Kind) {
					n++
				}
			}
		}
	}
	return n
}

// Steps returns the steps with the decision, level by level.
func (p *Plan) Steps(d Decision) []Step {
	var out []Step
	for _, l := range p.Levels {
		for _, e := range l {
			for _, st := range e.Steps {
				if st.Decision == d {
					out = append(out, st)
				}
			}
		}
	}
	return out
}

// Err is nil when a release may go ahead: no release-wide refusal, no refused artifact, and no
// blocked one unless AllowBlocked.
func (p *Plan) Err() error {
	errs := append([]error(nil), p.Refusals...)
	seen := map[string]bool{}
	for _, l := range p.Levels {
		for _, e := range l {
			for _, s := range e.Steps {
				if s.Err == nil || (s.Decision == Blocked && p.AllowBlocked) {
					continue
				}
				if msg := s.Err.Error(); !seen[msg] {
					seen[msg] = true
					errs = append(errs, s.Err)
				}
			}
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return &RefusedError{Errs: errs}
}

// RefusedError is a plan the release refuses.
type RefusedError struct{ Errs []error }

func (e *RefusedError) Error() string {
	lines := make([]string, len(e.Errs))
	for i, err := range e.Errs {
		lines[i] = "  - " + err.Error()
	}
	return fmt.Sprintf("the release is refused before any write:\n%s", strings.Join(lines, "\n"))
}

// Unwrap returns the refusals, so errors.As finds each guardrail error.
func (e *RefusedError) Unwrap() []error { return e.Errs }

// String is every level, component and artifact with its decision and cause, then the refusals
// and the verdict.
func (p *Plan) String() string { return p.render(true) }

// Brief is String without the list of refusals (the verdict still counts them): what a lane
// prints before it returns Err, which lists them, so that each refusal is printed once.
func (p *Plan) Brief() string { return p.render(false) }

func (p *Plan) render(refusals bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "release %s", p.Tag)
	if p.Commit != "" {
		fmt.Fprintf(&b, " at %s", short(p.Commit))
	}
	b.WriteString("\n")
	for i, l := range p.Levels {
		fmt.Fprintf(&b, "level %d\n", i)
		for _, e := range l {
			fmt.Fprintf(&b, "  %s %s\n", e.Name, e.Version)
			if len(e.Steps) == 0 {
				b.WriteString("    (nothing to publish)\n")
			}
			for _, s := range e.Steps {
				fmt.Fprintf(&b, "    %s: %s", s.Goal, s.Decision)
				if s.Cause != "" {
					fmt.Fprintf(&b, " (%s)", s.Cause)
				}
				b.WriteString("\n")
			}
		}
	}
	if line := p.signingLine(); line != "" {
		b.WriteString(line + "\n")
	}
	if line := p.helmProvLine(); line != "" {
		b.WriteString(line + "\n")
	}
	if len(p.Pipeline) > 0 {
		fmt.Fprintf(&b, "pipeline %s\n", p.PipelineFile)
		for _, g := range p.Pipeline {
			fmt.Fprintf(&b, "  %s\n", p.describe(g))
		}
	}
	if err := p.Err(); err != nil {
		var re *RefusedError
		errors.As(err, &re)
		msgs := make([]string, len(re.Errs))
		for i, e := range re.Errs {
			msgs[i] = e.Error()
		}
		sort.Strings(msgs)
		if refusals {
			b.WriteString("refusals:\n")
			for _, m := range msgs {
				fmt.Fprintf(&b, "  - %s\n", m)
			}
		}
		fmt.Fprintf(&b, "verdict: releaseAll would refuse (%d refusal(s)); nothing would be written\n", len(msgs))
		return b.String()
	}
	fmt.Fprintf(&b, "verdict: releaseAll would publish %d artifact(s); %d already published", p.Count(Publish), p.Count(AlreadyPublished))
	if n := p.CountAttestations(Publish); n > 0 {
		fmt.Fprintf(&b, "; %d attestation(s) to attach", n)
	}
	if n := p.Count(Blocked); n > 0 {
		fmt.Fprintf(&b, "; %d blocked (ALLOW_BLOCKED=1)", n)
	}
	b.WriteString("\n")
	return b.String()
}
