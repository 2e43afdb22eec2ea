package publish_test

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/shiplane/shiplane/magefiles/docker"
	"github.com/shiplane/shiplane/magefiles/git/gittest"
	"github.com/shiplane/shiplane/magefiles/publish"
	"github.com/shiplane/shiplane/magefiles/registry"
	"github.com/shiplane/shiplane/magefiles/testenv"
)

// reproProject prefixes the local images of these tests (removed before and after).
const reproProject = "shippubrepro"

// buildContext writes files into a fresh directory and builds it as ref, with BASE_IMAGE set when
// base is not "".
func buildContext(t *testing.T, d *docker.Client, ref, base string, files map[string]string) {
	t.Helper()
	dir := t.TempDir()
	gittest.Write(t, dir, files)
	o := docker.BuildOptions{ContextDir: dir, Dockerfile: "Dockerfile", Tags: []string{ref}, Output: io.Discard}
	if base != "" {
		o.BuildArgs = map[string]string{"BASE_IMAGE": base}
	}
	if _, err := d.BuildImage(t.Context(), o); err != nil {
		t.Fatalf("building %s: %v", ref, err)
	}
}

var (
	baseFiles = map[string]string{
		"Dockerfile": "FROM scratch\nCOPY etc /etc\nLABEL org.opencontainers.image.revision=base-inputs-commit\n",
		"etc/a.txt":  "a\n", "etc/b/c.txt": "c\n",
	}
	appFiles = map[string]string{
		"Dockerfile": "ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY app /app\nENV GREETING=hello\nEXPOSE 8080\nCOPY more /more\nENTRYPOINT [\"/app/run\"]\nLABEL org.opencontainers.image.revision=app-inputs-commit\n",
		"app/run":    "#!/bin/true\n", "more/x.txt": "x\n",
	}
	baseRef, appRef = reproProject + "/base:1.0.0", reproProject + "/app:1.2.0"
	baseTime        = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	appTime         = time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)
)

func reproducible(d *docker.Client) publish.Reproducible {
	origins := map[string]publish.Origin{baseRef: {Time: baseTime}, appRef: {Time: appTime, Base: baseRef}}
	return publish.Reproducible{Source: registry.NewDaemon(d.API()), Origin: func(ref string) (publish.Origin, bool) {
		o, ok := origins[ref]
		return o, ok
	}}
}

