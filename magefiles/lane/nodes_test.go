package lane

import (
	"context"
	"errors"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/shiplane/shiplane/magefiles/git/gittest"
	"github.com/shiplane/shiplane/magefiles/goal"
	"github.com/shiplane/shiplane/magefiles/helm"
	"github.com/shiplane/shiplane/magefiles/manifest"
	"github.com/shiplane/shiplane/magefiles/plan"
	"github.com/shiplane/shiplane/magefiles/platform"
	"github.com/shiplane/shiplane/magefiles/published"
	"github.com/shiplane/shiplane/magefiles/published/publishedtest"
)

// recorder is a GoalMaker whose goals write nothing but a line in its log, in the order they
// are achieved: what a run executes, observed from outside.
type recorder struct {
	mu       sync.Mutex
	achieved []string // goal names, in order
	builds   []string // components built
}

type recorded struct {
	r     *recorder
	name  string
	build bool
	done  bool
}

func (g *recorded) String() string { return g.name }
func (g *recorded) Assess(context.Context) (goal.State, error) {
	g.r.mu.Lock()
	defer g.r.mu.Unlock()
	return goal.State{Achieved: g.done}, nil
}
func (g *recorded) Achieve(context.Context) error {
	g.r.mu.Lock()
	defer g.r.mu.Unlock()
	g.done = true
	if g.build {
		g.r.builds = append(g.r.builds, strings.TrimPrefix(g.name, "image built "))
	} else {
		g.r.achieved = append(g.r.achieved, g.name)
	}
	return nil
}

func (r *recorder) Build(c *manifest.Component, _ platform.Platform) goal.Goal {
	return &recorded{r: r, name: "image built " + c.Name, build: true}
}
func (r *recorder) Publish(s plan.Step) goal.Goal { return &recorded{r: r, name: s.Goal} }

// platformFiles is scenarioFiles with an umbrella chart over api's chart.
func platformFiles() map[string]string {
	files := scenarioFiles()
	files["deploy/components.yaml"] = strings.Replace(files["deploy/components.yaml"], "components:\n",
		"platform:\n  version_file: VERSION\n  chart: charts/platform\ncomponents:\n", 1)
	files["charts/platform/Chart.yaml"] = "apiVersion: v2\nname: platform\ndescription: the platform\nversion: 1.0.0\nappVersion: \"1.0.0\"\n" +
		"sources: [https://example.com/demo]\nannotations:\n  org.opencontainers.image.licenses: MIT\n" +
		"dependencies:\n  - name: api\n    version: 1.0.0\n    repository: file://../api\n"
	return files
}

// TestReleaseExecutesThePlanItPrints: for every plan scenario, the goals the run executes are
// exactly the plan's publish steps (nothing already published, blocked, skipped or refused is
// written), builds happen only for the images to publish and the images they are built FROM,
// and no chart is pushed before an image it references.
func TestReleaseExecutesThePlanItPrints(t *testing.T) {
	type scenarioFn func(t *testing.T) *plan.Plan
	open := func(t *testing.T, dir string, mem *publishedtest.Memory, allowBlocked bool) (*plan.Plan, *Workspace) {
		t.Helper()
		ws, err := Open(t.Context(), Config{Root: dir, Getenv: func(string) string { return "" }})
		if err != nil {
			t.Fatal(err)
		}
		p := testPolicy()
		p.AllowBlocked = allowBlocked
		commits := tagCommits(t, ws)
		pl, err := ws.MakePlan(t.Context(), p, withTags(mem, commits), commits, "v1.0.0", false)
		if err != nil {
			t.Fatal(err)
		}
		return pl, ws
	}
	for _, tt := range []struct {
		name         string
		files        func() map[string]string
		allowBlocked bool
		prepare      func(t *testing.T, dir string, mem *publishedtest.Memory)
	}{
		{name: "new components (blocked allowed)", files: scenarioFiles, allowBlocked: true},
		{name: "new components (refused)", files: scenarioFiles},
		{name: "with an umbrella", files: platformFiles, allowBlocked: true},
		{name: "unchanged, released", files: platformFiles, allowBlocked: true, prepare: func(t *testing.T, dir string, mem *publishedtest.Memory) {
			_, ws := open(t, dir, mem, true)
			publishAll(t, ws, mem, dir)
			for _, pc := range ws.Artifacts(testPolicy(), nil, "v1.0.0") {
				for _, a := range pc.Artifacts {
					if a.Kind == plan.Chart && pc.Name == PlatformComponent {
						inputs, _ := plan.PinnedInputs(a, func(ref string) string { return mem.Images[ref].Digest })
						mem.Charts[publishedtest.ChartKey(a.Repo, a.Name, a.Version)] = published.Chart{Present: true, Inputs: inputs}
					}
				}
			}
			gittest.Write(t, dir, map[string]string{"README": "docs only\n"})
			gittest.Commit(t, dir, "docs")
		}},
		{name: "base published, the rest new", files: platformFiles, allowBlocked: true, prepare: func(t *testing.T, dir string, mem *publishedtest.Memory) {
			_, ws := open(t, dir, mem, true)
			c := ws.Manifest.Component("base")
			mem.Images["registry.test/rel/base:1.0.0"] = published.Image{Present: true, Digest: "sha256:b", Inputs: string(ws.Keys[c.Name])}
		}},
		{name: "published from other inputs", files: scenarioFiles, allowBlocked: true, prepare: func(t *testing.T, dir string, mem *publishedtest.Memory) {
			mem.Images["registry.test/rel/worker:1.0.0"] = published.Image{Present: true, Inputs: "sha256:someone-else"}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := gittest.New(t, tt.files())
			mem := publishedtest.New()
			if tt.prepare != nil {
				tt.prepare(t, dir, mem)
			}
			pl, ws := open(t, dir, mem, tt.allowBlocked)
			rec := &recorder{}
			rep := goal.New().Run(t.Context(), ws.Nodes(pl, rec, nil))
			if err := rep.Err(); err != nil {
				t.Fatalf("run: %v", err)
			}
			already := 0
			for _, r := range rep.Results {
				if r.Status == goal.AlreadyAchieved {
					already++
				}
			}
			if already != pl.Count(plan.AlreadyPublished) {
				t.Errorf("the report lists %d goals already achieved, the plan %d already published", already, pl.Count(plan.AlreadyPublished))
			}
			var want []string
			for _, s := range pl.Steps(plan.Publish) {
				want = append(want, s.Goal)
			}
			got := slices.Clone(rec.achieved)
			sort.Strings(want)
			sort.Strings(got)
			if !slices.Equal(got, want) {
				t.Errorf("executed goals differ from the printed plan's publish steps:\n got %q\nwant %q\nplan:\n%s", got, want, pl)
			}
			// Builds: the components whose image is published, and their bases, nothing else.
			wantBuilds := map[string]bool{}
			for _, s := range pl.Steps(plan.Publish) {
				if s.Kind == plan.Image {
					for c := ws.Manifest.Component(s.Component); c != nil; c = ws.baseOf(c) {
						wantBuilds[c.Name] = true
					}
				}
			}
			if len(rec.builds) != len(wantBuilds) {
				t.Errorf("built %v, want %v", rec.builds, wantBuilds)
			}
			for _, b := range rec.builds {
				if !wantBuilds[b] {
					t.Errorf("built %s, which the plan does not publish", b)
				}
			}
			// Order: every step's referenced artifacts that run are achieved before it.
			at := map[string]int{}
			for i, g := range rec.achieved {
				at[g] = i
			}
			for _, s := range pl.Steps(plan.Publish) {
				for _, dep := range s.After {
					if i, ok := at[dep]; ok && i > at[s.Goal] {
						t.Errorf("%s was achieved before %s, which it references", s.Goal, dep)
					}
				}
				if s.Kind == plan.Chart {
					for _, img := range pl.Steps(plan.Publish) {
						if img.Kind == plan.Image && (img.Component == s.Component || s.Component == PlatformComponent) && at[img.Goal] > at[s.Goal] {
							t.Errorf("chart %s was pushed before the image %s it references", s.Goal, img.Goal)
						}
					}
				}
			}
		})
	}
}

