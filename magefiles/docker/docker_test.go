package docker_test

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/shiplane/shiplane/magefiles/docker"
	"github.com/shiplane/shiplane/magefiles/git/gittest"
	"github.com/shiplane/shiplane/magefiles/testenv"
)

func TestNewNamesTheSocketAndTheFixWhenTheDaemonIsNotRunning(t *testing.T) {
	const host = "unix:///tmp/nope.sock"
	_, err := docker.New(t.Context(), docker.WithHost(host), docker.WithPingTimeout(5*time.Second))
	var ue *docker.UnreachableError
	if !errors.As(err, &ue) {
		t.Fatalf("New = %v, want *UnreachableError", err)
	}
	if ue.Host != host {
		t.Errorf("Host = %q", ue.Host)
	}
	for _, want := range []string{host, "sudo dockerd &", "scripts/setup-docker.sh", "DOCKER_HOST"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message lacks %q: %v", want, err)
		}
	}
}

func TestNewHonoursDockerHostFromTheEnvironment(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix:///tmp/nope-env.sock")
	_, err := docker.New(t.Context())
	var ue *docker.UnreachableError
	if !errors.As(err, &ue) || ue.Host != "unix:///tmp/nope-env.sock" {
		t.Fatalf("New = %v", err)
	}
}

func TestWriteContextHonoursDockerignore(t *testing.T) {
	dir := t.TempDir()
	gittest.Write(t, dir, map[string]string{
		"Dockerfile":      "FROM scratch\n",
		".dockerignore":   "*.go\nsrc/\n*.tmp\n!keep.tmp\nDockerfile\n",
		"main.go":         "package main",
		"src/a.txt":       "a",
		"rootfs/etc/x":    "x",
		"bin/app":         "binary",
		"drop.tmp":        "",
		"keep.tmp":        "",
		"nested/deep.go":  "package deep",
		"nested/data.txt": "d",
	})
	var buf bytes.Buffer
	if err := docker.WriteContext(&buf, dir, "Dockerfile"); err != nil {
		t.Fatal(err)
	}
	var names []string
	tr := tar.NewReader(&buf)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if !h.ModTime.Equal(time.Unix(0, 0)) || h.Uid != 0 {
			t.Errorf("%s: mtime %v uid %d, want pinned", h.Name, h.ModTime, h.Uid)
		}
		names = append(names, h.Name)
	}
	sort.Strings(names)
	// As in docker, "*.go" matches at the context root only ("**/*.go" would reach nested/deep.go).
	want := []string{".dockerignore", "Dockerfile", "bin/", "bin/app", "keep.tmp", "nested/", "nested/data.txt", "nested/deep.go", "rootfs/", "rootfs/etc/", "rootfs/etc/x"}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Fatalf("context holds\n%v\nwant\n%v", names, want)
	}
}

func TestBuildInspectTagListRemove(t *testing.T) {
	d := testenv.RequireDocker(t)
	const project = "shiplane-test-docker"
	testenv.CleanupImages(t, d, project)
	ctx := t.Context()

	if _, found, err := d.InspectImage(ctx, project+"/none:1.0.0"); err != nil || found {
		t.Fatalf("inspecting a missing image: found=%v err=%v (want not found, no error)", found, err)
	}

	dir := t.TempDir()
	gittest.Write(t, dir, map[string]string{
		"Dockerfile":    "ARG BASE_IMAGE=scratch\nFROM ${BASE_IMAGE}\nARG MSG\nCOPY hello.txt /hello.txt\nLABEL test.msg=$MSG\n",
		".dockerignore": "secret.txt\n",
		"hello.txt":     "hello\n",
		"secret.txt":    "never sent\n",
	})
	var out bytes.Buffer
	opts := docker.BuildOptions{
		ContextDir: dir,
		Tags:       []string{project + "/hello:1.0.0", project + "/hello:latest"},
		BuildArgs:  map[string]string{"MSG": "from-arg"},
		Labels:     map[string]string{"test.label": "value"},
		Output:     &out,
	}
	id, err := d.BuildImage(ctx, opts)
	if err != nil {
		t.Fatalf("BuildImage: %v\n%s", err, out.String())
	}
	if !strings.HasPrefix(id, "sha256:") {
		t.Errorf("ID = %q", id)
	}
	if !strings.Contains(out.String(), "Step 1/") || strings.Contains(out.String(), `"stream"`) {
		t.Errorf("output is not plain build lines:\n%s", out.String())
	}
	img, found, err := d.InspectImage(ctx, project+"/hello:1.0.0")
	if err != nil || !found {
		t.Fatalf("inspect: found=%v err=%v", found, err)
	}
	if img.ID != id || img.Labels["test.label"] != "value" || img.Labels["test.msg"] != "from-arg" {
		t.Errorf("image = %+v, want ID %s and both labels", img, id)
	}

	// The classic builder's cache answers an unchanged rebuild with the same image.
	again, err := d.BuildImage(ctx, opts)
	if err != nil || again != id {
		t.Errorf("cached rebuild = %s, %v; want %s", again, err, id)
	}

	if err := d.TagImage(ctx, id, project+"/other:2"); err != nil {
		t.Fatal(err)
	}
	list, err := d.ListImages(ctx, docker.ListOptions{Reference: project + "/*"})
	if err != nil || len(list) != 1 || len(list[0].Tags) != 3 {
		t.Fatalf("ListImages = %+v, %v; want one image with three tags", list, err)
	}
	if err := d.RemoveImage(ctx, project+"/other:2"); err != nil {
		t.Fatal(err)
	}
	if err := d.RemoveImage(ctx, project+"/other:2"); err != nil {
		t.Errorf("removing a missing image: %v", err)
	}
}