func layerDigests(t *testing.T, img v1.Image) []v1.Hash {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	out := make([]v1.Hash, len(layers))
	for i, l := range layers {
		if out[i], err = l.Digest(); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// consistent checks that img's manifest names its config and layers by their digests, and its
// config lists its layers' diff IDs. (validate.Image also compares a manifest's empty annotation
// map with none, which mutate.Time's own output fails.)
func consistent(t *testing.T, img v1.Image) {
	t.Helper()
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := img.RawConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if h, _, _ := v1.SHA256(bytes.NewReader(raw)); m.Config.Digest != h {
		t.Errorf("manifest names config %s, the config is %s", m.Config.Digest, h)
	}
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	if len(layers) != len(m.Layers) || len(layers) != len(cfg.RootFS.DiffIDs) {
		t.Fatalf("%d layers, %d in the manifest, %d diff IDs", len(layers), len(m.Layers), len(cfg.RootFS.DiffIDs))
	}
	for i, l := range layers {
		rc, err := l.Compressed()
		if err != nil {
			t.Fatal(err)
		}
		h, _, err := v1.SHA256(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		rc, err = l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		diff, _, err := v1.SHA256(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if m.Layers[i].Digest != h || cfg.RootFS.DiffIDs[i] != diff {
			t.Errorf("layer %d: manifest %s, content %s; config diff ID %s, content %s", i, m.Layers[i].Digest, h, cfg.RootFS.DiffIDs[i], diff)
		}
	}
}

// fileTimes lists the modification time of every entry in a layer.
func fileTimes(t *testing.T, l v1.Layer) []time.Time {
	t.Helper()
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var out []time.Time
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, h.ModTime)
	}
}

// TestReproducibleDerivedImageIsTheBasePlusItsOwnLayers builds a base and an image FROM it in the
// real daemon, twice from nothing a second apart with other file times (as a later commit with the
// same inputs does). Each time the base's reproducible image has the same digest, taken from its own
// inputs' time; the derived image is that base image, layer for layer, plus its own layers at its
// own time, with its own config (entrypoint, env, labels) and a history and layer list that match.
func TestReproducibleDerivedImageIsTheBasePlusItsOwnLayers(t *testing.T) {
	d := testenv.RequireDocker(t)
	testenv.CleanupImages(t, d, reproProject)
	build := func() (base, app v1.Image) {
		t.Helper()
		buildContext(t, d, baseRef, "", baseFiles)
		buildContext(t, d, appRef, baseRef, appFiles)
		r := reproducible(d)
		var err error
		if base, err = r.LocalImage(t.Context(), baseRef); err != nil {
			t.Fatal(err)
		}
		if app, err = r.LocalImage(t.Context(), appRef); err != nil {
			t.Fatal(err)
		}
		consistent(t, base)
		consistent(t, app)
		return base, app
	}
	base, app := build()

	baseLayers, appLayers := layerDigests(t, base), layerDigests(t, app)
	if len(baseLayers) != 1 || len(appLayers) != 3 {
		t.Fatalf("base has %d layers, app %d; want 1 and 3", len(baseLayers), len(appLayers))
	}
	if appLayers[0] != baseLayers[0] {
		t.Errorf("the app's first layer is %s, the base's reproducible layer is %s", appLayers[0], baseLayers[0])
	}
	layers, _ := app.Layers()
	for i, l := range layers {
		want := baseTime
		if i > 0 {
			want = appTime
		}
		for _, ft := range fileTimes(t, l) {
			if !ft.Equal(want) {
				t.Errorf("layer %d: a file time is %s, want %s", i, ft, want)
			}
		}
	}
	bcfg, _ := base.ConfigFile()
	cfg, err := app.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Created.Time.Equal(appTime) || len(cfg.Config.Entrypoint) != 1 || cfg.Config.Entrypoint[0] != "/app/run" ||
		cfg.Config.Labels["org.opencontainers.image.revision"] != "app-inputs-commit" || cfg.Config.Hostname != "" || cfg.Container != "" || cfg.DockerVersion != "" {
		t.Errorf("app config: created %s, entrypoint %v, labels %v, hostname %q, container %q, docker %q",
			cfg.Created, cfg.Config.Entrypoint, cfg.Config.Labels, cfg.Config.Hostname, cfg.Container, cfg.DockerVersion)
	}
	envOK := false
	for _, e := range cfg.Config.Env {
		envOK = envOK || e == "GREETING=hello"
	}
	if !envOK {
		t.Errorf("app env %v lacks GREETING=hello", cfg.Config.Env)
	}
	if _, ok := cfg.Config.ExposedPorts["8080/tcp"]; !ok || len(cfg.Config.ExposedPorts) != 1 {
		t.Errorf("app exposed ports %v, want 8080/tcp (the Engine API's inspect answer loses them)", cfg.Config.ExposedPorts)
	}
	// Oldest first, as the image's own config has it (the Engine API's history answer is newest first).
	if len(bcfg.History) == 0 || !strings.Contains(bcfg.History[0].CreatedBy, "COPY") || !strings.Contains(cfg.History[len(cfg.History)-1].CreatedBy, "LABEL") {
		t.Errorf("history not oldest first: base %+v, app %+v", bcfg.History, cfg.History)
	}
	if len(cfg.History) <= len(bcfg.History) {
		t.Fatalf("app history %d entries, base %d", len(cfg.History), len(bcfg.History))
	}
	for i, h := range cfg.History {
		want := appTime
		if i < len(bcfg.History) {
			want = baseTime
			if h != bcfg.History[i] {
				t.Errorf("history %d = %+v, the base's is %+v", i, h, bcfg.History[i])
			}
		}
		if !h.Created.Time.Equal(want) || h.Author != "" {
			t.Errorf("history %d: created %s author %q, want %s", i, h.Created, h.Author, want)
		}
	}
	nonEmpty := 0
	for _, h := range cfg.History {
		if !h.EmptyLayer {
			nonEmpty++
		}
	}
	if nonEmpty != len(appLayers) {
		t.Errorf("history names %d layers, the image has %d", nonEmpty, len(appLayers))
	}

	// Later, from nothing: other file times on disk and a daemon a second older. Same inputs,
	// same times: the same digests.
	if err := testenv.RemoveImages(t.Context(), d, reproProject); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	base2, app2 := build()
	if digestOf(t, base2) != digestOf(t, base) || digestOf(t, app2) != digestOf(t, app) {
		t.Errorf("rebuilt: base %s then %s, app %s then %s", digestOf(t, base), digestOf(t, base2), digestOf(t, app), digestOf(t, app2))
	}
}

// TestReproducibleRefusesAnImageNotFromItsBase: an image said to be FROM the base but built FROM
// scratch (or FROM an older build of the base) is refused, naming both and the fix.
func TestReproducibleRefusesAnImageNotFromItsBase(t *testing.T) {
	d := testenv.RequireDocker(t)
	testenv.CleanupImages(t, d, reproProject)
	buildContext(t, d, baseRef, "", baseFiles)
	buildContext(t, d, appRef, "", map[string]string{"Dockerfile": "FROM scratch\nCOPY app /app\n", "app/run": "#!/bin/true\n"})
	_, err := reproducible(d).LocalImage(t.Context(), appRef)
	var nb *publish.NotFromBaseError
	if !errors.As(err, &nb) || nb.Ref != appRef || nb.Base != baseRef || nb.Layer != 0 {
		t.Fatalf("err = %v, want a *NotFromBaseError for layer 0", err)
	}

	// A base rebuilt from other files after the image was built FROM the old one.
	buildContext(t, d, appRef, baseRef, appFiles)
	changed := map[string]string{"etc/a.txt": "changed\n"}
	for k, v := range baseFiles {
		if _, ok := changed[k]; !ok {
			changed[k] = v
		}
	}
	buildContext(t, d, baseRef, "", changed)
	if _, err := reproducible(d).LocalImage(t.Context(), appRef); !errors.As(err, &nb) {
		t.Fatalf("after the base changed: err = %v, want a *NotFromBaseError", err)
	}

	// No Origin and no Time: an error, not the zero time.
	if _, err := (publish.Reproducible{Source: registry.NewDaemon(d.API())}).LocalImage(t.Context(), baseRef); err == nil {
		t.Error("an image with no reproducible time was made with the zero time")
	}
}
