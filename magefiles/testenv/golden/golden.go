// Package golden compares a test's output with a file under testdata, and rewrites the file when
// the test binary runs with -update. It imports only the standard library.
package golden

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
)

// The -update flag. A dependency of a test binary (gotest.tools, through Helm's test helpers) may
// register one of that name first; it is then shared.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite testdata/*.golden")
	}
}

// Updating reports whether the test binary runs with -update.
func Updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// Check compares got with testdata/<name>.golden (see File).
func Check(t testing.TB, name, got string) {
	t.Helper()
	File(t, filepath.Join("testdata", name+".golden"), got)
}

// File compares got with the file at path; under -update it writes got there first (creating
// its folder).
func File(t testing.TB, path, got string) {
	t.Helper()
	if Updating() {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs (go test -update rewrites it):\n--- got\n%s--- want\n%s", path, got, want)
	}
}
