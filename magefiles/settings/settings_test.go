package settings

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadDefaultsFileAndEnv(t *testing.T) {
	dir := t.TempDir()
	s, err := Load(dir, DefaultFile, func(string) string { return "" })
	if err != nil || s.Dev.Registry != "localhost:5000/dev" || s.Dev.ChartRepo != "oci://localhost:5000/dev/charts" {
		t.Fatalf("defaults: %+v %v", s, err)
	}
	os.MkdirAll(filepath.Join(dir, "deploy"), 0o755)
	os.WriteFile(filepath.Join(dir, DefaultFile), []byte("release:\n  registry: reg.example/rel/\ninsecure_registries: [reg.internal:5000]\n"), 0o644)
	env := map[string]string{"DEV_REGISTRY": "other:5000/x"}
	s, err = Load(dir, DefaultFile, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if s.Dev.Registry != "other:5000/x" || s.Release.Registry != "reg.example/rel" || s.Dev.ChartRepo != "oci://localhost:5000/dev/charts" {
		t.Fatalf("got %+v", s)
	}
	for host, want := range map[string]bool{"localhost:5000": true, "127.0.0.1:1": true, "reg.internal:5000": true, "reg.example": false} {
		if got := s.Insecure(host); got != want {
			t.Errorf("Insecure(%q) = %v", host, got)
		}
	}
}

func TestUnknownKeyNamesFileAndFix(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "deploy"), 0o755)
	os.WriteFile(filepath.Join(dir, DefaultFile), []byte("dev:\n  registy: x\n"), 0o644)
	_, err := Load(dir, DefaultFile, func(string) string { return "" })
	if err == nil || !strings.Contains(err.Error(), "deploy/settings.yaml") || !strings.Contains(err.Error(), "registy") || !strings.Contains(err.Error(), "fix:") {
		t.Fatalf("err = %v", err)
	}
}

// TestSigningSettings: the signing mode defaults to key and the public key to
// deploy/signing.pub; the file sets both, SIGNING overrides the mode, and an unknown mode is an
// *Error naming the line.
func TestSigningSettings(t *testing.T) {
	dir := t.TempDir()
	none := func(string) string { return "" }
	s, err := Load(dir, DefaultFile, none)
	if err != nil || s.Signing != SigningKey || s.SigningPublicKey != DefaultSigningPublicKey {
		t.Fatalf("defaults: %q %q %v", s.Signing, s.SigningPublicKey, err)
	}
	os.MkdirAll(filepath.Join(dir, "deploy"), 0o755)
	os.WriteFile(filepath.Join(dir, DefaultFile), []byte("signing: none\nsigning_public_key: keys/release.pub\n"), 0o644)
	s, err = Load(dir, DefaultFile, none)
	if err != nil || s.Signing != SigningNone || s.SigningPublicKey != "keys/release.pub" {
		t.Fatalf("file: %q %q %v", s.Signing, s.SigningPublicKey, err)
	}
	s, err = Load(dir, DefaultFile, func(k string) string { return map[string]string{"SIGNING": "keyless"}[k] })
	if err != nil || s.Signing != SigningKeyless {
		t.Fatalf("SIGNING=keyless: %q %v", s.Signing, err)
	}
	os.WriteFile(filepath.Join(dir, DefaultFile), []byte("revert_window: 1h\nsigning: gpg\n"), 0o644)
	_, err = Load(dir, DefaultFile, none)
	var se *Error
	if !errors.As(err, &se) || se.Line != 2 {
		t.Fatalf("unknown mode: %v", err)
	}
}

// TestHelmKeyringSetting: the Helm provenance keyring defaults to deploy/helm-keyring.gpg and the
// file names another.
func TestHelmKeyringSetting(t *testing.T) {
	dir := t.TempDir()
	none := func(string) string { return "" }
	s, err := Load(dir, DefaultFile, none)
	if err != nil || s.HelmKeyring != DefaultHelmKeyring || DefaultHelmKeyring != "deploy/helm-keyring.gpg" {
		t.Fatalf("default: %q %v", s.HelmKeyring, err)
	}
	os.MkdirAll(filepath.Join(dir, "deploy"), 0o755)
	os.WriteFile(filepath.Join(dir, DefaultFile), []byte("helm_keyring: keys/charts.gpg\n"), 0o644)
	s, err = Load(dir, DefaultFile, none)
	if err != nil || s.HelmKeyring != "keys/charts.gpg" {
		t.Fatalf("file: %q %v", s.HelmKeyring, err)
	}
}
