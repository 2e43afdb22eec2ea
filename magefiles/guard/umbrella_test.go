package guard

import (
	"errors"
	"testing"
)

func TestUmbrellaCoverage(t *testing.T) {
	missing := "scanner: chart scanner (charts/scanner/Chart.yaml) is not a dependency of the umbrella chart charts/platform/Chart.yaml; " +
		"add it under dependencies: in charts/platform/Chart.yaml (name: scanner, version: its chart version, repository: file://../scanner), " +
		"or set umbrella: false on component scanner in deploy/components.yaml to leave it out on purpose"
	runCases(t, UmbrellaCoverageName, []guardCase{
		{name: "every chart listed"},
		{
			name:   "a chart left out",
			mutate: func(f *Facts) { delete(f.Umbrella.Dependencies, "scanner") },
			want:   []string{missing},
			types:  []any{new(*NotInUmbrella)},
		},
		{
			name: "umbrella: false leaves it out on purpose",
			mutate: func(f *Facts) {
				delete(f.Umbrella.Dependencies, "scanner")
				get(f, "scanner").UmbrellaExcluded = true
			},
		},
		{
			name: "an unpublished component is not released in the umbrella",
			mutate: func(f *Facts) {
				delete(f.Umbrella.Dependencies, "scanner")
				get(f, "scanner").Publish = false
			},
		},
		{
			name: "listed by its chart's directory name",
			mutate: func(f *Facts) {
				delete(f.Umbrella.Dependencies, "scanner")
				f.Umbrella.Dependencies["scan-engine"] = "0.3.0"
				get(f, "scanner").Chart.File = "charts/scan-engine/Chart.yaml"
			},
		},
		{
			name: "two left out, in component order",
			mutate: func(f *Facts) {
				delete(f.Umbrella.Dependencies, "scanner")
				delete(f.Umbrella.Dependencies, "core")
			},
			want: []string{
				"core: chart core (charts/core/Chart.yaml) is not a dependency of the umbrella chart charts/platform/Chart.yaml; " +
					"add it under dependencies: in charts/platform/Chart.yaml (name: core, version: its chart version, repository: file://../core), " +
					"or set umbrella: false on component core in deploy/components.yaml to leave it out on purpose",
				missing,
			},
		},
		{
			name: "no umbrella chart: nothing to cover",
			mutate: func(f *Facts) {
				f.Umbrella = nil
			},
		},
	})
}

// TestRunIncludesUmbrellaCoverage: Run (every guardrail) reports the left-out chart, found by
// type, naming the umbrella's Chart.yaml.
func TestRunIncludesUmbrellaCoverage(t *testing.T) {
	f := healthy()
	delete(f.Umbrella.Dependencies, "connector-fs")
	var n *NotInUmbrella
	if err := Run(f); !errors.As(err, &n) || n.Component != "connector-fs" || n.Umbrella != "charts/platform/Chart.yaml" {
		t.Fatalf("Run = %v, want a *NotInUmbrella for connector-fs", err)
	}
}
