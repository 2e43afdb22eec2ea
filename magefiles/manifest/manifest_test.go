package manifest_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shiplane/shiplane/magefiles/manifest"
	"github.com/shiplane/shiplane/magefiles/testenv/golden"
)

// good is a valid manifest over the files writeTree creates.
const good = `project: demo
source: https://example.com/demo
license: MIT
platform:
  version_file: VERSION
components:
  - name: base
    paths: [svc/base]
    version_file: svc/base/VERSION
    image:
      dockerfile: svc/base/Dockerfile
  - name: api
    description: the API
    paths: [svc/api]
    version_file: svc/api/VERSION
    image:
      dockerfile: svc/api/Dockerfile
      from: base
    depends_on: [base]
    publish: false
bundles:
  - name: extra
    components: [api]
`

func writeTree(t *testing.T, versions map[string]string) string {
	t.Helper()
	root := t.TempDir()
	files := map[string]string{
		"VERSION":                "1.0.0\n",
		"svc/base/VERSION":       "0.1.0\n",
		"svc/base/Dockerfile":    "FROM scratch\n",
		"svc/api/VERSION":        "2.0.0\n",
		"svc/api/Dockerfile":     "FROM scratch\n",
		"deploy/components.yaml": good,
	}
	for k, v := range versions {
		files[k] = v
	}
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestLoadValid(t *testing.T) {
	root := writeTree(t, nil)
	m, err := manifest.Load(root, manifest.DefaultFile)
	if err != nil {
		t.Fatal(err)
	}
	api := m.Component("api")
	if m.Project != "demo" || m.Platform.Version != "1.0.0" || api.Version != "2.0.0" || api.Publish ||
		api.Bundle != "extra" || api.Image.Name != "api" || api.Image.From != "base" || !m.Component("base").Publish {
		t.Fatalf("unexpected manifest: %+v %+v", m, api)
	}
}

func TestLoadTheRepositoryManifest(t *testing.T) {
	m, err := manifest.Load("../..", manifest.DefaultFile)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Components) < 5 || m.Bundle("scanner") == nil {
		t.Fatalf("unexpected: %d components", len(m.Components))
	}
}

