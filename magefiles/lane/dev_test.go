package lane_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"helm.sh/helm/v3/pkg/chart/loader"

	"github.com/shiplane/shiplane/magefiles/goal"
	"github.com/shiplane/shiplane/magefiles/helm"
	"github.com/shiplane/shiplane/magefiles/identity"
	"github.com/shiplane/shiplane/magefiles/lane"
	"github.com/shiplane/shiplane/magefiles/registry"
	"github.com/shiplane/shiplane/magefiles/registry/registrytest"
	"github.com/shiplane/shiplane/magefiles/testenv"
)

// devConfig points the dev lane at reg and writes its JSON report to a temp file.
func devConfig(t *testing.T, root, host string, progress io.Writer) (lane.Config, string) {
	report := t.TempDir() + "/report.json"
	env := map[string]string{
		"DEV_REGISTRY":    host + "/dev",
		"DEV_CHART_REPO":  "oci://" + host + "/dev/charts",
		"SHIPLANE_REPORT": report,
	}
	return lane.Config{Root: root, Progress: progress, Stdout: io.Discard, Getenv: func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		return os.Getenv(k)
	}}, report
}

func gitStatus(t *testing.T, root string) string {
	t.Helper()
	out, err := exec.Command("git", "-C", root, "status", "--porcelain", "--ignored").CombinedOutput()
	if err != nil {
		t.Fatalf("git status: %v\n%s", err, out)
	}
	return string(out)
}

