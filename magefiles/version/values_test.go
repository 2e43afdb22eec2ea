package version

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	yaml2 "go.yaml.in/yaml/v2"
	"go.yaml.in/yaml/v3"
)

// planValues plans values over content and returns the planned text.
func planValues(t *testing.T, content string, values ...Value) (string, error) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	e, err := PlanValues(path, values...)
	if err != nil {
		return "", err
	}
	if err := e.Apply(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), nil
}

var pin = []Value{
	{Path: "image.repository", Value: "registry.example:5000/dev/core"},
	{Path: "image.tag", Value: "1.2.0"},
	{Path: "image.digest", Value: "sha256:" + strings.Repeat("ab", 32)},
}

// TestPlanValuesKeepsEveryOtherByte: the three values change, in their quoting style; comments,
// blank lines and the order of keys stay; a missing key is added after the previous one.
func TestPlanValuesKeepsEveryOtherByte(t *testing.T) {
	const in = `# Default values for the core chart.

replicaCount: 1

image:
  repository: shiplane/core # where it lives
  # -- Defaults to the chart's appVersion when empty.
  tag: ""
  pullPolicy: IfNotPresent

service:
  port: 8080
`
	const want = `# Default values for the core chart.

replicaCount: 1

image:
  repository: registry.example:5000/dev/core # where it lives
  # -- Defaults to the chart's appVersion when empty.
  tag: "1.2.0"
  digest: "sha256:abababababababababababababababababababababababababababababababab"
  pullPolicy: IfNotPresent

service:
  port: 8080
`
	got, err := planValues(t, in, pin...)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestPlanValuesNulls(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"image:\n  digest: ~\n", "image:\n  digest: sha256:1\n"},
		{"image:\n  digest: null # none yet\n", "image:\n  digest: sha256:1 # none yet\n"},
		{"image:\n  digest:\n  tag: x\n", "image:\n  digest: \"sha256:1\"\n  tag: x\n"},
		{"image:\n  digest: # none yet\n", "image:\n  digest: \"sha256:1\" # none yet\n"},
		{"image:\n  digest:", "image:\n  digest: \"sha256:1\""},
	} {
		got, err := planValues(t, tc.in, Value{Path: "image.digest", Value: "sha256:1"})
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestPlanValuesAddsInOrder: keys added after one entry keep the order they were given in, and
// an addition earlier in a mapping does not misplace a later one.
func TestPlanValuesAddsInOrder(t *testing.T) {
	got, err := planValues(t, "image:\n  repository: a\n  pullPolicy: Always\n", pin...)
	if err != nil {
		t.Fatal(err)
	}
	want := "image:\n  repository: registry.example:5000/dev/core\n  tag: \"1.2.0\"\n  digest: \"sha256:" + strings.Repeat("ab", 32) + "\"\n  pullPolicy: Always\n"
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}

	got, err = planValues(t, "a: 1\nb: 2\nc: 3\n",
		Value{Path: "a", Value: "x"}, Value{Path: "a2", Value: "y"}, Value{Path: "c", Value: "z"}, Value{Path: "c2", Value: "w"})
	if err != nil {
		t.Fatal(err)
	}
	if want := "a: x\na2: \"y\"\nb: 2\nc: z\nc2: \"w\"\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}

	// With no previous value in the mapping, after its last entry with a one-line value.
	got, err = planValues(t, "image:\n  pullPolicy: Always\n  extra:\n    a: b\n", Value{Path: "image.digest", Value: "d"})
	if err != nil {
		t.Fatal(err)
	}
	if want := "image:\n  pullPolicy: Always\n  digest: \"d\"\n  extra:\n    a: b\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestPlanValuesCRLF keeps Windows line breaks.
func TestPlanValuesCRLF(t *testing.T) {
	got, err := planValues(t, "image:\r\n  repository: a\r\n  tag: \"\"\r\n", pin...)
	if err != nil {
		t.Fatal(err)
	}
	want := "image:\r\n  repository: registry.example:5000/dev/core\r\n  tag: \"1.2.0\"\r\n  digest: \"sha256:" + strings.Repeat("ab", 32) + "\"\r\n"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestPlanValuesReadsBack: whatever the values, the planned file reads back as those strings.
func TestPlanValuesReadsBack(t *testing.T) {
	for _, v := range []string{"1.2", "true", "on", "0755", "a: b", "#x", "x #y", "'q'", `"q"`, "-", "@x", "  pad", "", "null", "~", "ü", "a\\b", "yes", "1:20", "1_000", "0x1F", ".inf", "1e3", "Y"} {
		for _, in := range []string{"image:\n  tag: plain\n", "image:\n  tag: 'single'\n", "image:\n  tag: \"double\"\n", "image:\n  tag: ~\n", "image:\n  tag:\n", "image:\n  other: x\n"} {
			got, err := planValues(t, in, Value{Path: "image.tag", Value: v})
			if err != nil {
				t.Errorf("%q into %q: %v", v, in, err)
				continue
			}
			var doc struct {
				Image struct {
					Tag *string `yaml:"tag"`
				} `yaml:"image"`
			}
			if err := yaml.Unmarshal([]byte(got), &doc); err != nil || doc.Image.Tag == nil || *doc.Image.Tag != v {
				t.Errorf("%q into %q gave %q (%v)", v, in, got, err)
			}
			// Helm reads values with YAML 1.1 rules, where on and 0755 are no strings.
			var m map[string]map[string]any
			if err := yaml2.Unmarshal([]byte(got), &m); err != nil || m["image"]["tag"] != v {
				t.Errorf("%q into %q gave %q, which YAML 1.1 reads as %#v (%v)", v, in, got, m["image"]["tag"], err)
			}
		}
	}
}

func TestPlanValuesRefusals(t *testing.T) {
	for _, tc := range []struct {
		in, path, problem string
		line              int
	}{
		{"service:\n  port: 1\n", "image.tag", "has no image", 1},
		{"image: x\n", "image.tag", "image is not a mapping", 1},
		{"base: &b\n  tag: x\nimage: *b\n", "image.tag", "image is an alias", 3},
		{"image: &b\n  tag: x\nother: *b\n", "image.tag", "carries an anchor", 1},
		{"image:\n  tag: |\n    x\n", "image.tag", "block scalar", 2},
		{"image:\n  tag: [a]\n", "image.tag", "not a single value", 2},
		{"image:\n  sub:\n    a: b\n", "image.tag", "no entry with a one-line value", 2},
		{"image:\n  tag: a\n  tag: b\n", "image.tag", "duplicate key image.tag", 3},
		{"- a\n", "image.tag", "not a mapping of keys", 1},
		{"", "image.tag", "empty", 1},
		{"image:\n  tag: a\n", "image..tag", "not a key path", 0},
	} {
		_, err := planValues(t, tc.in, Value{Path: tc.path, Value: "v"})
		var fe *FileError
		if !errors.As(err, &fe) || !strings.Contains(fe.Problem, tc.problem) || fe.Line != tc.line || fe.Fix == "" {
			t.Errorf("%q: got %v (line %d), want a *FileError at line %d saying %q", tc.in, err, lineOf(fe), tc.line, tc.problem)
		}
	}
	_, err := planValues(t, "image:\n  tag: a\n", Value{Path: "image.tag", Value: "1"}, Value{Path: "image.tag", Value: "2"})
	if err == nil {
		t.Error("a value given twice was accepted")
	}
}

func lineOf(fe *FileError) int {
	if fe == nil {
		return -1
	}
	return fe.Line
}
