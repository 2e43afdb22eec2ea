package lane_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shiplane/shiplane/magefiles/build"
	"github.com/shiplane/shiplane/magefiles/build/buildtest"
	"github.com/shiplane/shiplane/magefiles/docker"
	"github.com/shiplane/shiplane/magefiles/goal"
	"github.com/shiplane/shiplane/magefiles/identity"
	"github.com/shiplane/shiplane/magefiles/lane"
	"github.com/shiplane/shiplane/magefiles/manifest"
	"github.com/shiplane/shiplane/magefiles/progress"
	"github.com/shiplane/shiplane/magefiles/testenv"
)

// buildEnv is the process environment with overrides.
func buildEnv(over map[string]string) func(string) string {
	return func(k string) string {
		if v, ok := over[k]; ok {
			return v
		}
		return os.Getenv(k)
	}
}

// expectBuild checks every result's status: want[component], else def.
func expectBuild(t *testing.T, what string, r *goal.Report, def goal.Status, want map[string]goal.Status) {
	t.Helper()
	for _, res := range r.Results {
		w, ok := want[res.Component]
		if !ok {
			w = def
		}
		if res.Status != w {
			t.Errorf("%s: %s, want %s", what, res.Line(), w)
		}
	}
}

func appendLine(t *testing.T, root, rel, text string) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(root, filepath.FromSlash(rel)), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}

func imageComponents(ws *lane.Workspace) []*manifest.Component {
	var out []*manifest.Component
	for _, c := range ws.Manifest.Components {
		if c.Image != nil {
			out = append(out, c)
		}
	}
	return out
}

