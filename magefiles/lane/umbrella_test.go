package lane

import (
	"errors"
	"strings"
	"testing"

	"github.com/shiplane/shiplane/magefiles/git/gittest"
	"github.com/shiplane/shiplane/magefiles/guard"
)

// TestUmbrellaCoverageRefusesEveryLane: a publishable chart the umbrella chart does not list
// refuses the local lane before it contacts the daemon (DOCKER_HOST points nowhere), and the
// dev and release lanes' checks carry the same guardrail; umbrella: false in the components file
// is the one way to leave it out.
func TestUmbrellaCoverageRefusesEveryLane(t *testing.T) {
	for _, c := range []Check{LocalCheck, DevCheck, ReleaseCheck, TagReleaseCheck} {
		found := false
		for _, name := range c.Refuse {
			found = found || name == guard.UmbrellaCoverageName
		}
		if !found {
			t.Errorf("lane check %v does not refuse on %s", c.Refuse, guard.UmbrellaCoverageName)
		}
	}

	files := scenarioFiles()
	files["deploy/components.yaml"] = strings.Replace(files["deploy/components.yaml"], "components:\n", "platform:\n  chart: charts/platform\ncomponents:\n", 1)
	files["charts/platform/Chart.yaml"] = "apiVersion: v2\nname: platform\ndescription: everything\nversion: 1.0.0\nappVersion: \"1.0.0\"\n" +
		"sources: [https://example.com/demo]\nannotations:\n  org.opencontainers.image.licenses: MIT\n"
	dir := gittest.New(t, files)
	env := map[string]string{"DOCKER_HOST": "unix:///nonexistent/docker.sock"}
	var progress strings.Builder
	cfg := Config{Root: dir, Progress: &progress, Getenv: func(k string) string { return env[k] }}

	err := BuildAllLocal(t.Context(), cfg)
	var re *RefusedError
	var missing *guard.NotInUmbrella
	if !errors.As(err, &re) || !errors.As(err, &missing) || missing.Component != "api" {
		t.Fatalf("err = %v, want a refusal naming api's chart", err)
	}
	for _, want := range []string{"charts/api/Chart.yaml", "charts/platform/Chart.yaml", "umbrella: false", "deploy/components.yaml"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the refusal does not say %q: %v", want, err)
		}
	}

	gittest.Write(t, dir, map[string]string{"deploy/components.yaml": strings.Replace(files["deploy/components.yaml"], "    chart: charts/api\n", "    chart: charts/api\n    umbrella: false\n", 1)})
	err = BuildAllLocal(t.Context(), cfg)
	if errors.As(err, &missing) {
		t.Fatalf("umbrella: false did not leave api's chart out: %v", err)
	}
	if err == nil {
		t.Fatal("BuildAllLocal reached a daemon at a socket that does not exist")
	}
}
