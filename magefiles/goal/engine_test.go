package goal_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shiplane/shiplane/magefiles/goal"
	"github.com/shiplane/shiplane/magefiles/goal/goaltest"
)

func node(comp string, g goal.Goal, after ...*goal.Node) *goal.Node {
	return &goal.Node{Component: comp, Goal: g, After: after}
}

func statuses(r *goal.Report) map[string]goal.Status {
	out := map[string]goal.Status{}
	for _, res := range r.Results {
		out[res.Goal] = res.Status
	}
	return out
}

func TestRunAchievesOnlyWhatIsMissingAndSecondRunAchievesNothing(t *testing.T) {
	a, b, c := goaltest.NewFake("a"), goaltest.NewFake("b").Done(), goaltest.NewFake("c")
	na := node("x", a)
	nodes := []*goal.Node{na, node("y", b, na), node("z", c, na)}
	var progress bytes.Buffer
	r := goal.New(goal.WithProgress(&progress)).Run(t.Context(), nodes)
	want := map[string]goal.Status{"a": goal.NewlyAchieved, "b": goal.AlreadyAchieved, "c": goal.NewlyAchieved}
	if got := statuses(r); !equal(got, want) {
		t.Fatalf("statuses = %v, want %v", got, want)
	}
	if err := r.Err(); err != nil {
		t.Fatalf("Err() = %v", err)
	}
	if b.Achieved.Load() != 0 {
		t.Errorf("already achieved goal was achieved again")
	}
	if !strings.Contains(progress.String(), "x: a: ok (newly achieved)") {
		t.Errorf("progress lacks the result line:\n%s", progress.String())
	}

	r2 := goal.New().Run(t.Context(), nodes)
	for _, res := range r2.Results {
		if res.Status != goal.AlreadyAchieved {
			t.Errorf("second run: %s", res.Line())
		}
	}
	if a.Achieved.Load() != 1 || c.Achieved.Load() != 1 {
		t.Errorf("second run achieved again: a=%d c=%d", a.Achieved.Load(), c.Achieved.Load())
	}
}

func TestFailureBlocksOnlyDependents(t *testing.T) {
	base := goaltest.NewFake("base")
	base.AchieveErr = errors.New("compile error")
	nb := node("base", base)
	core := node("core", goaltest.NewFake("core"), nb)
	conn := node("conn", goaltest.NewFake("conn"), core)
	done := node("done", goaltest.NewFake("done").Done(), nb)
	other := node("other", goaltest.NewFake("other"))
	r := goal.New().Run(t.Context(), []*goal.Node{nb, core, conn, done, other})
	want := map[string]goal.Status{"base": goal.Failed, "core": goal.Blocked, "conn": goal.Blocked, "done": goal.AlreadyAchieved, "other": goal.NewlyAchieved}
	if got := statuses(r); !equal(got, want) {
		t.Fatalf("statuses = %v, want %v", got, want)
	}
	if got := r.Results[1].Reason; got != "by base: base" {
		t.Errorf("core reason = %q", got)
	}
	if got := r.Results[2].Reason; got != "by core: core" {
		t.Errorf("conn names its immediate blocker: %q", got)
	}
	err := r.Err()
	var re *goal.RunError
	if !errors.As(err, &re) || len(re.Results) != 3 {
		t.Fatalf("Err() = %v", err)
	}
	if !errors.Is(err, base.AchieveErr) {
		t.Errorf("Err() does not wrap the failure")
	}
}

func TestAssessErrorFailsNeverGuessesAbsent(t *testing.T) {
	g := goaltest.NewFake("g")
	g.AssessErr = errors.New("registry answered 503")
	r := goal.New().Run(t.Context(), []*goal.Node{node("c", g)})
	if r.Results[0].Status != goal.Failed || g.Achieved.Load() != 0 {
		t.Fatalf("got %s, achieved %d times", r.Results[0].Line(), g.Achieved.Load())
	}
}

func TestAchieveThatDoesNotHoldFails(t *testing.T) {
	g := goaltest.NewFake("g")
	g.Lie = true
	r := goal.New().Run(t.Context(), []*goal.Node{node("c", g)})
	if r.Results[0].Status != goal.Failed || !errors.Is(r.Err(), goal.ErrNotAchieved) {
		t.Fatalf("got %s", r.Results[0].Line())
	}
}

func TestSkipIsAResultAndDoesNotBlock(t *testing.T) {
	s := goaltest.NewFake("s")
	s.Skip = "no chart"
	ns := node("c", s)
	r := goal.New().Run(t.Context(), []*goal.Node{ns, node("d", goaltest.NewFake("after"), ns)})
	if r.Results[0].Status != goal.Skipped || r.Results[0].Reason != "no chart" || r.Results[1].Status != goal.NewlyAchieved {
		t.Fatalf("got %s / %s", r.Results[0].Line(), r.Results[1].Line())
	}
}

