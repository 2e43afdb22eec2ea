package display

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/shiplane/shiplane/magefiles/goal"
	"github.com/shiplane/shiplane/magefiles/progress"
)

// The escapes the live view uses. Colour is left out entirely with NO_COLOR.
const (
	esc       = "\x1b["
	green     = esc + "32m"
	yellow    = esc + "33m"
	red       = esc + "31m"
	dim       = esc + "2m"
	reset     = esc + "0m"
	clearDown = esc + "J"
)

// maxLive is how many running goals the live view lists; the rest are counted.
const maxLive = 12

// paint colours a line by its goal's status, when colour is on.
func (d *Display) paint(s goal.Status, line string) string {
	if !d.color {
		return line
	}
	c := green
	switch s {
	case goal.Failed:
		c = red
	case goal.Blocked, goal.Skipped, goal.Planned:
		c = yellow
	}
	return c + line + reset
}

// clearLive moves back over the live view and clears it. Call with mu held.
func (d *Display) clearLive() {
	if d.mode != Live || d.run == nil || d.run.drawn == 0 {
		return
	}
	fmt.Fprintf(d.out, "%s%dA%s", esc, d.run.drawn, clearDown)
	d.run.drawn = 0
}

// drawLive draws the live view: a heading with the count of goals finished and waiting (assessed,
// waiting for what they come after) and the run's elapsed time, then one line per goal being
// assessed or achieved, with its state, elapsed time and bytes sent. Call
// with mu held, after clearLive.
func (d *Display) drawLive() {
	r := d.run
	if d.mode != Live || r == nil || r.done() {
		return
	}
	now := d.opts.Now()
	waiting := 0
	for _, v := range r.goals {
		if v.phase == goal.Assessed {
			waiting++
		}
	}
	head := fmt.Sprintf("%d/%d goals finished", r.finished, len(r.goals))
	if waiting > 0 {
		head += fmt.Sprintf(", %d waiting", waiting)
	}
	lines := []string{head + "  " + seconds(now.Sub(r.start))}
	running := 0
	for _, v := range r.goals {
		if v.phase != goal.Assessing && v.phase != goal.Achieving {
			continue
		}
		running++
		if running > maxLive {
			continue
		}
		state := "assessing"
		if v.phase == goal.Achieving {
			state = "achieving"
		}
		l := fmt.Sprintf("  %s  %s  %s", v.res.Label(), state, seconds(now.Sub(v.since)))
		if v.done > 0 {
			l += "  " + humanBytes(v.done)
			if v.total >= v.done {
				l += " / " + humanBytes(v.total)
			}
		}
		lines = append(lines, l)
	}
	if running > maxLive {
		lines = append(lines, fmt.Sprintf("  … and %d more", running-maxLive))
	}
	var b strings.Builder
	for i, l := range lines {
		l = truncate(l, d.opts.Width-1)
		if i == 0 && d.color {
			l = dim + l + reset
		}
		b.WriteString(l + "\n")
	}
	io.WriteString(d.out, b.String())
	r.drawn = len(lines)
}

func seconds(t time.Duration) string { return fmt.Sprintf("%.1fs", t.Seconds()) }

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func humanBytes(n int64) string { return progress.HumanBytes(n) }
