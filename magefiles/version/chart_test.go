package version

import (
	"errors"
	"github.com/shiplane/shiplane/magefiles/testenv/golden"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// copyChart copies testdata/<name>/Chart.yaml into a temporary directory.
func copyChart(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name, "Chart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return writeChart(t, string(data))
}

func writeChart(t testing.TB, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "Chart.yaml")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReadChart(t *testing.T) {
	c, err := ReadChart(filepath.Join("testdata", "core", "Chart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want := &Chart{
		Path:           filepath.Join("testdata", "core", "Chart.yaml"),
		APIVersion:     "v2",
		Name:           "core",
		Version:        "1.2.0",
		AppVersion:     "1.2.0",
		Description:    "HTTP API service - jobs in, results out",
		Home:           "https://example.com/shiplane",
		Sources:        []string{"https://github.com/shiplane/shiplane"},
		Maintainers:    []Maintainer{{Name: "Platform Team", Email: "platform@example.com"}},
		HasMaintainers: true,
		Annotations:    map[string]string{"org.opencontainers.image.licenses": "Apache-2.0", "category": "Integration and Delivery"},
		VersionLine:    9,
		AppVersionLine: 12,
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got  %+v\nwant %+v", c, want)
	}
	if c.License() != "Apache-2.0" {
		t.Errorf("License() = %q", c.License())
	}

	p, err := ReadChart(filepath.Join("testdata", "platform", "Chart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	wantDeps := []Dependency{
		{Name: "core", Version: "1.2.0", Repository: "file://../core", Line: 10},
		{Name: "connector-fs", Version: "1.0.1", Repository: "file://../connector-fs", Line: 13},
		{Name: "scanner", Repository: "file://../scanner", Condition: "scanner.enabled", Line: 16},
		{Name: "connector-webhook", Version: "1.1.0", Repository: "file://../connector-webhook", Line: 19},
	}
	if !reflect.DeepEqual(p.Dependencies, wantDeps) {
		t.Errorf("dependencies:\n got  %+v\nwant %+v", p.Dependencies, wantDeps)
	}
	if p.Version != "0.9.0" || p.VersionLine != 4 || p.AppVersionLine != 5 || p.HasMaintainers {
		t.Errorf("platform chart: %+v", p)
	}
}

func TestReadChartErrors(t *testing.T) {
	tests := []struct {
		name, content, msg string
	}{
		{"empty", "", "Chart.yaml:1: chart file is empty; write the chart's apiVersion, name and version"},
		{"not a mapping", "- a\n", "Chart.yaml:1: chart file is not a mapping of keys to values; start it with apiVersion: v2, name: and version: lines"},
		{"bad yaml", "name: [x\n", "Chart.yaml: is not valid YAML: yaml: line 1: did not find expected ',' or ']'; fix the YAML syntax"},
		{"duplicate key", "name: a\nversion: 1.0.0\nversion: 1.0.1\n", "Chart.yaml:3: duplicate key version (first at line 2); remove one of them"},
		{"version not scalar", "name: a\nversion:\n  - 1.0.0\n", "Chart.yaml:3: version must be a single value; write it as version: <text> on one line"},
		{"sources not a list", "sources: https://x\n", "Chart.yaml:1: sources must be a list; write it as sources: followed by \"- <value>\" lines"},
		{"maintainers not a list", "maintainers: me\n", "Chart.yaml:1: maintainers must be a list; write each maintainer as \"- name: <name>\" with optional email: and url:"},
		{"annotations not a map", "annotations: [a]\n", "Chart.yaml:1: annotations must be a mapping; write it as annotations: followed by indented \"key: value\" lines"},
		{"dependency not a map", "dependencies:\n  - core\n", "Chart.yaml:2: dependencies entries must be mappings; write each dependency as \"- name: <chart>\" with version: and repository:"},
		{"dependency duplicate key", "dependencies:\n  - name: a\n    name: b\n", "Chart.yaml:3: duplicate key dependencies[].name (first at line 2); remove one of them"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeChart(t, tt.content)
			_, err := ReadChart(path)
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Fatalf("got %v, want *FileError", err)
			}
			if want := filepath.Join(filepath.Dir(path), tt.msg); err.Error() != want {
				t.Fatalf("message:\n got %s\nwant %s", err, want)
			}
		})
	}
	if _, err := ReadChart(filepath.Join(t.TempDir(), "Chart.yaml")); err == nil || !strings.Contains(err.Error(), "cannot read chart: no such file or directory; check the chart path") {
		t.Errorf("missing chart: %v", err)
	}
}

func TestReadChartNullsAndAliases(t *testing.T) {
	path := writeChart(t, "name: &n core\nversion: 1.0.0\nappVersion:\nhome: *n\nsources:\nmaintainers: []\nannotations: ~\ndependencies:\n")
	c, err := ReadChart(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "core" || c.Home != "core" || c.AppVersion != "" || c.AppVersionLine != 3 || c.Sources != nil || !c.HasMaintainers || len(c.Maintainers) != 0 || c.Dependencies != nil {
		t.Errorf("got %+v", c)
	}
}

func TestEditsGolden(t *testing.T) {
	tests := []struct {
		name  string
		chart string
		edit  func(path string) error
	}{
		{"core-set-version", "core", func(p string) error { return SetChartVersion(p, "1.3.0-rc.1") }},
		{"platform-set-version-and-dependencies", "platform", func(p string) error {
			if err := SetChartVersion(p, "1.0.0"); err != nil {
				return err
			}
			for dep, v := range map[string]string{"core": "1.3.0", "connector-fs": "1.0.2", "scanner": "0.3.1", "connector-webhook": "1.2.0"} {
				if err := SetDependencyVersion(p, dep, v); err != nil {
					return err
				}
			}
			return nil
		}},
		{"crlf-set-version", "crlf", func(p string) error { return SetChartVersion(p, "1.0.2") }},
		{"noappversion-set-version", "noappversion", func(p string) error { return SetChartVersion(p, "0.4.0") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := copyChart(t, tt.chart)
			if err := tt.edit(path); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			golden.Check(t, tt.name, string(got))
			if _, err := ReadChart(path); err != nil {
				t.Errorf("edited chart unreadable: %v", err)
			}
		})
	}
}

// TestEditsOnlyTouchValues checks, independently of the golden files, that an
// edit changes nothing but the replaced scalars.
func TestEditsOnlyTouchValues(t *testing.T) {
	path := copyChart(t, "core")
	before, _ := os.ReadFile(path)
	if err := SetChartVersion(path, "10.20.30"); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(path)
	want := strings.Replace(strings.Replace(string(before), "version: 1.2.0 #", "version: 10.20.30 #", 1), `appVersion: "1.2.0"`, `appVersion: "10.20.30"`, 1)
	if string(after) != want {
		t.Errorf("unexpected edit:\n%s", after)
	}
	c, _ := ReadChart(path)
	if c.Version != "10.20.30" || c.AppVersion != "10.20.30" {
		t.Errorf("read back %q %q", c.Version, c.AppVersion)
	}
}

func TestEditStyles(t *testing.T) {
	tests := []struct {
		name, in, version, want string
	}{
		{"plain", "version: 1.0.0\nappVersion: 1.0.0\n", "1.1.0", "version: 1.1.0\nappVersion: 1.1.0\n"},
		{"single quotes", "version: '1.0.0'\nappVersion: '1.0.0'\n", "1.1.0", "version: '1.1.0'\nappVersion: '1.1.0'\n"},
		{"double quotes", "version: \"1.0.0\"\nappVersion: \"1.0.0\"\n", "1.1.0", "version: \"1.1.0\"\nappVersion: \"1.1.0\"\n"},
		{"float-looking appVersion", "version: 1.0.0\nappVersion: 1.0\n", "1.1.0", "version: 1.1.0\nappVersion: 1.1.0\n"},
		{"no trailing newline", "version: 1.0.0", "1.1.0", "version: 1.1.0\nappVersion: \"1.1.0\""},
		{"flow mapping", "{name: a, version: 1.0.0, appVersion: \"1.0.0\"}\n", "2.0.0", "{name: a, version: 2.0.0, appVersion: \"2.0.0\"}\n"},
		{"unicode before the value", "name: \"héllo\"\nversion: 1.0.0\nappVersion: \"1.0.0\" # ünïcode\n", "1.0.1", "name: \"héllo\"\nversion: 1.0.1\nappVersion: \"1.0.1\" # ünïcode\n"},
		{"unchanged", "version: 1.0.0 # x\nappVersion: '1.0.0'\n", "1.0.0", "version: 1.0.0 # x\nappVersion: '1.0.0'\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeChart(t, tt.in)
			if err := SetChartVersion(path, tt.version); err != nil {
				t.Fatal(err)
			}
			got, _ := os.ReadFile(path)
			if string(got) != tt.want {
				t.Errorf("got\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

func TestSetDependencyVersionStyles(t *testing.T) {
	in := "dependencies:\n- name: core\n  version: 1.0.0\n- name: core\n  alias: core2\n  version: \"1.0.0\"\n- name: other\n"
	path := writeChart(t, in)
	if err := SetDependencyVersion(path, "core", ">=1.1.0 <2.0.0"); err != nil {
		t.Fatal(err)
	}
	if err := SetDependencyVersion(path, "other", "1.4.2"); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	want := "dependencies:\n- name: core\n  version: \">=1.1.0 <2.0.0\"\n- name: core\n  alias: core2\n  version: \">=1.1.0 <2.0.0\"\n- name: other\n  version: 1.4.2\n"
	if string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestEditRefusals(t *testing.T) {
	tests := []struct {
		name, in string
		edit     func(path string) error
		msg      string // $DIR stands for the chart's directory
		errType  any
	}{
		{
			name: "invalid version", in: "version: 1.0.0\n",
			edit:    func(p string) error { return SetChartVersion(p, "1.1") },
			msg:     `setting chart version in $DIR/Chart.yaml: invalid version "1.1": invalid semantic version; want a semantic version X.Y.Z[-prerelease][+build] without a leading v, e.g. 1.4.2 or 2.0.0-rc.1`,
			errType: new(*ParseError),
		},
		{
			name: "no version key", in: "name: a\n",
			edit:    func(p string) error { return SetChartVersion(p, "1.1.0") },
			msg:     "$DIR/Chart.yaml: chart has no version key; add a top-level line version: 1.1.0",
			errType: new(*FileError),
		},
		{
			name: "alias", in: "name: &v 1.0.0\nversion: *v\n",
			edit:    func(p string) error { return SetChartVersion(p, "1.1.0") },
			msg:     "setting chart version to 1.1.0: $DIR/Chart.yaml:2: version is an alias (*v); replace the alias with the value: version: 1.1.0",
			errType: new(*FileError),
		},
		{
			name: "anchor", in: "version: &v 1.0.0\nappVersion: *v\n",
			edit:    func(p string) error { return SetChartVersion(p, "1.1.0") },
			msg:     "setting chart version to 1.1.0: $DIR/Chart.yaml:1: version carries an anchor (&v); edit it by hand to 1.1.0",
			errType: new(*FileError),
		},
		{
			name: "block scalar", in: "version: |\n  1.0.0\n",
			edit:    func(p string) error { return SetChartVersion(p, "1.1.0") },
			msg:     "setting chart version to 1.1.0: $DIR/Chart.yaml:1: version is written with a tag or as a block scalar; write it as version: 1.1.0",
			errType: new(*FileError),
		},
		{
			name: "null", in: "version: 1.0.0\nappVersion:\n",
			edit:    func(p string) error { return SetChartVersion(p, "1.1.0") },
			msg:     "setting chart version to 1.1.0: $DIR/Chart.yaml:2: appVersion has no value; write appVersion: 1.1.0",
			errType: new(*FileError),
		},
		{
			name: "multi-line quoted", in: "version: \"1.0.0\n  \"\n",
			edit:    func(p string) error { return SetChartVersion(p, "1.1.0") },
			msg:     "setting chart version to 1.1.0: $DIR/Chart.yaml:1: version could not be located in the file's text; write it on one line as version: 1.1.0",
			errType: new(*FileError),
		},
		{
			name: "insertion into a flow mapping", in: "{version: 1.0.0}\n",
			edit:    func(p string) error { return SetChartVersion(p, "1.1.0") },
			msg:     "setting chart version to 1.1.0: $DIR/Chart.yaml: the edit would change more than the intended values (unusual layout); edit the file by hand",
			errType: new(*FileError),
		},
		{
			name: "unknown dependency", in: "dependencies:\n  - name: core\n    version: 1.0.0\n",
			edit:    func(p string) error { return SetDependencyVersion(p, "ghost", "1.0.0") },
			msg:     `$DIR/Chart.yaml: no dependency named "ghost" (it lists core); add it under dependencies: or check the name`,
			errType: new(*DependencyNotFoundError),
		},
		{
			name: "no dependencies", in: "name: a\n",
			edit:    func(p string) error { return SetDependencyVersion(p, "ghost", "1.0.0") },
			msg:     `$DIR/Chart.yaml: no dependency named "ghost" (it has no dependencies); add it under dependencies: or check the name`,
			errType: new(*DependencyNotFoundError),
		},
		{
			name: "bad constraint", in: "dependencies:\n  - name: core\n",
			edit:    func(p string) error { return SetDependencyVersion(p, "core", "not a version") },
			msg:     `setting dependency core in $DIR/Chart.yaml: invalid dependency version "not a version": improper constraint: "not a version"; want a version such as 1.4.2 or a constraint such as ^1.4.2`,
			errType: new(*ConstraintError),
		},
		{
			name: "control characters", in: "dependencies:\n  - name: core\n",
			edit:    func(p string) error { return SetDependencyVersion(p, "core", "1.0.0\n#") },
			msg:     `setting dependency core in $DIR/Chart.yaml: invalid dependency version "1.0.0\n#": empty, or contains control characters; want a version such as 1.4.2 or a constraint such as ^1.4.2`,
			errType: new(*ConstraintError),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeChart(t, tt.in)
			err := tt.edit(path)
			if err == nil || !errors.As(err, tt.errType) {
				t.Fatalf("got %v, want %T", err, tt.errType)
			}
			if want := strings.ReplaceAll(tt.msg, "$DIR", filepath.Dir(path)); err.Error() != want {
				t.Fatalf("message:\n got %s\nwant %s", err, want)
			}
			if got, _ := os.ReadFile(path); string(got) != tt.in {
				t.Errorf("file changed by a refused edit: %q", got)
			}
		})
	}
}

// TestWriteKeepsMode checks the atomic rewrite keeps the chart's permissions.
func TestWriteKeepsMode(t *testing.T) {
	path := writeChart(t, "version: 1.0.0\nappVersion: 1.0.0\n")
	if err := os.Chmod(path, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := SetChartVersion(path, "1.0.1"); err != nil {
		t.Fatal(err)
	}
	if info, _ := os.Stat(path); info.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", info.Mode().Perm())
	}
}
