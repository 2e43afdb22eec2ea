package pipeline_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shiplane/shiplane/magefiles/goal"
	"github.com/shiplane/shiplane/magefiles/pipeline"
	"github.com/shiplane/shiplane/magefiles/progress"
)

func load(t *testing.T, root string, opts ...pipeline.Option) *pipeline.Pipeline {
	t.Helper()
	p, err := pipeline.Load(t.Context(), root, pipeline.DefaultFile, append([]pipeline.Option{pipeline.WithEnviron(environ())}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func results(rep *goal.Report) map[string]goal.Result {
	out := map[string]goal.Result{}
	for _, r := range rep.Results {
		out[r.Goal] = r
	}
	return out
}

// TestFailedGoalBlocksDependents: a failing script fails its goal, the goals after it are
// blocked and never run, and the others pass; the output is streamed, prefixed by goal.
func TestFailedGoalBlocksDependents(t *testing.T) {
	root := writeRoot(t, `verify:
  - name: first
    run: echo hello from first
  - name: broken
    run: |
      echo about to fail >&2
      false
      echo never printed
  - name: after broken
    after: [broken]
    run: touch ran.txt
  - name: after first
    after: [first]
    run: pwd
`)
	var out strings.Builder
	p := load(t, root, pipeline.WithProgress(&out))
	rep := goal.New(goal.WithProgress(progress.Locked(&out))).Run(t.Context(), p.Nodes())
	res := results(rep)
	if res["first"].Status != goal.NewlyAchieved || res["after first"].Status != goal.NewlyAchieved {
		t.Errorf("passing goals: %+v", rep.Results)
	}
	if r := res["broken"]; r.Status != goal.Failed || r.Reason != "deploy/release.yaml:4: the run: script exited with status 1" {
		t.Errorf("broken = %+v", r)
	}
	if r := res["after broken"]; r.Status != goal.Blocked || r.Reason != "by verify: broken" {
		t.Errorf("after broken = %+v", r)
	}
	if _, err := os.Stat(filepath.Join(root, "ran.txt")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a blocked goal ran: %v", err)
	}
	var ce *pipeline.CommandError
	var ge *pipeline.GoalError
	if err := rep.Err(); !errors.As(err, &ce) || ce.ExitCode != 1 || !errors.As(err, &ge) || ge.Goal != "broken" || ge.Line != 4 {
		t.Errorf("report error = %v", err)
	}
	log := out.String()
	for _, want := range []string{"first | hello from first\n", "broken | about to fail\n", "after first | " + root + "\n"} {
		if !strings.Contains(log, want) {
			t.Errorf("progress lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, "never printed") {
		t.Errorf("the script went on after a failing command:\n%s", log)
	}
}

// TestSecondRunAchievesNothing: once passed, the same goals are already achieved; a fresh load
// verifies again.
func TestSecondRunAchievesNothing(t *testing.T) {
	root := writeRoot(t, "verify:\n  - name: count\n    run: echo x >> runs.txt\n")
	p := load(t, root)
	for i, want := range []goal.Status{goal.NewlyAchieved, goal.AlreadyAchieved} {
		rep := goal.New().Run(t.Context(), p.Nodes())
		if got := rep.Results[0].Status; got != want {
			t.Fatalf("run %d: %v, want %v", i+1, got, want)
		}
	}
	rep := goal.New().Run(t.Context(), load(t, root).Nodes())
	data, _ := os.ReadFile(filepath.Join(root, "runs.txt"))
	if rep.Results[0].Status != goal.NewlyAchieved || string(data) != "x\nx\n" {
		t.Fatalf("fresh load: %v, runs %q", rep.Results[0].Status, data)
	}
}

// TestCustomKind runs a kind registered with one line in TestMain.
func TestCustomKind(t *testing.T) {
	root := writeRoot(t, `verify:
  - name: make marker
    run: touch marker
  - name: marker exists
    kind: require-file
    with: {path: marker}
    after: [make marker]
  - name: other exists
    kind: require-file
    with: {path: missing}
`)
	res := results(goal.New().Run(t.Context(), load(t, root).Nodes()))
	if res["marker exists"].Status != goal.NewlyAchieved || res["other exists"].Status != goal.Failed ||
		!errors.Is(res["other exists"].Err, os.ErrNotExist) {
		t.Fatalf("results: %+v", res)
	}
}

func TestRegister(t *testing.T) {
	if err := pipeline.Register("shell", func(pipeline.Spec) (goal.Goal, error) { return nil, nil }); !errors.Is(err, pipeline.ErrKindRegistered) {
		t.Errorf("re-registering shell: %v", err)
	}
	if err := pipeline.Register("require-file", newRequireFile); !errors.Is(err, pipeline.ErrKindRegistered) {
		t.Errorf("registering twice: %v", err)
	}
	for _, bad := range []string{"", "Shell", "9x", "a b"} {
		if err := pipeline.Register(bad, newRequireFile); !errors.Is(err, pipeline.ErrInvalidKind) {
			t.Errorf("Register(%q): %v", bad, err)
		}
	}
	if err := pipeline.Register("nil-factory", nil); !errors.Is(err, pipeline.ErrInvalidKind) {
		t.Errorf("nil factory: %v", err)
	}
	if got := strings.Join(pipeline.Kinds(), ","); got != "capture,leak,marker,require-file,shell" {
		t.Errorf("Kinds() = %s", got)
	}
}

// TestKindsCannotLeak: a kind that puts a secret in its notes and errors is masked by the
// pipeline, in the report and in errors.Is chains' text.
func TestKindsCannotLeak(t *testing.T) {
	const secret = "leaky-secret-42"
	root := writeRoot(t, "vars:\n  api_token: env!MY_TOKEN\nverify:\n  - name: leaks\n    kind: leak\n    with: {value: var!api_token}\n")
	p, err := pipeline.Load(t.Context(), root, pipeline.DefaultFile, pipeline.WithEnviron(environ("MY_TOKEN="+secret)))
	if err != nil {
		t.Fatal(err)
	}
	rep := goal.New(goal.WithDryRun(true)).Run(t.Context(), p.Nodes())
	if r := rep.Results[0]; r.Status != goal.Planned || r.Reason != "holding ***" {
		t.Errorf("dry run: %+v", r)
	}
	rep = goal.New().Run(t.Context(), p.Nodes())
	var buf strings.Builder
	if err := rep.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	all := buf.String() + rep.Err().Error() + rep.Results[0].Line()
	if strings.Contains(all, secret) || !strings.Contains(all, "could not use ***") || !errors.Is(rep.Err(), errLeak) {
		t.Fatalf("report:\n%s", all)
	}
}

// TestCancelKillsTheScript: cancelling the run stops a script and everything it started.
func TestCancelKillsTheScript(t *testing.T) {
	root := writeRoot(t, "verify:\n  - name: slow\n    run: sleep 60 & sleep 60; wait\n")
	p := load(t, root)
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	rep := goal.New().Run(ctx, p.Nodes())
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("cancel took %v", took)
	}
	if r := rep.Results[0]; r.Status != goal.Failed || !errors.Is(r.Err, context.DeadlineExceeded) {
		t.Fatalf("result: %+v", r)
	}
}
