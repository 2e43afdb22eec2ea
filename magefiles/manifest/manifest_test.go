package manifest_test

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shiplane/shiplane/magefiles/manifest"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

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
	cases := []struct {
		name  string
		yaml  string
		files map[string]string
	}{
		{"unknown-key", edit("    depends_on: [base]", "    dependson: [base]"), nil},
		{"unknown-top-key", "projekt: x\n" + good, nil},
		{"duplicate-name", good[:strings.Index(good, "bundles:")] + "  - name: base\n    paths: [svc/base]\n    version_file: svc/base/VERSION\n", nil},
		{"unknown-dependency", edit("depends_on: [base]", "depends_on: [bsae]"), nil},
		{"cycle", edit("    version_file: svc/base/VERSION\n", "    version_file: svc/base/VERSION\n    depends_on: [api]\n"), nil},
		{"missing-dockerfile", edit("dockerfile: svc/api/Dockerfile", "dockerfile: svc/api/Dockerfile.missing"), nil},
		{"missing-version-file", edit("version_file: svc/api/VERSION", "version_file: svc/api/VERSON"), nil},
		{"invalid-semver", good, map[string]string{"svc/api/VERSION": "2.0\n"}},
		{"missing-input-path", edit("paths: [svc/api]", "paths: [svc/apii]"), nil},
		{"from-not-a-dependency", edit("    depends_on: [base]\n", ""), nil},
		{"bad-publish", edit("publish: false", "publish: maybe"), nil},
		{"bad-yaml", "components: [\n", nil},
		{"no-name", edit("  - name: api\n", "  - description: x\n"), nil},
		{"unknown-bundle-component", edit("components: [api]", "components: [apx]"), nil},
		{"wrong-type", edit("paths: [svc/api]", "paths: {a: b}"), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{"deploy/components.yaml": tc.yaml}
			for k, v := range tc.files {
				files[k] = v
			}
			root := writeTree(t, files)
			_, err := manifest.Load(root, manifest.DefaultFile)
			if err == nil {
				t.Fatal("Load accepted a bad manifest")
			}
			var me *manifest.Error
			if !errors.As(err, &me) || me.File != manifest.DefaultFile {
				t.Fatalf("error is not a *manifest.Error naming the file: %v", err)
			}
			golden := filepath.Join("testdata", tc.name+".golden")
			got := err.Error() + "\n"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, rerr := os.ReadFile(golden)
			if rerr != nil {
				t.Fatalf("%v (run go test -update)", rerr)
			}
			if got != string(want) {
				t.Errorf("error message changed\n got: %s\nwant: %s", got, want)
			}
		})
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