// TestPushAllDev pushes the reference platform to a real registry run in-process, then checks
// every tag and label through the registry API, the umbrella chart's dependencies, that a second
// run writes nothing, that the base layer went up once, and that the source tree is untouched.
func TestPushAllDev(t *testing.T) {
	ws := testenv.PlatformImages(t)
	root := ws.Config.Root
	reg := registrytest.New(t)
	before := gitStatus(t, root)
	var out bytes.Buffer
	cfg, _ := devConfig(t, root, reg.Host(), &out)
	if err := lane.PushAllDev(t.Context(), cfg); err != nil {
		t.Fatalf("first pushAllDev: %v\n%s", err, out.String())
	}

	client := registry.New()
	for _, c := range ws.Manifest.Components {
		for _, tag := range []string{c.Version, ws.ImmutableTag(c)} {
			ref := reg.Ref("dev/" + c.Image.Name + ":" + tag)
			img, err := client.Image(t.Context(), ref)
			if err != nil || !img.Present {
				t.Fatalf("%s: present=%v err=%v", ref, img.Present, err)
			}
			// The repository's default platforms: every dev tag names a two-platform index.
			var plats []string
			for _, p := range img.Platforms {
				plats = append(plats, p.Platform)
			}
			if !slices.Equal(plats, twoPlatforms) {
				t.Errorf("%s holds images for %v, want an index of %v", ref, plats, twoPlatforms)
			}
			want := map[string]string{
				identity.LabelInputs:  string(ws.Keys[c.Name]),
				identity.LabelVersion: c.Version,
				identity.LabelSource:  ws.Manifest.Source,
			}
			for k, v := range want {
				if img.Labels[k] != v {
					t.Errorf("%s: label %s = %q, want %q", ref, k, img.Labels[k], v)
				}
			}
			// The revision is a commit holding exactly these inputs (the image may have been built
			// at an earlier commit with the same inputs, and is then reused).
			rev := img.Labels[identity.LabelRevision]
			at, err := ws.Repo.TreesAt(t.Context(), rev, c.Paths)
			if err != nil {
				t.Fatalf("%s: revision %q: %v", ref, rev, err)
			}
			for _, p := range c.Paths {
				if at[p] != ws.Trees[p] {
					t.Errorf("%s: revision %s holds %s at %s, the image was built from %s", ref, rev, at[p], p, ws.Trees[p])
				}
			}
		}
	}
	// Every blob goes up at most once: the base image's layers are mounted into the repositories
	// of the images built FROM it, never uploaded again.
	seen := map[string]string{}
	for _, r := range reg.Matching("PUT", "/blobs/uploads/") {
		q, _ := url.ParseQuery(r.Query)
		d := q.Get("digest")
		if prev, dup := seen[d]; dup {
			t.Errorf("blob %s uploaded twice: %s and %s", d, prev, r.Path)
		}
		seen[d] = r.Path
	}
	mounts := 0
	for _, r := range reg.Matching("POST", "/blobs/uploads/") {
		if strings.Contains(r.Query, "mount=") {
			mounts++
		}
	}
	if mounts == 0 {
		t.Error("no blob was mounted from dev/base")
	}

	// The umbrella chart, pulled back, depends on the pushed charts in the same repository.
	charts, err := helm.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	repo := "oci://" + reg.Host() + "/dev/charts"
	data, err := charts.PullChart(t.Context(), repo, "platform", ws.Manifest.Platform.Version)
	if err != nil {
		t.Fatal(err)
	}
	umbrella, err := loader.LoadArchive(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range umbrella.Metadata.Dependencies {
		c := ws.Manifest.Component(d.Name)
		if c == nil || d.Repository != repo || d.Version != c.Version {
			t.Errorf("umbrella dependency %s %s from %s; want %s from %s", d.Name, d.Version, d.Repository, c.Version, repo)
		}
	}

	// A teammate installs the dev umbrella: it runs the images this push published, by digest.
	consumeAsACustomer(t, t.Context(), repo, reg.Host()+"/dev", ws.Manifest.Platform.Version, imageVersions(ws))

	// A second run writes nothing and finds every goal already achieved.
	reg.Reset()
	out.Reset()
	cfg2, report := devConfig(t, root, reg.Host(), &out)
	if err := lane.PushAllDev(t.Context(), cfg2); err != nil {
		t.Fatalf("second pushAllDev: %v\n%s", err, out.String())
	}
	if w := reg.Writes(); w != 0 {
		t.Errorf("second run made %d writes:\n%s", w, reg.Dump())
	}
	// The request budget of a no-change run: one manifest HEAD per tag (two per image, one per
	// chart) and the auth handshakes; no manifest or blob is read.
	images, chartCount := 0, 1 // the umbrella chart
	for _, c := range ws.Manifest.Components {
		if c.Image != nil {
			images++
		}
		if c.Chart != "" {
			chartCount++
		}
	}
	if heads := reg.Count("HEAD", "/manifests/"); heads > 2*images+chartCount {
		t.Errorf("second run: %d manifest HEADs for %d image tags and %d charts:\n%s", heads, 2*images, chartCount, reg.Dump())
	}
	if gets := reg.Count("GET", "/manifests/") + reg.Count("GET", "/blobs/"); gets != 0 {
		t.Errorf("second run read %d manifests or blobs:\n%s", gets, reg.Dump())
	}
	var r goal.Report
	readReport(t, report, &r)
	for _, res := range r.Results {
		if res.Status != goal.AlreadyAchieved {
			t.Errorf("second run: %s", res.Line())
		}
	}
	if after := gitStatus(t, root); after != before {
		t.Errorf("pushAllDev changed the source tree:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

func TestPushAllDevRegistryDown(t *testing.T) {
	ws := testenv.PlatformImages(t)
	var out bytes.Buffer
	cfg, report := devConfig(t, ws.Config.Root, "127.0.0.1:1", &out)
	err := lane.PushAllDev(t.Context(), cfg)
	var ue *registry.UnreachableError
	if err == nil || !errors.As(err, &ue) || !strings.Contains(err.Error(), "127.0.0.1:1") || !strings.Contains(err.Error(), "nothing was built or pushed") {
		t.Fatalf("err = %v", err)
	}
	// A loopback registry gets a moment to start (localRegistry in the background), said once.
	if n := strings.Count(out.String(), "waiting up to"); n != 1 {
		t.Errorf("%d waiting lines for the loopback registry, want 1:\n%s", n, out.String())
	}
	// Refused before any goal ran: no goal, so nothing reported as pushed.
	if _, err := os.Stat(report); !os.IsNotExist(err) {
		t.Errorf("a report was written with the registry down (%v)", err)
	}
	if strings.Contains(out.String(), "newly achieved") {
		t.Errorf("something was reported as achieved:\n%s", out.String())
	}
}

func TestPushAllDevUnauthorizedSaysDockerLogin(t *testing.T) {
	ws := testenv.PlatformImages(t)
	reg := registrytest.New(t, registrytest.WithBasicAuth("user", "secret"))
	var out bytes.Buffer
	cfg, _ := devConfig(t, ws.Config.Root, reg.Host(), &out)
	t.Setenv("DOCKER_CONFIG", t.TempDir()) // no credentials
	err := lane.PushAllDev(t.Context(), cfg)
	if err == nil || !strings.Contains(err.Error(), "docker login") {
		t.Fatalf("err = %v", err)
	}
	if reg.Writes() != 0 {
		t.Errorf("writes without credentials:\n%s", reg.Dump())
	}
}

func readReport(t *testing.T, path string, r *goal.Report) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading the JSON report: %v", err)
	}
	if err := json.Unmarshal(data, r); err != nil {
		t.Fatalf("decoding the JSON report: %v\n%s", err, data)
	}
}