// TestValidationErrors checks each bad input against its golden message: the file, the line and the fix.
func TestValidationErrors(t *testing.T) {
	edit := func(old, new string) string {
		if !strings.Contains(good, old) {
			t.Fatalf("test bug: %q not in manifest", old)
		}
		return strings.Replace(good, old, new, 1)
	}
	editAll := func(pairs ...string) string { // old, new, old, new, …
		out := good
		for i := 0; i+1 < len(pairs); i += 2 {
			if !strings.Contains(out, pairs[i]) {
				t.Fatalf("test bug: %q not in manifest", pairs[i])
			}
			out = strings.Replace(out, pairs[i], pairs[i+1], 1)
		}
		return out
	}
	cases := []struct {
		name  string
		yaml  string
		files map[string]string
		links map[string]string // symbolic link → its target
	}{
		{"unknown-key", edit("    depends_on: [base]", "    dependson: [base]"), nil, nil},
		{"unknown-top-key", "projekt: x\n" + good, nil, nil},
		{"duplicate-name", good[:strings.Index(good, "bundles:")] + "  - name: base\n    paths: [svc/base]\n    version_file: svc/base/VERSION\n", nil, nil},
		{"unknown-dependency", edit("depends_on: [base]", "depends_on: [bsae]"), nil, nil},
		{"cycle", edit("    version_file: svc/base/VERSION\n", "    version_file: svc/base/VERSION\n    depends_on: [api]\n"), nil, nil},
		{"missing-dockerfile", edit("dockerfile: svc/api/Dockerfile", "dockerfile: svc/api/Dockerfile.missing"), nil, nil},
		{"missing-version-file", edit("version_file: svc/api/VERSION", "version_file: svc/api/VERSON"), nil, nil},
		{"invalid-semver", good, map[string]string{"svc/api/VERSION": "2.0\n"}, nil},
		{"missing-input-path", edit("paths: [svc/api]", "paths: [svc/apii]"), nil, nil},
		{"from-not-a-dependency", edit("    depends_on: [base]\n", ""), nil, nil},
		{"bad-publish", edit("publish: false", "publish: maybe"), nil, nil},
		{"bad-yaml", "components: [\n", nil, nil},
		{"no-name", edit("  - name: api\n", "  - description: x\n"), nil, nil},
		{"unknown-bundle-component", edit("components: [api]", "components: [apx]"), nil, nil},
		{"wrong-type", edit("paths: [svc/api]", "paths: {a: b}"), nil, nil},
		{"symlink-input-path", edit("paths: [svc/api]", "paths: [svc/api, svc/shared, linked/inner]"),
			map[string]string{"lib/x.go": "package lib\n", "real/inner/y.go": "package inner\n"},
			map[string]string{"svc/shared": "../lib", "linked": "real"}},
		{"dockerfile-outside-paths", edit("dockerfile: svc/api/Dockerfile", "dockerfile: docker/api/Dockerfile"),
			map[string]string{"docker/api/Dockerfile": "FROM scratch\n"}, nil},
		{"main-outside-paths", edit("      from: base\n", "      from: base\n      main: ./cmd/api\n"),
			map[string]string{"cmd/api/main.go": "package main\n"}, nil},
		{"path-forms", edit("paths: [svc/api]", "paths: [/srv/api, ../api, svc/../svc/api, ., svc/api]"), nil, nil},
		{"path-forms-other-fields", editAll("version_file: svc/api/VERSION", "version_file: /svc/api/VERSION",
			"dockerfile: svc/api/Dockerfile", "dockerfile: ../svc/api/Dockerfile"), nil, nil},
		{"duplicate-input-path", edit("paths: [svc/api]", "paths: [svc/api, ./svc/api/]"), nil, nil},
		{"build-metadata", good, map[string]string{"svc/api/VERSION": "2.0.0+build.1\n"}, nil},
		{"invalid-image-name", edit("      from: base\n", "      from: base\n      name: API_server\n"), nil, nil},
		{"duplicate-image-name", edit("      from: base\n", "      from: base\n      name: base\n"), nil, nil},
		{"duplicate-chart-name", editAll("    publish: false\n", "    publish: false\n    chart: more/web\n",
			"    version_file: svc/base/VERSION\n", "    version_file: svc/base/VERSION\n    chart: charts/web\n"), nil, nil},
		{"chart-named-like-the-umbrella", editAll("  version_file: VERSION\n", "  version_file: VERSION\n  chart: charts/platform\n",
			"    publish: false\n", "    publish: false\n    chart: more/platform\n"), nil, nil},
		{"reserved-name", edit("bundles:", "  - name: platform\n    paths: [svc/base]\n    version_file: svc/base/VERSION\nbundles:"), nil, nil},
		{"chart-image-values-bad", edit("    publish: false\n", "    publish: false\n    chart: charts/api\n    chart_image_values:\n      repo: image.repository\n      tag: \"image tag\"\n      digest: \"\"\n"), nil, nil},
		{"chart-image-values-overlap", edit("    publish: false\n", "    publish: false\n    chart: charts/api\n    chart_image_values: {digest: image}\n"), nil, nil},
		{"chart-image-values-without-chart", edit("    publish: false\n", "    publish: false\n    chart_image_values: {digest: image.digest}\n"), nil, nil},
		// Indentation and syntax: the line to correct and the column that puts it right.
		{"indented-under-image", edit("      from: base\n    depends_on: [base]\n", "      from: base\n      depends_on: [base]\n"), nil, nil},
		{"not-indented-under-image", edit("      from: base\n", "    from: base\n"), nil, nil},
		{"key-indented-less", edit("    version_file: svc/api/VERSION\n", "   version_file: svc/api/VERSION\n"), nil, nil},
		{"key-indented-more", edit("    version_file: svc/api/VERSION\n", "      version_file: svc/api/VERSION\n"), nil, nil},
		{"list-entry-misaligned", edit("  - name: api\n", "   - name: api\n"), nil, nil},
		{"tab", edit("    version_file: svc/api/VERSION\n", "\tversion_file: svc/api/VERSION\n"), nil, nil},
		{"missing-colon", edit("    version_file: svc/api/VERSION\n", "    version_file svc/api/VERSION\n"), nil, nil},
		{"missing-colon-alone", edit("components:\n", "components\n"), nil, nil},
		{"unclosed-quote", edit("    description: the API\n", "    description: \"the API\n"), nil, nil},
		{"unclosed-bracket", edit("paths: [svc/api]", "paths: [svc/api"), nil, nil},
		{"duplicate-key", edit("    description: the API\n", "    description: the API\n    paths: [svc/api]\n"), nil, nil},
		{"chart-image-values-without-image", edit("bundles:", "  - name: docs\n    paths: [svc/docs]\n    version_file: svc/docs/VERSION\n    chart: charts/docs\n    chart_image_values: {}\nbundles:"), nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{"deploy/components.yaml": tc.yaml}
			for k, v := range tc.files {
				files[k] = v
			}
			root := writeTree(t, files)
			for link, target := range tc.links {
				p := filepath.Join(root, filepath.FromSlash(link))
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(target, p); err != nil {
					t.Fatal(err)
				}
			}
			_, err := manifest.Load(root, manifest.DefaultFile)
			if err == nil {
				t.Fatal("Load accepted a bad manifest")
			}
			var me *manifest.Error
			if !errors.As(err, &me) || me.File != manifest.DefaultFile {
				t.Fatalf("error is not a *manifest.Error naming the file: %v", err)
			}
			got := err.Error() + "\n"
			golden.Check(t, tc.name, got)
		})
	}
}

