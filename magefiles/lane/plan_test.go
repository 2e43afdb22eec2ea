package lane

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shiplane/shiplane/magefiles/git/gittest"
	"github.com/shiplane/shiplane/magefiles/guard"
	"github.com/shiplane/shiplane/magefiles/plan"
	"github.com/shiplane/shiplane/magefiles/published"
	"github.com/shiplane/shiplane/magefiles/published/publishedtest"
	"github.com/shiplane/shiplane/magefiles/settings"
	"github.com/shiplane/shiplane/magefiles/testenv/golden"
)

// scenarioFiles is a small repository: base ← api ← worker, and addon ← addon2 on tool, which is
// never published.
func scenarioFiles() map[string]string {
	chart := func(name, v string) string {
		return "apiVersion: v2\nname: " + name + "\ndescription: the " + name + " chart\nversion: " + v + "\nappVersion: \"" + v + "\"\n" +
			"sources: [https://example.com/demo]\nannotations:\n  org.opencontainers.image.licenses: MIT\n"
	}
	files := map[string]string{
		"VERSION": "1.0.0\n",
		"deploy/components.yaml": `project: demo
source: https://example.com/demo
license: MIT
components:
  - name: base
    description: base image
    paths: [base]
    version_file: base/VERSION
    image: {dockerfile: base/Dockerfile}
  - name: api
    description: the API
    paths: [api, charts/api]
    version_file: api/VERSION
    image: {dockerfile: api/Dockerfile, from: base}
    chart: charts/api
    depends_on: [base]
  - name: worker
    description: the worker
    paths: [worker]
    version_file: worker/VERSION
    image: {dockerfile: worker/Dockerfile}
    depends_on: [api]
  - name: tool
    paths: [tool]
    version_file: tool/VERSION
    publish: false
  - name: addon
    description: needs tool
    paths: [addon]
    version_file: addon/VERSION
    image: {dockerfile: addon/Dockerfile}
    depends_on: [tool]
  - name: addon2
    description: needs addon
    paths: [addon2]
    version_file: addon2/VERSION
    image: {dockerfile: addon2/Dockerfile}
    depends_on: [addon, worker]
`,
		"charts/api/Chart.yaml": chart("api", "1.0.0"),
	}
	for _, c := range []string{"base", "api", "worker", "tool", "addon", "addon2"} {
		files[c+"/VERSION"] = "1.0.0\n"
		files[c+"/Dockerfile"] = "FROM scratch\n"
		files[c+"/main.go"] = "package main\n"
	}
	return files
}

