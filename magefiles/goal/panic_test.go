package goal_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/shiplane/shiplane/magefiles/goal"
	"github.com/shiplane/shiplane/magefiles/goal/goaltest"
)

// chokes is a goal whose Assess reads a registry answer it does not expect the way a library might:
// it indexes past the end and the runtime panics.
type chokes struct {
	answer   string
	achieved atomic.Int32
}

func (c *chokes) String() string { return "image pushed ghcr.io/acme/core:1.2.0" }

func (c *chokes) Assess(context.Context) (goal.State, error) {
	digest := strings.Split(c.answer, "@")[1] // "name@sha256:…", but the answer has no "@"
	return goal.State{Achieved: true, Digest: digest}, nil
}

func (c *chokes) Achieve(context.Context) error { c.achieved.Add(1); return nil }

// reportJSON writes the report as CI does and reads it back.
func reportJSON(t *testing.T, r *goal.Report) []struct{ Component, Goal, Status, Reason string } {
	t.Helper()
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatalf("WriteJSON: %v", err)
	}
	var got struct {
		Goals []struct{ Component, Goal, Status, Reason string }
	}
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("reading the report back: %v\n%s", err, buf.String())
	}
	if strings.Contains(buf.String(), "panic_test.go") {
		t.Errorf("the JSON report carries the stack excerpt; only the one-line reason belongs there:\n%s", buf.String())
	}
	return got.Goals
}

func TestPanickingAssessFailsTheGoalAndTheRunGoesOn(t *testing.T) {
	bad := &chokes{answer: "sha256:0123"}
	nb := node("core", bad)
	dependent := goaltest.NewFake("chart pushed core")
	independent := goaltest.NewFake("image pushed base")
	var progress bytes.Buffer
	r := goal.New(goal.WithProgress(&progress)).Run(t.Context(), []*goal.Node{nb, node("core", dependent, nb), node("base", independent)})

	want := map[string]goal.Status{bad.String(): goal.Failed, "chart pushed core": goal.Blocked, "image pushed base": goal.NewlyAchieved}
	if got := statuses(r); !equal(got, want) {
		t.Fatalf("statuses = %v, want %v", got, want)
	}
	res := r.Results[0]
	wantReason := `goal "image pushed ghcr.io/acme/core:1.2.0" panicked while assessing: runtime error: index out of range [1] with length 1`
	if res.Reason != wantReason {
		t.Errorf("reason = %q, want %q", res.Reason, wantReason)
	}
	if bad.achieved.Load() != 0 || dependent.Achieved.Load() != 0 || independent.Achieved.Load() != 1 {
		t.Errorf("achieved: panicking %d, dependent %d, independent %d; want 0, 0, 1",
			bad.achieved.Load(), dependent.Achieved.Load(), independent.Achieved.Load())
	}
	if got := r.Results[1].Reason; got != "by core: "+bad.String() {
		t.Errorf("dependent's reason = %q", got)
	}

	var pe *goal.PanicError
	if !errors.As(res.Err, &pe) || pe.Op != "assessing" || pe.Goal != bad.String() {
		t.Fatalf("Err = %#v, want a *goal.PanicError for assessing", res.Err)
	}
	var rerr runtime.Error
	if !errors.As(r.Err(), &rerr) {
		t.Errorf("the run's error does not reach the runtime error: %v", r.Err())
	}
	// The error, not the reason, carries where it happened: the goal's own frame first.
	if !strings.HasPrefix(pe.Stack, "github.com/shiplane/shiplane/magefiles/goal_test.(*chokes).Assess (panic_test.go:") {
		t.Errorf("stack excerpt does not start at the panicking call:\n%s", pe.Stack)
	}
	if strings.Contains(pe.Stack, "runtime.gopanic") || strings.Contains(pe.Stack, "magefiles/goal.") {
		t.Errorf("stack excerpt holds the runtime's or the engine's frames:\n%s", pe.Stack)
	}
	if !strings.Contains(res.Err.Error(), "(*chokes).Assess") || strings.Contains(res.Reason, "\n") {
		t.Errorf("the error should hold the stack and the reason one line:\nerror: %s\nreason: %q", res.Err, res.Reason)
	}
	if !strings.Contains(progress.String(), "core: "+bad.String()+": failed ("+wantReason+")\n    github.com/shiplane/shiplane/magefiles/goal_test.(*chokes).Assess") {
		t.Errorf("progress lacks the failure line followed by the stack excerpt:\n%s", progress.String())
	}

	goals := reportJSON(t, r)
	if len(goals) != 3 || goals[0].Status != "failed" || goals[0].Reason != wantReason ||
		goals[1].Status != "blocked" || goals[2].Status != "achieved" {
		t.Errorf("report goals = %+v", goals)
	}
}

