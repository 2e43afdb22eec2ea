package lane

import (
	"slices"
	"strings"
	"testing"

	"github.com/shiplane/shiplane/magefiles/build"
	"github.com/shiplane/shiplane/magefiles/git/gittest"
	"github.com/shiplane/shiplane/magefiles/goal"
	"github.com/shiplane/shiplane/magefiles/manifest"
	"github.com/shiplane/shiplane/magefiles/plan"
	"github.com/shiplane/shiplane/magefiles/platform"
	"github.com/shiplane/shiplane/magefiles/published/publishedtest"
)

// platformBuilds is a GoalMaker whose build goals name their component and platform.
type platformBuilds struct{ recorder }

func (r *platformBuilds) Build(c *manifest.Component, p platform.Platform) goal.Goal {
	return &recorded{r: &r.recorder, name: "image built " + c.Name + " " + p.String(), build: true}
}

// TestNodesBuildEachPlatformAfterItsBasesBuildForTheSamePlatform: in a publishing lane, each
// image to publish gets one build per platform of its components-file list (a component's own
// list overriding the default), each after its base's build for the same platform, and its push
// waits for all of them.
func TestNodesBuildEachPlatformAfterItsBasesBuildForTheSamePlatform(t *testing.T) {
	files := scenarioFiles()
	files["deploy/components.yaml"] = strings.Replace(files["deploy/components.yaml"], "components:\n", "platforms: [linux/amd64, linux/arm64]\ncomponents:\n", 1)
	files["deploy/components.yaml"] = strings.Replace(files["deploy/components.yaml"], "image: {dockerfile: worker/Dockerfile}", "image: {dockerfile: worker/Dockerfile, platforms: [linux/arm64]}", 1)
	dir := gittest.New(t, files)
	pl, ws := scenario(t, dir, publishedtest.New())
	ws.Targets = Targets{Engine: build.Engine{Platform: platform.LinuxAMD64}, Manifest: true}
	nodes := ws.Nodes(pl, &platformBuilds{}, nil)
	byName := map[string]*goal.Node{}
	for _, n := range nodes {
		byName[n.Goal.String()] = n
	}
	both := []platform.Platform{platform.LinuxAMD64, platform.LinuxARM64}
	want := map[string][]platform.Platform{"base": both, "api": both, "worker": {platform.LinuxARM64}}
	builds := 0
	for _, n := range nodes {
		if strings.HasPrefix(n.Goal.String(), "image built ") {
			builds++
		}
	}
	if builds != 5 {
		t.Errorf("%d build nodes, want 5 (base and api on two platforms, worker on one)", builds)
	}
	for comp, ps := range want {
		for _, p := range ps {
			n := byName["image built "+comp+" "+p.String()]
			if n == nil {
				t.Errorf("no build of %s for %s", comp, p)
				continue
			}
			if comp == "api" {
				if !slices.Contains(n.After, byName["image built base "+p.String()]) {
					t.Errorf("api's %s build does not wait for base's %s build", p, p)
				}
				for _, other := range both {
					if other != p && slices.Contains(n.After, byName["image built base "+other.String()]) {
						t.Errorf("api's %s build waits for base's %s build", p, other)
					}
				}
			}
		}
	}
	for _, s := range pl.Steps(plan.Publish) {
		if s.Kind != plan.Image {
			continue
		}
		push := byName[s.Goal]
		for _, p := range want[s.Component] {
			if !slices.Contains(push.After, byName["image built "+s.Component+" "+p.String()]) {
				t.Errorf("%s does not wait for the %s build", s.Goal, p)
			}
		}
	}
	if got := ws.LocalRef(ws.Manifest.Component("worker"), platform.LinuxARM64); got != "demo/worker:1.0.0-linux-arm64" {
		t.Errorf("LocalRef = %q", got)
	}
}
