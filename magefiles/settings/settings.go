// Package settings reads deploy/settings.yaml and applies environment overrides.
package settings

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/shiplane/shiplane/magefiles/diag"
)

// DefaultFile is the settings file's path relative to the repository root.
const DefaultFile = "deploy/settings.yaml"

// Settings are the lanes' destinations.
type Settings struct {
	Dev                Target   `yaml:"dev"`
	Release            Target   `yaml:"release"`
	InsecureRegistries []string `yaml:"insecure_registries"`
	// RevertWindow is how long after a GitHub release was published revertRelease may remove
	// what it newly published: a Go duration ("1h", "30m"), greater than zero. Default:
	// DefaultRevertWindow.
	RevertWindow Duration `yaml:"revert_window"`
	// Signing is how releaseAll signs what it publishes: "key" (the PEM private key in the
	// SIGNING_KEY secret), "keyless" (Sigstore's Fulcio and Rekor with the GitHub Actions OIDC
	// token) or "none" (nothing is signed; the plan says so). Default: "key"; the environment
	// variable SIGNING overrides it.
	Signing string `yaml:"signing"`
	// SigningPublicKey is the repository path of the committed public key the release signs for
	// (key mode refuses a SIGNING_KEY whose public key differs). Default: DefaultSigningPublicKey.
	SigningPublicKey string `yaml:"signing_public_key"`
	// HelmKeyring is the repository path of the committed OpenPGP public keyring (binary, as
	// `gpg --export KEYID` writes it) whose key signs each released chart's Helm .prov file.
	// When the file exists, releaseAll signs with HELM_SIGNING_KEY and refuses without it; when
	// it does not, no .prov is made. Default: DefaultHelmKeyring.
	HelmKeyring string `yaml:"helm_keyring"`
}

// Signing modes (Settings.Signing).
const (
	SigningKey     = "key"
	SigningKeyless = "keyless"
	SigningNone    = "none"
)

// DefaultSigningPublicKey is where the release's public key is committed unless the settings say.
const DefaultSigningPublicKey = "deploy/signing.pub"

// DefaultHelmKeyring is where the Helm provenance keyring is committed unless the settings say.
const DefaultHelmKeyring = "deploy/helm-keyring.gpg"

// DefaultRevertWindow is the revert window when the settings name none.
const DefaultRevertWindow = time.Hour

// Duration is a time.Duration written as a Go duration string ("1h", "90m").
type Duration struct{ time.Duration }

// WindowError is a revert_window that is not a positive Go duration.
type WindowError struct {
	File  string
	Line  int
	Value string
	// Problem says what is wrong with Value.
	Problem string
}

func (e *WindowError) Error() string {
	return fmt.Sprintf("%s:%d: revert_window %q %s; fix: write a Go duration greater than zero, such as 1h or 30m (default 1h)", e.File, e.Line, e.Value, e.Problem)
}

// UnmarshalYAML reads a duration string, refusing anything but a positive duration.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return &WindowError{Line: n.Line, Value: n.Value, Problem: "is not a single value"}
	}
	v, err := time.ParseDuration(strings.TrimSpace(n.Value))
	switch {
	case err != nil:
		return &WindowError{Line: n.Line, Value: n.Value, Problem: "is not a duration"}
	case v <= 0:
		return &WindowError{Line: n.Line, Value: n.Value, Problem: "is not greater than zero"}
	}
	d.Duration = v
	return nil
}

// Target is where one lane publishes images and charts.
type Target struct {
	// Registry is the image repository prefix, e.g. "localhost:5000/dev".
	Registry string `yaml:"registry"`
	// ChartRepo is the OCI chart repository, e.g. "oci://localhost:5000/dev/charts".
	ChartRepo string `yaml:"chart_repo"`
}

// Defaults are used when the settings file is missing.
func Defaults() Settings {
	return Settings{Dev: Target{Registry: "localhost:5000/dev", ChartRepo: "oci://localhost:5000/dev/charts"}}
}

