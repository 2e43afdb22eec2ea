package lane

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/shiplane/shiplane/magefiles/version"
)

// copyTree copies the repository's data directories (no git needed for bump) into a temp dir.
func copyTree(t *testing.T) string {
	t.Helper()
	dst := t.TempDir()
	for _, top := range []string{"deploy", "services", "charts", "compose", "VERSION"} {
		src := filepath.Join("..", "..", top)
		err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(filepath.Join("..", ".."), p)
			out := filepath.Join(dst, rel)
			if d.IsDir() {
				return os.MkdirAll(out, 0o755)
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(out, data, 0o644)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func snapshot(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			data, _ := os.ReadFile(p)
			rel, _ := filepath.Rel(root, p)
			out[rel] = string(data)
		}
		return nil
	})
	return out
}

// changedLines returns, per file, the lines that differ between two snapshots.
func changedLines(before, after map[string]string) map[string][]string {
	out := map[string][]string{}
	for f, a := range after {
		b := before[f]
		if a == b {
			continue
		}
		al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
		if len(al) != len(bl) {
			out[f] = append(out[f], "line count changed")
			continue
		}
		for i := range al {
			if al[i] != bl[i] {
				out[f] = append(out[f], strings.TrimSpace(al[i]))
			}
		}
	}
	return out
}

func TestBumpRewritesVersionChartAndUmbrellaPinOnly(t *testing.T) {
	root := copyTree(t)
	before := snapshot(t, root)
	var out, progress bytes.Buffer
	if err := Bump(t.Context(), Config{Root: root, Stdout: &out, Progress: &progress}, "core", "patch"); err != nil {
		t.Fatal(err)
	}
	// bump's lines are human progress, all on stderr; stdout holds nothing.
	if out.Len() != 0 || !strings.HasPrefix(progress.String(), "core: 1.2.0 → 1.2.1\n  updated services/core/VERSION\n") {
		t.Errorf("stdout = %q, progress = %q", out.String(), progress.String())
	}
	got := changedLines(before, snapshot(t, root))
	want := map[string][]string{
		"services/core/VERSION":      {"1.2.1"},
		"charts/core/Chart.yaml":     {"version: 1.2.1", `appVersion: "1.2.1"`},
		"charts/platform/Chart.yaml": {"version: 1.2.1"},
	}
	if len(got) != len(want) {
		t.Fatalf("changed files = %v, want %v", got, want)
	}
	for f, lines := range want {
		if len(got[f]) != len(lines) {
			t.Fatalf("%s: changed %v, want %v", f, got[f], lines)
		}
		for i, l := range lines {
			if !strings.HasPrefix(got[f][i], l) {
				t.Errorf("%s: changed line %q, want it to start with %q", f, got[f][i], l)
			}
		}
	}
	c, err := version.ReadChart(filepath.Join(root, "charts/core/Chart.yaml"))
	if err != nil || c.Version != "1.2.1" || c.AppVersion != "1.2.1" {
		t.Fatalf("chart after bump: %+v %v", c, err)
	}
}

func TestBumpExplicitAndPlatform(t *testing.T) {
	root := copyTree(t)
	var out bytes.Buffer
	cfg := Config{Root: root, Stdout: &bytes.Buffer{}, Progress: &out}
	if err := Bump(t.Context(), cfg, "scanner", "1.4.0"); err != nil {
		t.Fatal(err)
	}
	if err := Bump(t.Context(), cfg, "platform", "minor"); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out.String(), "scanner: 0.9.0 → 1.4.0\n") || !strings.Contains(out.String(), "\nplatform: 1.0.0 → 1.1.0\n") {
		t.Errorf("progress = %q", out.String())
	}
	u, err := version.ReadChart(filepath.Join(root, "charts/platform/Chart.yaml"))
	if err != nil || u.Version != "1.1.0" {
		t.Fatalf("umbrella: %+v %v", u, err)
	}
	for _, d := range u.Dependencies {
		if d.Name == "scanner" && d.Version != "1.4.0" {
			t.Errorf("umbrella pin on scanner = %s", d.Version)
		}
	}
	if v, err := version.ReadFile(filepath.Join(root, "VERSION")); err != nil || v.String() != "1.1.0" {
		t.Errorf("root VERSION = %v, %v", v, err)
	}
}

