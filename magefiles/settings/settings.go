// Package settings reads deploy/settings.yaml and applies environment overrides.
package settings

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"
)

// DefaultFile is the settings file's path relative to the repository root.
const DefaultFile = "deploy/settings.yaml"

// Settings are the lanes' destinations.
type Settings struct {
	Dev                Target   `yaml:"dev"`
	Release            Target   `yaml:"release"`
	InsecureRegistries []string `yaml:"insecure_registries"`
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
		if err := dec.Decode(&s); err != nil && !errors.Is(err, os.ErrNotExist) && err.Error() != "EOF" {
			return s, fmt.Errorf("%s: %v; fix: valid keys are dev, release (registry, chart_repo) and insecure_registries", file, strings.TrimPrefix(err.Error(), "yaml: "))
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