// Error is a problem with the settings file: where it is, what is wrong and how to fix it.
type Error struct {
	// File is the settings file as given to Load; Line the 1-based line (0: the whole file).
	File string
	Line int
	// Problem says what is wrong; Fix how to correct it.
	Problem, Fix string
}

func (e *Error) Error() string { return diag.Format(e.File, e.Line, "", e.Problem, nil, e.Fix) }

// Location is where the problem is: the settings file and the line (0: the whole file).
func (e *Error) Location() (file string, line int) { return e.File, e.Line }

// Location is where the revert_window is: the settings file and its line.
func (e *WindowError) Location() (file string, line int) { return e.File, e.Line }

var (
	topKeys    = []string{"dev", "release", "insecure_registries", "revert_window", "signing", "signing_public_key", "helm_keyring"}
	targetKeys = []string{"registry", "chart_repo"}
)

// Load reads file (relative to root unless absolute; a missing file means the defaults) and then
// applies DEV_REGISTRY, DEV_CHART_REPO, RELEASE_REGISTRY and RELEASE_CHART_REPO from getenv. A
// file that does not parse, or holds an unknown or repeated key, is an *Error at the line to
// correct; a registry or chart repository that is not a valid reference (Validate) is an
// *InvalidError naming the setting, where its value came from and the fix.
func Load(root, file string, getenv func(string) string) (Settings, error) {
	s := Defaults()
	full := file
	if !filepath.IsAbs(full) {
		full = filepath.Join(root, file)
	}
	lines := map[string]int{} // "dev.registry" → the line of its value in file
	data, err := os.ReadFile(full)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return s, fmt.Errorf("reading %s: %w", file, err)
	default:
		if err := parse(file, data, &s, lines); err != nil {
			return s, err
		}
	}
	from := map[string]string{} // "dev.registry" → the environment variable it came from
	for _, o := range overrides {
		if v := strings.TrimSpace(getenv(o.env)); v != "" {
			*o.field(&s) = v
			from[o.setting] = o.env
		}
	}
	if s.RevertWindow.Duration == 0 {
		s.RevertWindow.Duration = DefaultRevertWindow
	}
	switch m := strings.TrimSpace(getenv("SIGNING")); m {
	case "":
	case SigningKey, SigningKeyless, SigningNone:
		s.Signing = m
	default:
		return s, &Error{File: "SIGNING", Problem: fmt.Sprintf("%q is not a signing mode", m), Fix: "set SIGNING to key, keyless or none, or unset it"}
	}
	if s.Signing == "" {
		s.Signing = SigningKey
	}
	if s.SigningPublicKey == "" {
		s.SigningPublicKey = DefaultSigningPublicKey
	}
	if s.HelmKeyring == "" {
		s.HelmKeyring = DefaultHelmKeyring
	}
	s.Dev.Registry = strings.TrimSuffix(s.Dev.Registry, "/")
	s.Release.Registry = strings.TrimSuffix(s.Release.Registry, "/")
	var invalid []error
	for _, o := range overrides {
		v := *o.field(&s)
		if v == "" {
			continue
		}
		if problem, fix := o.check(v); problem != "" {
			if lower := strings.ToLower(v); lower != v {
				if p, _ := o.check(lower); p == "" { // valid once lower-cased
					fix = lowerFix(o.setting, from[o.setting], lower)
				}
			}
			e := &InvalidError{Setting: o.setting, Env: from[o.setting], Value: v, Problem: problem, Fix: fix}
			if e.Env == "" {
				if line, ok := lines[o.setting]; ok {
					e.File, e.Line = file, line
				}
			}
			invalid = append(invalid, e)
		}
	}
	if len(invalid) > 0 {
		return s, errors.Join(invalid...)
	}
	return s, nil
}

// overrides are the destination settings, each with the environment variable that overrides it
// and the check its value must pass.
var overrides = []struct {
	setting, env string
	field        func(*Settings) *string
	check        func(string) (problem, fix string)
}{
	{"dev.registry", "DEV_REGISTRY", func(s *Settings) *string { return &s.Dev.Registry }, checkRegistry},
	{"dev.chart_repo", "DEV_CHART_REPO", func(s *Settings) *string { return &s.Dev.ChartRepo }, checkChartRepo},
	{"release.registry", "RELEASE_REGISTRY", func(s *Settings) *string { return &s.Release.Registry }, checkRegistry},
	{"release.chart_repo", "RELEASE_CHART_REPO", func(s *Settings) *string { return &s.Release.ChartRepo }, checkChartRepo},
}

