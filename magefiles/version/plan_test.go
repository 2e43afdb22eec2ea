package version

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/Masterminds/semver/v3"
)

// TestPlanRefusesWhatSetRefuses: the inputs ReadChart accepts but an edit cannot handle (a tag, an
// anchor, a flow-style root) fail at planning, before anything is written.
func TestPlanRefusesWhatSetRefuses(t *testing.T) {
	for _, in := range []string{
		"version: 1.0.0\nappVersion: !!str 1.0.0\n",
		"version: &v 1.0.0\nappVersion: *v\n",
		"{version: 1.0.0}\n",
	} {
		path := writeChart(t, in)
		if _, err := ReadChart(path); err != nil {
			t.Fatalf("ReadChart(%q): %v", in, err)
		}
		e, err := PlanChartVersion(path, "1.1.0")
		var fe *FileError
		if err == nil || !errors.As(err, &fe) {
			t.Errorf("PlanChartVersion(%q) = %v, %v; want a *FileError", in, e, err)
		}
		setErr := SetChartVersion(path, "1.1.0")
		if setErr == nil || setErr.Error() != err.Error() {
			t.Errorf("SetChartVersion(%q) = %v, want the planning error %v", in, setErr, err)
		}
		if got, _ := os.ReadFile(path); string(got) != in {
			t.Errorf("refused edit wrote %q", got)
		}
	}
}

// TestPlanThenApply: planning writes nothing; Apply writes what was planned.
func TestPlanThenApply(t *testing.T) {
	const in = "version: 1.0.0 # keep\nappVersion: \"1.0.0\"\ndependencies:\n  - name: core\n    version: 1.0.0\n"
	path := writeChart(t, in)
	chart, err := PlanChartVersion(path, "1.1.0")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); string(got) != in || !chart.Changed() {
		t.Fatalf("planning wrote %q (changed %v)", got, chart.Changed())
	}
	if err := chart.Apply(); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); string(got) != strings.Replace(strings.Replace(in, "1.0.0", "1.1.0", 1), "\"1.0.0\"", "\"1.1.0\"", 1) {
		t.Fatalf("applied: %q", got)
	}
	same, err := PlanChartVersion(path, "1.1.0")
	if err != nil || same.Changed() {
		t.Fatalf("re-plan of the same version: changed %v, %v", same.Changed(), err)
	}
}

// TestApplyAllIsAllOrNothing: an edit that cannot be applied undoes the ones already written, and an
// edit planned from content that has since changed is refused.
func TestApplyAllIsAllOrNothing(t *testing.T) {
	dir := t.TempDir()
	vfile := filepath.Join(dir, "VERSION")
	if err := os.WriteFile(vfile, []byte("1.0.0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fresh := filepath.Join(dir, "NEW")
	chart := writeChart(t, "version: 1.0.0\nappVersion: 1.0.0\n")
	ve, err := PlanFile(vfile, semver.MustParse("1.1.0"))
	if err != nil {
		t.Fatal(err)
	}
	ne, err := PlanFile(fresh, semver.MustParse("0.1.0"))
	if err != nil {
		t.Fatal(err)
	}
	ce, err := PlanChartVersion(chart, "1.1.0")
	if err != nil {
		t.Fatal(err)
	}
	// The chart changes after planning: its edit must be refused and the others undone.
	if err := os.WriteFile(chart, []byte("version: 1.0.0\nappVersion: 1.0.0\n# edited meanwhile\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err = ApplyAll(ve, ne, ce)
	var fe *FileError
	if !errors.As(err, &fe) || fe.Path != chart || !strings.Contains(err.Error(), "changed after its edit was planned") {
		t.Fatalf("ApplyAll = %v", err)
	}
	if got, _ := os.ReadFile(vfile); string(got) != "1.0.0\n" {
		t.Errorf("VERSION not restored: %q", got)
	}
	if _, err := os.Stat(fresh); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("new file not removed: %v", err)
	}

	// Two edits of one file planned from the same content: the second is refused, not lost.
	a, _ := PlanFile(vfile, semver.MustParse("1.1.0"))
	b, _ := PlanFile(vfile, semver.MustParse("1.2.0"))
	if err := ApplyAll(a, b); !errors.As(err, &fe) {
		t.Fatalf("ApplyAll of two edits of one file = %v", err)
	}
	if got, _ := os.ReadFile(vfile); string(got) != "1.0.0\n" {
		t.Errorf("VERSION after a refused pair: %q", got)
	}

	a, _ = PlanFile(vfile, semver.MustParse("1.1.0"))
	ce, _ = PlanChartVersion(chart, "1.1.0")
	if err := ApplyAll(a, ce); err != nil {
		t.Fatal(err)
	}
	if v, err := ReadFile(vfile); err != nil || v.String() != "1.1.0" {
		t.Errorf("VERSION = %v, %v", v, err)
	}
	if c, err := ReadChart(chart); err != nil || c.Version != "1.1.0" || c.AppVersion != "1.1.0" {
		t.Errorf("chart = %+v, %v", c, err)
	}
}
