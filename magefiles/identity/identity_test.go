package identity_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shiplane/shiplane/magefiles/git"
	"github.com/shiplane/shiplane/magefiles/git/gittest"
	"github.com/shiplane/shiplane/magefiles/identity"
	"github.com/shiplane/shiplane/magefiles/manifest"
	"github.com/shiplane/shiplane/magefiles/platform"
)

func testManifest() *manifest.Manifest {
	return &manifest.Manifest{
		Platform: manifest.Platform{VersionFile: "VERSION", Chart: "charts/platform"},
		Components: []*manifest.Component{
			{Name: "base", Paths: []string{"svc/base"}, Image: &manifest.Image{Name: "base"}},
			{Name: "core", Paths: []string{"svc/core", "charts/core"}, Chart: "charts/core", Image: &manifest.Image{Name: "core", From: "base"}, DependsOn: []string{"base"}},
			{Name: "conn", Paths: []string{"svc/conn"}, Image: &manifest.Image{Name: "conn"}, DependsOn: []string{"core"}},
		},
	}
}

func trees() map[string]string {
	return map[string]string{"svc/base": "b1", "svc/core": "c1", "charts/core": "h1", "svc/conn": "n1", "charts/platform": "p1", "VERSION": "v1"}
}

// TestKeysFollowInputsAndBaseImage: a key changes with the component's own trees and with the key
// of the image it is built FROM, and with nothing else (a runtime dependency does not count).
func TestKeysFollowInputsAndBaseImage(t *testing.T) {
	m := testManifest()
	before, err := identity.Keys(m, trees())
	if err != nil {
		t.Fatal(err)
	}
	change := func(path string) map[string]identity.Key {
		tr := trees()
		tr[path] += "-edited"
		k, err := identity.Keys(m, tr)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	cases := map[string][]string{ // edited path → components whose key must change
		"svc/base":    {"base", "core"},
		"svc/core":    {"core"},
		"charts/core": {"core"},
		"svc/conn":    {"conn"},
	}
	for path, want := range cases {
		after := change(path)
		for _, c := range m.Components {
			changed := after[c.Name] != before[c.Name]
			expected := false
			for _, w := range want {
				expected = expected || w == c.Name
			}
			if changed != expected {
				t.Errorf("editing %s: key of %s changed=%v, want %v", path, c.Name, changed, expected)
			}
		}
	}
	if _, err := identity.Keys(m, map[string]string{"svc/base": "b1"}); err == nil {
		t.Error("a missing input path gave a key")
	}
}

// TestKeysFollowPlatforms: the platforms an image is published for are an input: adding one, or
// changing their order (the index lists them in that order), changes the key of that image and of
// every image FROM it, so a release cannot find the old index "already published". No list (the
// daemon's platform) keeps the key it had before platforms existed.
func TestKeysFollowPlatforms(t *testing.T) {
	keys := func(ps ...platform.Platform) map[string]identity.Key {
		m := testManifest()
		m.Components[0].Image.Platforms = ps
		k, err := identity.Keys(m, trees())
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	none, one := keys(), keys(platform.LinuxAMD64)
	two, swapped := keys(platform.LinuxAMD64, platform.LinuxARM64), keys(platform.LinuxARM64, platform.LinuxAMD64)
	for _, c := range []string{"base", "core"} {
		if none[c] == one[c] || one[c] == two[c] || two[c] == swapped[c] {
			t.Errorf("%s: keys none %s, amd64 %s, amd64+arm64 %s, arm64+amd64 %s: want all different", c, none[c], one[c], two[c], swapped[c])
		}
	}
	if none["conn"] != two["conn"] {
		t.Errorf("conn (not FROM base) changed with base's platforms: %s → %s", none["conn"], two["conn"])
	}
	if again := keys(platform.LinuxAMD64, platform.LinuxARM64); again["core"] != two["core"] {
		t.Errorf("the same platforms gave another key: %s, then %s", two["core"], again["core"])
	}
}

// TestChartKeys: a chart's key follows its own directory only; the umbrella's follows its own
// directory and every chart's key.
func TestChartKeys(t *testing.T) {
	m := testManifest()
	before, err := identity.ChartKeys(m, trees())
	if err != nil {
		t.Fatal(err)
	}
	tr := trees()
	tr["svc/core"] = "c2" // service code: not the chart
	same, _ := identity.ChartKeys(m, tr)
	if same["core"] != before["core"] || same[identity.PlatformChart] != before[identity.PlatformChart] {
		t.Error("a service code change moved a chart key")
	}
	tr["charts/core"] = "h2"
	moved, _ := identity.ChartKeys(m, tr)
	if moved["core"] == before["core"] || moved[identity.PlatformChart] == before[identity.PlatformChart] {
		t.Error("a chart change did not move the chart's and the umbrella's keys")
	}
	paths := identity.Paths(m)
	want := []string{"VERSION", "charts/core", "charts/platform", "svc/base", "svc/conn", "svc/core"}
	if len(paths) != len(want) {
		t.Fatalf("Paths = %v, want %v", paths, want)
	}
	for i := range want {
		if paths[i] != want[i] {
			t.Fatalf("Paths = %v, want %v", paths, want)
		}
	}
}

// TestUntrackedPathsSayWhy: a path git holds nothing for (an empty directory, a directory of ignored
// files, a nested repository, a missing path) fails with its own cause, checked against real git.
func TestUntrackedPathsSayWhy(t *testing.T) {
	dir := gittest.New(t, map[string]string{"svc/ok/main.go": "package main\n", ".gitignore": "*.log\n"})
	gittest.Write(t, dir, map[string]string{"svc/ign/debug.log": "x\n"})
	if err := os.MkdirAll(filepath.Join(dir, "svc/empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	nested := filepath.Join(dir, "svc/nested")
	gittest.Write(t, nested, map[string]string{"f": "n\n"})
	gittest.Git(t, nested, "init", "-q")
	gittest.Commit(t, nested, "nested")
	r, err := git.Open(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		path    string
		cause   identity.Cause
		mention string
	}{
		{"svc/empty", identity.CauseEmpty, "input path svc/empty holds no files git tracks (it is an empty directory)"},
		{"svc/ign", identity.CauseIgnored, "everything in it is ignored"},
		{"svc/nested", identity.CauseRepository, "submodule or nested repository"},
	}
	for _, tc := range cases {
		trees, err := r.Trees(t.Context(), []string{"svc/ok", tc.path})
		if err != nil {
			t.Fatal(err)
		}
		if trees[tc.path] != "" || trees["svc/ok"] == "" {
			t.Fatalf("test premise: git has %q for %s, %q for svc/ok", trees[tc.path], tc.path, trees["svc/ok"])
		}
		m := &manifest.Manifest{Root: dir, Components: []*manifest.Component{{Name: "c", Paths: []string{"svc/ok", tc.path}}}}
		_, err = identity.Keys(m, trees)
		var ue *identity.UntrackedError
		if !errors.As(err, &ue) || ue.Cause != tc.cause || ue.Path != tc.path || !strings.Contains(err.Error(), tc.mention) {
			t.Errorf("%s: err = %v, want cause %d mentioning %q", tc.path, err, tc.cause, tc.mention)
		}
	}

	// A path that does not exist (git add refuses it, so this only reaches Keys from other callers).
	_, err = identity.Keys(&manifest.Manifest{Root: dir, Components: []*manifest.Component{{Name: "c", Paths: []string{"svc/gone"}}}}, map[string]string{})
	if ue := (*identity.UntrackedError)(nil); !errors.As(err, &ue) || ue.Cause != identity.CauseMissing || !strings.Contains(err.Error(), "svc/gone does not exist") {
		t.Errorf("missing: err = %v", err)
	}

	// A chart directory says the same, as a chart's.
	m := &manifest.Manifest{Root: dir, Components: []*manifest.Component{{Name: "c", Paths: []string{"svc/ok"}, Chart: "svc/empty"}}}
	_, err = identity.ChartKeys(m, map[string]string{"svc/ok": "t"})
	var ue *identity.UntrackedError
	if !errors.As(err, &ue) || !ue.Chart || ue.Cause != identity.CauseEmpty || !strings.HasPrefix(err.Error(), "chart c: directory svc/empty holds no files git tracks") {
		t.Errorf("chart: err = %v", err)
	}

	// Without a root to look in, the message lists every cause.
	_, err = identity.Keys(&manifest.Manifest{Components: []*manifest.Component{{Name: "c", Paths: []string{"svc/x"}}}}, map[string]string{})
	if !errors.As(err, &ue) || ue.Cause != identity.CauseUnknown {
		t.Fatalf("no root: err = %v", err)
	}
	for _, cause := range []string{"empty", "ignored", "submodule or nested repository"} {
		if !strings.Contains(err.Error(), cause) {
			t.Errorf("no root: message %q does not name %q", err, cause)
		}
	}
}

// TestChartKeyWithImages: the key of a chart pinning images follows the chart's key and every
// pinned image, in any order, and is the chart's own key when it pins none.
func TestChartKeyWithImages(t *testing.T) {
	chart := identity.Key("sha256:" + strings.Repeat("0", 64))
	other := identity.Key("sha256:" + strings.Repeat("1", 64))
	core := "registry.example/dev/core:1.2.0@sha256:" + strings.Repeat("a", 64)
	scan := "registry.example/dev/scanner:0.9.0@sha256:" + strings.Repeat("b", 64)

	if got := identity.ChartKeyWithImages(chart, nil); got != chart {
		t.Errorf("no images: %s, want the chart's key %s", got, chart)
	}
	if got := identity.ChartKeyWithImages(chart, map[string]string{}); got != chart {
		t.Errorf("empty images: %s, want the chart's key %s", got, chart)
	}
	base := identity.ChartKeyWithImages(chart, map[string]string{"core": core, "scanner": scan})
	if base == chart || !strings.HasPrefix(string(base), "sha256:") || len(base) != len(chart) {
		t.Fatalf("with images: %s", base)
	}
	for i := 0; i < 20; i++ { // map order varies from run to run
		if got := identity.ChartKeyWithImages(chart, map[string]string{"scanner": scan, "core": core}); got != base {
			t.Fatalf("the same images gave %s, then %s", base, got)
		}
	}
	seen := map[identity.Key]string{base: "base"}
	for name, k := range map[string]identity.Key{
		"one image":       identity.ChartKeyWithImages(chart, map[string]string{"core": core}),
		"other chart":     identity.ChartKeyWithImages(other, map[string]string{"core": core, "scanner": scan}),
		"other digest":    identity.ChartKeyWithImages(chart, map[string]string{"core": core[:len(core)-1] + "c", "scanner": scan}),
		"other registry":  identity.ChartKeyWithImages(chart, map[string]string{"core": "elsewhere/" + core, "scanner": scan}),
		"names swapped":   identity.ChartKeyWithImages(chart, map[string]string{"core": scan, "scanner": core}),
		"name into value": identity.ChartKeyWithImages(chart, map[string]string{"core scanner": core, "": scan}),
	} {
		if prev, dup := seen[k]; dup {
			t.Errorf("%s gives the same key as %s", name, prev)
		}
		seen[k] = name
	}
}
