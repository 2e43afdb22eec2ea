package settings

import (
	"errors"
	"github.com/shiplane/shiplane/magefiles/testenv/golden"
	"os"
	"path/filepath"
	"testing"
)

// good is the shape of the repository's deploy/settings.yaml.
const good = `# Where each lane publishes.
dev:
  registry: localhost:5000/dev
  chart_repo: oci://localhost:5000/dev/charts
release:
  registry: ""
  chart_repo: ""
insecure_registries: []
revert_window: 1h
`

// TestFileErrors: syntax and indentation mistakes in the settings file name the line to correct
// and what was expected there (testdata/file-*.golden); each is an *Error with its Location.
func TestFileErrors(t *testing.T) {
	for _, tc := range []struct{ name, yaml string }{
		{"indented-under-dev", "dev:\n  registry: localhost:5000/dev\n  insecure_registries: [reg.internal:5000]\n"},
		{"not-indented-under-release", "release:\n  registry: ghcr.io/acme\nchart_repo: oci://ghcr.io/acme/charts\n"},
		{"key-indented-less", "dev:\n  registry: localhost:5000/dev\n chart_repo: oci://localhost:5000/dev/charts\n"},
		{"tab", "dev:\n\tregistry: localhost:5000/dev\n"},
		{"missing-colon", "dev:\n  registry localhost:5000/dev\n"},
		{"unclosed-quote", "release:\n  registry: \"ghcr.io/acme\n  chart_repo: oci://ghcr.io/acme/charts\n"},
		{"unclosed-bracket", "insecure_registries: [reg.internal:5000\nrevert_window: 1h\n"},
		{"duplicate-key", good + "dev:\n  registry: other:5000/dev\n"},
		{"unknown-key", "dev:\n  registy: localhost:5000/dev\n"},
		{"helm-keyring-list", "signing: key\nhelm_keyring: [deploy/a.gpg, deploy/b.gpg]\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			os.MkdirAll(filepath.Join(dir, "deploy"), 0o755)
			os.WriteFile(filepath.Join(dir, DefaultFile), []byte(tc.yaml), 0o644)
			_, err := Load(dir, DefaultFile, func(string) string { return "" })
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want an *Error", err)
			}
			var loc interface{ Location() (string, int) }
			if !errors.As(err, &loc) {
				t.Fatalf("%v has no Location", err)
			}
			if f, l := loc.Location(); f != DefaultFile || l == 0 {
				t.Errorf("Location() = %s, %d", f, l)
			}
			golden.Check(t, "file-"+tc.name, err.Error()+"\n")
		})
	}
}

// TestInvalidDestinations: a registry or chart repository that is not a valid reference is one
// *InvalidError naming the setting, where the value came from (the file's line, or the
// environment variable) and the fix (testdata/invalid-*.golden).
func TestInvalidDestinations(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		env        map[string]string
		line       int // the Location's line; 0: from the environment
	}{
		{"env-upper-case-owner", good, map[string]string{"RELEASE_REGISTRY": "ghcr.io/Acme/shiplane"}, 0},
		{"env-chart-repo-upper-case", good, map[string]string{"RELEASE_CHART_REPO": "oci://ghcr.io/Acme/shiplane/charts"}, 0},
		{"env-scheme", good, map[string]string{"DEV_REGISTRY": "https://ghcr.io/acme"}, 0},
		{"env-chart-repo-https", good, map[string]string{"DEV_CHART_REPO": "https://charts.example/acme"}, 0},
		{"file-upper-case", "dev:\n  registry: localhost:5000/Dev\n", nil, 2},
		{"file-malformed", "release:\n  registry: ghcr.io/acme:latest\n", nil, 2},
		{"file-empty-part", "release:\n  registry: ghcr.io/acme//shiplane\n", nil, 2},
		{"file-no-host", "release:\n  registry: acme\n", nil, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			os.MkdirAll(filepath.Join(dir, "deploy"), 0o755)
			os.WriteFile(filepath.Join(dir, DefaultFile), []byte(tc.yaml), 0o644)
			_, err := Load(dir, DefaultFile, func(k string) string { return tc.env[k] })
			var ie *InvalidError
			if !errors.As(err, &ie) {
				t.Fatalf("err = %v, want an *InvalidError", err)
			}
			if f, l := ie.Location(); l != tc.line || (l > 0) != (f == DefaultFile) {
				t.Errorf("Location() = %q, %d; want line %d", f, l, tc.line)
			}
			golden.Check(t, "invalid-"+tc.name, err.Error()+"\n")
		})
	}
	// Valid ones pass: lower case, a port, nested paths, the defaults.
	for _, v := range []string{"localhost:5000/dev", "ghcr.io/acme/ship-lane", "reg.example:443/a/b_c/d.e", "GHCR.io/acme"} {
		if _, err := Load(t.TempDir(), DefaultFile, func(k string) string {
			if k == "RELEASE_REGISTRY" {
				return v
			}
			return ""
		}); err != nil {
			t.Errorf("RELEASE_REGISTRY=%s: %v", v, err)
		}
	}
}
