package version

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func FuzzParse(f *testing.F) {
	for _, s := range []string{"1.2.3", "0.0.0-rc.1+b.2", "v1.2.3", "1.2", "01.2.3", "1.2.3-", "1.2.3+", "18446744073709551615.0.0", "99999999999999999999.0.0", "1.2.3-01", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := Parse(s)
		if err != nil {
			if v != nil {
				t.Fatalf("Parse(%q) returned both %v and %v", s, v, err)
			}
			return
		}
		if v.String() != s {
			t.Fatalf("Parse(%q).String() = %q", s, v)
		}
		for _, spec := range []string{Patch, Minor, Major, s, "0.0.0"} {
			next, err := Next(v, spec)
			if err == nil && !next.GreaterThan(v) {
				t.Fatalf("Next(%s, %s) = %s, not greater", v, spec, next)
			}
		}
	})
}

func chartSeeds(f *testing.F) {
	for _, name := range []string{"core", "platform", "crlf", "noappversion"} {
		data, err := os.ReadFile(filepath.Join("testdata", name, "Chart.yaml"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, s := range []string{
		"", "version: 1.0.0", "{version: 1.0.0}", "version: &a 1\nappVersion: *a\n", "a: &a [*a]\n",
		"version: \"1.0.0\"\r\nappVersion: '1.0.0'\r\n", "\ufeffversion: 1.0.0\n", "version: 1.0.0\u2028appVersion: x\n",
		"dependencies:\n  - name: core\n    version: 1.0.0\n  - {name: x}\n", "version: !!str 1.0.0\n", "version: |\n  1.0.0\n",
		"- a\n", "version:\n", "? version\n: 1.0.0\n", "version: 1.0.0\n---\nversion: 2.0.0\n",
	} {
		f.Add([]byte(s))
	}
}

// FuzzReadChart checks that no input makes ReadChart panic.
func FuzzReadChart(f *testing.F) {
	chartSeeds(f)
	// Each fuzzing worker is a process calling the target sequentially, so
	// one file per worker suffices.
	path := filepath.Join(f.TempDir(), "Chart.yaml")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := ReadChart(path)
		if (c == nil) == (err == nil) {
			t.Fatalf("ReadChart returned %v and %v", c, err)
		}
	})
}

// FuzzSetChartVersion checks that an edit either fails, leaving the file
// alone, or changes exactly version and appVersion.
func FuzzSetChartVersion(f *testing.F) {
	chartSeeds(f)
	// Durability is not under test here, and an fsync per input would leave
	// the fuzzer measuring the disk.
	saved := syncFile
	syncFile = func(*os.File) error { return nil }
	f.Cleanup(func() { syncFile = saved })
	// Each fuzzing worker is a process calling the target sequentially, so
	// one file per worker suffices.
	path := filepath.Join(f.TempDir(), "Chart.yaml")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		before, err := ReadChart(path)
		if err != nil {
			return
		}
		const v = "9.8.7-rc.1"
		if err := SetChartVersion(path, v); err != nil {
			if got, _ := os.ReadFile(path); string(got) != string(data) {
				t.Fatalf("failed edit (%v) changed the file to %q", err, got)
			}
			return
		}
		after, err := ReadChart(path)
		if err != nil {
			got, _ := os.ReadFile(path)
			t.Fatalf("edited chart unreadable: %v\n%q", err, got)
		}
		if after.Version != v || after.AppVersion != v {
			t.Fatalf("read back version %q appVersion %q", after.Version, after.AppVersion)
		}
		after.Version, after.AppVersion = before.Version, before.AppVersion
		after.VersionLine, after.AppVersionLine = before.VersionLine, before.AppVersionLine
		if before.AppVersionLine == 0 { // appVersion was inserted: later lines moved down
			after.Dependencies, after.AppVersion = before.Dependencies, before.AppVersion
		}
		if !reflect.DeepEqual(before, after) {
			t.Fatalf("edit changed other fields:\nbefore %+v\nafter  %+v", before, after)
		}
		for _, d := range before.Dependencies {
			if d.Name == "" {
				continue
			}
			if err := SetDependencyVersion(path, d.Name, "1.2.3"); err != nil {
				continue
			}
			c, err := ReadChart(path)
			if err != nil {
				t.Fatalf("chart unreadable after setting dependency %s: %v", d.Name, err)
			}
			for _, got := range c.Dependencies {
				if got.Name == d.Name && got.Version != "1.2.3" {
					t.Fatalf("dependency %s has version %q", d.Name, got.Version)
				}
			}
		}
	})
}
