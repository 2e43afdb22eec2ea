package goal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/shiplane/shiplane/magefiles/graph"
	"github.com/shiplane/shiplane/magefiles/progress"
)

// Engine runs goals. Build one with New.
type Engine struct {
	workers   int
	progress  io.Writer
	observers []Observer
	dryRun    bool
	now       func() time.Time
}

// Option configures an Engine.
type Option func(*Engine)

// WithWorkers bounds how many goals are assessed or achieved at once. Default: GOMAXPROCS, at least 2.
func WithWorkers(n int) Option {
	return func(e *Engine) {
		if n > 0 {
			e.workers = n
		}
	}
}

// WithProgress sets where the plain progress lines go (PlainLines). Default: io.Discard (libraries
// stay quiet).
func WithProgress(w io.Writer) Option {
	return func(e *Engine) {
		if w != nil {
			e.progress = w
		}
	}
}

// WithDryRun assesses every goal and achieves none: missing goals are reported Planned. Default: false.
func WithDryRun(dry bool) Option { return func(e *Engine) { e.dryRun = dry } }

// New returns an Engine.
func New(opts ...Option) *Engine {
	e := &Engine{workers: max(runtime.GOMAXPROCS(0), 2), progress: io.Discard, now: time.Now}
	for _, o := range opts {
		o(e)
	}
	if e.progress != io.Discard {
		e.observers = append([]Observer{PlainLines(e.progress)}, e.observers...)
	}
	return e
}

type run struct {
	e       *Engine
	sem     chan struct{}
	mu      sync.Mutex // serialises the observers' calls
	nodes   []*Node
	index   map[*Node]int
	done    []chan struct{}
	res     []Result
	state   []State
	aerr    []error
	assess  []time.Duration
	invalid []bool // the node cannot run at all (see invalid); its result is already set
}

// Run assesses every node, then achieves the missing ones in dependency order, at most the
// configured number at a time. A node runs after every node in its After list has finished; if one
// of them failed or was blocked, the node is reported blocked unless it is already achieved or
// skipped, or its own assessment failed (then it is failed: a check that cannot tell fails, and
// its reason also names the blockers). The report lists the nodes in the order given.
//
// A node listed more than once (the same pointer) is run once and reported once, at its first
// position: running it twice could achieve it twice, concurrently. A nil node, a node without a
// Goal, and a node with a nil entry in After are failed with ErrInvalidNode, never a panic; what
// depends on them is blocked.
//
// A goal whose Assess or Achieve panics is failed with a *PanicError, like any other error: its
// reason names the goal and the panic value, the error also holds a short stack excerpt (printed
// to progress under the failure line), its dependents are blocked, the other goals run on, and
// the report is still returned. (A panic in a goroutine the goal starts itself cannot be recovered
// here and still ends the process.)
func (e *Engine) Run(ctx context.Context, nodes []*Node) *Report {
	start := e.now()
	nodes = dedupe(nodes)
	r := &run{e: e, sem: make(chan struct{}, e.workers), nodes: nodes, index: make(map[*Node]int, len(nodes))}
	for i, n := range nodes {
		if n != nil {
			r.index[n] = i
		}
	}
	r.done = make([]chan struct{}, len(nodes))
	r.res = make([]Result, len(nodes))
	r.state = make([]State, len(nodes))
	r.aerr = make([]error, len(nodes))
	r.assess = make([]time.Duration, len(nodes))
	r.invalid = make([]bool, len(nodes))
	for i, n := range nodes {
		r.done[i] = make(chan struct{})
		if err := invalid(n, i); err != nil {
			r.invalid[i] = true
			r.res[i] = Result{Goal: "(nil goal node)", Status: Failed, Reason: err.Error(), Err: err}
			if n != nil {
				r.res[i].Component, r.res[i].Goal = n.Component, goalName(n)
			}
			continue
		}
		r.res[i] = Result{Component: n.Component, Goal: n.Goal.String(), Optional: n.Optional}
	}
	if cyc := r.cycle(); cyc != "" {
		for i := range nodes {
			r.res[i].Status, r.res[i].Reason = Failed, "goal dependency cycle: "+cyc
			r.res[i].Err = errors.New(r.res[i].Reason)
		}
		return &Report{Results: r.res, Duration: e.now().Sub(start)}
	}

	r.emit(Event{Kind: RunStarted, Goals: append([]Result(nil), r.res...)})
	var wg sync.WaitGroup
	for i := range nodes {
		if r.invalid[i] {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if !r.acquire(ctx) {
				r.aerr[i] = ctx.Err()
				return
			}
			defer r.release()
			t := e.now()
			r.emit(Event{Kind: Assessing, Index: i})
			r.state[i], r.aerr[i] = assess(ctx, nodes[i].Goal)
			r.assess[i] = e.now().Sub(t)
			r.emit(Event{Kind: Assessed, Index: i})
		}()
	}
	wg.Wait()

	for i := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(r.done[i])
			if !r.invalid[i] {
				r.finish(ctx, i)
				if res := &r.res[i]; res.Optional && res.Status == Failed {
					res.Reason = "optional: " + res.Reason
				}
			}
			r.emit(Event{Kind: Finished, Index: i})
		}()
	}
	wg.Wait()
	return &Report{Results: r.res, Duration: e.now().Sub(start), DryRun: e.dryRun}
}