// TestPathsAreNormalised: "./c", "c/" and "c//d" name the same path as "c" and "c/d", so identical
// content gives identical input keys whatever the spelling.
func TestPathsAreNormalised(t *testing.T) {
	yaml := strings.NewReplacer(
		"paths: [svc/api]", "paths: [./svc/api/]",
		"version_file: svc/api/VERSION", "version_file: ./svc//api/VERSION",
		"dockerfile: svc/api/Dockerfile", "dockerfile: svc/api/./Dockerfile",
		"      from: base\n", "      from: base\n      main: ./svc/api/cmd/api/\n",
	).Replace(good)
	root := writeTree(t, map[string]string{"deploy/components.yaml": yaml, "svc/api/cmd/api/main.go": "package main\n"})
	m, err := manifest.Load(root, manifest.DefaultFile)
	if err != nil {
		t.Fatal(err)
	}
	api := m.Component("api")
	if len(api.Paths) != 1 || api.Paths[0] != "svc/api" || api.VersionFile != "svc/api/VERSION" ||
		api.Image.Dockerfile != "svc/api/Dockerfile" || api.Image.Main != "svc/api/cmd/api" || api.Image.Binary() != "api" {
		t.Errorf("not normalised: paths %q, version_file %q, dockerfile %q, main %q", api.Paths, api.VersionFile, api.Image.Dockerfile, api.Image.Main)
	}
}

