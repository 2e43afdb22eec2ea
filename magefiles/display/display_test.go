package display_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shiplane/shiplane/magefiles/display"
	"github.com/shiplane/shiplane/magefiles/goal"
	"github.com/shiplane/shiplane/magefiles/plan"
	"github.com/shiplane/shiplane/magefiles/progress"
	"github.com/shiplane/shiplane/magefiles/testenv/golden"
)

// clock is a fake clock moving 1.5s on each reading.
func clock() func() time.Time {
	t := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return func() time.Time { t = t.Add(1500 * time.Millisecond); return t }
}

// located is an error that knows its place, as the loaders' errors do.
type located struct {
	file string
	line int
	msg  string
}

func (e *located) Error() string                     { return e.msg }
func (e *located) Location() (file string, line int) { return e.file, e.line }

var _ display.Locator = (*located)(nil)

const (
	baseDigest = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	coreDigest = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
)

// script feeds obs a fixed run: base built and pushed, core pushed with bytes, its chart blocked.
func script(obs goal.Observer, d *display.Display) *goal.Report {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	goals := []goal.Result{
		{Component: "base", Goal: "image pushed reg/base:1.0.0"},
		{Component: "core", Goal: "image pushed reg/core:1.2.0"},
		{Component: "core", Goal: "chart pushed oci://reg/charts/core 1.2.0"},
	}
	ev := func(k goal.EventKind, i int, res goal.Result) {
		now = now.Add(time.Second)
		obs.Observe(goal.Event{Kind: k, Index: i, Time: now, Result: res})
	}
	obs.Observe(goal.Event{Kind: goal.RunStarted, Time: now, Goals: goals})
	for i, g := range goals {
		ev(goal.Assessing, i, g)
	}
	for i, g := range goals {
		ev(goal.Assessed, i, g)
	}
	ev(goal.Achieving, 0, goals[0])
	fmt.Fprintln(d.Writer(), "reg/base: uploaded blob 0123456789ab (1.0 KiB)")
	base := goals[0]
	base.Status, base.Digest = goal.NewlyAchieved, baseDigest
	ev(goal.Finished, 0, base)
	ev(goal.Achieving, 1, goals[1])
	obs.Observe(goal.Event{Kind: goal.Progressed, Index: 1, Time: now, Result: goals[1], Done: 3 << 20, Total: 8 << 20})
	core := goals[1]
	core.Status, core.Reason, core.Err = goal.Failed, "pushing reg/core:1.2.0: unauthorized", errors.New("unauthorized")
	ev(goal.Finished, 1, core)
	chart := goals[2]
	chart.Status, chart.Reason = goal.Blocked, "by core: image pushed reg/core:1.2.0"
	ev(goal.Finished, 2, chart)
	return &goal.Report{Results: []goal.Result{base, core, chart}, Duration: 4100 * time.Millisecond}
}

func refs() map[string]string {
	return map[string]string{"image pushed reg/base:1.0.0": "reg/base:1.0.0", "image pushed reg/core:1.2.0": "reg/core:1.2.0"}
}

var anyEscape = regexp.MustCompile("\x1b")
var colour = regexp.MustCompile("\x1b\\[[0-9;]*m")

func TestPlainOutputGolden(t *testing.T) {
	var out bytes.Buffer
	d := display.New(&out, display.Options{})
	if d.Mode() != display.Plain {
		t.Fatalf("mode %s, want plain", d.Mode())
	}
	rep := script(d.Observer(nil), d)
	d.Summary(rep, refs())
	d.Close()
	if anyEscape.MatchString(out.String()) {
		t.Errorf("plain output holds an escape:\n%q", out.String())
	}
	golden.Check(t, "plain", out.String())
}

func TestSummaryTableGolden(t *testing.T) {
	var out bytes.Buffer
	rep := script(goal.ObserverFunc(func(goal.Event) {}), display.New(&out, display.Options{}))
	golden.Check(t, "table", display.Table(rep, refs()))
}

func testPlan() *plan.Plan {
	img := plan.ImageArtifact("core", []string{"reg/core:1.2.0"}, nil, "k")
	base := plan.ImageArtifact("base", []string{"reg/base:1.0.0"}, nil, "k")
	return &plan.Plan{Tag: "v1.2.0", Commit: "0123456789abcdef0123",
		Levels: [][]plan.Entry{
			{{Name: "base", Version: "1.0.0", Steps: []plan.Step{{Artifact: base, Decision: plan.AlreadyPublished, Cause: "same | inputs"}}}},
			{{Name: "core", Version: "1.2.0", Steps: []plan.Step{{Artifact: img, Decision: plan.Publish, Cause: "not published"}}}},
		},
		Refusals: []error{&located{file: "deploy/components.yaml", line: 7, msg: "core: unknown key chart"}},
	}
}

func TestGitHubActionsOutputGolden(t *testing.T) {
	var out bytes.Buffer
	summary := filepath.Join(t.TempDir(), "summary.md")
	d := display.New(&out, display.Options{GitHubActions: true, Terminal: true, StepSummary: summary,
		Redact: func(s string) string { return strings.ReplaceAll(s, "unauthorized", "***") }})
	if d.Mode() != display.GitHubActions {
		t.Fatalf("mode %s, want github-actions", d.Mode())
	}
	pl := testPlan()
	d.Plan(pl)
	refusal := fmt.Errorf("planning: %w", errors.Join(pl.Err(), &located{file: "deploy/a,b:c.yaml", line: 3, msg: "100% wrong\nhere"}))
	d.Annotate(refusal)
	levels := func(component string) (int, string) {
		if component == "base" {
			return 0, "level 0: base"
		}
		return 1, "level 1: core"
	}
	rep := script(d.Observer(levels), d)
	d.Summary(rep, refs())
	if err := d.WriteStepSummary(display.StepSummary{Title: "releaseAll v1.2.0", Plan: pl, Report: rep, Refs: refs(),
		ReleaseURL: "https://github.example/acme/app/releases/tag/v1.2.0"}); err != nil {
		t.Fatal(err)
	}
	d.Close()
	if anyEscape.MatchString(out.String()) {
		t.Errorf("GitHub Actions output holds an escape:\n%q", out.String())
	}
	golden.Check(t, "github-actions", out.String())
	md, err := os.ReadFile(summary)
	if err != nil {
		t.Fatal(err)
	}
	golden.Check(t, "step-summary", string(md))
	if strings.Contains(string(md), "unauthorized") {
		t.Errorf("the step summary was not redacted:\n%s", md)
	}
}