func TestBumpRefusesWithoutWriting(t *testing.T) {
	root := copyTree(t)
	before := snapshot(t, root)
	cfg := Config{Root: root, Stdout: &bytes.Buffer{}, Progress: &bytes.Buffer{}}
	cases := []struct {
		component, spec string
		check           func(error) bool
		mentions        string
	}{
		{"core", "1.0.0", func(err error) bool { var e *version.DowngradeError; return errors.As(err, &e) }, "1.2.0"},
		{"core", "1.2.0", func(err error) bool { var e *version.SameVersionError; return errors.As(err, &e) }, "1.2.0"},
		{"core", "1.2", func(err error) bool { var e *version.InvalidSpecError; return errors.As(err, &e) }, "patch"},
		{"coer", "patch", func(err error) bool { var e *UnknownComponentError; return errors.As(err, &e) }, `did you mean "core"`},
	}
	for _, tc := range cases {
		err := Bump(t.Context(), cfg, tc.component, tc.spec)
		if err == nil || !tc.check(err) || !strings.Contains(err.Error(), tc.mentions) {
			t.Errorf("bump %s %s: err = %v", tc.component, tc.spec, err)
		}
	}
	if got := changedLines(before, snapshot(t, root)); len(got) != 0 {
		t.Errorf("a refused bump wrote: %v", got)
	}
}

// TestBumpWithZeroConfigDoesNotPanic: the mage target passes a Config without writers; Bump must
// use the defaults (os.Stdout, os.Stderr), not the nil writers it was given.
func TestBumpWithZeroConfigDoesNotPanic(t *testing.T) {
	root := copyTree(t)
	t.Setenv("SHIPLANE_COMPONENTS", "")
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("Bump panicked: %v", r)
		}
	}()
	if err := Bump(t.Context(), Config{Root: root}, "core", "patch"); err != nil {
		t.Fatal(err)
	}
	if v, err := version.ReadFile(filepath.Join(root, "services/core/VERSION")); err != nil || v.String() != "1.2.1" {
		t.Errorf("core VERSION = %v, %v", v, err)
	}
}

