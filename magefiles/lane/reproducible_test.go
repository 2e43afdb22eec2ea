package lane_test

import (
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/shiplane/shiplane/magefiles/git/gittest"
	"github.com/shiplane/shiplane/magefiles/lane"
	"github.com/shiplane/shiplane/magefiles/publish"
	"github.com/shiplane/shiplane/magefiles/registry"
	"github.com/shiplane/shiplane/magefiles/testenv"
)

// TestReleaseImagesAreReproducible: the same commit built twice from nothing, with different file
// times in the checkout (as two fresh clones have), gives the same release image digest.
func TestReleaseImagesAreReproducible(t *testing.T) {
	d := testenv.RequireDocker(t)
	const project = "shiprepro"
	testenv.CleanupImages(t, d, project)
	dir := gittest.New(t, map[string]string{
		"VERSION": "1.0.0\n",
		"deploy/components.yaml": "project: " + project + "\nsource: https://example.com/repro\nlicense: MIT\ncomponents:\n" +
			"  - name: app\n    description: reproducible\n    paths: [app]\n    version_file: app/VERSION\n    image: {dockerfile: app/Dockerfile}\n",
		"app/VERSION":    "1.0.0\n",
		"app/Dockerfile": "FROM scratch\nCOPY data /data\nCOPY hello.txt /etc/hello.txt\n",
		"app/hello.txt":  "hello\n",
		"app/data/a.txt": "a\n",
	})
	cfg := lane.Config{Root: dir, Progress: io.Discard, Stdout: io.Discard, Getenv: func(k string) string {
		if k == "DOCKER_HOST" {
			return os.Getenv(k)
		}
		return ""
	}}
	digest := func() string {
		t.Helper()
		if err := lane.BuildAllLocal(t.Context(), cfg); err != nil {
			t.Fatal(err)
		}
		ws, err := lane.Open(t.Context(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		src := publish.Reproducible{Source: registry.NewDaemon(d.API()), Time: ws.Head.Time}
		img, err := src.LocalImage(t.Context(), project+"/app:1.0.0")
		if err != nil {
			t.Fatal(err)
		}
		h, err := img.Digest()
		if err != nil {
			t.Fatal(err)
		}
		return h.String()
	}
	first := digest()

	// A fresh clone: nothing in the daemon (no build cache either), other file times on disk.
	if err := testenv.RemoveImages(t.Context(), d, project); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Hour)
	for _, f := range []string{"app/hello.txt", "app/data/a.txt", "app/data", "app/Dockerfile"} {
		if err := os.Chtimes(filepath.Join(dir, f), later, later); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(1100 * time.Millisecond) // a build a second later: the daemon's own created times differ
	second := digest()
	if first != second {
		t.Fatalf("two builds of the same commit gave %s and %s", first, second)
	}
}
