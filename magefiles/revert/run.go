package revert

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/shiplane/shiplane/magefiles/goal"
	"github.com/shiplane/shiplane/magefiles/publish"
)

// Revert is one revert, configured, then Run.
type Revert struct {
	// Input is the decision's input; Run reads History and sets Now itself.
	Input
	Backends
	// Progress receives the plan and the goals' progress. Default: io.Discard.
	Progress io.Writer
	// DryRun assesses every goal and achieves none: the plan, as it would run. Default: false.
	DryRun bool
	// Workers bounds concurrent goals. Default: the engine's default.
	Workers int
}

// Run reads the release history (every published release and its manifest), decides, prints the
// plan, and runs its goals (assessing only, when DryRun). A refused plan writes nothing and
// returns its refusals; a release that is not there is nothing to do.
func (r Revert) Run(ctx context.Context) (*Plan, *goal.Report, error) {
	if r.Progress == nil {
		r.Progress = io.Discard
	}
	if r.Backends.Now == nil {
		r.Backends.Now = time.Now
	}
	history, err := publish.ReadHistory(ctx, r.GitHub)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the releases, to revert %s: %w", r.Tag, err)
	}
	in := r.Input
	in.History, in.Now = history, r.Backends.Now()
	p := Decide(in)
	fmt.Fprint(r.Progress, p.String())
	if err := p.Err(); err != nil {
		return p, nil, err
	}
	nodes := p.Nodes(r.Backends)
	if len(nodes) == 0 {
		return p, nil, nil
	}
	rep := goal.New(goal.WithWorkers(r.Workers), goal.WithProgress(r.Progress), goal.WithDryRun(r.DryRun)).Run(ctx, nodes)
	if r.DryRun {
		return p, rep, rep.Err()
	}
	return p, rep, Finish(r.Tag, rep)
}