// TestBumpRefusesAnUneditableChartBeforeWriting: ReadChart accepts a tagged appVersion, but the
// chart edit cannot keep it; bump must refuse before writing VERSION (no half-bumped component).
func TestBumpRefusesAnUneditableChartBeforeWriting(t *testing.T) {
	root := copyTree(t)
	chart := filepath.Join(root, "charts/core/Chart.yaml")
	data, err := os.ReadFile(chart)
	if err != nil {
		t.Fatal(err)
	}
	tagged := regexp.MustCompile(`(?m)^appVersion:.*$`).ReplaceAllString(string(data), "appVersion: !!str 1.2.0")
	if tagged == string(data) {
		t.Fatal("test bug: charts/core/Chart.yaml has no appVersion line")
	}
	if err := os.WriteFile(chart, []byte(tagged), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := version.ReadChart(chart); err != nil {
		t.Fatalf("test premise: ReadChart refuses the tagged chart: %v", err)
	}
	before := snapshot(t, root)
	var out, progress bytes.Buffer
	err = Bump(t.Context(), Config{Root: root, Stdout: &out, Progress: &progress}, "core", "patch")
	var fe *version.FileError
	if !errors.As(err, &fe) || !strings.Contains(err.Error(), "appVersion") {
		t.Fatalf("err = %v, want a *version.FileError about appVersion", err)
	}
	if got := changedLines(before, snapshot(t, root)); len(got) != 0 {
		t.Errorf("a refused bump wrote: %v", got)
	}
	if v, err := version.ReadFile(filepath.Join(root, "services/core/VERSION")); err != nil || v.String() != "1.2.0" {
		t.Errorf("core VERSION = %v, %v; want it untouched at 1.2.0", v, err)
	}
	if out.Len() != 0 || progress.Len() != 0 {
		t.Errorf("a refused bump reported: %q %q", out.String(), progress.String())
	}
}

// TestBumpToTheCurrentVersionResyncsTheChart: the version guardrail's fix for a chart that
// disagrees with VERSION ("run: go run mage.go bump core 1.2.0") works, and changes only the chart.
func TestBumpToTheCurrentVersionResyncsTheChart(t *testing.T) {
	root := copyTree(t)
	chart := filepath.Join(root, "charts/core/Chart.yaml")
	data, err := os.ReadFile(chart)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(chart, []byte(strings.Replace(string(data), "version: 1.2.0", "version: 1.1.0", 1)), 0o644)
	before := snapshot(t, root)
	var out bytes.Buffer
	if err := Bump(t.Context(), Config{Root: root, Stdout: &bytes.Buffer{}, Progress: &out}, "core", "1.2.0"); err != nil {
		t.Fatal(err)
	}
	got := changedLines(before, snapshot(t, root))
	if len(got) != 1 || len(got["charts/core/Chart.yaml"]) != 1 || !strings.HasPrefix(got["charts/core/Chart.yaml"][0], "version: 1.2.0") {
		t.Fatalf("changed = %v", got)
	}
	if !strings.Contains(out.String(), "core: 1.2.0 (chart brought in step") {
		t.Errorf("progress = %q", out.String())
	}
	// Now everything agrees: the same command is refused as a same-version bump.
	err = Bump(t.Context(), Config{Root: root, Stdout: &out, Progress: &bytes.Buffer{}}, "core", "1.2.0")
	var same *version.SameVersionError
	if !errors.As(err, &same) {
		t.Fatalf("err = %v", err)
	}
}

// TestBumpAddsTheChangelogSection: a platform bump adds the new version's empty section to the
// root CHANGELOG.md, a component bump to the CHANGELOG.md in the component's paths; a component
// without one and a repository without one get no file; a malformed changelog refuses the bump
// before anything is written.
func TestBumpAddsTheChangelogSection(t *testing.T) {
	root := copyTree(t)
	rootLog := "# Changelog\n\n## [Unreleased]\n\n## [1.0.0] - 2026-11-30\n\n- first\n"
	coreLog := "# core\n\n## [1.2.0] - 2026-11-30\n\n- the API\n"
	for f, text := range map[string]string{"CHANGELOG.md": rootLog, "services/core/CHANGELOG.md": coreLog} {
		if err := os.WriteFile(filepath.Join(root, f), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var progress bytes.Buffer
	cfg := Config{Root: root, Stdout: &bytes.Buffer{}, Progress: &progress}
	for _, b := range [][2]string{{"platform", "minor"}, {"core", "patch"}, {"scanner", "patch"}} {
		if err := Bump(t.Context(), cfg, b[0], b[1]); err != nil {
			t.Fatalf("bump %s %s: %v", b[0], b[1], err)
		}
	}
	read := func(f string) string {
		data, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	if got, want := read("CHANGELOG.md"), "# Changelog\n\n## [Unreleased]\n\n## [1.1.0] - unreleased\n\n## [1.0.0] - 2026-11-30\n\n- first\n"; got != want {
		t.Errorf("CHANGELOG.md:\n%s\nwant\n%s", got, want)
	}
	if got, want := read("services/core/CHANGELOG.md"), "# core\n\n## [1.2.1] - unreleased\n\n## [1.2.0] - 2026-11-30\n\n- the API\n"; got != want {
		t.Errorf("services/core/CHANGELOG.md:\n%s\nwant\n%s", got, want)
	}
	if _, err := os.Stat(filepath.Join(root, "services/scanner/CHANGELOG.md")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a bump created a changelog the component does not keep: %v", err)
	}
	for _, want := range []string{"  updated CHANGELOG.md (section [1.1.0])\n", "  updated services/core/CHANGELOG.md (section [1.2.1])\n"} {
		if !strings.Contains(progress.String(), want) {
			t.Errorf("progress lacks %q:\n%s", want, progress.String())
		}
	}

	if err := os.WriteFile(filepath.Join(root, "CHANGELOG.md"), []byte("## [v1.1.0] - 2026-12-01\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, root)
	err := Bump(t.Context(), cfg, "platform", "patch")
	if err == nil || !strings.Contains(err.Error(), "CHANGELOG.md:1: \"v1.1.0\" is not a version; fix: write [1.1.0] without the v") {
		t.Errorf("bump with a malformed changelog: err = %v", err)
	}
	if got := changedLines(before, snapshot(t, root)); len(got) != 0 {
		t.Errorf("a refused bump wrote: %v", got)
	}
}
