// Package display is the one place that chooses how a run's progress is shown to a person: a
// live view redrawn in place on a terminal, plain lines off one, plain lines in collapsible
// groups with error annotations and a step summary under GitHub Actions. It writes human output
// only, to the writer it is given (stderr); machine output is the caller's.
//
// The live view is a small ANSI renderer of its own rather than a progress-bar library: the
// engine already serialises its events, the view needs only "cursor up, clear to the end,
// redraw", and drawing into any writer keeps it testable with a buffer.
package display

import (
	"bytes"
	"io"
	"sync"
	"time"
)

// Mode is how progress is shown.
type Mode int

// The modes, as New chooses them from Options.
const (
	// Plain writes one line per event, as a log does: off a terminal.
	Plain Mode = iota
	// Live redraws one line per running goal in place, above which finished goals stay: on a
	// terminal.
	Live
	// GitHubActions writes plain lines in ::group:: blocks, ::error annotations for located
	// refusals, and appends Markdown tables to the step summary.
	GitHubActions
)

func (m Mode) String() string {
	switch m {
	case Live:
		return "live"
	case GitHubActions:
		return "github-actions"
	}
	return "plain"
}

// Options say where the output goes; the caller reads them from the environment once.
type Options struct {
	// Terminal is true when the writer is a terminal a person watches. Default: false.
	Terminal bool
	// Dumb is TERM=dumb: a terminal that cannot move its cursor (plain lines). Default: false.
	Dumb bool
	// NoColor is NO_COLOR set (to anything): no colour escapes at all. Default: false.
	NoColor bool
	// GitHubActions is GITHUB_ACTIONS=true; it wins over Terminal. Default: false.
	GitHubActions bool
	// StepSummary is GITHUB_STEP_SUMMARY: the file the step summary's Markdown is appended to
	// under GitHub Actions. Default: "" (none written).
	StepSummary string
	// Refresh is how often the live view redraws elapsed times and bytes between events.
	// Default: 100ms; negative: only when a goal changes state.
	Refresh time.Duration
	// Width is the terminal's width in columns: the live view cuts longer lines (a wrapped line
	// could not be moved back over). Default: 110.
	Width int
	// Now is the clock. Default: time.Now.
	Now func() time.Time
	// Redact masks secrets in what is written to the step summary file (the writer given to New
	// is expected to mask its own). Default: nothing is masked.
	Redact func(string) string
}

// Display shows one lane's progress. Build it with New; all its methods are safe for concurrent
// use. Close it when the lane ends.
type Display struct {
	mu    sync.Mutex
	out   io.Writer
	mode  Mode
	color bool
	opts  Options

	partial []byte // Writer's held partial line (Live, GitHubActions)
	run     *runView
	// outGroup: a ::group:: holding other writers' lines during a run is open (GitHubActions).
	outGroup bool
}

// New returns the display writing to out (nil: io.Discard), in the mode o chooses: GitHubActions
// when o.GitHubActions, else Live on a terminal that is not dumb, else Plain. Colour is used only
// in Live mode and never with NoColor.
func New(out io.Writer, o Options) *Display {
	if out == nil {
		out = io.Discard
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Width <= 0 {
		o.Width = 110
	}
	if o.Redact == nil {
		o.Redact = func(s string) string { return s }
	}
	if o.Refresh == 0 {
		o.Refresh = 100 * time.Millisecond
	}
	d := &Display{out: out, opts: o}
	switch {
	case o.GitHubActions:
		d.mode = GitHubActions
	case o.Terminal && !o.Dumb:
		d.mode = Live
		d.color = !o.NoColor
	}
	return d
}

// Mode is the mode New chose.
func (d *Display) Mode() Mode { return d.mode }

// Writer is where other human lines of the lane go (a backend's progress): in Live mode they are
// printed above the live view, whole lines at a time; under GitHub Actions, lines written while
// goals run are folded in a group.
func (d *Display) Writer() io.Writer { return writerFunc(d.write) }

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func (d *Display) write(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.mode == Plain {
		return d.out.Write(p)
	}
	d.partial = append(d.partial, p...)
	cut := bytes.LastIndexByte(d.partial, '\n') + 1
	if cut == 0 {
		return len(p), nil
	}
	lines := d.partial[:cut:cut]
	d.partial = append([]byte(nil), d.partial[cut:]...)
	d.printAbove(lines)
	return len(p), nil
}

// printAbove writes whole lines as lasting output: above the live view, or in the output group
// while a run is on (GitHubActions). Call with mu held.
func (d *Display) printAbove(lines []byte) {
	switch d.mode {
	case Live:
		d.clearLive()
		d.out.Write(lines)
		d.drawLive()
	case GitHubActions:
		if d.run != nil && !d.run.done() && !d.outGroup {
			io.WriteString(d.out, "::group::output\n")
			d.outGroup = true
		}
		d.out.Write(lines)
	default:
		d.out.Write(lines)
	}
}

// closeOutGroup ends the output group, if one is open. Call with mu held.
func (d *Display) closeOutGroup() {
	if d.outGroup {
		io.WriteString(d.out, "::endgroup::\n")
		d.outGroup = false
	}
}

// Close ends the display: the live view's last frame stays, a partial line held is written, an
// open group is closed.
func (d *Display) Close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.run != nil {
		d.run.stop()
	}
	if len(d.partial) > 0 {
		d.partial = append(d.partial, '\n')
		p := d.partial
		d.partial = nil
		d.printAbove(p)
	}
	d.closeOutGroup()
}