// ErrInvalidNode is a node the engine cannot run: nil, without a Goal, or with a nil entry in
// After. The error in its Result wraps it and says which.
var ErrInvalidNode = errors.New("invalid goal node")

// invalid says why the node at position i of the run list cannot run, or nil.
func invalid(n *Node, i int) error {
	switch {
	case n == nil:
		return fmt.Errorf("%w: entry %d of the run list is nil; remove it", ErrInvalidNode, i+1)
	case n.Goal == nil:
		return fmt.Errorf("%w: it has no Goal; set the goal it stands for", ErrInvalidNode)
	}
	for k, dep := range n.After {
		if dep == nil {
			return fmt.Errorf("%w: nil dependency: After[%d] is nil; remove it or set it to the goal that must succeed first", ErrInvalidNode, k)
		}
	}
	return nil
}

// dedupe returns nodes with every repeat of a pointer removed, first positions kept. Nil entries
// are kept (each is reported as an invalid node).
func dedupe(nodes []*Node) []*Node {
	seen := make(map[*Node]bool, len(nodes))
	out := make([]*Node, 0, len(nodes))
	for _, n := range nodes {
		if n != nil {
			if seen[n] {
				continue
			}
			seen[n] = true
		}
		out = append(out, n)
	}
	return out
}

// goalName names a node's goal without calling a nil Goal.
func goalName(n *Node) string {
	if n == nil || n.Goal == nil {
		return "(no goal)"
	}
	return n.Goal.String()
}

func (r *run) finish(ctx context.Context, i int) {
	n, res := r.nodes[i], &r.res[i]
	var blockers []string
	upstreamChanged := false
	for _, dep := range n.After {
		j, ok := r.index[dep]
		if !ok {
			res.Status, res.Reason = Failed, fmt.Sprintf("depends on goal %q, which is not part of this run", goalName(dep))
			res.Err = errors.New(res.Reason)
			return
		}
		<-r.done[j]
		switch r.res[j].Status {
		case Failed, Blocked:
			if r.res[j].Optional && r.res[j].Status == Failed {
				continue // an optional goal's own failure blocks nothing; what blocked it still blocks
			}
			blockers = append(blockers, r.res[j].label())
		case NewlyAchieved:
			upstreamChanged = true
		}
	}
	st, err := r.state[i], r.aerr[i]
	res.Duration = r.assess[i]
	if err == nil && st.Skip != "" {
		res.Status, res.Reason = Skipped, st.Skip
		return
	}
	if err == nil && st.Achieved && (!upstreamChanged || len(blockers) > 0) {
		res.Status, res.Reason, res.Digest, res.Platforms, res.Detail = AlreadyAchieved, st.Detail, st.Digest, st.Platforms, st.Detail
		return
	}
	if err != nil && len(blockers) > 0 {
		// Its own check could not tell: that is a failure of its own, whatever blocks it too.
		res.Status, res.Err = Failed, err
		res.Reason = fmt.Sprintf("%s; also blocked by %s", reason(err), strings.Join(blockers, ", "))
		return
	}
	if len(blockers) > 0 {
		res.Status, res.Reason = Blocked, "by "+strings.Join(blockers, ", ")
		return
	}
	if !r.acquire(ctx) {
		res.Status, res.Err = Failed, ctx.Err()
		res.Reason = res.Err.Error()
		return
	}
	defer r.release()
	t := r.e.now()
	defer func() { res.Duration += r.e.now().Sub(t) }()
	if upstreamChanged {
		// What this goal builds on has just changed: look again, whatever the first look said
		// (a chart found up to date before the image it pins was pushed again is not any more).
		st, err = assess(ctx, n.Goal)
		if err == nil && st.Skip != "" {
			res.Status, res.Reason = Skipped, st.Skip
			return
		}
		if err == nil && st.Achieved {
			res.Status, res.Reason, res.Digest, res.Platforms, res.Detail = AlreadyAchieved, st.Detail, st.Digest, st.Platforms, st.Detail
			return
		}
	}
	if err != nil {
		res.Status, res.Reason, res.Err = Failed, reason(err), err
		return
	}
	if r.e.dryRun {
		res.Status, res.Reason = Planned, st.Detail
		return
	}
	r.emit(Event{Kind: Achieving, Index: i})
	if err := achieve(progress.WithBytes(ctx, &goalBytes{r: r, i: i}), n.Goal); err != nil {
		res.Status, res.Reason, res.Err = Failed, reason(err), err
		return
	}
	st, err = assess(ctx, n.Goal)
	switch {
	case err != nil:
		res.Status, res.Err = Failed, fmt.Errorf("checking after achieving: %w", err)
		res.Reason = "checking after achieving: " + reason(err)
	case !st.Achieved:
		res.Status, res.Err = Failed, ErrNotAchieved
		if st.Detail != "" {
			res.Err = fmt.Errorf("%w: %s", ErrNotAchieved, st.Detail)
		}
		res.Reason = res.Err.Error()
	default:
		res.Status, res.Digest, res.Platforms, res.Detail = NewlyAchieved, st.Digest, st.Platforms, st.Detail
	}
}

