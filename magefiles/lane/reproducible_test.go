package lane_test

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/shiplane/shiplane/magefiles/git/gittest"
	"github.com/shiplane/shiplane/magefiles/lane"
	"github.com/shiplane/shiplane/magefiles/registry"
	"github.com/shiplane/shiplane/magefiles/registry/registrytest"
	"github.com/shiplane/shiplane/magefiles/testenv"
)

// TestReleaseImagesAreReproducible: the same commit built twice from nothing, with different file
// times in the checkout (as two fresh clones have), gives the same release image digests. A later
// commit that leaves the components' inputs alone gives them too: each image takes its time and
// revision from the last commit that changed its inputs, not from HEAD. A later change to the
// image FROM the base changes that image only, and it still starts with the base's layers.
func TestReleaseImagesAreReproducible(t *testing.T) {
	d := testenv.RequireDocker(t)
	const project = "shiprepro"
	testenv.CleanupImages(t, d, project)
	dir := gittest.New(t, map[string]string{
		"VERSION": "1.0.0\n",
		"deploy/components.yaml": "project: " + project + "\nsource: https://example.com/repro\nlicense: MIT\ncomponents:\n" +
			"  - name: base\n    description: base\n    paths: [base]\n    version_file: base/VERSION\n    image: {dockerfile: base/Dockerfile}\n" +
			"  - name: app\n    description: reproducible\n    paths: [app]\n    version_file: app/VERSION\n    depends_on: [base]\n    image: {dockerfile: app/Dockerfile, from: base}\n",
		"base/VERSION":    "0.1.0\n",
		"base/Dockerfile": "FROM scratch\nCOPY etc /etc\n",
		"base/etc/ca.txt": "ca\n",
		"app/VERSION":     "1.0.0\n",
		"app/Dockerfile":  "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY data /data\nCOPY hello.txt /etc/hello.txt\n",
		"app/hello.txt":   "hello\n",
		"app/data/a.txt":  "a\n",
	})
	cfg := lane.Config{Root: dir, Progress: io.Discard, Stdout: io.Discard, Getenv: func(k string) string {
		if k == "DOCKER_HOST" {
			return os.Getenv(k)
		}
		return ""
	}}
	type digests struct{ base, app, appFirstLayer, baseLayer string }
	build := func() (digests, *lane.Workspace) {
		t.Helper()
		if err := lane.BuildAllLocal(t.Context(), cfg); err != nil {
			t.Fatal(err)
		}
		ws, err := lane.Open(t.Context(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		src := ws.Reproducible(registry.NewDaemon(d.API()))
		var out digests
		for _, c := range ws.Manifest.Components {
			img, err := src.LocalImage(t.Context(), project+"/"+c.Image.Name+":"+c.Version)
			if err != nil {
				t.Fatal(err)
			}
			h, err := img.Digest()
			if err != nil {
				t.Fatal(err)
			}
			layers, err := img.Layers()
			if err != nil || len(layers) == 0 {
				t.Fatalf("%s: %d layers, %v", c.Name, len(layers), err)
			}
			first, err := layers[0].Digest()
			if err != nil {
				t.Fatal(err)
			}
			if c.Name == "base" {
				out.base, out.baseLayer = h.String(), first.String()
			} else {
				out.app, out.appFirstLayer = h.String(), first.String()
			}
		}
		return out, ws
	}
	fresh := func() {
		t.Helper()
		// A fresh clone: nothing in the daemon (no build cache either), other file times on disk.
		if err := testenv.RemoveImages(t.Context(), d, project); err != nil {
			t.Fatal(err)
		}
		later := time.Now().Add(time.Hour)
		for _, f := range []string{"app/hello.txt", "app/data/a.txt", "app/data", "app/Dockerfile", "base/etc/ca.txt"} {
			if err := os.Chtimes(filepath.Join(dir, f), later, later); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(1100 * time.Millisecond) // a build a second later: the daemon's own created times differ
	}
	first, ws := build()
	if first.appFirstLayer != first.baseLayer {
		t.Errorf("the app's first layer is %s, the base's %s", first.appFirstLayer, first.baseLayer)
	}
	fresh()
	if second, _ := build(); second != first {
		t.Fatalf("two builds of the same commit gave %+v and %+v", first, second)
	}

	// A later commit, at a later time, that changes no component's inputs.
	start := ws.Head
	gittest.Write(t, dir, map[string]string{"README.md": "notes\n"})
	gittest.CommitAt(t, dir, "docs only", start.Time.Add(24*time.Hour))
	fresh()
	third, ws := build()
	if ws.Head.Hash == start.Hash || ws.Origin(ws.Manifest.Component("app")).Commit != start {
		t.Fatalf("HEAD %s, app's origin %+v; want a new HEAD and the first commit %+v", ws.Head.Hash, ws.Origin(ws.Manifest.Component("app")), start)
	}
	if third != first {
		t.Errorf("a later commit with the same inputs gave %+v, the first %+v", third, first)
	}

	// The app changes: its image changes, the base's does not, and the app still starts with it.
	gittest.Write(t, dir, map[string]string{"app/hello.txt": "hello again\n"})
	changed := gittest.CommitAt(t, dir, "app changed", start.Time.Add(48*time.Hour))
	fourth, ws := build()
	if o := ws.Origin(ws.Manifest.Component("app")); o.Hash != changed || !o.Time.Equal(start.Time.Add(48*time.Hour)) {
		t.Errorf("app's origin %+v, want %s", o, changed)
	}
	if fourth.base != first.base || fourth.baseLayer != first.baseLayer || fourth.app == first.app || fourth.appFirstLayer != first.baseLayer {
		t.Errorf("after the app changed: %+v, before %+v", fourth, first)
	}
}

// TestReproducibleFollowsPlatformSuffixes: a component's local image tagged <version><suffix> (one
// per platform) takes the component's time and is built on its base's image with the same
// suffix; a reference of no component has no time and is refused. The images are made in memory:
// the mapping is what is under test, not the daemon.
func TestReproducibleFollowsPlatformSuffixes(t *testing.T) {
	dir := gittest.New(t, map[string]string{
		"VERSION": "1.0.0\n",
		"deploy/components.yaml": "project: shipsuffix\nsource: https://example.com/s\nlicense: MIT\ncomponents:\n" +
			"  - name: base\n    description: base\n    paths: [base]\n    version_file: base/VERSION\n    image: {dockerfile: base/Dockerfile}\n" +
			"  - name: app\n    description: app\n    paths: [app]\n    version_file: app/VERSION\n    depends_on: [base]\n    image: {dockerfile: app/Dockerfile, from: base}\n",
		"base/VERSION": "0.1.0\n", "base/Dockerfile": "FROM scratch\n",
		"app/VERSION": "1.0.0\n", "app/Dockerfile": "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\n",
	})
	gittest.Write(t, dir, map[string]string{"app/x": "x\n"})
	gittest.CommitAt(t, dir, "app changed", time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC))
	ws, err := lane.Open(t.Context(), lane.Config{Root: dir, Progress: io.Discard, Stdout: io.Discard, Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	local := registrytest.LocalImages{}
	for _, platform := range []string{"", "-linux-arm64", "-linux-amd64"} {
		base, err := random.Image(128, 1)
		if err != nil {
			t.Fatal(err)
		}
		layer, err := random.Layer(128, types.DockerLayer)
		if err != nil {
			t.Fatal(err)
		}
		app, err := mutate.AppendLayers(base, layer)
		if err != nil {
			t.Fatal(err)
		}
		local["shipsuffix/base:0.1.0"+platform], local["shipsuffix/app:1.0.0"+platform] = base, app
	}
	src := ws.Reproducible(local)
	baseLayers := map[string]v1.Hash{}
	for _, platform := range []string{"", "-linux-arm64", "-linux-amd64"} {
		base, err := src.LocalImage(t.Context(), "shipsuffix/base:0.1.0"+platform)
		if err != nil {
			t.Fatal(err)
		}
		app, err := src.LocalImage(t.Context(), "shipsuffix/app:1.0.0"+platform)
		if err != nil {
			t.Fatal(err)
		}
		bl, _ := base.Layers()
		al, _ := app.Layers()
		if len(bl) != 1 || len(al) != 2 {
			t.Fatalf("%q: base %d layers, app %d", platform, len(bl), len(al))
		}
		bd, _ := bl[0].Digest()
		ad, _ := al[0].Digest()
		if bd != ad {
			t.Errorf("%q: the app starts with %s, its base for the same platform is %s", platform, ad, bd)
		}
		baseLayers[platform] = bd
		bc, _ := base.ConfigFile()
		ac, _ := app.ConfigFile()
		if !bc.Created.Time.Equal(ws.Origin(ws.Manifest.Component("base")).Time) || !ac.Created.Time.Equal(time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)) {
			t.Errorf("%q: base created %s, app created %s", platform, bc.Created, ac.Created)
		}
	}
	if baseLayers[""] == baseLayers["-linux-arm64"] || baseLayers["-linux-arm64"] == baseLayers["-linux-amd64"] {
		t.Errorf("the platforms' bases were mixed up: %v", baseLayers)
	}
	for _, ref := range []string{"shipsuffix/other:1.0.0", "shipsuffix/app:1.0.01", "shipsuffix/app:2.0.0"} {
		local[ref] = local["shipsuffix/app:1.0.0"]
		if _, err := src.LocalImage(t.Context(), ref); err == nil || !strings.Contains(err.Error(), "no reproducible time") {
			t.Errorf("%s: err = %v, want no reproducible time", ref, err)
		}
	}
}
