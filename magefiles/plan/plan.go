// Package plan decides, for every component and every artifact of a release, what a release would
// do, from what is published and never from local state: publish what is missing, leave what is
// published from the same inputs, refuse what is published from other inputs or changed without a
// version bump, and block what depends on a component that is never published. It is pure: it
// reads the published state through published.State and imports no backend.
package plan

import (
	"context"
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

// Kind is the kind of artifact.
type Kind int

// The artifact kinds.
const (
	Image Kind = iota
	Chart
	GitTag
	// Release is the GitHub release of the tag in Ref.
	Release
)

// Artifact is one thing a component publishes.
type Artifact struct {
	Kind Kind
	// Goal is the end state's name ("image pushed reg/core:1.2.0").
	Goal string
	// Ref is the image reference, or the git tag name.
	Ref string
	// Repo, Name and Version locate a chart ("oci://host/charts", "core", "1.2.0").
	Repo, Name, Version string
	// Inputs is the key the artifact must carry to count as published from the current inputs.
	Inputs string
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
}

// Step is one artifact's decision and its cause.
type Step struct {
	Goal string
	// Kind is the kind of artifact the step publishes.
	Kind     Kind
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
}

// Make decides every artifact. An answer the published state cannot give is an error: the plan is
// not made rather than made on a guess.
func Make(ctx context.Context, in Input, state published.State) (*Plan, error) {
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
			c := byName[name]
			e, err := decide(ctx, c, in.Manifest, blocked, state)
			if err != nil {
				return nil, err
			}
			entries = append(entries, e)
		}
		p.Levels = append(p.Levels, entries)
	}
	return p, nil
}

func decide(ctx context.Context, c *Component, manifest string, blocked map[string]graph.Block, state published.State) (Entry, error) {
	e := Entry{Name: c.Name, Version: c.Version}
	all := func(d Decision, cause string, err error) Entry {
		for _, a := range c.Artifacts {
			e.Steps = append(e.Steps, Step{Goal: a.Goal, Kind: a.Kind, Decision: d, Cause: cause, Err: err})
		}
		return e
	}
	if !c.Publish {
		return all(Skip, "publish: false", nil), nil
	}
	if b, ok := blocked[c.Name]; ok {
		err := &guard.Blocked{Component: c.Name, Immediate: b.Immediate, Causes: b.Causes, Manifest: manifest}
		return all(Blocked, fmt.Sprintf("by %s (never published: %s)", strings.Join(b.Immediate, ", "), strings.Join(b.Causes, ", ")), err), nil
	}
	if err := guard.Bumped(c.Facts); err != nil {
		var cwb *guard.ChangedWithoutBump
		cause := err.Error()
		if errors.As(err, &cwb) {
			cause = fmt.Sprintf("changed since %s without a version bump", cwb.Tag)
		}
		return all(Refuse, cause, err), nil
	}
	for _, a := range c.Artifacts {
		s := Step{Goal: a.Goal, Kind: a.Kind}
		switch a.Kind {
		case Image:
			img, err := state.Image(ctx, a.Ref)
			if err != nil {
				if unknown(&s, err) {
					e.Steps = append(e.Steps, s)
					continue
				}
				return e, err
			}
			s.Decision, s.Cause, s.Err = byInputs(c, a.Ref, "label", img.Present, img.Inputs, a.Inputs)
		case Chart:
			ch, err := state.Chart(ctx, a.Repo, a.Name, a.Version)
			if err != nil {
				if unknown(&s, err) {
					e.Steps = append(e.Steps, s)
					continue
				}
				return e, err
			}
			ref := strings.TrimPrefix(a.Repo, "oci://") + "/" + a.Name + ":" + a.Version
			s.Decision, s.Cause, s.Err = byInputs(c, ref, "annotation", ch.Present, ch.Inputs, a.Inputs)
		case Release:
			r, err := state.Release(ctx, a.Ref)
			if err != nil {
				if unknown(&s, err) {
					e.Steps = append(e.Steps, s)
					continue
				}
				return e, err
			}
			switch {
			case !r.Present:
				s.Decision, s.Cause = Publish, "no release for the tag"
			case r.Draft:
				s.Decision, s.Cause = Publish, "a draft exists: finish it"
			default:
				s.Decision = AlreadyPublished
			}
		case GitTag:
			t, err := state.Tag(ctx, a.Ref)
			if err != nil {
				if unknown(&s, err) {
					e.Steps = append(e.Steps, s)
					continue
				}
				return e, err
			}
			if t.Present {
				// The tag of this version exists; Bumped above proved its inputs equal HEAD's.
				s.Decision, s.Cause = AlreadyPublished, "tag exists at "+short(t.Commit)
			} else {
				s.Decision, s.Cause = Publish, "tag not on the remote"
			}
		}
		e.Steps = append(e.Steps, s)
	}
	return e, nil
}

