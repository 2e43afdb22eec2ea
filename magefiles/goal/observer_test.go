package goal_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/shiplane/shiplane/magefiles/goal"
	"github.com/shiplane/shiplane/magefiles/goal/goaltest"
	"github.com/shiplane/shiplane/magefiles/progress"
)

// sender is a goal whose Achieve sends bytes, as a push does.
type sender struct{ done bool }

func (s *sender) String() string { return "blob uploaded" }
func (s *sender) Assess(context.Context) (goal.State, error) {
	return goal.State{Achieved: s.done, Digest: "sha256:0123456789abcdef0123"}, nil
}
func (s *sender) Achieve(ctx context.Context) error {
	progress.ExpectBytes(ctx, 300)
	for range 3 {
		progress.AddBytes(ctx, 100)
	}
	s.done = true
	return nil
}

// The observer sees each goal assessed, achieved (with its bytes) and finished, in that order,
// and the plain lines are the same as WithProgress writes.
func TestObserverSeesEveryGoalsEventsInOrder(t *testing.T) {
	a := &sender{}
	nodes := []*goal.Node{{Component: "core", Goal: a}, {Component: "base", Goal: goaltest.NewFake("ready").Done()}}
	var events []string
	var lines, plain bytes.Buffer
	rec := goal.ObserverFunc(func(e goal.Event) {
		switch e.Kind {
		case goal.RunStarted:
			events = append(events, fmt.Sprintf("start %d", len(e.Goals)))
		case goal.Assessing:
			events = append(events, "assess "+e.Result.Label())
		case goal.Achieving:
			events = append(events, "achieve "+e.Result.Label())
		case goal.Progressed:
			events = append(events, fmt.Sprintf("bytes %s %d/%d", e.Result.Label(), e.Done, e.Total))
		case goal.Finished:
			events = append(events, "finish "+e.Result.Line())
		}
	})
	rep := goal.New(goal.WithWorkers(1), goal.WithProgress(&plain), goal.WithObserver(rec),
		goal.WithObserver(goal.PlainLines(&lines))).Run(t.Context(), nodes)
	if err := rep.Err(); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(events, "\n")
	for _, want := range []string{
		"start 2",
		"achieve core: blob uploaded\nbytes core: blob uploaded 100/300\nbytes core: blob uploaded 200/300\nbytes core: blob uploaded 300/300\nfinish core: blob uploaded: ok (newly achieved) 0123456789ab",
		"finish base: ready: ok (already achieved)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("events lack %q:\n%s", want, got)
		}
	}
	if strings.Index(got, "assess core") > strings.Index(got, "achieve core") {
		t.Errorf("achieved before assessed:\n%s", got)
	}
	if plain.String() != lines.String() || !strings.HasPrefix(plain.String(), "assessing 2 goals\n") {
		t.Errorf("WithProgress wrote:\n%s\nPlainLines wrote:\n%s", plain.String(), lines.String())
	}
	// Outside Achieve there is no reporter: reporting is a no-op.
	progress.AddBytes(t.Context(), 5)
}
