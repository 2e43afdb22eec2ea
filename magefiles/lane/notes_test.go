package lane

import (
	"errors"
	"strings"
	"testing"

	"github.com/shiplane/shiplane/magefiles/changelog"
	"github.com/shiplane/shiplane/magefiles/git/gittest"
	"github.com/shiplane/shiplane/magefiles/plan"
	"github.com/shiplane/shiplane/magefiles/published/publishedtest"
)

const rootChangelog = `# Changelog

## [Unreleased]

- not in 1.0.0

## [1.0.0] - 2026-11-30

### Added

- the first release of demo

[1.0.0]: https://example.com/demo/releases/v1.0.0
`

// notesScenario plans the scenario repository (files) with ALLOW_BLOCKED=1 and returns the
// release notes, the plan and the workspace.
func notesScenario(t *testing.T, files map[string]string) (string, *plan.Plan, *Workspace) {
	t.Helper()
	dir := gittest.New(t, files)
	ws, err := Open(t.Context(), Config{Root: dir, Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	p := testPolicy()
	p.AllowBlocked = true
	commits := tagCommits(t, ws)
	pl, err := ws.MakePlan(t.Context(), p, withTags(publishedtest.New(), commits), commits, "v1.0.0", false)
	if err != nil {
		t.Fatal(err)
	}
	return ws.ReleaseNotes("v1.0.0", pl, ws.changelogs), pl, ws
}

// TestReleaseNotesGolden: the release body is the root changelog's section for the release
// version, the component table with a component's own changelog section after it, and the
// components left out because they are blocked (ALLOW_BLOCKED=1).
func TestReleaseNotesGolden(t *testing.T) {
	files := scenarioFiles()
	files["CHANGELOG.md"] = rootChangelog
	files["api/CHANGELOG.md"] = "# api\n\n## [1.0.0] - 2026-11-29\n\n### Added\n\n- `GET /jobs`\n\n## [0.9.0] - 2026-10-01\n\n- an older version, not in these notes\n"
	notes, pl, _ := notesScenario(t, files)
	if err := pl.Err(); err != nil {
		t.Fatalf("plan with ALLOW_BLOCKED=1: %v", err)
	}
	planGolden(t, "notes-blocked-components", notes)
	for _, not := range []string{"not in 1.0.0", "an older version", "https://example.com/demo/releases"} {
		if strings.Contains(notes, not) {
			t.Errorf("the notes hold %q, from another version or the link definitions", not)
		}
	}
}

// umbrellaBlockedFiles is the scenario with an umbrella chart over api's chart and tool's, tool
// never published: the umbrella is blocked.
func umbrellaBlockedFiles() map[string]string {
	files := scenarioFiles()
	files["CHANGELOG.md"] = rootChangelog
	files["deploy/components.yaml"] = strings.Replace(files["deploy/components.yaml"], "components:\n",
		"platform:\n  version_file: VERSION\n  chart: charts/platform\ncomponents:\n", 1)
	files["deploy/components.yaml"] = strings.Replace(files["deploy/components.yaml"], "    paths: [tool]\n",
		"    paths: [tool, charts/tool]\n    chart: charts/tool\n", 1)
	files["charts/tool/Chart.yaml"] = "apiVersion: v2\nname: tool\ndescription: the tool chart\nversion: 1.0.0\nappVersion: \"1.0.0\"\n"
	files["charts/platform/Chart.yaml"] = "apiVersion: v2\nname: platform\ndescription: the umbrella\nversion: 1.0.0\nappVersion: \"1.0.0\"\n" +
		"sources: [https://example.com/demo]\nannotations:\n  org.opencontainers.image.licenses: MIT\n" +
		"dependencies:\n  - name: api\n    version: 1.0.0\n    repository: file://../api\n  - name: tool\n    version: 1.0.0\n    repository: file://../tool\n"
	return files
}

// TestReleaseNotesUmbrellaBlocked: when the umbrella chart is blocked, it is not published, the
// GitHub release still is (without the umbrella's archive), and the notes say so.
func TestReleaseNotesUmbrellaBlocked(t *testing.T) {
	notes, pl, _ := notesScenario(t, umbrellaBlockedFiles())
	planGolden(t, "notes-umbrella-blocked", notes)
	var release *plan.Step
	for _, l := range pl.Levels {
		for _, e := range l {
			for i, s := range e.Steps {
				switch {
				case e.Name == PlatformComponent && s.Kind == plan.Chart && s.Decision != plan.Blocked:
					t.Errorf("the blocked umbrella: %s: %s", s.Goal, s.Decision)
				case s.Kind == plan.Release:
					release = &e.Steps[i]
				}
			}
		}
	}
	if release == nil || release.Decision != plan.Publish {
		t.Fatalf("the GitHub release is not published with the umbrella blocked: %+v\n%s", release, pl)
	}
	for _, e := range released(pl) {
		if e.Name == PlatformComponent {
			t.Errorf("the release carries the blocked umbrella: %+v", e)
		}
	}
}

// TestReleasePlanRefusesAVersionWithoutChangelogSection: with a CHANGELOG.md that has no section
// for the release version, the plan refuses, naming the file and the heading to add; without a
// CHANGELOG.md nothing is asked.
func TestReleasePlanRefusesAVersionWithoutChangelogSection(t *testing.T) {
	files := scenarioFiles()
	files["CHANGELOG.md"] = "# Changelog\n\n## [0.9.0] - 2026-10-01\n\n- older\n"
	_, pl, _ := notesScenario(t, files)
	var me *changelog.MissingSectionError
	if !errors.As(pl.Err(), &me) || me.File != "CHANGELOG.md" || me.Version != "1.0.0" ||
		!strings.Contains(pl.String(), `CHANGELOG.md has no section for the release version 1.0.0: add a heading "## [1.0.0] - YYYY-MM-DD"`) {
		t.Errorf("Err() = %v\n%s", pl.Err(), pl)
	}

	files["CHANGELOG.md"] = "# Changelog\n\n## [1.0.0] - yesterday\n"
	_, pl, _ = notesScenario(t, files)
	var ce *changelog.Error
	if !errors.As(pl.Err(), &ce) || ce.Line != 3 {
		t.Errorf("a malformed changelog: Err() = %v", pl.Err())
	}

	delete(files, "CHANGELOG.md")
	_, pl, _ = notesScenario(t, files)
	if err := pl.Err(); err != nil {
		t.Errorf("without a CHANGELOG.md: %v", err)
	}
}
