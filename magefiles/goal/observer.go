package goal

import (
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/shiplane/shiplane/magefiles/progress"
)

// EventKind says what happened in a run.
type EventKind int

// The events of a run, in the order each goal meets them.
const (
	// RunStarted: Goals lists every goal of the run, in run order; no goal has been assessed yet.
	RunStarted EventKind = iota
	// Assessing: the goal at Index is being assessed.
	Assessing
	// Assessed: the goal at Index has been assessed; it waits for the goals it comes after (and
	// a worker) before its outcome is decided.
	Assessed
	// Achieving: the goal at Index was found missing and is being achieved.
	Achieving
	// Progressed: the goal at Index, being achieved, has sent Done bytes of Total (0 when not
	// known yet).
	Progressed
	// Finished: the goal at Index has its Result.
	Finished
)

// Event is one thing that happened in a run. Index is the goal's position in the run (Goals of
// RunStarted).
type Event struct {
	Kind  EventKind
	Index int
	// Time is when it happened, on the engine's clock.
	Time time.Time
	// Goals (RunStarted) holds every goal's component and name; the other fields are empty.
	Goals []Result
	// Done and Total are bytes (Progressed).
	Done, Total int64
	// Result is the goal's: its component and name for every event, its outcome once Finished.
	Result Result
}

// Observer is told what happens in a run. The engine calls Observe from one goroutine at a time,
// in the order things happen; Observe must return quickly (it holds up the run).
type Observer interface {
	Observe(Event)
}

// ObserverFunc is a function as an Observer.
type ObserverFunc func(Event)

// Observe calls f.
func (f ObserverFunc) Observe(e Event) { f(e) }

// WithObserver adds an observer of the run's events (in addition to WithProgress's lines).
// Default: none.
func WithObserver(o Observer) Option {
	return func(e *Engine) {
		if o != nil {
			e.observers = append(e.observers, o)
		}
	}
}

// PlainLines is the observer that writes the plain progress lines: "assessing N goals" when the
// run starts, "<component>: <goal> …" when a goal is achieved, and each result's Line when it
// finishes (with a panic's stack excerpt under it). It is what WithProgress writes.
func PlainLines(w io.Writer) Observer {
	return ObserverFunc(func(e Event) {
		switch e.Kind {
		case RunStarted:
			fmt.Fprintf(w, "assessing %d goals\n", len(e.Goals))
		case Achieving:
			fmt.Fprintf(w, "%s …\n", e.Result.label())
		case Finished:
			line := e.Result.Line()
			if pe := (*PanicError)(nil); errors.As(e.Result.Err, &pe) && pe.Stack != "" {
				line += "\n" + indent(pe.Stack, "    ") // one write, so no other line lands inside
			}
			fmt.Fprintf(w, "%s\n", line)
		}
	})
}

// Label is how lines name a goal: "<component>: <goal>", or the goal alone.
func (r Result) Label() string { return r.label() }

// goalBytes counts what one goal's Achieve sends (progress.AddBytes on its context) and tells
// the observers.
type goalBytes struct {
	r           *run
	i           int
	done, total atomic.Int64
}

var _ progress.Bytes = (*goalBytes)(nil)

func (b *goalBytes) AddBytes(n int64) {
	b.done.Add(n)
	b.r.emit(Event{Kind: Progressed, Index: b.i, Done: b.done.Load(), Total: b.total.Load()})
}

func (b *goalBytes) ExpectBytes(n int64) { b.total.Add(n) }