// parse reads the settings file's YAML into s, recording the line of each destination's value.
func parse(file string, data []byte, s *Settings, lines map[string]int) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		sx := diag.SyntaxOf(data, err)
		return &Error{File: file, Line: sx.Line, Problem: sx.Problem, Fix: sx.Fix}
	}
	if len(doc.Content) == 0 {
		return nil // an empty file: the defaults
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return nil
	}
	var errs []error
	fail := func(line int, problem, fix string) {
		errs = append(errs, &Error{File: file, Line: line, Problem: problem, Fix: fix})
	}
	top := &diag.Mapping{Node: root, Keys: topKeys, Nested: map[string][]string{"dev": targetKeys, "release": targetKeys}}
	top.Walk(fail, func(k, v *yaml.Node) {
		switch k.Value {
		case "dev", "release":
			if isNull(v) {
				return
			}
			top.Child(k.Value, k, v, targetKeys, nil).Walk(fail, func(tk, tv *yaml.Node) {
				setting := k.Value + "." + tk.Value
				if tv.Kind != yaml.ScalarNode {
					fail(tv.Line, fmt.Sprintf("%s: expected a single value, found %s", setting, diag.NodeKind(tv)), "write one value, e.g. registry: ghcr.io/acme")
					return
				}
				lines[setting] = tv.Line
				t := &s.Dev
				if k.Value == "release" {
					t = &s.Release
				}
				if tk.Value == "registry" {
					t.Registry = tv.Value
				} else {
					t.ChartRepo = tv.Value
				}
			})
		case "insecure_registries":
			if err := v.Decode(&s.InsecureRegistries); err != nil {
				fail(v.Line, fmt.Sprintf("insecure_registries: expected a list of hosts, found %s", diag.NodeKind(v)), "write a list, e.g. [reg.internal:5000]")
			}
		case "signing", "signing_public_key", "helm_keyring":
			if v.Kind != yaml.ScalarNode {
				fail(v.Line, fmt.Sprintf("%s: expected a single value, found %s", k.Value, diag.NodeKind(v)), "write one value, e.g. "+k.Value+": "+example[k.Value])
				return
			}
			switch k.Value {
			case "signing_public_key":
				s.SigningPublicKey = strings.TrimSpace(v.Value)
				return
			case "helm_keyring":
				s.HelmKeyring = strings.TrimSpace(v.Value)
				return
			}
			switch m := strings.TrimSpace(v.Value); m {
			case SigningKey, SigningKeyless, SigningNone:
				s.Signing = m
			default:
				fail(v.Line, fmt.Sprintf("signing: %q is not a signing mode", v.Value), "write key (SIGNING_KEY), keyless (GitHub Actions OIDC) or none")
			}
		case "revert_window":
			if err := s.RevertWindow.UnmarshalYAML(v); err != nil {
				var we *WindowError
				if errors.As(err, &we) {
					we.File = file
				}
				errs = append(errs, err)
			}
		}
	})
	return errors.Join(errs...)
}

// example is a value of each single-valued key, for the fix of a key written as a list or map.
var example = map[string]string{"signing": SigningKey, "signing_public_key": DefaultSigningPublicKey, "helm_keyring": DefaultHelmKeyring}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

// Insecure reports whether registry host may be reached over plain HTTP: loopback hosts always,
// others only when listed.
func (s Settings) Insecure(host string) bool {
	h := host
	if i := strings.LastIndex(h, ":"); i > 0 && !strings.Contains(h[i:], "]") {
		h = h[:i]
	}
	switch h {
	case "localhost", "127.0.0.1", "[::1]", "::1":
		return true
	}
	for _, r := range s.InsecureRegistries {
		if r == host || r == h {
			return true
		}
	}
	return false
}