// byInputs decides an artifact from what the registry holds at its reference: absent → publish;
// carrying the current inputs → already published; carrying other inputs → refuse. An artifact
// without an inputs key, or current inputs that are unknown, cannot be decided: a *guard.CannotTell,
// refused, never read as "already published" (two empty keys are not a match). what names where
// the key lives ("label" on an image, "annotation" on a chart manifest).
// unknown turns an answer that could not be had into a refused step, so the plan still shows
// everything it could decide; any other error stops the plan.
func unknown(s *Step, err error) bool {
	if !errors.Is(err, published.ErrUnknown) {
		return false
	}
	s.Decision, s.Cause, s.Err = Refuse, "cannot tell whether it is published", err
	return true
}

func byInputs(c *Component, ref, what string, present bool, have, want string) (Decision, string, error) {
	question := fmt.Sprintf("whether %s was built from the current inputs", ref)
	switch {
	case !present:
		return Publish, "not published", nil
	case have == "":
		err := &guard.CannotTell{
			Check: guard.PublishedInputsName, Component: c.Name, Question: question,
			Reason: fmt.Sprintf("the artifact at %s carries no %s %s: it was not published by shiplane", ref, identity.LabelInputs, what),
			Fix:    fmt.Sprintf("bump the version: run: %s %s patch (published versions are never overwritten)", guard.BumpCommand, c.Name),
		}
		return Refuse, fmt.Sprintf("cannot tell: published without a %s %s", identity.LabelInputs, what), err
	case want == "":
		err := &guard.CannotTell{
			Check: guard.PublishedInputsName, Component: c.Name, Question: question,
			Reason: "the current inputs are unknown",
			Fix:    "check that the component's source paths exist at HEAD and retry",
		}
		return Refuse, "cannot tell: the current inputs are unknown", err
	case have == want:
		return AlreadyPublished, "", nil
	default:
		err := &guard.PublishedWithDifferentInputs{Component: c.Name, Version: c.Version, Artifact: ref, Published: have, Current: want}
		return Refuse, "published from other inputs: the version was not bumped", err
	}
}

func short(commit string) string {
	if len(commit) > 12 {
		return commit[:12]
	}
	return commit
}

// Count returns how many steps have the decision.
func (p *Plan) Count(d Decision) int {
	n := 0
	for _, l := range p.Levels {
		for _, e := range l {
			for _, s := range e.Steps {
				if s.Decision == d {
					n++
				}
			}
		}
	}
	return n
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

// String is what releasePlan prints: every level, component and artifact with its decision and
// cause, then the refusals and the verdict.
func (p *Plan) String() string {
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
	if err := p.Err(); err != nil {
		var re *RefusedError
		errors.As(err, &re)
		msgs := make([]string, len(re.Errs))
		for i, e := range re.Errs {
			msgs[i] = e.Error()
		}
		sort.Strings(msgs)
		b.WriteString("refusals:\n")
		for _, m := range msgs {
			fmt.Fprintf(&b, "  - %s\n", m)
		}
		fmt.Fprintf(&b, "verdict: releaseAll would refuse (%d refusal(s)); nothing would be written\n", len(msgs))
		return b.String()
	}
	fmt.Fprintf(&b, "verdict: releaseAll would publish %d artifact(s); %d already published", p.Count(Publish), p.Count(AlreadyPublished))
	if n := p.Count(Blocked); n > 0 {
		fmt.Fprintf(&b, "; %d blocked (ALLOW_BLOCKED=1)", n)
	}
	b.WriteString("\n")
	return b.String()
}