// TestChartImageValues: a component with a chart and an image knows where the chart keeps the
// image, by default image.repository, image.tag and image.digest; one without either has none.
func TestChartImageValues(t *testing.T) {
	yaml := strings.NewReplacer(
		"    publish: false\n", "    publish: false\n    chart: charts/api\n    chart_image_values:\n      repository: app.image.repo\n      digest: app.image.sha\n",
		"    version_file: svc/base/VERSION\n", "    version_file: svc/base/VERSION\n    chart: charts/base\n",
	).Replace(good)
	if !strings.Contains(yaml, "charts/base") || !strings.Contains(yaml, "charts/api") {
		t.Fatal("test bug: the manifest was not edited")
	}
	m, errs := manifest.Parse("c.yaml", []byte(yaml))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if got, want := m.Component("api").ChartImageValues, (manifest.ChartImageValues{Repository: "app.image.repo", Tag: "image.tag", Digest: "app.image.sha"}); got != want {
		t.Errorf("api: %+v, want %+v", got, want)
	}
	if got := m.Component("base").ChartImageValues; got != manifest.DefaultChartImageValues() {
		t.Errorf("base: %+v, want the defaults", got)
	}

	m, errs = manifest.Parse("c.yaml", []byte(good))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if got := m.Component("api").ChartImageValues; got != (manifest.ChartImageValues{}) {
		t.Errorf("a component without a chart: %+v, want none", got)
	}

	repo, err := manifest.Load("../..", manifest.DefaultFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range repo.Components {
		want := manifest.ChartImageValues{}
		if c.Chart != "" && c.Image != nil {
			want = manifest.DefaultChartImageValues()
		}
		if c.ChartImageValues != want {
			t.Errorf("%s: %+v, want %+v", c.Name, c.ChartImageValues, want)
		}
	}
}

// TestImageNames: an image name is one repository path component, [a-z0-9]+([._-][a-z0-9]+)*.
// TestEmptyInputPathIsNoPath: an empty entry is not a path, and a component with nothing else has none.
func TestEmptyInputPathIsNoPath(t *testing.T) {
	_, errs := manifest.Parse("c.yaml", []byte(strings.Replace(good, "paths: [svc/api]", `paths: [""]`, 1)))
	if len(errs) != 1 || !strings.Contains(errs[0].Problem, "no input paths") {
		t.Fatalf("errs = %v", errs)
	}
}

func TestImageNames(t *testing.T) {
	for name, ok := range map[string]bool{
		"core": true, "connector-fs": true, "a.b_c-d": true, "v2": true, "0x": true,
		"Core": false, "a--b": false, "-a": false, "a-": false, "a/b": false, "a..b": false, "a b": false, "ü": false,
	} {
		yaml := strings.Replace(good, "      from: base\n", "      from: base\n      name: \""+name+"\"\n", 1)
		_, errs := manifest.Parse("c.yaml", []byte(yaml))
		if got := len(errs) == 0; got != ok {
			t.Errorf("image name %q: accepted %v, want %v (%v)", name, got, ok, errs)
		}
	}
}

func TestMissingComponentsFileSaysHowToFix(t *testing.T) {
	_, err := manifest.Load(t.TempDir(), "ops/components.yaml")
	if err == nil || !strings.Contains(err.Error(), "ops/components.yaml") || !strings.Contains(err.Error(), "SHIPLANE_COMPONENTS") {
		t.Fatalf("err = %v", err)
	}
}

// FuzzParse: any bytes give a manifest or an error, never a panic.
func FuzzParse(f *testing.F) {
	f.Add([]byte(good))
	f.Add([]byte("components: [\n"))
	f.Add([]byte("components:\n  - name: a\n    depends_on: [a]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, errs := manifest.Parse("fuzz.yaml", data)
		if m == nil && len(errs) == 0 {
			t.Fatal("no manifest and no error")
		}
	})
}

// TestErrorsHaveALocation: a problem with a line is found through errors.As by an interface of
// the caller's own (as the GitHub Actions annotations find it), with the file and that line.
func TestErrorsHaveALocation(t *testing.T) {
	root := writeTree(t, map[string]string{"deploy/components.yaml": strings.Replace(good, "    description: the API\n", "    description: \"the API\n", 1)})
	_, err := manifest.Load(root, manifest.DefaultFile)
	var loc interface{ Location() (string, int) }
	if !errors.As(err, &loc) {
		t.Fatalf("%v: no Location", err)
	}
	if f, l := loc.Location(); f != manifest.DefaultFile || l != 13 {
		t.Errorf("Location() = %s:%d, want %s:13", f, l, manifest.DefaultFile)
	}
}