func TestBuildAllLocalBuildsStampsAndThenRebuildsOnlyWhatChanged(t *testing.T) {
	real := testenv.RequireDocker(t)
	const project = "shiplane-test-lane"
	root := testenv.CopyRepo(t, project)
	ctx := t.Context()
	d := buildtest.NewCounting(real)
	reportPath := filepath.Join(t.TempDir(), "report.json")
	var out bytes.Buffer
	// Verbose: the builder's and compiler's lines are asserted below.
	cfg := lane.Config{Root: root, Progress: progress.Locked(&out), Getenv: buildEnv(map[string]string{"SHIPLANE_REPORT": reportPath}), Verbose: true}

	ws, err := lane.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	comps := imageComponents(ws)
	if len(comps) != 6 {
		t.Fatalf("%d components with images, want 6", len(comps))
	}
	start := time.Now()
	if err := ws.BuildLocal(ctx, d); err != nil {
		t.Fatalf("first build: %v\n%s", err, out.String())
	}
	t.Logf("first build of %d images: %s", len(comps), time.Since(start).Round(time.Millisecond))
	if n := d.Builds.Load(); n != int32(len(comps)) {
		t.Errorf("first build ran %d Engine API builds, want %d", n, len(comps))
	}
	if built := d.Built(); built[0] != project+"/base:"+ws.Manifest.Component("base").Version {
		t.Errorf("base was not built first: %v", built)
	}

	// Every image and every label, through the daemon.
	head, err := exec.Command("git", "-C", root, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for _, c := range comps {
		ref := project + "/" + c.Image.Name + ":" + c.Version
		img, found, err := real.InspectImage(ctx, ref)
		if err != nil || !found {
			t.Fatalf("%s: found=%v err=%v", ref, found, err)
		}
		ids[c.Name] = img.ID
		want := map[string]string{
			identity.LabelVersion:     c.Version,
			identity.LabelRevision:    strings.TrimSpace(string(head)),
			identity.LabelSource:      "https://github.com/shiplane/shiplane",
			identity.LabelCreated:     testenv.CommitTime.Format(time.RFC3339),
			identity.LabelLicenses:    "Apache-2.0",
			identity.LabelDescription: c.Description,
			identity.LabelTitle:       c.Name,
			identity.LabelComponent:   c.Name,
			identity.LabelInputs:      string(ws.Keys[c.Name]),
			identity.LabelTrees:       identity.Trees(c, ws.Trees),
		}
		for k, v := range want {
			if img.Labels[k] != v || v == "" {
				t.Errorf("%s: label %s = %q, want %q", ref, k, img.Labels[k], v)
			}
		}
		latest, found, err := real.InspectImage(ctx, project+"/"+c.Image.Name+":latest")
		if err != nil || !found || latest.ID != img.ID {
			t.Errorf("%s:latest = %s (found %v, %v), want %s", c.Name, latest.ID, found, err, img.ID)
		}
	}

	// The JSON report has every goal with component, status and digest (the image ID).
	data, err := os.ReadFile(reportPath)
	if err != nil {
		t.Fatalf("SHIPLANE_REPORT was not written: %v", err)
	}
	var rep struct {
		Goals []struct{ Component, Goal, Status, Digest string }
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, data)
	}
	if len(rep.Goals) != len(comps) {
		t.Fatalf("report has %d goals, want %d:\n%s", len(rep.Goals), len(comps), data)
	}
	for i, g := range rep.Goals {
		c := comps[i]
		if g.Component != c.Name || g.Status != "achieved" || g.Digest != ids[c.Name] ||
			g.Goal != "image built "+project+"/"+c.Image.Name+":"+c.Version {
			t.Errorf("report goal %d = %+v, want %s newly achieved with digest %s", i, g, c.Name, ids[c.Name])
		}
	}

	// Every compile and build line is prefixed with its component.
	for _, c := range comps {
		if !strings.Contains(out.String(), c.Name+" | Successfully tagged "+project+"/"+c.Image.Name+":latest") {
			t.Errorf("progress lacks %s's prefixed build output", c.Name)
		}
	}
	// A component with no main (web: a Dockerfile and a site) is built with nothing compiled; the
	// others compile their main.
	for _, c := range comps {
		compiled := false
		for _, line := range strings.Split(out.String(), "\n") {
			if strings.HasPrefix(line, c.Name+" | ") && strings.Contains(line, "go build") {
				compiled = true
			}
		}
		if compiled != (c.Image.Main != "") {
			t.Errorf("%s (main %q): compiled = %v", c.Name, c.Image.Main, compiled)
		}
	}
	if web := ws.Manifest.Component("web"); web == nil || web.Image == nil || web.Image.Main != "" {
		t.Errorf("the repository has no component with an image and no main (web): %+v", web)
	}

	rerun := func(what string) *goal.Report {
		t.Helper()
		ws, err := lane.Open(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		d.Reset()
		out.Reset()
		r := ws.RunLocalBuild(ctx, d)
		if r.Err() != nil {
			t.Fatalf("%s: %v\n%s", what, r.Err(), out.String())
		}
		return r
	}

	// A second run performs zero Engine API builds (or tags): every goal is already achieved.
	r := rerun("second run")
	expectBuild(t, "second run", r, goal.AlreadyAchieved, nil)
	if d.Builds.Load() != 0 || d.Tags.Load() != 0 {
		t.Errorf("second run: %d builds, %d tags; want none", d.Builds.Load(), d.Tags.Load())
	}
	for _, res := range r.Results {
		if res.Digest != ids[res.Component] {
			t.Errorf("second run: %s digest %s, want %s", res.Component, res.Digest, ids[res.Component])
		}
	}

	// An uncommitted edit to one service rebuilds exactly that image.
	appendLine(t, root, "services/connector-webhook/webhook/webhook.go", "\n// edited by the test\n")
	r = rerun("after editing connector-webhook")
	expectBuild(t, "after editing connector-webhook", r, goal.AlreadyAchieved, map[string]goal.Status{"connector-webhook": goal.NewlyAchieved})
	if got := strings.Join(d.Built(), " "); got != project+"/connector-webhook:"+ws.Manifest.Component("connector-webhook").Version {
		t.Errorf("after editing connector-webhook, built: %s", got)
	}

	// An edit to base rebuilds base and every image FROM it, base first.
	appendLine(t, root, "services/base/cmd/healthcheck/main.go", "\n// edited by the test\n")
	r = rerun("after editing base")
	expectBuild(t, "after editing base", r, goal.NewlyAchieved, nil)
	if built := d.Built(); len(built) != len(comps) || !strings.HasPrefix(built[0], project+"/base:") {
		t.Errorf("after editing base, built: %v", built)
	}
}

func TestBuildAllLocalCompileErrorFailsOnlyThatImageAndBlocksWhatIsBuiltFromIt(t *testing.T) {
	testenv.RequireDocker(t)
	const project = "shiplane-test-lane-fault"
	root := testenv.CopyRepo(t, project)
	var out bytes.Buffer
	cfg := lane.Config{Root: root, Progress: progress.Locked(&out), Getenv: buildEnv(map[string]string{"SHIPLANE_REPORT": ""})}

	appendLine(t, root, "services/connector-webhook/cmd/connector-webhook/main.go", "\nfunc broken() { undefinedThing() }\n")
	err := lane.BuildAllLocal(t.Context(), cfg)
	var re *goal.RunError
	var ce *build.CompileError
	if !errors.As(err, &re) || !errors.As(err, &ce) {
		t.Fatalf("BuildAllLocal = %v, want a *goal.RunError wrapping a *build.CompileError\n%s", err, out.String())
	}
	if len(re.Results) != 1 || re.Results[0].Component != "connector-webhook" || re.Results[0].Status != goal.Failed {
		t.Errorf("not succeeded: %v", re)
	}
	for _, want := range []string{"component connector-webhook", "./services/connector-webhook/cmd/connector-webhook", "the compiler's output is above"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	// The compiler's message is printed once in everything a person sees: the progress (its
	// prefixed output), then the error as mage prints it.
	if all := out.String() + "Error: " + err.Error() + "\n"; strings.Count(all, "undefined: undefinedThing") != 1 ||
		!strings.Contains(out.String(), "connector-webhook | ") {
		t.Errorf("the compiler's message is not printed exactly once, prefixed:\n%s", all)
	}
	if strings.Contains(out.String(), "Step ") {
		t.Errorf("builder steps were printed without Verbose:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "core: image built "+project+"/core:") || !strings.Contains(out.String(), "ok (newly achieved)") {
		t.Errorf("the other images were not built:\n%s", out.String())
	}

	// Base broken too: base fails and every image FROM it is blocked by it.
	appendLine(t, root, "services/base/cmd/healthcheck/main.go", "\nfunc broken() { undefinedThing() }\n")
	ws, err := lane.Open(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	d := buildtest.NewCounting(testenv.RequireDocker(t))
	r := ws.RunLocalBuild(t.Context(), d)
	expectBuild(t, "base broken", r, goal.Blocked, map[string]goal.Status{"base": goal.Failed})
	for _, res := range r.Results[1:] {
		if res.Reason != "by base: image built "+project+"/base:"+ws.Manifest.Component("base").Version {
			t.Errorf("%s: reason %q does not name its blocker", res.Component, res.Reason)
		}
	}
	if d.Builds.Load() != 0 {
		t.Errorf("%d builds ran with base broken", d.Builds.Load())
	}
}

func TestBuildAllLocalMissingDockerfileNamesTheManifestLine(t *testing.T) {
	root := testenv.CopyRepo(t, "shiplane-test-lane-nodockerfile")
	if err := os.Remove(filepath.Join(root, "services", "scanner", "Dockerfile")); err != nil {
		t.Fatal(err)
	}
	err := lane.BuildAllLocal(t.Context(), lane.Config{Root: root, Progress: &bytes.Buffer{}})
	var me *manifest.Error
	if !errors.As(err, &me) || me.Component != "scanner" || me.Line == 0 {
		t.Fatalf("BuildAllLocal = %v, want a *manifest.Error for scanner with a line", err)
	}
	for _, want := range []string{"deploy/components.yaml:", `component "scanner"`, "Dockerfile services/scanner/Dockerfile does not exist", "fix:"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}

func TestBuildAllLocalWithoutADaemonSaysHowToStartOne(t *testing.T) {
	const host = "unix:///tmp/nope.sock"
	cfg := lane.Config{Root: testenv.RepoRoot(t), Progress: &bytes.Buffer{}, Getenv: buildEnv(map[string]string{"DOCKER_HOST": host, "SHIPLANE_REPORT": ""})}
	err := lane.BuildAllLocal(t.Context(), cfg)
	var ue *docker.UnreachableError
	if !errors.As(err, &ue) || ue.Host != host {
		t.Fatalf("BuildAllLocal = %v, want *docker.UnreachableError for %s", err, host)
	}
	for _, want := range []string{host, "sudo dockerd &", "DOCKER_HOST"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}

func TestBuildAllLocalSharedPlatformImagesAreUpToDate(t *testing.T) {
	ws := testenv.PlatformImages(t)
	d := buildtest.NewCounting(testenv.RequireDocker(t))
	var out bytes.Buffer
	ws.Config.Progress = &out
	r := ws.RunLocalBuild(t.Context(), d)
	expectBuild(t, "shared images", r, goal.AlreadyAchieved, nil)
	if d.Builds.Load() != 0 || d.Tags.Load() != 0 {
		t.Errorf("re-run over the shared images: %d builds, %d tags\n%s", d.Builds.Load(), d.Tags.Load(), out.String())
	}
}
