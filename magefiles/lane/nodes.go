package lane

import (
	"context"
	"fmt"

	"github.com/shiplane/shiplane/magefiles/goal"
	"github.com/shiplane/shiplane/magefiles/manifest"
	"github.com/shiplane/shiplane/magefiles/plan"
	"github.com/shiplane/shiplane/magefiles/platform"
)

// GoalMaker makes the goal that achieves one planned step, and the local build an image step
// needs. The lanes' real maker wires the registry, chart, git and GitHub clients
// (publishGoals); a test's maker records.
type GoalMaker interface {
	// Build is the goal "image built" of c for platform p, in the local daemon.
	Build(c *manifest.Component, p platform.Platform) goal.Goal
	// Publish is the goal that achieves s.
	Publish(s plan.Step) goal.Goal
}

// Nodes is the one place a plan becomes goal nodes: exactly one node per step the plan decided
// to publish, and nothing for a step that is already published, skipped, blocked or refused.
// Each image to publish gets the local builds it needs, one per platform it is built for
// (Workspace.Platforms), each after its base image's build for the same platform; every
// build and publishing node waits for first (the verification goals), and each waits for the nodes of
// the artifacts it references (Artifact.After) that are in the run.
func (w *Workspace) Nodes(pl *plan.Plan, mk GoalMaker, first []*goal.Node) []*goal.Node {
	steps := pl.Steps(plan.Publish)
	byGoal := map[string]*goal.Node{}
	var pubs []*goal.Node
	for _, s := range steps {
		n := &goal.Node{Component: s.Component}
		byGoal[s.Goal] = n
		pubs = append(pubs, n)
	}

	// The builds: every component whose image is to publish, for each of its platforms, and
	// the images it is built FROM, for the same platform.
	type key struct {
		name string
		p    platform.Platform
	}
	builds := map[key]*goal.Node{}
	var buildNodes []*goal.Node
	var build func(c *manifest.Component, p platform.Platform) *goal.Node
	build = func(c *manifest.Component, p platform.Platform) *goal.Node {
		if n, ok := builds[key{c.Name, p}]; ok {
			return n
		}
		// Builds read the work tree: they wait for first too (verification may write files).
		n := &goal.Node{Component: c.Name, Goal: mk.Build(c, p), After: append([]*goal.Node(nil), first...)}
		builds[key{c.Name, p}] = n
		if from := w.baseOf(c); from != nil {
			n.After = append(n.After, build(from, p))
		}
		buildNodes = append(buildNodes, n)
		return n
	}
	for i, s := range steps {
		n := pubs[i]
		n.After = append(n.After, first...)
		if s.Kind == plan.Image {
			c := w.Manifest.Component(s.Component)
			for _, p := range w.Platforms(c) {
				n.After = append(n.After, build(c, p))
			}
		}
		for _, g := range s.After {
			if dep := byGoal[g]; dep != nil {
				n.After = append(n.After, dep)
			}
		}
		n.Goal = mk.Publish(s)
	}
	out := append(append(append([]*goal.Node(nil), first...), buildNodes...), pubs...)
	// What the plan found published is reported as such, from the plan: assessed, never achieved.
	for _, s := range pl.Steps(plan.AlreadyPublished) {
		out = append(out, &goal.Node{Component: s.Component, Goal: settled{s}})
	}
	return out
}

// settled is a step the plan found already published: its assessment is the plan's, so the
// report lists it as already achieved without asking again, and it is never achieved.
type settled struct{ s plan.Step }

func (g settled) String() string { return g.s.Goal }

func (g settled) Assess(context.Context) (goal.State, error) {
	return goal.State{Achieved: true, Digest: g.s.Digest, Detail: g.s.Cause}, nil
}

func (g settled) Achieve(context.Context) error {
	return fmt.Errorf("%s: the plan found it published; nothing to write", g.s.Goal)
}

// baseOf is the component c's image is built FROM, when that is one of ours with an image.
func (w *Workspace) baseOf(c *manifest.Component) *manifest.Component {
	if c == nil || c.Image == nil || c.Image.From == "" || c.Image.From == c.Name {
		return nil
	}
	if from := w.Manifest.Component(c.Image.From); from != nil && from.Image != nil {
		return from
	}
	return nil
}