func TestPanickingAchieveFailsTheGoalAndTheRunGoesOn(t *testing.T) {
	bad := goaltest.NewFake("chart pushed core")
	bad.AchievePanic = "unexpected media type application/vnd.odd"
	nb := node("core", bad)
	dependent := goaltest.NewFake("git tag pushed core/v1.2.0")
	independent := goaltest.NewFake("image pushed base")
	r := goal.New().Run(t.Context(), []*goal.Node{nb, node("core", dependent, nb), node("base", independent)})

	want := map[string]goal.Status{"chart pushed core": goal.Failed, "git tag pushed core/v1.2.0": goal.Blocked, "image pushed base": goal.NewlyAchieved}
	if got := statuses(r); !equal(got, want) {
		t.Fatalf("statuses = %v, want %v", got, want)
	}
	wantReason := `goal "chart pushed core" panicked while achieving: unexpected media type application/vnd.odd`
	if got := r.Results[0].Reason; got != wantReason {
		t.Errorf("reason = %q, want %q", got, wantReason)
	}
	if dependent.Achieved.Load() != 0 || independent.Achieved.Load() != 1 {
		t.Errorf("achieved: dependent %d, independent %d; want 0, 1", dependent.Achieved.Load(), independent.Achieved.Load())
	}
	var pe *goal.PanicError
	if !errors.As(r.Err(), &pe) || pe.Op != "achieving" || pe.Value != bad.AchievePanic {
		t.Fatalf("Err() = %v, want a *goal.PanicError for achieving", r.Err())
	}
	if !strings.Contains(pe.Stack, "goaltest.(*Fake).Achieve (goaltest.go:") || !strings.Contains(pe.Error(), pe.Stack[:20]) {
		t.Errorf("stack excerpt = %q; error = %q", pe.Stack, pe.Error())
	}

	goals := reportJSON(t, r)
	if len(goals) != 3 || goals[0].Status != "failed" || goals[0].Reason != wantReason ||
		goals[1].Status != "blocked" || goals[1].Reason != "by core: chart pushed core" || goals[2].Status != "achieved" {
		t.Errorf("report goals = %+v", goals)
	}

	// Once the library stops choking, a second run achieves what is missing and nothing else.
	bad.AchievePanic = nil
	r2 := goal.New().Run(t.Context(), []*goal.Node{nb, node("core", dependent, nb), node("base", independent)})
	if err := r2.Err(); err != nil || independent.Achieved.Load() != 1 || dependent.Achieved.Load() != 1 {
		t.Errorf("second run: %v; independent achieved %d times, dependent %d", err, independent.Achieved.Load(), dependent.Achieved.Load())
	}
}

// assessPanicsAfterAchieving is a goal whose check panics only once the goal is achieved.
type assessPanicsAfterAchieving struct{ done atomic.Bool }

func (g *assessPanicsAfterAchieving) String() string { return "release published v1.2.0" }

func (g *assessPanicsAfterAchieving) Assess(context.Context) (goal.State, error) {
	if g.done.Load() {
		var assets map[string]*struct{ Size int }
		return goal.State{Achieved: assets["SHA256SUMS"].Size > 0}, nil // nil pointer dereference
	}
	return goal.State{}, nil
}

func (g *assessPanicsAfterAchieving) Achieve(context.Context) error { g.done.Store(true); return nil }

func TestPanicWhileCheckingAfterAchievingFails(t *testing.T) {
	r := goal.New().Run(t.Context(), []*goal.Node{node("", &assessPanicsAfterAchieving{})})
	res := r.Results[0]
	want := `checking after achieving: goal "release published v1.2.0" panicked while assessing: runtime error: invalid memory address or nil pointer dereference`
	if res.Status != goal.Failed || res.Reason != want {
		t.Fatalf("got %s, want reason %q", res.Line(), want)
	}
	var pe *goal.PanicError
	if !errors.As(r.Err(), &pe) || !strings.Contains(pe.Stack, "(*assessPanicsAfterAchieving).Assess") {
		t.Errorf("Err() = %v", r.Err())
	}
}