func TestDryRunAchievesNothing(t *testing.T) {
	g := goaltest.NewFake("g")
	r := goal.New(goal.WithDryRun(true)).Run(t.Context(), []*goal.Node{node("c", g)})
	if r.Results[0].Status != goal.Planned || g.Achieved.Load() != 0 || r.Err() != nil {
		t.Fatalf("got %s", r.Results[0].Line())
	}
}

// inflight is a goal that counts how many achieves are running at once.
type inflight struct {
	name      string
	cur, peak *atomic.Int32
	done      atomic.Bool
}

func (g *inflight) String() string { return g.name }

func (g *inflight) Assess(context.Context) (goal.State, error) {
	return goal.State{Achieved: g.done.Load()}, nil
}

func (g *inflight) Achieve(context.Context) error {
	n := g.cur.Add(1)
	defer g.cur.Add(-1)
	for p := g.peak.Load(); n > p && !g.peak.CompareAndSwap(p, n); p = g.peak.Load() {
	}
	time.Sleep(20 * time.Millisecond)
	g.done.Store(true)
	return nil
}

func TestWorkersBoundConcurrency(t *testing.T) {
	var cur, peak atomic.Int32
	var nodes []*goal.Node
	for i := range 8 {
		nodes = append(nodes, node("c", &inflight{name: string(rune('a' + i)), cur: &cur, peak: &peak}))
	}
	r := goal.New(goal.WithWorkers(3)).Run(t.Context(), nodes)
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	// At most the bound, always; more than one at a time, or the bound would be untested.
	if p := peak.Load(); p > 3 || p < 2 {
		t.Fatalf("peak concurrency %d, want 2..3", p)
	}
}

func TestCycleFailsEveryGoal(t *testing.T) {
	a := node("a", goaltest.NewFake("a"))
	b := node("b", goaltest.NewFake("b"), a)
	a.After = []*goal.Node{b}
	r := goal.New().Run(t.Context(), []*goal.Node{a, b})
	for _, res := range r.Results {
		if res.Status != goal.Failed || !strings.Contains(res.Reason, "cycle") {
			t.Fatalf("got %s", res.Line())
		}
	}
}

func TestJSONReport(t *testing.T) {
	f := goaltest.NewFake("image built x")
	f.AchieveErr = errors.New("boom")
	r := goal.New().Run(t.Context(), []*goal.Node{node("core", f), node("base", goaltest.NewFake("ok").Done())})
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Goals []struct{ Component, Goal, Status, Reason, Digest string }
	}
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Goals) != 2 || got.Goals[0].Status != "failed" || got.Goals[0].Reason != "boom" ||
		got.Goals[1].Status != "already" || got.Goals[1].Digest != "sha256:ok" || got.Goals[0].Component != "core" {
		t.Fatalf("report = %s", buf.String())
	}
}

func equal(a, b map[string]goal.Status) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestOwnAssessErrorFailsEvenWhenBlocked(t *testing.T) {
	base := goaltest.NewFake("base")
	base.AchieveErr = errors.New("compile error")
	nb := node("base", base)
	g := goaltest.NewFake("core")
	g.AssessErr = errors.New("registry answered 503")
	r := goal.New().Run(t.Context(), []*goal.Node{nb, node("core", g, nb)})
	res := r.Results[1]
	if res.Status != goal.Failed || res.Err != g.AssessErr || g.Achieved.Load() != 0 {
		t.Fatalf("got %s (err %v), achieved %d times", res.Line(), res.Err, g.Achieved.Load())
	}
	if want := "registry answered 503; also blocked by base: base"; res.Reason != want {
		t.Errorf("reason = %q, want %q", res.Reason, want)
	}
	if err := r.Err(); !errors.Is(err, g.AssessErr) || !errors.Is(err, base.AchieveErr) {
		t.Errorf("Err() drops an error: %v", err)
	}
}

func TestSameNodeTwiceRunsOnceAndIsReportedOnce(t *testing.T) {
	g := goaltest.NewFake("g")
	g.Sleep = 20 * time.Millisecond
	n := node("c", g)
	other := node("d", goaltest.NewFake("other"), n)
	r := goal.New(goal.WithWorkers(4)).Run(t.Context(), []*goal.Node{n, other, n, n})
	if len(r.Results) != 2 || r.Results[0].Goal != "g" || r.Results[1].Goal != "other" {
		t.Fatalf("results = %+v", r.Results)
	}
	if r.Results[0].Status != goal.NewlyAchieved || r.Results[1].Status != goal.NewlyAchieved {
		t.Fatalf("got %s / %s", r.Results[0].Line(), r.Results[1].Line())
	}
	if a, s := g.Achieved.Load(), g.Assessed.Load(); a != 1 || s != 2 {
		t.Errorf("achieved %d times, assessed %d times; want 1 and 2", a, s)
	}
}