func TestAnnotationsOnePerLocatedRefusal(t *testing.T) {
	inner := &located{file: "deploy/components.yaml", line: 12, msg: "unknown key"}
	err := errors.Join(fmt.Errorf("loading: %w", inner), errors.New("no place"), &located{msg: "no file"},
		fmt.Errorf("again: %w", inner), fmt.Errorf("outer: %w", &located{file: "x.yaml", line: 1, msg: "outer"}))
	got := display.Annotations(err)
	want := "::error file=deploy/components.yaml,line=12::unknown key\n::error file=x.yaml,line=1::outer\n"
	if got != want {
		t.Fatalf("annotations:\n%s\nwant:\n%s", got, want)
	}
	if display.Annotations(errors.New("plain")) != "" || display.Annotations(nil) != "" {
		t.Error("an error with no location was annotated")
	}
	var out bytes.Buffer
	display.New(&out, display.Options{}).Annotate(err)
	if out.Len() != 0 {
		t.Errorf("annotated outside GitHub Actions: %q", out.String())
	}
}

// The live view, on a fake terminal (Options.Terminal set on a buffer), moves back over what it
// drew and draws again at each change, in colour; finished goals stay above it.
func TestLiveViewRedrawsOnAFakeTerminal(t *testing.T) {
	var out bytes.Buffer
	d := display.New(&out, display.Options{Terminal: true, Refresh: -1, Now: clock()})
	if d.Mode() != display.Live {
		t.Fatalf("mode %s, want live", d.Mode())
	}
	rep := script(d.Observer(nil), d)
	d.Summary(rep, refs())
	d.Close()
	got := out.String()
	if n := len(regexp.MustCompile("\x1b\\[[0-9]+A\x1b\\[J").FindAllString(got, -1)); n < 5 {
		t.Errorf("the view was redrawn %d times, want at each change:\n%q", n, got)
	}
	if !strings.Contains(got, "\x1b[4A\x1b[J") {
		t.Errorf("the view of 3 goals being assessed (4 lines) was not moved back over:\n%q", got)
	}
	for _, want := range []string{
		"core: image pushed reg/core:1.2.0  achieving", "3.0 MiB / 8.0 MiB", "1/3 goals finished, 1 waiting", "0/3 goals finished, 2 waiting",
		"\x1b[32mbase: image pushed reg/base:1.0.0: ok (newly achieved) 111111111111\x1b[0m",
		"\x1b[31mcore: image pushed reg/core:1.2.0: failed",
		"reg/base: uploaded blob 0123456789ab (1.0 KiB)\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("live output lacks %q:\n%q", want, got)
		}
	}
	// The last frame is cleared once every goal has finished: the table follows the results.
	if i := strings.LastIndex(got, "\x1b[J"); i > strings.Index(got, "component  artifact") {
		t.Errorf("a live frame was drawn after the run:\n%q", got)
	}
}

// NO_COLOR on a terminal: the view still redraws, with no colour escape at all.
func TestNoColorLeavesNoColourEscape(t *testing.T) {
	var out bytes.Buffer
	d := display.New(&out, display.Options{Terminal: true, NoColor: true, Refresh: -1, Now: clock()})
	rep := script(d.Observer(nil), d)
	d.Summary(rep, refs())
	d.Close()
	if m := colour.FindString(out.String()); m != "" {
		t.Errorf("NO_COLOR output holds the colour escape %q:\n%q", m, out.String())
	}
	if !strings.Contains(out.String(), "\x1b[J") {
		t.Errorf("the live view was not redrawn:\n%q", out.String())
	}
	// A dumb terminal gets plain lines: no escape at all.
	out.Reset()
	d = display.New(&out, display.Options{Terminal: true, Dumb: true})
	script(d.Observer(nil), d)
	if anyEscape.MatchString(out.String()) {
		t.Errorf("a dumb terminal got an escape:\n%q", out.String())
	}
}

// sends is a goal whose Achieve sends bytes.
type sends struct{ done bool }

func (s *sends) String() string { return "image pushed reg/core:1.2.0" }
func (s *sends) Assess(context.Context) (goal.State, error) {
	return goal.State{Achieved: s.done}, nil
}
func (s *sends) Achieve(ctx context.Context) error {
	progress.ExpectBytes(ctx, 4<<20)
	progress.AddBytes(ctx, 2<<20)
	s.done = true
	return nil
}

// The real engine's events drive the live view, bytes included.
func TestEngineDrivesTheLiveView(t *testing.T) {
	var out bytes.Buffer
	d := display.New(&out, display.Options{Terminal: true, Refresh: -1, Now: clock()})
	rep := goal.New(goal.WithObserver(d.Observer(nil))).Run(t.Context(), []*goal.Node{{Component: "core", Goal: &sends{}}})
	d.Close()
	if err := rep.Err(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"2.0 MiB / 4.0 MiB", "core: image pushed reg/core:1.2.0: ok (newly achieved)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("live output lacks %q:\n%q", want, out.String())
		}
	}
}
