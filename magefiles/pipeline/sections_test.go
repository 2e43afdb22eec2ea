package pipeline_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shiplane/shiplane/magefiles/goal"
	"github.com/shiplane/shiplane/magefiles/pipeline"
)

const sections = `verify:
  - name: unit tests
    run: "true"
publish:
  - images
  - name: smoke after images
    run: "true"
  - charts
  - component-tags
  - github-release
after_publish:
  - name: notified
    kind: marker
    with: {path: sent}
  - name: checked every time
    kind: marker
    effectful: false
    optional: false
    with: {path: checked}
  - name: flaky notice
    run: echo receiver down >&2; exit 7
    optional: true
  - name: after the notice
    run: "true"
    after: [flaky notice]
  - name: turned off
    kind: require-file
    enabled: false
    with: {path: nowhere}
`

// entryLine renders an entry for comparison.
func entryLine(e pipeline.Entry) string {
	s := e.Section + "/" + e.Name
	if e.Builtin {
		s += " builtin"
	}
	for _, f := range []struct {
		on   bool
		word string
	}{{e.Optional, "optional"}, {e.Effectful, "effectful"}, {!e.Enabled, "disabled"}, {e.Default, "default"}} {
		if f.on {
			s += " " + f.word
		}
	}
	return s
}

// TestSections loads all three sections and runs the after_publish goals twice: the optional
// failure fails nothing and blocks nothing, the effectful goal is written once across two runs,
// and the check (effectful: false over an effectful kind) runs in both.
func TestSections(t *testing.T) {
	root := writeRoot(t, sections)
	load := func() *pipeline.Pipeline {
		p, err := pipeline.Load(t.Context(), root, pipeline.DefaultFile, pipeline.WithEnviron(environ()))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	p := load()
	var got []string
	for _, e := range p.Entries() {
		got = append(got, entryLine(e))
	}
	want := []string{"verify/unit tests", "publish/images builtin", "publish/smoke after images", "publish/charts builtin",
		"publish/component-tags builtin", "publish/github-release builtin", "after_publish/notified optional effectful",
		"after_publish/checked every time", "after_publish/flaky notice optional", "after_publish/after the notice",
		"after_publish/turned off disabled"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("entries:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	stages := p.PublishStages()
	if len(stages) != 5 || stages[0].Builtin != "images" || stages[1].Node == nil || stages[1].Node.Component != "publish" || stages[2].Builtin != "charts" {
		t.Errorf("publish stages: %+v", stages)
	}
	after := p.AfterPublish()
	if len(after) != 4 || after[0].Component != "after-publish" || !after[0].Optional || after[1].Optional || !after[2].Optional {
		t.Fatalf("after_publish nodes: %+v", after)
	}

	for run := 1; run <= 2; run++ {
		rep := goal.New().Run(t.Context(), load().AfterPublish())
		if err := rep.Err(); err != nil {
			t.Fatalf("run %d: the optional failure failed the run: %v", run, err)
		}
		lines := map[string]goal.Result{}
		for _, r := range rep.Results {
			lines[r.Goal] = r
		}
		if r := lines["flaky notice"]; r.Status != goal.Failed || !strings.HasPrefix(r.Reason, "optional: deploy/release.yaml:") || !strings.Contains(r.Line(), "failed (optional: ") {
			t.Errorf("run %d: %s", run, r.Line())
		}
		if r := lines["after the notice"]; r.Status != goal.NewlyAchieved {
			t.Errorf("run %d: a goal after an optional failure: %s", run, r.Line())
		}
		if r := lines["checked every time"]; r.Status != goal.NewlyAchieved {
			t.Errorf("run %d: a check is never already achieved: %s", run, r.Line())
		}
		wantNotified := goal.NewlyAchieved
		if run == 2 {
			wantNotified = goal.AlreadyAchieved
		}
		if r := lines["notified"]; r.Status != wantNotified {
			t.Errorf("run %d: the effectful goal: %s, want %s", run, r.Line(), wantNotified)
		}
	}
	if n, _ := markerWrites.Load("notified"); *n.(*int) != 1 {
		t.Errorf("the effectful goal was achieved %d times in two runs, want 1", *n.(*int))
	}
	if n, _ := markerWrites.Load("checked every time"); *n.(*int) != 2 {
		t.Errorf("the check ran %d times in two runs, want 2", *n.(*int))
	}
}

// TestNoPublishSectionIsTheBuiltins: a file without publish: runs the built-ins in their order.
func TestNoPublishSectionIsTheBuiltins(t *testing.T) {
	root := writeRoot(t, "verify: []\nafter_publish:\n  - name: done\n    run: \"true\"\n")
	p, err := pipeline.Load(t.Context(), root, pipeline.DefaultFile, pipeline.WithEnviron(environ()))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range p.PublishStages() {
		names = append(names, s.Builtin)
	}
	if strings.Join(names, ",") != strings.Join(pipeline.Builtins, ",") {
		t.Errorf("stages = %v", names)
	}
	var got []string
	for _, e := range p.Entries() {
		got = append(got, entryLine(e))
	}
	want := "publish/images builtin default,publish/charts builtin default,publish/component-tags builtin default,publish/github-release builtin default,after_publish/done"
	if strings.Join(got, ",") != want {
		t.Errorf("entries = %s", strings.Join(got, ","))
	}
}

// TestDefaultGoal: a default goal is added unless the file lists its kind; enabled: false turns
// it off.
func TestDefaultGoal(t *testing.T) {
	def := pipeline.WithDefault(pipeline.Default{Section: pipeline.SectionAfterPublish, Name: "captured by default", Kind: "capture"})
	for _, tc := range []struct{ name, file, want string }{
		{"absent", "verify: []\n", "after_publish/captured by default default"},
		{"listed", "verify: []\nafter_publish:\n  - name: mine\n    kind: capture\n", "after_publish/mine"},
		{"off", "verify: []\nafter_publish:\n  - name: mine\n    kind: capture\n    enabled: false\n", "after_publish/mine disabled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := writeRoot(t, tc.file)
			p, err := pipeline.Load(t.Context(), root, pipeline.DefaultFile, pipeline.WithEnviron(environ()), def, pipeline.ValidateOnly())
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range p.Entries() {
				if e.Section == pipeline.SectionAfterPublish {
					got = append(got, entryLine(e))
				}
			}
			if strings.Join(got, ",") != tc.want {
				t.Errorf("after_publish = %v, want %s", got, tc.want)
			}
		})
	}
}

// TestValidateOnlyRunsNoCommand: a validate-only load checks the file and every kind's entry
// without running sh! commands or gpg; env! references are still resolved.
func TestValidateOnlyRunsNoCommand(t *testing.T) {
	root := writeRoot(t, "vars:\n  v: sh!touch ran-var\nverify:\n  - name: a\n    run: echo ${sh!touch ran-run} ${var!v} ${env!HOME}\n")
	p, err := pipeline.Load(t.Context(), root, pipeline.DefaultFile, pipeline.WithEnviron(environ()), pipeline.ValidateOnly())
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Nodes()) != 1 {
		t.Errorf("nodes: %v", p.Nodes())
	}
	for _, f := range []string{"ran-var", "ran-run"} {
		if _, err := os.Stat(filepath.Join(root, f)); err == nil {
			t.Errorf("a validate-only load ran the sh! command that writes %s", f)
		}
	}
	// A problem of a kind's entry is still found.
	root = writeRoot(t, "verify: []\nafter_publish:\n  - name: needs a file\n    kind: require-file\n    with:\n      other: ${sh!touch ran}\n")
	_, err = pipeline.Load(t.Context(), root, pipeline.DefaultFile, pipeline.WithEnviron(environ()), pipeline.ValidateOnly())
	if err == nil || !strings.Contains(err.Error(), `deploy/release.yaml:5: after_publish goal "needs a file": require-file needs with.path`) {
		t.Errorf("err = %v", err)
	}
	if _, serr := os.Stat(filepath.Join(root, "ran")); serr == nil {
		t.Error("a validate-only load ran a sh! command")
	}
}