// scripted is a goal whose assessments return states in turn (the last one repeats).
type scripted struct {
	states   []goal.State
	assessed atomic.Int32
	achieved atomic.Int32
}

func (s *scripted) String() string { return "scripted" }

func (s *scripted) Assess(context.Context) (goal.State, error) {
	i := int(s.assessed.Add(1)) - 1
	return s.states[min(i, len(s.states)-1)], nil
}

func (s *scripted) Achieve(context.Context) error { s.achieved.Add(1); return nil }

func TestReassessmentAfterUpstreamChangeHonoursSkip(t *testing.T) {
	up := node("base", goaltest.NewFake("base"))
	s := &scripted{states: []goal.State{{}, {Skip: "nothing left to do"}}}
	r := goal.New().Run(t.Context(), []*goal.Node{up, node("core", s, up)})
	res := r.Results[1]
	if r.Results[0].Status != goal.NewlyAchieved || res.Status != goal.Skipped || res.Reason != "nothing left to do" {
		t.Fatalf("got %s / %s", r.Results[0].Line(), res.Line())
	}
	if s.achieved.Load() != 0 || s.assessed.Load() != 2 {
		t.Errorf("achieved %d times, assessed %d times; want 0 and 2", s.achieved.Load(), s.assessed.Load())
	}
}

func TestInvalidNodesFailWithoutPanicking(t *testing.T) {
	good := node("a", goaltest.NewFake("a"))
	nilDep := node("b", goaltest.NewFake("b"), good, nil)
	dependent := node("c", goaltest.NewFake("c"), nilDep)
	noGoal := &goal.Node{Component: "d"}
	r := goal.New().Run(t.Context(), []*goal.Node{good, nilDep, dependent, noGoal, nil})
	want := []struct {
		status goal.Status
		reason string
	}{
		{goal.NewlyAchieved, ""},
		{goal.Failed, "invalid goal node: nil dependency: After[1] is nil; remove it or set it to the goal that must succeed first"},
		{goal.Blocked, "by b: b"},
		{goal.Failed, "invalid goal node: it has no Goal; set the goal it stands for"},
		{goal.Failed, "invalid goal node: entry 5 of the run list is nil; remove it"},
	}
	if len(r.Results) != len(want) {
		t.Fatalf("results = %+v", r.Results)
	}
	for i, w := range want {
		if got := r.Results[i]; got.Status != w.status || got.Reason != w.reason {
			t.Errorf("result %d: got %s, want %s (%s)", i, got.Line(), w.status, w.reason)
		}
	}
	for _, i := range []int{1, 3, 4} {
		if !errors.Is(r.Results[i].Err, goal.ErrInvalidNode) {
			t.Errorf("result %d: Err = %v, want ErrInvalidNode", i, r.Results[i].Err)
		}
	}
	if r.Results[3].Goal != "(no goal)" || r.Results[3].Component != "d" || r.Results[4].Goal != "(nil goal node)" {
		t.Errorf("invalid nodes are named %q/%q and %q", r.Results[3].Component, r.Results[3].Goal, r.Results[4].Goal)
	}
	if !errors.Is(r.Err(), goal.ErrInvalidNode) {
		t.Errorf("Err() = %v", r.Err())
	}
}

func TestCycleWithNilDependencyDoesNotPanic(t *testing.T) {
	a := node("a", goaltest.NewFake("a"))
	b := node("b", goaltest.NewFake("b"), a, nil)
	a.After = []*goal.Node{b}
	r := goal.New().Run(t.Context(), []*goal.Node{a, b})
	for _, res := range r.Results {
		if res.Status != goal.Failed || !strings.Contains(res.Reason, "cycle: a: a -> b: b -> a: a") {
			t.Fatalf("got %s", res.Line())
		}
	}
}

// stale is achieved until its dependency's achievement makes it stale (a chart pinning an image
// that is pushed again), then achieved again by its own Achieve.
type stale struct {
	upstream *goaltest.Fake
	pushed   bool
}

func (g *stale) String() string { return "chart pushed" }
func (g *stale) Assess(context.Context) (goal.State, error) {
	upstreamDone := g.upstream.Achieved.Load() > 0
	return goal.State{Achieved: !upstreamDone || g.pushed}, nil
}
func (g *stale) Achieve(context.Context) error { g.pushed = true; return nil }