func TestBuildErrorNamesTheDockerfileStep(t *testing.T) {
	d := testenv.RequireDocker(t)
	dir := t.TempDir()
	gittest.Write(t, dir, map[string]string{
		"Dockerfile":    "FROM scratch\nCOPY hello.txt /hello.txt\nCOPY secret.txt /secret.txt\n",
		".dockerignore": "secret.txt\n",
		"hello.txt":     "hello\n",
		"secret.txt":    "excluded by .dockerignore, so the step fails\n",
	})
	var out bytes.Buffer
	_, err := d.BuildImage(t.Context(), docker.BuildOptions{ContextDir: dir, Output: &out})
	var be *docker.BuildError
	if !errors.As(err, &be) {
		t.Fatalf("BuildImage = %v, want *BuildError\n%s", err, out.String())
	}
	if be.Step != "Step 3/3 : COPY secret.txt /secret.txt" || !strings.Contains(be.Message, "secret.txt") {
		t.Errorf("BuildError = %+v", be)
	}
	if !strings.Contains(err.Error(), "COPY secret.txt") {
		t.Errorf("message does not name the step: %v", err)
	}
}

func TestLabelsArriveExactlyInOneStep(t *testing.T) {
	d := testenv.RequireDocker(t)
	const project = "shiplane-test-docker-labels"
	testenv.CleanupImages(t, d, project)
	labels := map[string]string{
		"org.opencontainers.image.description": `Quotes "x", 'y', a $HOME, a ${VAR}, a back\slash\, a ` + "`tick`" + ` and  two  spaces`,
		"org.opencontainers.image.version":     "1.2.3",
		"empty":                                "",
	}
	for _, escape := range []string{"", "# escape=`\n"} {
		dir := t.TempDir()
		gittest.Write(t, dir, map[string]string{"Dockerfile": escape + "FROM scratch\nCOPY hello.txt /hello.txt", "hello.txt": "hi"})
		var out bytes.Buffer
		ref := project + "/labels:" + map[string]string{"": "backslash", "# escape=`\n": "backtick"}[escape]
		if _, err := d.BuildImage(t.Context(), docker.BuildOptions{ContextDir: dir, Tags: []string{ref}, Labels: labels, Output: &out}); err != nil {
			t.Fatalf("%s: %v\n%s", ref, err, out.String())
		}
		img, _, err := d.InspectImage(t.Context(), ref)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range labels {
			if got, ok := img.Labels[k]; !ok || got != v {
				t.Errorf("%s: label %s = %q, want %q", ref, k, got, v)
			}
		}
		if n := strings.Count(out.String(), " : LABEL "); n != 1 {
			t.Errorf("%s: %d LABEL steps, want 1:\n%s", ref, n, out.String())
		}
	}

	// A value no Dockerfile line can hold still arrives, through the API.
	dir := t.TempDir()
	gittest.Write(t, dir, map[string]string{"Dockerfile": "FROM scratch\nCOPY hello.txt /hello.txt\n", "hello.txt": "hi"})
	multi := map[string]string{"multi": "line one\nline two"}
	if _, err := d.BuildImage(t.Context(), docker.BuildOptions{ContextDir: dir, Tags: []string{project + "/labels:multi"}, Labels: multi}); err != nil {
		t.Fatal(err)
	}
	if img, _, _ := d.InspectImage(t.Context(), project+"/labels:multi"); img.Labels["multi"] != multi["multi"] {
		t.Errorf("multi-line label = %q", img.Labels["multi"])
	}
}
