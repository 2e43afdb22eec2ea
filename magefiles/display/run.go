package display

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/shiplane/shiplane/magefiles/goal"
	"github.com/shiplane/shiplane/magefiles/redact"
)

// Grouping places a goal, by its component, in a group of its run: groups are shown in order
// (GitHub Actions folds each in a ::group:: titled title, once all its goals have finished).
type Grouping func(component string) (order int, title string)

// ByComponent groups goals by their component, in the order the run lists them: the grouping of
// a lane without levels.
func ByComponent(component string) (int, string) {
	if component == "" {
		return 0, "release"
	}
	return 0, component
}

// Observer is the observer of one goal run (goal.WithObserver). Plain mode writes the plain
// progress lines (goal.PlainLines); Live mode redraws the live view; GitHubActions mode writes
// each group's lines, grouped by g (nil: ByComponent), when all its goals have finished.
func (d *Display) Observer(g Grouping) goal.Observer {
	if d.mode == Plain {
		return goal.PlainLines(d.Writer())
	}
	if g == nil {
		g = ByComponent
	}
	return goal.ObserverFunc(func(ev goal.Event) {
		d.mu.Lock()
		defer d.mu.Unlock()
		d.observe(ev, g)
	})
}

// goalView is one goal as the display knows it.
type goalView struct {
	res         goal.Result
	phase       goal.EventKind // RunStarted (not assessed yet), Assessing, Assessed (waiting), Achieving, Finished
	since       time.Time
	done, total int64
	group       *group
}

type group struct {
	order, first int
	title        string
	left         int
	lines        []string
}

type runView struct {
	goals    []goalView
	finished int
	start    time.Time
	drawn    int // lines of the live view on the screen
	quit     chan struct{}
	groups   []*group
	next     int // the next group to flush
}

func (r *runView) done() bool { return r.finished == len(r.goals) }

func (r *runView) stop() {
	if r.quit != nil {
		close(r.quit)
		r.quit = nil
	}
}

// observe handles one event. Call with mu held.
func (d *Display) observe(ev goal.Event, g Grouping) {
	if ev.Kind == goal.RunStarted {
		d.startRun(ev, g)
		return
	}
	r := d.run
	if r == nil || ev.Index < 0 || ev.Index >= len(r.goals) {
		return
	}
	v := &r.goals[ev.Index]
	switch ev.Kind {
	case goal.Assessing, goal.Assessed, goal.Achieving:
		v.phase, v.since = ev.Kind, ev.Time
		if ev.Kind == goal.Achieving && d.mode == GitHubActions {
			v.group.lines = append(v.group.lines, ev.Result.Label()+" …")
		}
	case goal.Progressed:
		v.done, v.total = ev.Done, ev.Total
		if d.opts.Refresh > 0 || d.mode != Live {
			return // the next tick shows it
		}
	case goal.Finished:
		v.phase, v.res = goal.Finished, ev.Result
		r.finished++
		line := resultLine(ev.Result)
		if d.mode == GitHubActions {
			v.group.lines = append(v.group.lines, line)
			v.group.left--
			d.flushGroups()
			return
		}
		d.clearLive()
		io.WriteString(d.out, d.paint(ev.Result.Status, line)+"\n")
		if r.done() {
			r.stop()
			return
		}
		d.drawLive()
		return
	}
	if d.mode == Live {
		d.clearLive()
		d.drawLive()
	}
}

func (d *Display) startRun(ev goal.Event, g Grouping) {
	if d.run != nil {
		d.run.stop()
	}
	r := &runView{goals: make([]goalView, len(ev.Goals)), start: ev.Time}
	d.run = r
	byTitle := map[string]*group{}
	for i, res := range ev.Goals {
		r.goals[i] = goalView{res: res, since: ev.Time}
		order, title := g(res.Component)
		grp := byTitle[title]
		if grp == nil {
			grp = &group{order: order, first: i, title: title}
			byTitle[title] = grp
			r.groups = append(r.groups, grp)
		}
		grp.left++
		r.goals[i].group = grp
	}
	sort.SliceStable(r.groups, func(i, j int) bool { return r.groups[i].order < r.groups[j].order })
	switch d.mode {
	case GitHubActions:
		d.closeOutGroup()
		fmt.Fprintf(d.out, "assessing %d goals\n", len(ev.Goals))
	case Live:
		if d.opts.Refresh > 0 && len(ev.Goals) > 0 {
			r.quit = make(chan struct{})
			go d.tick(r, r.quit)
		}
		d.drawLive()
	}
}

// tick redraws the live view every Refresh until quit is closed.
func (d *Display) tick(r *runView, quit chan struct{}) {
	t := time.NewTicker(d.opts.Refresh)
	defer t.Stop()
	for {
		select {
		case <-quit:
			return
		case <-t.C:
			d.mu.Lock()
			if d.run == r && !r.done() {
				d.clearLive()
				d.drawLive()
			}
			d.mu.Unlock()
		}
	}
}

// flushGroups writes, in order, every group whose goals have all finished and whose earlier
// groups are written. Call with mu held.
func (d *Display) flushGroups() {
	r := d.run
	for r.next < len(r.groups) && r.groups[r.next].left == 0 {
		grp := r.groups[r.next]
		d.closeOutGroup()
		var b strings.Builder
		b.WriteString("::group::" + redact.EscapeCommandData(grp.title) + "\n")
		for _, l := range grp.lines {
			b.WriteString(l + "\n")
		}
		b.WriteString("::endgroup::\n")
		io.WriteString(d.out, b.String())
		r.next++
	}
}

// resultLine is a finished goal's line, with a panic's stack excerpt under it, as goal.PlainLines
// writes it.
func resultLine(res goal.Result) string {
	line := res.Line()
	if pe := (*goal.PanicError)(nil); errors.As(res.Err, &pe) && pe.Stack != "" {
		line += "\n    " + strings.ReplaceAll(strings.TrimRight(pe.Stack, "\n"), "\n", "\n    ")
	}
	return line
}