// TestAchievedGoalIsReassessedWhenItsDependencyChanges: a goal found achieved at the first
// assessment is looked at again when a goal it depends on was newly achieved in the run, and is
// achieved again if that made it stale; one whose dependencies changed nothing is not.
func TestAchievedGoalIsReassessedWhenItsDependencyChanges(t *testing.T) {
	img := goaltest.NewFake("image pushed")
	chart := &stale{upstream: img}
	a := &goal.Node{Goal: img}
	b := &goal.Node{Goal: chart, After: []*goal.Node{a}}
	r := goal.New().Run(t.Context(), []*goal.Node{a, b})
	if r.Results[1].Status != goal.NewlyAchieved || !chart.pushed {
		t.Fatalf("the stale goal was not achieved again: %s", r.Results[1].Line())
	}

	img2 := goaltest.NewFake("image pushed").Done()
	chart2 := &stale{upstream: img2}
	a2 := &goal.Node{Goal: img2}
	r = goal.New().Run(t.Context(), []*goal.Node{a2, {Goal: chart2, After: []*goal.Node{a2}}})
	if r.Results[1].Status != goal.AlreadyAchieved || chart2.pushed {
		t.Fatalf("a goal whose dependency was already achieved was redone: %s", r.Results[1].Line())
	}
}

// missingGoal achieves nothing and says what is missing: the engine reports that reason.
type missingGoal struct{}

func (missingGoal) String() string { return "webhook notified" }
func (missingGoal) Assess(context.Context) (goal.State, error) {
	return goal.State{Detail: "no webhook-hook.sent asset on the release"}, nil
}
func (missingGoal) Achieve(context.Context) error { return nil }

func TestNotAchievedReportsTheGoalsOwnReason(t *testing.T) {
	r := goal.New().Run(t.Context(), []*goal.Node{node("c", missingGoal{})})
	res := r.Results[0]
	if res.Status != goal.Failed || !errors.Is(res.Err, goal.ErrNotAchieved) || !strings.Contains(res.Reason, "no webhook-hook.sent asset on the release") {
		t.Fatalf("got %s", res.Line())
	}
}

func TestOptionalFailureBlocksNothingAndFailsNothing(t *testing.T) {
	opt := goaltest.NewFake("notify")
	opt.AchieveErr = errors.New("receiver answered 502")
	after := goaltest.NewFake("after")
	required := goaltest.NewFake("required")
	nOpt := &goal.Node{Component: "after-publish", Goal: opt, Optional: true}
	nAfter := &goal.Node{Component: "after-publish", Goal: after, After: []*goal.Node{nOpt}}
	r := goal.New().Run(t.Context(), []*goal.Node{nOpt, nAfter, node("c", required)})
	if err := r.Err(); err != nil {
		t.Fatalf("an optional failure failed the run: %v", err)
	}
	if got, want := r.Results[0].Line(), "after-publish: notify: failed (optional: receiver answered 502)"; got != want {
		t.Errorf("line = %q, want %q", got, want)
	}
	if !r.Results[0].Optional || r.Results[1].Status != goal.NewlyAchieved || after.Achieved.Load() != 1 {
		t.Errorf("the goal after an optional failure: %s (achieved %d times)", r.Results[1].Line(), after.Achieved.Load())
	}
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil || !strings.Contains(buf.String(), `"optional": true`) {
		t.Errorf("JSON report does not mark the optional goal: %v\n%s", err, buf.String())
	}
}

// TestAnOptionalGoalPassesOnWhatBlockedIt: an optional goal blocked by a required failure does not
// let the goals after it run: only its own failure is forgiven, not the one upstream.
func TestAnOptionalGoalPassesOnWhatBlockedIt(t *testing.T) {
	req := goaltest.NewFake("required")
	req.AchieveErr = errors.New("publish failed")
	opt := goaltest.NewFake("notify")
	after := goaltest.NewFake("after")
	nReq := node("c", req)
	nOpt := &goal.Node{Component: "after-publish", Goal: opt, Optional: true, After: []*goal.Node{nReq}}
	nAfter := &goal.Node{Component: "after-publish", Goal: after, After: []*goal.Node{nOpt}}
	r := goal.New().Run(t.Context(), []*goal.Node{nReq, nOpt, nAfter})
	if r.Results[1].Status != goal.Blocked || r.Results[2].Status != goal.Blocked || after.Achieved.Load() != 0 {
		t.Errorf("after a required failure: %s; %s (achieved %d times)", r.Results[1].Line(), r.Results[2].Line(), after.Achieved.Load())
	}
}