// ErrNotAchieved is a goal whose Achieve returned no error but whose fresh assessment still finds
// it missing.
var ErrNotAchieved = errors.New("achieve reported success, but a fresh assessment still finds the goal missing")

func (r *run) acquire(ctx context.Context) bool {
	select {
	case r.sem <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}

func (r *run) release() { <-r.sem }

// emit tells every observer, one event at a time; the event's Result is the goal's as it stands.
func (r *run) emit(ev Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ev.Time = r.e.now()
	switch ev.Kind {
	case RunStarted:
	case Progressed:
		// From the goal's own goroutines, maybe while its result is written: only what is fixed.
		ev.Result = Result{Component: r.res[ev.Index].Component, Goal: r.res[ev.Index].Goal, Optional: r.res[ev.Index].Optional}
	default:
		ev.Result = r.res[ev.Index]
	}
	for _, o := range r.e.observers {
		o.Observe(ev)
	}
}

// cycle returns a description of a dependency cycle among the nodes, or "".
func (r *run) cycle() string {
	found := graph.FindCycle(r.nodes, func(n *Node) []*Node {
		if n == nil {
			return nil // a nil node or dependency is reported as an invalid node, not walked
		}
		return n.After
	})
	if found == nil {
		return ""
	}
	names := make([]string, len(found))
	for i, f := range found {
		names[i] = Result{Component: f.Component, Goal: goalName(f)}.label()
	}
	return strings.Join(names, " -> ")
}

func (r Result) label() string {
	if r.Component == "" {
		return r.Goal
	}
	return r.Component + ": " + r.Goal
}

// Report is the outcome of a run.
type Report struct {
	Results  []Result      `json:"goals"`
	Duration time.Duration `json:"duration_ns"`
	DryRun   bool          `json:"dry_run,omitempty"`
}

// Count returns how many results have the status.
func (r *Report) Count(s Status) int {
	n := 0
	for _, res := range r.Results {
		if res.Status == s {
			n++
		}
	}
	return n
}

// Summary is one line: how many goals ended in each status.
func (r *Report) Summary() string {
	order := []Status{AlreadyAchieved, NewlyAchieved, Planned, Skipped, Blocked, Failed}
	var parts []string
	for _, s := range order {
		if n := r.Count(s); n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, s))
		}
	}
	if len(parts) == 0 {
		return "no goals"
	}
	return fmt.Sprintf("%d goals: %s (%s)", len(r.Results), strings.Join(parts, ", "), r.Duration.Round(time.Millisecond))
}

// Err is nil when no goal failed or was blocked, optional goals aside; otherwise a *RunError
// listing them.
func (r *Report) Err() error {
	var bad []Result
	for _, res := range r.Results {
		if (res.Status == Failed || res.Status == Blocked) && !res.Optional {
			bad = append(bad, res)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	sort.SliceStable(bad, func(i, j int) bool { return bad[i].Status > bad[j].Status })
	return &RunError{Results: bad}
}

// RunError is a run in which some goals failed or were blocked. Unwrap yields the failures' errors.
type RunError struct{ Results []Result }

func (e *RunError) Error() string {
	lines := make([]string, len(e.Results))
	for i, r := range e.Results {
		lines[i] = r.Line()
	}
	return fmt.Sprintf("%d goal(s) did not succeed:\n  %s", len(e.Results), strings.Join(lines, "\n  "))
}

// Unwrap returns the underlying errors of the failed goals.
func (e *RunError) Unwrap() []error {
	var out []error
	for _, r := range e.Results {
		if r.Err != nil {
			out = append(out, r.Err)
		}
	}
	return out
}
