package identity_test

import (
	"testing"

	"github.com/shiplane/shiplane/magefiles/identity"
	"github.com/shiplane/shiplane/magefiles/manifest"
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
