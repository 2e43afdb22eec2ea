package lane

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/shiplane/shiplane/magefiles/display"
	"github.com/shiplane/shiplane/magefiles/goal"
	"github.com/shiplane/shiplane/magefiles/pipeline"
	"github.com/shiplane/shiplane/magefiles/plan"
	"github.com/shiplane/shiplane/magefiles/progress"
	"github.com/shiplane/shiplane/magefiles/redact"
)

// finish prints the summary table and line, writes the JSON report when SHIPLANE_REPORT names a
// path, and returns the report's error.
func (w *Workspace) finish(r *goal.Report) error {
	fmt.Fprint(w.Config.Progress, display.Table(r, nil))
	fmt.Fprintln(w.Config.Progress, r.Summary())
	return w.writeReport(r, w.Config.Progress)
}

// writeReport writes the JSON report when SHIPLANE_REPORT names a path, saying so on progress,
// and returns the report's error.
func (w *Workspace) writeReport(r *goal.Report, progress io.Writer) error {
	if path := w.Env.Report; path != "" {
		if err := r.WriteFile(path); err != nil {
			return err
		}
		fmt.Fprintf(progress, "report written to %s\n", path)
	}
	return r.Err()
}

// runOutput is what a publishing lane's run is reported with, besides its report.
type runOutput struct {
	// title heads the GitHub Actions step summary ("releaseAll v1.2.0").
	title string
	// plan is the plan the run carried out (its steps name the artifacts).
	plan *plan.Plan
}

// finishRun ends a publishing lane's run: it masks secrets in every goal's reason, prints the
// summary table and line (human, through the run's display), writes one "ref@digest" line per
// image and chart the registry now holds to Stdout (the lane's machine output), the JSON report
// (SHIPLANE_REPORT) and, under GitHub Actions, the plan and the result to the step summary (with
// the release's URL when the run made or found one). It returns the report's error, masked.
func (w *Workspace) finishRun(rep *goal.Report, cl *clients, o runOutput) error {
	for i := range rep.Results {
		rep.Results[i].Reason = cl.red.String(rep.Results[i].Reason)
	}
	steps := stepsByGoal(o.plan)
	refs := make(map[string]string, len(steps))
	for g, s := range steps {
		refs[g] = s.Ref
	}
	cl.disp.Summary(rep, refs)
	err := w.writeReport(rep, cl.out)
	if werr := w.publishedRefs(rep, steps, cl.red); werr != nil && err == nil {
		err = werr
	}
	sum := display.StepSummary{Title: o.title, Plan: o.plan, Report: rep, Refs: refs, ReleaseURL: releaseURL(rep, steps), Err: err}
	if serr := cl.disp.WriteStepSummary(sum); serr != nil && err == nil {
		err = serr
	}
	return cl.red.Error(err)
}

// publishedRefs writes "ref@digest" to Stdout for every image and chart of the plan the run
// found or left published, in run order.
func (w *Workspace) publishedRefs(rep *goal.Report, steps map[string]plan.Step, red *redact.Redactor) error {
	for _, r := range rep.Results {
		s, ok := steps[r.Goal]
		if !ok || (s.Kind != plan.Image && s.Kind != plan.Chart) || r.Digest == "" {
			continue
		}
		if r.Status != goal.AlreadyAchieved && r.Status != goal.NewlyAchieved {
			continue
		}
		if _, err := fmt.Fprintln(w.Config.Stdout, red.String(s.Ref+"@"+r.Digest)); err != nil {
			return fmt.Errorf("writing the published references: %w", err)
		}
	}
	return nil
}

// stepsByGoal maps each goal name of the plan's publishing and published steps to its step.
func stepsByGoal(pl *plan.Plan) map[string]plan.Step {
	out := map[string]plan.Step{}
	if pl == nil {
		return out
	}
	for _, d := range []plan.Decision{plan.Publish, plan.AlreadyPublished} {
		for _, s := range pl.Steps(d) {
			out[s.Goal] = s
		}
	}
	return out
}

// releaseURL is the page of the GitHub release the run published or found ("" for none): the
// release goal's detail, when it is a web address.
func releaseURL(rep *goal.Report, steps map[string]plan.Step) string {
	for _, r := range rep.Results {
		if s, ok := steps[r.Goal]; ok && s.Kind == plan.Release && r.Status.OK() {
			if u, err := url.Parse(r.Detail); err == nil && (u.Scheme == "https" || u.Scheme == "http") {
				return r.Detail
			}
		}
	}
	return ""
}

// newDisplay is the display of one lane's run, writing to out (its redacted progress), in the
// mode the environment and the terminal choose.
func (w *Workspace) newDisplay(out io.Writer, red *redact.Redactor) *display.Display {
	return display.New(out, display.Options{
		Terminal: w.Config.ProgressTerminal(), Width: terminalWidth(w.Config.Progress), Dumb: w.Env.DumbTerminal, NoColor: w.Env.NoColor,
		GitHubActions: w.Env.GitHubActions, StepSummary: w.Env.StepSummary, Redact: red.String,
	})
}

// localDisplay is the display of a local lane's run (no secrets to mask), on its progress.
func (w *Workspace) localDisplay() *display.Display {
	return w.newDisplay(progress.Locked(w.Config.Progress), redact.New())
}

// runLocal runs a local lane's goals, shown through disp (live on a terminal, plain lines
// otherwise), and closes the live view before the caller prints the summary.
func (w *Workspace) runLocal(ctx context.Context, disp *display.Display, nodes []*goal.Node) *goal.Report {
	rep := goal.New(goal.WithWorkers(w.Config.Workers), goal.WithObserver(disp.Observer(nil))).Run(ctx, nodes)
	disp.Close()
	return rep
}

// byLevel groups a release's goals by the plan level of their component ("level 1: core,
// scanner"); the verification goals come first, the release file's publish and after-publish
// goals (and any goal of no level) after the levels.
func byLevel(pl *plan.Plan) display.Grouping {
	level := map[string]int{}
	titles := make([]string, len(pl.Levels))
	for i, l := range pl.Levels {
		var names []string
		for _, e := range l {
			level[e.Name] = i
			names = append(names, e.Name)
		}
		titles[i] = fmt.Sprintf("level %d: %s", i, strings.Join(names, ", "))
	}
	return func(component string) (int, string) {
		if i, ok := level[component]; ok {
			return i, titles[i]
		}
		if component == pipeline.Component {
			return -1, component
		}
		if component == "" {
			component = "release"
		}
		return len(pl.Levels), component
	}
}

// annotated returns err, after writing, under GitHub Actions, an ::error annotation to cfg's
// progress for each located refusal in it (display.Annotations): the lanes' last word on an
// error, whichever step found it (loading the files included).
func annotated(cfg Config, err error) error {
	if err == nil {
		return nil
	}
	c, derr := cfg.withDefaults()
	if derr != nil || !readEnv(c.Getenv).GitHubActions {
		return err
	}
	io.WriteString(c.Progress, display.Annotations(err))
	return err
}

// terminalWidth is the width of the terminal w is open on, or 0 when it is none.
func terminalWidth(w io.Writer) int {
	if f, ok := w.(*os.File); ok && f != nil {
		if width, _, err := term.GetSize(int(f.Fd())); err == nil {
			return width
		}
	}
	return 0
}

// onTerminal reports whether w is an *os.File open on a terminal.
func onTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && f != nil && term.IsTerminal(int(f.Fd()))
}