// scenario opens a workspace on dir and plans a release to a fake registry whose state is mem.
func scenario(t *testing.T, dir string, mem *publishedtest.Memory) (*plan.Plan, *Workspace) {
	t.Helper()
	ws, err := Open(t.Context(), Config{Root: dir, Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	commits := tagCommits(t, ws)
	pl, err := ws.MakePlan(t.Context(), testPolicy(), withTags(mem, commits), commits, "v1.0.0", false)
	if err != nil {
		t.Fatal(err)
	}
	return pl, ws
}

// testPolicy is the release lane's policy with the test registry and chart repository.
func testPolicy() Policy {
	return Policy{Name: "release", Check: ReleaseCheck, Target: settings.Target{Registry: "registry.test/rel", ChartRepo: "oci://registry.test/charts"},
		DecideByInputs: true, GitTags: true}
}

// withTags makes mem answer for the remote's tags (name → commit), as ls-remote lists them.
func withTags(mem *publishedtest.Memory, remote map[string]string) *publishedtest.Memory {
	for name, c := range remote {
		mem.Tags[name] = published.Tag{Present: true, Commit: c}
	}
	return mem
}

// publishAll records every artifact of ws as published from its current inputs, and tags them.
func publishAll(t *testing.T, ws *Workspace, mem *publishedtest.Memory, dir string) {
	t.Helper()
	for _, c := range ws.Manifest.Components {
		if !c.Publish {
			continue
		}
		if c.Image != nil {
			mem.Images["registry.test/rel/"+c.Image.Name+":"+c.Version] = published.Image{Present: true, Digest: "sha256:" + c.Name, Inputs: string(ws.Keys[c.Name])}
		}
		gittest.Git(t, dir, "tag", "-a", "-m", "release", ComponentTag(c.Name, c.Version))
	}
	// Charts carry their files' key and the digests of the images they pin.
	for _, pc := range ws.Artifacts(testPolicy(), nil, "v1.0.0") {
		for _, a := range pc.Artifacts {
			if a.Kind != plan.Chart || !pc.Publish || pc.Name == PlatformComponent {
				continue
			}
			inputs, ok := plan.PinnedInputs(a, func(ref string) string { return mem.Images[ref].Digest })
			if !ok {
				t.Fatalf("%s pins an image publishAll did not publish", a.Goal)
			}
			mem.Charts[publishedtest.ChartKey(a.Repo, a.Name, a.Version)] = published.Chart{Present: true, Inputs: inputs}
		}
	}
}

func planGolden(t *testing.T, name, got string) {
	t.Helper()
	golden.Check(t, "plan-"+name, got)
}

func TestPlanScenarios(t *testing.T) {
	t.Run("new-components", func(t *testing.T) {
		dir := gittest.New(t, scenarioFiles())
		pl, _ := scenario(t, dir, publishedtest.New())
		planGolden(t, "new-components", pl.String())
		assertBlockedRefusal(t, pl)
		data, err := json.MarshalIndent(pl, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		planGolden(t, "new-components.json", string(data)+"\n")
		var back struct {
			SchemaVersion int    `json:"schemaVersion"`
			Verdict       string `json:"verdict"`
		}
		if err := json.Unmarshal(data, &back); err != nil || back.SchemaVersion != plan.SchemaVersion || back.Verdict != "refuse" {
			t.Errorf("JSON plan: %+v, %v", back, err)
		}
	})

	t.Run("unchanged-released", func(t *testing.T) {
		dir := gittest.New(t, scenarioFiles())
		mem := publishedtest.New()
		_, ws := scenario(t, dir, mem)
		publishAll(t, ws, mem, dir)
		gittest.Write(t, dir, map[string]string{"README": "docs only\n"})
		gittest.Commit(t, dir, "docs")
		pl, _ := scenario(t, dir, mem)
		planGolden(t, "unchanged-released", pl.String())
		if n := pl.Count(plan.Publish); n != 0 {
			t.Errorf("an unchanged release would publish %d artifacts", n)
		}
	})

	t.Run("image digest changed under a published chart", func(t *testing.T) {
		dir := gittest.New(t, scenarioFiles())
		mem := publishedtest.New()
		_, ws := scenario(t, dir, mem)
		publishAll(t, ws, mem, dir)
		img := mem.Images["registry.test/rel/api:1.0.0"]
		img.Digest = "sha256:rebuilt"
		mem.Images["registry.test/rel/api:1.0.0"] = img
		pl, _ := scenario(t, dir, mem)
		var pdi *guard.PublishedWithDifferentInputs
		if !errors.As(pl.Err(), &pdi) || pdi.Component != "api" || !strings.Contains(pdi.Artifact, "charts/api:1.0.0") {
			t.Fatalf("a chart pinning another digest of its image was not refused: %v\n%s", pl.Err(), pl)
		}
		if !strings.Contains(pl.Err().Error(), "go run mage.go bump api patch") {
			t.Errorf("the refusal does not give the bump: %v", pl.Err())
		}
	})

	t.Run("changed-without-bump-then-bumped", func(t *testing.T) {
		dir := gittest.New(t, scenarioFiles())
		mem := publishedtest.New()
		_, ws := scenario(t, dir, mem)
		publishAll(t, ws, mem, dir)
		gittest.Write(t, dir, map[string]string{"api/main.go": "package main // changed\n"})
		gittest.Commit(t, dir, "change api")
		pl, _ := scenario(t, dir, mem)
		planGolden(t, "changed-without-bump", pl.String())
		var cwb *guard.ChangedWithoutBump
		if !errors.As(pl.Err(), &cwb) || cwb.Component != "api" || !strings.Contains(strings.Join(cwb.Files, " "), "api/main.go") {
			t.Fatalf("Err() = %v", pl.Err())
		}

		if err := Bump(t.Context(), Config{Root: dir, Stdout: &strings.Builder{}, Progress: &strings.Builder{}}, "api", "minor"); err != nil {
			t.Fatal(err)
		}
		gittest.Commit(t, dir, "bump api")
		pl, _ = scenario(t, dir, mem)
		planGolden(t, "bumped-after-change", pl.String())
		for _, l := range pl.Levels {
			for _, e := range l {
				if e.Name == "api" {
					for _, s := range e.Steps {
						if s.Decision != plan.Publish {
							t.Errorf("bumped api: %s: %s", s.Goal, s.Decision)
						}
					}
				}
			}
		}
	})

	t.Run("published-from-other-inputs", func(t *testing.T) {
		dir := gittest.New(t, scenarioFiles())
		mem := publishedtest.New()
		mem.Images["registry.test/rel/worker:1.0.0"] = published.Image{Present: true, Inputs: "sha256:someone-else"}
		pl, _ := scenario(t, dir, mem)
		planGolden(t, "published-from-other-inputs", pl.String())
		var pdi *guard.PublishedWithDifferentInputs
		if !errors.As(pl.Err(), &pdi) || pdi.Component != "worker" {
			t.Fatalf("Err() = %v", pl.Err())
		}
	})

	t.Run("unknown-answer-fails", func(t *testing.T) {
		dir := gittest.New(t, scenarioFiles())
		mem := publishedtest.New()
		mem.Unknown["registry.test/rel/base:1.0.0"] = errors.New("503 Service Unavailable")
		ws, err := Open(t.Context(), Config{Root: dir, Getenv: func(string) string { return "" }})
		if err != nil {
			t.Fatal(err)
		}
		pl, err := ws.MakePlan(t.Context(), testPolicy(), mem, nil, "v1.0.0", false)
		if err != nil {
			t.Fatal(err)
		}
		// The answer that could not be had refuses its artifact, never counts as absent; the rest
		// of the plan is still shown.
		if !errors.Is(pl.Err(), published.ErrUnknown) {
			t.Fatalf("Err() = %v, want it to wrap published.ErrUnknown", pl.Err())
		}
		if !strings.Contains(pl.String(), "image pushed registry.test/rel/base:1.0.0: refuse (cannot tell whether it is published)") ||
			!strings.Contains(pl.String(), "image pushed registry.test/rel/worker:1.0.0: publish (not published)") {
			t.Errorf("plan:\n%s", pl)
		}
	})

	t.Run("cycle", func(t *testing.T) {
		files := scenarioFiles()
		files["deploy/components.yaml"] = strings.Replace(files["deploy/components.yaml"], "    paths: [base]\n", "    paths: [base]\n    depends_on: [worker]\n", 1)
		dir := gittest.New(t, files)
		_, err := Open(t.Context(), Config{Root: dir, Getenv: func(string) string { return "" }})
		if err == nil {
			t.Fatal("a cycle was accepted")
		}
		planGolden(t, "cycle", err.Error()+"\n")
	})
}

// assertBlockedRefusal: addon and addon2 are blocked by tool (never published), through two
// levels; the plan names the immediate blockers and the cause, and refuses.
func assertBlockedRefusal(t *testing.T, pl *plan.Plan) {
	t.Helper()
	var blocked []*guard.Blocked
	var re *plan.RefusedError
	if errors.As(pl.Err(), &re) {
		for _, e := range re.Errs {
			var b *guard.Blocked
			if errors.As(e, &b) {
				blocked = append(blocked, b)
			}
		}
	}
	if len(blocked) != 2 {
		t.Fatalf("blocked refusals = %v", blocked)
	}
	for _, b := range blocked {
		if strings.Join(b.Causes, ",") != "tool" {
			t.Errorf("%s: causes %v", b.Component, b.Causes)
		}
		if b.Component == "addon2" && strings.Join(b.Immediate, ",") != "addon" {
			t.Errorf("addon2: immediate blockers %v, want [addon]", b.Immediate)
		}
	}
}

// TestLocalLaneGuards: an inconsistent chart refuses the local lane before it contacts the daemon
// (DOCKER_HOST points nowhere); a change without a bump is only a warning there.
func TestLocalLaneGuards(t *testing.T) {
	files := scenarioFiles()
	dir := gittest.New(t, files)
	gittest.Git(t, dir, "tag", "-a", "-m", "r", "api/v1.0.0")
	env := map[string]string{"DOCKER_HOST": "unix:///nonexistent/docker.sock"}
	var progress strings.Builder
	cfg := Config{Root: dir, Progress: &progress, Getenv: func(k string) string { return env[k] }}

	gittest.Write(t, dir, map[string]string{"api/main.go": "package main // changed\n"})
	err := BuildAllLocal(t.Context(), cfg)
	var re *RefusedError
	if errors.As(err, &re) {
		t.Fatalf("a change without a bump refused the local lane: %v", err)
	}
	if !strings.Contains(progress.String(), "warning: api: 1 file changed (api/main.go) since tag api/v1.0.0") {
		t.Errorf("no changed-without-bump warning:\n%s", progress.String())
	}

	gittest.Write(t, dir, map[string]string{"charts/api/Chart.yaml": strings.Replace(files["charts/api/Chart.yaml"], "version: 1.0.0", "version: 0.9.0", 1)})
	err = BuildAllLocal(t.Context(), cfg)
	var mismatch *guard.ChartVersionMismatch
	if !errors.As(err, &re) || !errors.As(err, &mismatch) || mismatch.Component != "api" {
		t.Fatalf("err = %v, want a refusal naming api's chart", err)
	}
	if !strings.Contains(err.Error(), "charts/api/Chart.yaml") {
		t.Errorf("the refusal does not name the file: %v", err)
	}
}

// TestReleaseDecidesFromRemoteTags: a local tag that was never pushed proves nothing, and a pushed
// tag whose commit this clone lacks makes the changed-without-bump check say it cannot tell.
func TestReleaseDecidesFromRemoteTags(t *testing.T) {
	dir := gittest.New(t, scenarioFiles())
	gittest.Git(t, dir, "tag", "-a", "-m", "never pushed", "api/v1.0.0")
	gittest.Write(t, dir, map[string]string{"api/main.go": "package main // changed\n"})
	gittest.Commit(t, dir, "change api")
	ws, err := Open(t.Context(), Config{Root: dir, Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	mem := publishedtest.New()
	pl, err := ws.MakePlan(t.Context(), testPolicy(), mem, map[string]string{}, "v1.0.0", false)
	if err != nil {
		t.Fatal(err)
	}
	var cwb *guard.ChangedWithoutBump
	if errors.As(pl.Err(), &cwb) {
		t.Errorf("an unpushed local tag refused the release: %v", cwb)
	}

	remote := map[string]string{"api/v1.0.0": "0123456789abcdef0123456789abcdef01234567"}
	pl, err = ws.MakePlan(t.Context(), testPolicy(), withTags(mem, remote), remote, "v1.0.0", false)
	if err != nil {
		t.Fatal(err)
	}
	var ct *guard.CannotTell
	if !errors.As(pl.Err(), &ct) || ct.Component != "api" || !strings.Contains(pl.Err().Error(), "git fetch --tags") {
		t.Errorf("a pushed tag this clone lacks: Err() = %v", pl.Err())
	}
}

// pipelineFile uses every section: verify goals, the built-ins with a goal of the file's between
// them, and after_publish goals: the default check turned off and replaced, an optional webhook.
const pipelineFile = `verify:
  - name: unit tests
    run: go test ./...
  - name: vet
    run: go vet ./...
    after: [unit tests]
publish:
  - images
  - name: images signed
    run: echo signing ${sh!touch signed-at-plan-time}
  - charts
  - component-tags
  - github-release
after_publish:
  - name: artifacts pulled back
    kind: published-artifacts
  - name: chat
    kind: webhook
    with: {url: secret!env!SHIPLANE_UNSET_WEBHOOK_URL}
  - name: smoke
    run: curl -fsS https://example.com/healthz
    optional: true
    after: [artifacts pulled back]
`

// TestPlanListsThePipeline: releasePlan's text and JSON list every goal of the release file as
// the release runs it (loaded the way the release loads it), without running a sh! command.
func TestPlanListsThePipeline(t *testing.T) {
	for _, tc := range []struct{ name, file string }{
		{"pipeline", pipelineFile},
		{"pipeline-default", "verify:\n  - name: unit tests\n    run: go test ./...\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := scenarioFiles()
			files["deploy/release.yaml"] = tc.file
			dir := gittest.New(t, files)
			pl, ws := scenario(t, dir, publishedtest.New())
			p, err := ws.loadPipeline(t.Context(), "deploy/release.yaml", true)
			if err != nil {
				t.Fatal(err)
			}
			listPipeline(pl, "deploy/release.yaml", p)
			planGolden(t, tc.name, pl.String())
			data, err := json.MarshalIndent(pl, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			planGolden(t, tc.name+".json", string(data)+"\n")
			if _, err := os.Stat(filepath.Join(dir, "signed-at-plan-time")); err == nil {
				t.Error("listing the pipeline ran a sh! command")
			}
		})
	}
}

// TestPlanRefusesAMalformedPipeline: the release file's problems are found by the same load
// releasePlan does, with the file, the line and the fix.
func TestPlanRefusesAMalformedPipeline(t *testing.T) {
	files := scenarioFiles()
	files["deploy/release.yaml"] = "verify: []\nafter_publish:\n  - name: chat\n    kind: webhook\n  - name: smoke\n    run: \"true\"\n    effectful: true\n"
	dir := gittest.New(t, files)
	_, ws := scenario(t, dir, publishedtest.New())
	_, err := ws.loadPipeline(t.Context(), "deploy/release.yaml", true)
	planGolden(t, "pipeline-malformed", fmt.Sprintln(err))
}

// TestTheRepositoryReleaseFile loads deploy/release.yaml of this repository as releasePlan does
// (without running it): verify, the built-ins, and the after-publish checks ("release verified"
// when the repository commits its signing public key).
func TestTheRepositoryReleaseFile(t *testing.T) {
	_, err := os.Stat(filepath.Join("../..", settings.DefaultSigningPublicKey))
	signed := err == nil
	p, err := loadPipelineAt(t.Context(), "../..", "deploy/release.yaml", true, signed)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, g := range pipelineGoals(p) {
		got = append(got, g.Section+": "+g.Name)
	}
	want := "verify: service unit tests, verify: service vet, publish: images, publish: charts, publish: component-tags, " +
		"publish: github-release, after_publish: published artifacts verified"
	if signed {
		want += ", after_publish: release verified"
	}
	if strings.Join(got, ", ") != want {
		t.Errorf("goals:\n%s\nwant:\n%s", strings.Join(got, ", "), want)
	}
}

// TestReleaseVerifiedIsOnWhenTheRepositoryCommitsASigningKey: "release verified" is a default
// after_publish goal exactly when deploy/signing.pub is committed, and the file can turn it off.
func TestReleaseVerifiedIsOnWhenTheRepositoryCommitsASigningKey(t *testing.T) {
	goals := func(files map[string]string) string {
		t.Helper()
		dir := gittest.New(t, files)
		_, ws := scenario(t, dir, publishedtest.New())
		p, err := ws.loadPipeline(t.Context(), "deploy/release.yaml", true)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, g := range pipelineGoals(p) {
			if g.Section == "after_publish" {
				got = append(got, g.Name+"="+fmt.Sprint(g.Enabled))
			}
		}
		return strings.Join(got, ", ")
	}
	files := scenarioFiles()
	files["deploy/release.yaml"] = "verify: []\n"
	if got, want := goals(files), "published artifacts verified=true"; got != want {
		t.Errorf("without a key: %s, want %s", got, want)
	}
	files["deploy/signing.pub"] = "-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n"
	if got, want := goals(files), "published artifacts verified=true, release verified=true"; got != want {
		t.Errorf("with a key: %s, want %s", got, want)
	}
	files["deploy/release.yaml"] = "verify: []\nafter_publish:\n  - name: release verified\n    kind: release-verified\n    enabled: false\n"
	if got, want := goals(files), "release verified=false, published artifacts verified=true"; got != want {
		t.Errorf("turned off: %s, want %s", got, want)
	}
}
