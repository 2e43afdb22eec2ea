package display

import (
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/shiplane/shiplane/magefiles/goal"
	"github.com/shiplane/shiplane/magefiles/plan"
	"github.com/shiplane/shiplane/magefiles/progress"
	"github.com/shiplane/shiplane/magefiles/redact"
)

// Locator is an error that knows where in a file the mistake is. Under GitHub Actions each
// refusal whose error (or an error it wraps or joins) is a Locator with a file gets one ::error
// annotation at that place.
type Locator interface {
	Location() (file string, line int)
}

// Plan prints the release plan's text without its list of refusals (plan.Plan.Brief: the caller
// returns the plan's Err, which lists them, so each is printed once); under GitHub Actions each
// level is folded in a ::group:: ("level 1: core, scanner").
func (d *Display) Plan(pl *plan.Plan) {
	text := pl.Brief()
	if d.mode != GitHubActions {
		d.Lines(text)
		return
	}
	var b strings.Builder
	open, level := false, 0
	for _, l := range strings.SplitAfter(text, "\n") {
		if l == "" {
			continue
		}
		starts := strings.HasPrefix(l, "level ")
		if open && (starts || !strings.HasPrefix(l, " ")) {
			b.WriteString("::endgroup::\n")
			open = false
		}
		if starts && level < len(pl.Levels) {
			var names []string
			for _, e := range pl.Levels[level] {
				names = append(names, e.Name)
			}
			fmt.Fprintf(&b, "::group::%s\n", redact.EscapeCommandData(fmt.Sprintf("level %d: %s", level, strings.Join(names, ", "))))
			open = true
			level++
		}
		b.WriteString(l)
	}
	if open {
		b.WriteString("::endgroup::\n")
	}
	d.Lines(b.String())
}

// Lines prints text (whole lines) as lasting output: above the live view, outside any group.
func (d *Display) Lines(text string) {
	if text == "" {
		return
	}
	if !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closeOutGroup()
	d.printAbove([]byte(text))
}

// Annotate writes, under GitHub Actions, one ::error annotation for each located refusal in err
// (Annotations); in other modes it writes nothing (the error itself is printed once, by whoever
// receives it).
func (d *Display) Annotate(err error) {
	if d.mode != GitHubActions {
		return
	}
	if a := Annotations(err); a != "" {
		d.Lines(a)
	}
}

// Annotations is the ::error annotations of err: one for each error in its tree (wrapped and
// joined errors, depth first) that is a Locator with a file, holding that error's message; what
// a located error wraps is not searched further, and the same place and message is annotated
// once. "" when none is located.
func Annotations(err error) string {
	var b strings.Builder
	seen := map[string]bool{}
	var walk func(error)
	walk = func(e error) {
		if e == nil {
			return
		}
		if l, ok := e.(Locator); ok {
			if file, line := l.Location(); file != "" {
				props := "file=" + redact.EscapeCommandProperty(file)
				if line > 0 {
					props += fmt.Sprintf(",line=%d", line)
				}
				cmd := "::error " + props + "::" + redact.EscapeCommandData(e.Error()) + "\n"
				if !seen[cmd] {
					seen[cmd] = true
					b.WriteString(cmd)
				}
				return
			}
		}
		switch u := e.(type) {
		case interface{ Unwrap() []error }:
			for _, c := range u.Unwrap() {
				walk(c)
			}
		case interface{ Unwrap() error }:
			walk(u.Unwrap())
		}
	}
	walk(err)
	return b.String()
}

// Summary prints the run's summary table (Table), then its one-line summary.
func (d *Display) Summary(rep *goal.Report, refs map[string]string) {
	d.Lines(Table(rep, refs) + rep.Summary() + "\n")
}

// Table is the run's results as a table of columns component, artifact, digest (12 characters)
// and status, one row per goal in run order. refs names a goal's artifact by its reference
// (goal name → "registry/core:1.2.0"); a goal not in it is named by itself.
func Table(rep *goal.Report, refs map[string]string) string {
	if rep == nil || len(rep.Results) == 0 {
		return ""
	}
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "component\tartifact\tdigest\tstatus")
	for _, r := range rep.Results {
		digest := progress.Short(r.Digest)
		if digest == "" {
			digest = "-"
		}
		comp := r.Component
		if comp == "" {
			comp = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", comp, artifact(r, refs), digest, r.Status)
	}
	tw.Flush()
	return b.String()
}

func artifact(r goal.Result, refs map[string]string) string {
	if ref := refs[r.Goal]; ref != "" {
		return ref
	}
	return r.Goal
}

// StepSummary is what a lane adds to the GitHub Actions step summary.
type StepSummary struct {
	// Title heads it ("releaseAll v1.2.0").
	Title string
	// Plan, when not nil, is shown as a table: level, component, version, artifact, decision, cause.
	Plan *plan.Plan
	// Report, when not nil, is shown as the result table (Table's columns).
	Report *goal.Report
	// Refs names goals' artifacts by reference (see Table).
	Refs map[string]string
	// ReleaseURL, when not "", is the GitHub release the run made or found.
	ReleaseURL string
	// Err, when not nil, is the run's error, shown under the tables.
	Err error
}

// Markdown is the step summary as GitHub renders it.
func (s StepSummary) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "## %s\n\n", cell(s.Title))
	if s.Plan != nil {
		b.WriteString("### Plan\n\n| level | component | version | artifact | decision | cause |\n|---|---|---|---|---|---|\n")
		for i, l := range s.Plan.Levels {
			for _, e := range l {
				for _, st := range e.Steps {
					fmt.Fprintf(&b, "| %d | %s | %s | %s | %s | %s |\n", i, cell(e.Name), cell(e.Version), cell(st.Ref), cell(st.Decision.String()), cell(st.Cause))
				}
			}
		}
		b.WriteString("\n")
	}
	if s.Report != nil {
		b.WriteString("### Result\n\n| component | artifact | digest | status |\n|---|---|---|---|\n")
		for _, r := range s.Report.Results {
			status := r.Status.String()
			if r.Reason != "" && !r.Status.OK() {
				status += ": " + r.Reason
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", cell(r.Component), cell(artifact(r, s.Refs)), cell(progress.Short(r.Digest)), cell(status))
		}
		fmt.Fprintf(&b, "\n%s\n\n", cell(s.Report.Summary()))
	}
	if s.ReleaseURL != "" {
		fmt.Fprintf(&b, "Release: %s\n\n", s.ReleaseURL)
	}
	if s.Err != nil {
		b.WriteString("```\n" + strings.ReplaceAll(s.Err.Error(), "```", "'''") + "\n```\n\n")
	}
	return b.String()
}

// cell is s as one Markdown table cell: pipes escaped, line breaks as spaces, backquotes kept
// out of code spans.
func cell(s string) string {
	s = strings.NewReplacer("|", `\|`, "\r\n", " ", "\n", " ", "\r", " ").Replace(s)
	if s == "" {
		return " "
	}
	return s
}

// WriteStepSummary appends s's Markdown, redacted (Options.Redact), to the step summary file, under GitHub Actions when one
// is named (Options.StepSummary); otherwise it does nothing.
func (d *Display) WriteStepSummary(s StepSummary) error {
	if d.mode != GitHubActions || d.opts.StepSummary == "" {
		return nil
	}
	f, err := os.OpenFile(d.opts.StepSummary, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("writing the GitHub Actions step summary: %w", err)
	}
	_, err = io.WriteString(f, d.opts.Redact(s.Markdown()))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing the GitHub Actions step summary: %w", err)
	}
	return nil
}
