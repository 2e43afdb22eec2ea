package lane_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/shiplane/shiplane/magefiles/compose"
	"github.com/shiplane/shiplane/magefiles/docker"
	"github.com/shiplane/shiplane/magefiles/lane"
	"github.com/shiplane/shiplane/magefiles/progress"
	"github.com/shiplane/shiplane/magefiles/testenv"
)

// imageIDs lists the images tagged <project>/* in d as "tag=id" lines.
func imageIDs(t *testing.T, d *docker.Client, project string) []string {
	t.Helper()
	imgs, err := d.ListImages(t.Context(), docker.ListOptions{Reference: project + "/*"})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, img := range imgs {
		for _, tag := range img.Tags {
			out = append(out, tag+"="+img.ID)
		}
	}
	sort.Strings(out)
	return out
}

// TestBuildAllLocalBuildsOnTheDaemonOfTheCurrentContext selects a second dockerd only through a
// context in a temporary DOCKER_CONFIG (config.json's currentContext), with DOCKER_HOST and
// DOCKER_CONTEXT empty: every image is built there, none reaches the default daemon, and Compose
// resolves the same daemon.
func TestBuildAllLocalBuildsOnTheDaemonOfTheCurrentContext(t *testing.T) {
	def := testenv.RequireDocker(t)
	host := testenv.SecondDaemon(t)
	project := fmt.Sprintf("shiplane-test-context-%d", os.Getpid())
	root := testenv.CopyRepo(t, project)
	cfgDir := testenv.DockerConfig(t, "second", map[string]string{"second": host})
	// The docker CLI code Compose runs on reads the process environment too: empty means unset.
	t.Setenv("DOCKER_HOST", "")
	t.Setenv("DOCKER_CONTEXT", "")
	t.Setenv("DOCKER_CONFIG", cfgDir)
	ctx := t.Context()

	sec, err := docker.New(ctx, docker.WithHost(host))
	if err != nil {
		t.Fatal(err)
	}
	defer sec.Close()
	before := imageIDs(t, def, project)

	var out bytes.Buffer
	cfg := lane.Config{Root: root, Progress: progress.Locked(&out),
		Getenv: buildEnv(map[string]string{"DOCKER_HOST": "", "DOCKER_CONTEXT": "", "DOCKER_CONFIG": cfgDir, "SHIPLANE_REPORT": ""})}
	if err := lane.BuildAllLocal(ctx, cfg); err != nil {
		t.Fatalf("BuildAllLocal: %v\n%s", err, out.String())
	}
	if want := "daemon: context second (" + host + ")\n"; strings.Count(out.String(), want) != 1 {
		t.Errorf("output does not name the daemon once as %q:\n%s", want, out.String())
	}

	ws, err := lane.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ep, err := ws.DockerEndpoint()
	if err != nil || ep.Context != "second" || ep.Host != host || !strings.Contains(ep.From, "currentContext") {
		t.Fatalf("DockerEndpoint = %+v, %v; want context second (%s) from currentContext", ep, err, host)
	}
	n := 0
	for _, c := range ws.Manifest.Components {
		if c.Image == nil {
			continue
		}
		n++
		for _, tag := range []string{c.Version, "latest"} {
			ref := ws.LocalImage(c) + ":" + tag
			if _, found, err := sec.InspectImage(ctx, ref); err != nil || !found {
				t.Errorf("%s on the context's daemon: found=%v err=%v", ref, found, err)
			}
		}
	}
	if n == 0 {
		t.Fatal("the repository has no image to build")
	}
	if after := imageIDs(t, def, project); strings.Join(after, " ") != strings.Join(before, " ") {
		t.Errorf("the default daemon's %s/* images changed:\nbefore %v\nafter  %v", project, before, after)
	}

	// Compose, given the run's endpoint, sees the images on the second daemon; a runner on the
	// default daemon does not.
	dir := t.TempDir()
	file := filepath.Join(dir, "compose.yaml")
	yaml := fmt.Sprintf("services:\n  core:\n    image: %s/core:latest\n    pull_policy: never\n", project)
	if err := os.WriteFile(file, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := compose.Load(ctx, dir, []string{file}, compose.WithDefaultName(project))
	if err != nil {
		t.Fatal(err)
	}
	r, err := compose.New(ctx, compose.WithEndpoint(ep))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got := r.Endpoint(); got.Context != "second" || got.Host != host {
		t.Errorf("compose endpoint = %+v", got)
	}
	if err := r.CheckImages(ctx, p); err != nil {
		t.Errorf("compose on context second: %v", err)
	}
	// Compose resolving on its own from the same environment finds the same daemon.
	own, err := compose.New(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer own.Close()
	if got := own.Endpoint(); got.Context != "second" || got.Host != host {
		t.Errorf("compose's own endpoint = %+v, want context second (%s)", got, host)
	}
	onDefault, err := compose.New(ctx, compose.WithDockerHost(def.Host()))
	if err != nil {
		t.Fatal(err)
	}
	defer onDefault.Close()
	var missing *compose.MissingImageError
	err = onDefault.CheckImages(ctx, p)
	if !errors.As(err, &missing) {
		t.Fatalf("compose on the default daemon = %v, want *MissingImageError (nothing was built there)", err)
	}
	if want := "not in the Docker daemon of context default (" + def.Host() + ")"; !strings.Contains(err.Error(), want) {
		t.Errorf("error lacks %q: %v", want, err)
	}
}
