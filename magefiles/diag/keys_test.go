package diag_test

import (
	"errors"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/shiplane/shiplane/magefiles/diag"
)

// TestMappingWalk: a key of the mapping above, one of a mapping beside, a misspelt one and a
// duplicate are each reported with where they belong; accepted keys reach f in file order.
func TestMappingWalk(t *testing.T) {
	const src = "image:\n  name: core\n  chart: charts/core\n  nme: x\nmain: ./cmd\nimage2: {}\nimage2: {}\n"
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	imageKeys := []string{"name", "main"}
	top := &diag.Mapping{Node: doc.Content[0], Keys: []string{"image", "image2", "chart"}, Nested: map[string][]string{"image": imageKeys}}
	var got []string
	fail := func(line int, problem, fix string) {
		got = append(got, diag.Format("f.yaml", line, "", problem, nil, fix))
	}
	var keys []string
	top.Walk(fail, func(k, v *yaml.Node) {
		keys = append(keys, k.Value)
		if k.Value == "image" {
			top.Child("image", k, v, imageKeys, nil).Walk(fail, func(k, _ *yaml.Node) { keys = append(keys, "image."+k.Value) })
		}
	})
	want := []string{
		`f.yaml:3: image: unknown key "chart" (it is indented under image:, line 1); fix: move chart: left to align with image: (column 1)`,
		`f.yaml:4: image: unknown key "nme"; fix: did you mean "name"?`,
		`f.yaml:5: unknown key "main" (it is a key of image:, line 1, but is not indented under it); fix: move main: right to column 3, under image:`,
		`f.yaml:7: key "image2" given twice (first at line 6); fix: keep one of them`,
	}
	if len(got) != len(want) {
		t.Fatalf("got %d problems:\n%q", len(got), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("problem %d:\n got %s\nwant %s", i, got[i], want[i])
		}
	}
	if w := "image image.name image2"; strings.Join(keys, " ") != w {
		t.Errorf("keys = %q, want %q", strings.Join(keys, " "), w)
	}
}

// TestSyntaxOfFallsBack: an error the v4 parser does not position keeps yaml.v3's line and text.
func TestSyntaxOfFallsBack(t *testing.T) {
	s := diag.SyntaxOf([]byte("a: b\n"), errors.New("yaml: line 7: something odd"))
	if s.Line != 7 || s.Problem != "not valid YAML: line 7: something odd" {
		t.Errorf("SyntaxOf = %+v", s)
	}
}
