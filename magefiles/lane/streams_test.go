package lane_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/shiplane/shiplane/magefiles/lane"
	"github.com/shiplane/shiplane/magefiles/registry/registrytest"
	"github.com/shiplane/shiplane/magefiles/testenv"
)

// table is the summary table's heading.
var table = regexp.MustCompile(`(?m)^component +artifact +digest +status$`)

// refDigestLines checks that every line of stdout is "ref@digest" and returns them.
func refDigestLines(t *testing.T, stdout string) []string {
	t.Helper()
	var refs []string
	for _, l := range strings.Split(strings.TrimSuffix(stdout, "\n"), "\n") {
		if l == "" {
			continue
		}
		if _, err := name.NewDigest(l); err != nil {
			t.Errorf("stdout line %q is not ref@digest: %v", l, err)
		}
		refs = append(refs, l)
	}
	return refs
}

// pushAllDev writes one ref@digest per image and chart to stdout and nothing else; its progress,
// summary table included, goes to stderr (Progress). Against the in-process registry.
func TestPushAllDevStdoutHoldsOnlyRefDigestLines(t *testing.T) {
	ws := testenv.PlatformImages(t)
	reg := registrytest.New(t)
	var progress bytes.Buffer
	cfg, _ := devConfig(t, ws.Config.Root, reg.Host(), &progress)
	var stdout bytes.Buffer
	cfg.Stdout = &stdout
	if err := lane.PushAllDev(t.Context(), cfg); err != nil {
		t.Fatalf("pushAllDev: %v\n%s", err, progress.String())
	}
	want := 1 // the umbrella chart
	for _, c := range ws.Manifest.Components {
		if c.Image != nil {
			want++
		}
		if c.Chart != "" {
			want++
		}
	}
	if refs := refDigestLines(t, stdout.String()); len(refs) != want {
		t.Errorf("stdout has %d ref@digest lines, want %d (one per image and chart):\n%s", len(refs), want, stdout.String())
	}
	if !table.MatchString(progress.String()) {
		t.Errorf("progress has no summary table:\n%s", progress.String())
	}
	// A second run finds everything pushed: the same lines, all already achieved.
	stdout.Reset()
	if err := lane.PushAllDev(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
	if refs := refDigestLines(t, stdout.String()); len(refs) != want {
		t.Errorf("second run: %d ref@digest lines, want %d", len(refs), want)
	}
}

// releasePlan writes the plan for a person to stderr, and with -json only the JSON plan to stdout.
func TestReleasePlanStreams(t *testing.T) {
	r := newReleaseRepoNoDocker(t, "shipstreams")
	var stdout, progress bytes.Buffer
	cfg := r.config()
	cfg.Stdout, cfg.Progress = &stdout, &progress
	if err := lane.ReleasePlan(t.Context(), cfg); err != nil {
		t.Fatalf("releasePlan: %v\n%s", err, progress.String())
	}
	if stdout.Len() != 0 || !strings.Contains(progress.String(), "verdict: releaseAll would publish") || !strings.Contains(progress.String(), "note: v1.0.0 is not on origin yet") {
		t.Fatalf("text plan: stdout = %q\nprogress:\n%s", stdout.String(), progress.String())
	}
	stdout.Reset()
	cfg.PlanJSON = true
	if err := lane.ReleasePlan(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &v); err != nil {
		t.Fatalf("-json: stdout is not one JSON document: %v\n%s", err, stdout.String())
	}
}

// releaseAll, under GitHub Actions: stdout holds the add-mask commands and one ref@digest per
// image and chart; progress folds the plan and the run in groups per level; the step summary file
// gets the plan, the result and the release's URL.
func TestReleaseAllStreamsUnderGitHubActions(t *testing.T) {
	r := newReleaseRepo(t, "shipghastreams")
	summary := filepath.Join(t.TempDir(), "summary.md")
	r.env["GITHUB_ACTIONS"], r.env["GITHUB_STEP_SUMMARY"] = "true", summary
	if err := lane.TagRelease(t.Context(), r.config()); err != nil {
		t.Fatalf("tagRelease: %v\n%s", err, r.out)
	}
	var stdout, progress bytes.Buffer
	cfg := r.config()
	cfg.Stdout, cfg.Progress = &stdout, &progress
	if err := lane.ReleaseAll(t.Context(), cfg); err != nil {
		t.Fatalf("releaseAll: %v\n%s", err, progress.String())
	}
	var machine []string
	for _, l := range strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n") {
		if !strings.HasPrefix(l, "::add-mask::") {
			machine = append(machine, l)
		}
	}
	if refs := refDigestLines(t, strings.Join(machine, "\n")); len(refs) == 0 {
		t.Errorf("no ref@digest line on stdout:\n%s", stdout.String())
	}
	for _, want := range []string{"::group::level 0: base\n", "::endgroup::\n"} {
		if !strings.Contains(progress.String(), want) {
			t.Errorf("progress lacks %q:\n%s", want, progress.String())
		}
	}
	if !table.MatchString(progress.String()) {
		t.Errorf("progress has no summary table:\n%s", progress.String())
	}
	md, err := os.ReadFile(summary)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"## releaseAll v1.0.0", "### Plan", "### Result", "Release: http"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("step summary lacks %q:\n%s", want, md)
		}
	}
	// stdout registers the token with ::add-mask::; nothing else shows it.
	if strings.Contains(string(md)+progress.String()+strings.Join(machine, "\n"), canary) {
		t.Error("the token leaked")
	}
}
