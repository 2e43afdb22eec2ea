package deploy_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"helm.sh/helm/v3/pkg/release"
	"helm.sh/helm/v3/pkg/storage"

	"github.com/shiplane/shiplane/magefiles/deploy"
	"github.com/shiplane/shiplane/magefiles/deploy/deploytest"
	"github.com/shiplane/shiplane/magefiles/goal"
	"github.com/shiplane/shiplane/magefiles/testenv"
)

// These tests run the goals against Helm's memory storage and fake kube client (deploytest): they
// cover the goals' logic and readiness waits, which cannot happen on the test API server (no pod
// ever runs there). The same goals run against the real API server in the lane's tests.

func chartDir(t *testing.T, name string) string {
	t.Helper()
	return filepath.Join(testenv.RepoRoot(t), "charts", name)
}

// copyChart copies charts/<name> to a temporary directory the test may edit.
func copyChart(t *testing.T, name string) string {
	t.Helper()
	src := chartDir(t, name)
	dst := filepath.Join(t.TempDir(), name)
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// edit replaces old with new in file (relative to dir), failing when old is absent.
func edit(t *testing.T, dir, file, old, new string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(file))
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), old) {
		t.Fatalf("%s does not contain %q", file, old)
	}
	if err := os.WriteFile(p, []byte(strings.Replace(string(data), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

func coreRelease(t *testing.T, dir string, vals map[string]any) *deploy.Release {
	t.Helper()
	ch, err := deploy.LoadChart(dir)
	if err != nil {
		t.Fatal(err)
	}
	return &deploy.Release{Component: "core", Name: "core", Namespace: "shiplane", Chart: ch, ChartDir: dir, Values: vals}
}

func localValues(tag string) map[string]any {
	return map[string]any{"image": map[string]any{"repository": "shiplane/core", "tag": tag, "pullPolicy": "IfNotPresent"}}
}

// run runs the namespace goal and one release goal per release, each release after the namespace.
func run(t *testing.T, fc *deploytest.FakeCluster, rels []*deploy.Release, opts ...deploy.GoalOption) *goal.Report {
	t.Helper()
	ns := &goal.Node{Goal: deploy.NewNamespaceExists("shiplane", fc.Namespaces)}
	nodes := []*goal.Node{ns}
	for _, r := range rels {
		nodes = append(nodes, &goal.Node{Component: r.Component, Goal: deploy.NewReleaseDeployed(r, fc.Helm, opts...), After: []*goal.Node{ns}})
	}
	return goal.New().Run(t.Context(), nodes)
}

func statuses(r *goal.Report) []string {
	out := make([]string, len(r.Results))
	for i, res := range r.Results {
		out[i] = res.Line()
	}
	return out
}

func wantStatuses(t *testing.T, r *goal.Report, want ...goal.Status) {
	t.Helper()
	if len(r.Results) != len(want) {
		t.Fatalf("%d results, want %d: %q", len(r.Results), len(want), statuses(r))
	}
	for i, res := range r.Results {
		if res.Status != want[i] {
			t.Errorf("result %d: %s; want %s", i, res.Line(), want[i])
		}
	}
}

func history(t *testing.T, fc *deploytest.FakeCluster, name string) []*release.Release {
	t.Helper()
	h, err := fc.Helm.History(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestDeployFakeSecondRunCreatesNoRevision(t *testing.T) {
	fc := deploytest.NewFakeCluster(t, "shiplane")
	r := coreRelease(t, chartDir(t, "core"), localValues("1.2.0"))

	rep := run(t, fc, []*deploy.Release{r})
	wantStatuses(t, rep, goal.NewlyAchieved, goal.NewlyAchieved)
	if got := rep.Results[1].Line(); got != "core: release deployed core (shiplane): ok (newly achieved)" {
		t.Errorf("line = %q", got)
	}
	if l := fc.Namespaces.Labels("shiplane"); l[deploy.ManagedByLabel] != "shiplane" {
		t.Errorf("namespace labels = %v", l)
	}
	h := history(t, fc, "core")
	if len(h) != 1 || h[0].Info.Status != release.StatusDeployed {
		t.Fatalf("history after install: %d revisions", len(h))
	}
	inputs, _ := r.Inputs()
	if h[0].Labels[deploy.InputsLabel] != inputs {
		t.Errorf("release labels %v lack %s=%s", h[0].Labels, deploy.InputsLabel, inputs)
	}

	// A fresh load of the same chart with equal values: nothing to do.
	again := coreRelease(t, chartDir(t, "core"), localValues("1.2.0"))
	rep = run(t, fc, []*deploy.Release{again})
	wantStatuses(t, rep, goal.AlreadyAchieved, goal.AlreadyAchieved)
	if got := rep.Results[1].Line(); got != "core: release deployed core (shiplane): ok (already achieved)" {
		t.Errorf("line = %q", got)
	}
	if h := history(t, fc, "core"); len(h) != 1 {
		t.Errorf("second run wrote revision %d", h[len(h)-1].Version)
	}
	if w := fc.Kube.Waits(); len(w) != 0 {
		t.Errorf("waited %v without WithWait", w)
	}
}

func TestDeployFakeChangedValueOrChartUpgrades(t *testing.T) {
	fc := deploytest.NewFakeCluster(t, "shiplane")
	dir := copyChart(t, "core")
	wantStatuses(t, run(t, fc, []*deploy.Release{coreRelease(t, dir, localValues("1.2.0"))}), goal.NewlyAchieved, goal.NewlyAchieved)

	rep := run(t, fc, []*deploy.Release{coreRelease(t, dir, localValues("1.2.1"))})
	wantStatuses(t, rep, goal.AlreadyAchieved, goal.NewlyAchieved)
	h := history(t, fc, "core")
	if len(h) != 2 || h[1].Info.Status != release.StatusDeployed || h[0].Info.Status != release.StatusSuperseded {
		t.Fatalf("history after a changed value: %d revisions", len(h))
	}
	if !strings.Contains(h[1].Manifest, `image: "shiplane/core:1.2.1"`) {
		t.Errorf("revision 2 does not run the new tag:\n%s", h[1].Manifest)
	}
	if img := h[1].Config["image"].(map[string]any); img["tag"] != "1.2.1" {
		t.Errorf("revision 2 values = %v", h[1].Config)
	}

	edit(t, dir, "values.yaml", "replicaCount: 1", "replicaCount: 2")
	wantStatuses(t, run(t, fc, []*deploy.Release{coreRelease(t, dir, localValues("1.2.1"))}), goal.AlreadyAchieved, goal.NewlyAchieved)
	if h := history(t, fc, "core"); len(h) != 3 || !strings.Contains(h[2].Manifest, "replicas: 2") {
		t.Errorf("a changed chart file did not make revision 3")
	}
}

func TestDeployFakeWaitsOnlyWhenAsked(t *testing.T) {
	fc := deploytest.NewFakeCluster(t, "shiplane")
	rep := run(t, fc, []*deploy.Release{coreRelease(t, chartDir(t, "core"), localValues("1.2.0"))},
		deploy.WithWait(true), deploy.WithTimeout(42*time.Second))
	wantStatuses(t, rep, goal.NewlyAchieved, goal.NewlyAchieved)
	if w := fc.Kube.Waits(); len(w) != 1 || w[0] != 42*time.Second {
		t.Errorf("waits = %v, want one of 42s", w)
	}

	// Not ready in time: the goal fails with the reason, and the next run upgrades.
	fc.Kube.WaitError = errors.New("context deadline exceeded: 0/1 pods ready")
	rep = run(t, fc, []*deploy.Release{coreRelease(t, chartDir(t, "core"), localValues("1.2.1"))}, deploy.WithWait(true))
	wantStatuses(t, rep, goal.AlreadyAchieved, goal.Failed)
	res := rep.Results[1]
	if !strings.Contains(res.Reason, "0/1 pods ready") || !strings.Contains(res.Reason, "chart core") {
		t.Errorf("reason = %q", res.Reason)
	}
	var re *deploy.ReleaseError
	if !errors.As(rep.Err(), &re) || re.Op != "upgrading" || re.Release != "core" {
		t.Errorf("err = %v, want *deploy.ReleaseError upgrading core", rep.Err())
	}
	if !strings.HasPrefix(res.Line(), "core: release deployed core (shiplane): failed (") {
		t.Errorf("line = %q", res.Line())
	}
	h := history(t, fc, "core")
	if last := h[len(h)-1]; last.Info.Status != release.StatusFailed {
		t.Fatalf("last revision is %s, want failed", last.Info.Status)
	}

	fc.Kube.WaitError = nil
	rep = run(t, fc, []*deploy.Release{coreRelease(t, chartDir(t, "core"), localValues("1.2.1"))}, deploy.WithWait(true))
	wantStatuses(t, rep, goal.AlreadyAchieved, goal.NewlyAchieved)
	if h := history(t, fc, "core"); h[len(h)-1].Info.Status != release.StatusDeployed || len(h) != 3 {
		t.Errorf("after recovery: %d revisions, last %s", len(h), h[len(h)-1].Info.Status)
	}
	if w := fc.Kube.Waits(); len(w) != 3 || w[1] != deploy.DefaultTimeout {
		t.Errorf("waits = %v, want 3, the later ones of the default timeout", w)
	}
}

func TestDeployFakeRejectedUpgradeFailsAndNextRunRetries(t *testing.T) {
	fc := deploytest.NewFakeCluster(t, "shiplane")
	wantStatuses(t, run(t, fc, []*deploy.Release{coreRelease(t, chartDir(t, "core"), localValues("1.2.0"))}), goal.NewlyAchieved, goal.NewlyAchieved)
	fc.Kube.UpdateError = errors.New(`Service "core" is invalid: spec.ports[0].port: Invalid value: 70000`)
	rep := run(t, fc, []*deploy.Release{coreRelease(t, chartDir(t, "core"), localValues("1.2.1"))})
	wantStatuses(t, rep, goal.AlreadyAchieved, goal.Failed)
	var re *deploy.ReleaseError
	if !errors.As(rep.Err(), &re) || re.Op != "upgrading" || re.Chart != "core" {
		t.Fatalf("err = %v, want *deploy.ReleaseError upgrading chart core", rep.Err())
	}
	if !strings.Contains(re.Error(), "spec.ports[0].port: Invalid value: 70000") {
		t.Errorf("error lacks the server's message: %v", re)
	}
	fc.Kube.UpdateError = nil
	rep = run(t, fc, []*deploy.Release{coreRelease(t, chartDir(t, "core"), localValues("1.2.1"))})
	wantStatuses(t, rep, goal.AlreadyAchieved, goal.NewlyAchieved)
	if h := history(t, fc, "core"); len(h) != 3 || h[1].Info.Status != release.StatusFailed || h[2].Info.Status != release.StatusDeployed {
		t.Errorf("history: %d revisions", len(h))
	}
}

func TestDeployFakePendingReleaseFailsWithoutTouchingIt(t *testing.T) {
	fc := deploytest.NewFakeCluster(t, "shiplane")
	r := coreRelease(t, chartDir(t, "core"), localValues("1.2.0"))
	wantStatuses(t, run(t, fc, []*deploy.Release{r}), goal.NewlyAchieved, goal.NewlyAchieved)
	h := history(t, fc, "core")
	h[0].Info.Status = release.StatusPendingUpgrade
	if err := storage.Init(fc.Store).Update(h[0]); err != nil {
		t.Fatal(err)
	}
	rep := run(t, fc, []*deploy.Release{r})
	wantStatuses(t, rep, goal.AlreadyAchieved, goal.Failed)
	if !errors.Is(rep.Err(), deploy.ErrPending) {
		t.Errorf("err = %v, want deploy.ErrPending", rep.Err())
	}
	if h := history(t, fc, "core"); len(h) != 1 {
		t.Errorf("a pending release got revision %d", h[len(h)-1].Version)
	}
}

func TestDeployFakeUninstall(t *testing.T) {
	fc := deploytest.NewFakeCluster(t, "shiplane")
	wantStatuses(t, run(t, fc, []*deploy.Release{coreRelease(t, chartDir(t, "core"), localValues("1.2.0"))}), goal.NewlyAchieved, goal.NewlyAchieved)

	down := func(opts ...deploy.GoalOption) *goal.Report {
		return goal.New().Run(t.Context(), []*goal.Node{{Component: "core", Goal: deploy.NewReleaseUninstalled("core", "shiplane", fc.Helm, opts...)}})
	}
	rep := down(deploy.WithWait(true), deploy.WithTimeout(7*time.Second))
	wantStatuses(t, rep, goal.NewlyAchieved)
	if got := rep.Results[0].Line(); got != "core: release uninstalled core (shiplane): ok (newly achieved)" {
		t.Errorf("line = %q", got)
	}
	if h := history(t, fc, "core"); len(h) != 0 {
		t.Errorf("%d revisions left", len(h))
	}
	if w := fc.Kube.DeleteWaits(); len(w) != 1 || w[0] != 7*time.Second {
		t.Errorf("delete waits = %v, want one of 7s", w)
	}
	wantStatuses(t, down(), goal.AlreadyAchieved)

	// Reinstalling after an uninstall is an install again.
	wantStatuses(t, run(t, fc, []*deploy.Release{coreRelease(t, chartDir(t, "core"), localValues("1.2.0"))}), goal.AlreadyAchieved, goal.NewlyAchieved)
	if h := history(t, fc, "core"); len(h) != 1 {
		t.Errorf("reinstall: %d revisions", len(h))
	}
}

func TestDeployFakeNamespaceBeingDeletedFails(t *testing.T) {
	fc := deploytest.NewFakeCluster(t, "shiplane")
	fc.Namespaces.Set("shiplane", "Terminating")
	rep := run(t, fc, []*deploy.Release{coreRelease(t, chartDir(t, "core"), localValues("1.2.0"))})
	wantStatuses(t, rep, goal.Failed, goal.Blocked)
	if !errors.Is(rep.Err(), deploy.ErrNamespaceTerminating) {
		t.Errorf("err = %v", rep.Err())
	}
	if h := history(t, fc, "core"); len(h) != 0 {
		t.Errorf("a blocked release was installed")
	}
}

func TestDeployInputs(t *testing.T) {
	dir := copyChart(t, "core")
	base, err := coreRelease(t, dir, localValues("1.2.0")).Inputs()
	if err != nil {
		t.Fatal(err)
	}
	if len(base) > 63 {
		t.Errorf("inputs %q do not fit a label value", base)
	}
	if again, _ := coreRelease(t, dir, localValues("1.2.0")).Inputs(); again != base {
		t.Errorf("inputs differ between two loads: %s %s", base, again)
	}
	if other, _ := coreRelease(t, dir, localValues("1.2.1")).Inputs(); other == base {
		t.Error("inputs ignore the values")
	}
	r := coreRelease(t, dir, localValues("1.2.0"))
	r.Namespace = "elsewhere"
	if other, _ := r.Inputs(); other == base {
		t.Error("inputs ignore the namespace")
	}
	edit(t, dir, "templates/service.yaml", "protocol: TCP", "protocol: TCP # edited")
	if other, _ := coreRelease(t, dir, localValues("1.2.0")).Inputs(); other == base {
		t.Error("inputs ignore the templates")
	}
}
