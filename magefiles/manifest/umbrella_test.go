package manifest_test

import (
	"strings"
	"testing"

	"github.com/shiplane/shiplane/magefiles/manifest"
)

// TestUmbrellaExclusion: umbrella: false is the only way to leave a chart out of the umbrella; it
// is parsed as a boolean, needs a chart, and each refusal names the file, the line and the fix.
func TestUmbrellaExclusion(t *testing.T) {
	withChart := strings.Replace(good, "    publish: false\n", "    publish: false\n    chart: charts/api\n    umbrella: false\n", 1)
	m, errs := manifest.Parse("c.yaml", []byte(withChart))
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if !m.Component("api").UmbrellaExcluded || m.Component("base").UmbrellaExcluded {
		t.Errorf("api excluded %v (want true), base excluded %v (want false)", m.Component("api").UmbrellaExcluded, m.Component("base").UmbrellaExcluded)
	}
	m, errs = manifest.Parse("c.yaml", []byte(strings.Replace(withChart, "umbrella: false", "umbrella: true", 1)))
	if len(errs) > 0 || m.Component("api").UmbrellaExcluded {
		t.Errorf("umbrella: true: excluded %v, errors %v", m != nil && m.Component("api").UmbrellaExcluded, errs)
	}

	for _, tc := range []struct{ name, yaml, want string }{
		{"not a boolean", strings.Replace(withChart, "umbrella: false", "umbrella: sometimes", 1),
			`c.yaml:22: component "api": umbrella must be true or false, not "sometimes"`},
		{"no chart", strings.Replace(good, "    publish: false\n", "    publish: false\n    umbrella: false\n", 1),
			`c.yaml:21: component "api": umbrella: false on a component without a chart`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errs := manifest.Parse("c.yaml", []byte(tc.yaml))
			if len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), tc.want) {
				t.Fatalf("errors = %v, want one starting %q", errs, tc.want)
			}
			if errs[0].Fix == "" || !strings.Contains(errs.Error(), "umbrella") {
				t.Errorf("no fix: %+v", errs[0])
			}
		})
	}
}