// TestArtifactsOrderChartsAfterTheirImages: the artifact list itself says a chart follows its
// component's image, and the umbrella every chart and image.
func TestArtifactsOrderChartsAfterTheirImages(t *testing.T) {
	dir := gittest.New(t, platformFiles())
	ws, err := Open(t.Context(), Config{Root: dir, Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	goals := map[string]plan.Artifact{}
	for _, c := range ws.Artifacts(testPolicy(), nil, "v1.0.0") {
		for _, a := range c.Artifacts {
			goals[a.Goal] = a
		}
	}
	api := goals["chart pushed registry.test/charts/api:1.0.0"]
	if !slices.Contains(api.After, "image pushed registry.test/rel/api:1.0.0") {
		t.Errorf("api's chart does not follow api's image: %v", api.After)
	}
	umbrella := goals["chart pushed registry.test/charts/platform:1.0.0"]
	for _, g := range []string{"chart pushed registry.test/charts/api:1.0.0", "image pushed registry.test/rel/api:1.0.0", "image pushed registry.test/rel/base:1.0.0"} {
		if !slices.Contains(umbrella.After, g) {
			t.Errorf("the umbrella does not follow %s: %v", g, umbrella.After)
		}
	}
	rel := goals["release published v1.0.0"]
	if !slices.Contains(rel.After, umbrella.Goal) || !slices.Contains(rel.After, "git tag pushed api/v1.0.0") {
		t.Errorf("the release does not follow everything: %v", rel.After)
	}
}

// tagCommits is the repository's tags as a remote lists them (name → commit).
func tagCommits(t *testing.T, ws *Workspace) map[string]string {
	t.Helper()
	tags, err := ws.Repo.Tags(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for tag := range tags {
		c, err := ws.Repo.TagCommit(t.Context(), tag)
		if err != nil {
			t.Fatal(err)
		}
		out[tag] = c
	}
	return out
}

// TestChartWithoutImageValuesIsRefusedBeforeAnyWrite: a chart to publish whose values.yaml has
// none of the image paths is refused before anything is built or pushed, naming the chart, the
// file and the fix; once its values declare the image, it passes.
func TestChartWithoutImageValuesIsRefusedBeforeAnyWrite(t *testing.T) {
	dir := gittest.New(t, scenarioFiles()) // charts/api has no values.yaml
	ws, err := Open(t.Context(), Config{Root: dir, Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	pl := plan.Unobserved(plan.Input{Components: ws.Artifacts(testPolicy(), nil, "v1.0.0")})
	err = ws.checkChartImages(pl)
	var ive *helm.ImageValuesError
	if !errors.As(err, &ive) || ive.Chart != "api" || !strings.Contains(err.Error(), "charts/api/values.yaml") ||
		!strings.Contains(err.Error(), "chart_image_values") || !strings.Contains(err.Error(), "nothing was built or pushed") {
		t.Fatalf("err = %v", err)
	}
	gittest.Write(t, dir, map[string]string{"charts/api/values.yaml": "image:\n  repository: demo/api\n  tag: \"\"\n  digest: \"\"\n"})
	if err := ws.checkChartImages(pl); err != nil {
		t.Errorf("a chart declaring its image was refused: %v", err)
	}
}
