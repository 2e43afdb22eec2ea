// Package settings reads deploy/settings.yaml and applies environment overrides.
package settings

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
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
}

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

// Load reads file (relative to root unless absolute; a missing file means the defaults) and then
// applies DEV_REGISTRY, DEV_CHART_REPO, RELEASE_REGISTRY and RELEASE_CHART_REPO from getenv.
func Load(root, file string, getenv func(string) string) (Settings, error) {
	s := Defaults()
	full := file
	if !filepath.IsAbs(full) {
		full = filepath.Join(root, file)
	}
	data, err := os.ReadFile(full)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return s, fmt.Errorf("reading %s: %w", file, err)
	default:
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		err := dec.Decode(&s)
		var we *WindowError
		if errors.As(err, &we) {
			we.File = file
			return s, we
		}
		if err != nil && !errors.Is(err, os.ErrNotExist) && err.Error() != "EOF" {
			return s, fmt.Errorf("%s: %v; fix: valid keys are dev, release (registry, chart_repo), insecure_registries and revert_window", file, strings.TrimPrefix(err.Error(), "yaml: "))
		}
	}
	for env, dst := range map[string]*string{
		"DEV_REGISTRY":       &s.Dev.Registry,
		"DEV_CHART_REPO":     &s.Dev.ChartRepo,
		"RELEASE_REGISTRY":   &s.Release.Registry,
		"RELEASE_CHART_REPO": &s.Release.ChartRepo,
	} {
		if v := strings.TrimSpace(getenv(env)); v != "" {
			*dst = v
		}
	}
	if s.RevertWindow.Duration == 0 {
		s.RevertWindow.Duration = DefaultRevertWindow
	}
	s.Dev.Registry = strings.TrimSuffix(s.Dev.Registry, "/")
	s.Release.Registry = strings.TrimSuffix(s.Release.Registry, "/")
	return s, nil
}

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
