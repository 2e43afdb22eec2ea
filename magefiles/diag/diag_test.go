package diag_test

import (
	"errors"
	"io/fs"
	"testing"

	"github.com/shiplane/shiplane/magefiles/diag"
)

func TestFormat(t *testing.T) {
	for _, tc := range []struct {
		file, scope, problem, fix string
		line                      int
		cause                     error
		want                      string
	}{
		{file: "f.yaml", problem: "the file is empty", want: "f.yaml: the file is empty"},
		{file: "f.yaml", line: 3, scope: `component "core"`, problem: "no input paths", fix: "add paths:",
			want: `f.yaml:3: component "core": no input paths; fix: add paths:`},
		{file: "f.yaml", problem: "release file not found", cause: fs.ErrNotExist, fix: "create it",
			want: "f.yaml: release file not found: file does not exist; fix: create it"},
	} {
		if got := diag.Format(tc.file, tc.line, tc.scope, tc.problem, tc.cause, tc.fix); got != tc.want {
			t.Errorf("Format = %q, want %q", got, tc.want)
		}
	}
}

func TestLinesAndUnwrap(t *testing.T) {
	a, b := errors.New("a"), errors.New("b")
	errs := []error{a, b}
	if got := diag.Lines(errs); got != "a\nb" {
		t.Errorf("Lines = %q", got)
	}
	if got := diag.Unwrap(errs); len(got) != 2 || got[0] != a || got[1] != b {
		t.Errorf("Unwrap = %v", got)
	}
}

func TestSuggest(t *testing.T) {
	valid := []string{"version_file", "paths", "chart"}
	if got, want := diag.Suggest("path", valid), `did you mean "paths"?`; got != want {
		t.Errorf("Suggest(path) = %q, want %q", got, want)
	}
	if got, want := diag.Suggest("zzzzzzzz", valid), "use one of: chart, paths, version_file"; got != want {
		t.Errorf("Suggest(zzzzzzzz) = %q, want %q", got, want)
	}
	if d := diag.Distance("kitten", "sitting"); d != 3 {
		t.Errorf("Distance(kitten, sitting) = %d, want 3", d)
	}
}
