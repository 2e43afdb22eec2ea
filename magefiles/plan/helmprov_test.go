package plan_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/shiplane/shiplane/magefiles/plan"
	"github.com/shiplane/shiplane/magefiles/published/publishedtest"
)

// TestHelmProvAssets: with the keyring committed, the release expects a .prov after each chart
// archive (signed here or not), and the plan says so in one line; without it, no .prov and one
// line saying none is made.
func TestHelmProvAssets(t *testing.T) {
	in := func(hp *plan.HelmProv) plan.Input {
		in := signedInput(nil)
		in.HelmProv = hp
		rel := &in.Components[1].Artifacts[0]
		rel.Assets = append(rel.Assets, plan.Asset{Name: "core-1.2.0.tgz", Component: "core"})
		return in
	}
	assets := func(p *plan.Plan) []string {
		var out []string
		for _, l := range p.Levels {
			for _, e := range l {
				for _, s := range e.Steps {
					if s.Kind == plan.Release {
						for _, a := range s.Assets {
							out = append(out, a.Name)
						}
					}
				}
			}
		}
		return out
	}
	for _, tc := range []struct {
		name string
		hp   *plan.HelmProv
		prov bool
		line string
		json string // the JSON plan's helmProvenance
	}{
		{"signed", &plan.HelmProv{Keyring: "deploy/helm-keyring.gpg", Signer: "ABCD"}, true,
			"helm provenance: 1 .prov file(s), one per chart, signed by ABCD (a key of deploy/helm-keyring.gpg)", "sign"},
		{"no key here", &plan.HelmProv{Keyring: "deploy/helm-keyring.gpg", Unassessed: "HELM_SIGNING_KEY is not set"}, true,
			"helm provenance: not assessed here (HELM_SIGNING_KEY is not set); releaseAll attaches 1 .prov file(s)", "unassessed"},
		{"no keyring", &plan.HelmProv{Keyring: "deploy/helm-keyring.gpg", Off: true}, false,
			"helm provenance: none (no deploy/helm-keyring.gpg committed)", "none"},
		{"not a release", nil, false, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := makePlan(t, publishedtest.New(), in(tc.hp))
			if got := slices.Contains(assets(p), "core-1.2.0.tgz.prov"); got != tc.prov {
				t.Errorf("assets %v: .prov listed %v, want %v", assets(p), got, tc.prov)
			}
			out := p.String()
			if n := strings.Count(out, "helm provenance:"); (tc.line == "" && n != 0) || (tc.line != "" && (n != 1 || !strings.Contains(out, tc.line))) {
				t.Errorf("plan:\n%s\nwant one line with %q", out, tc.line)
			}
			data, err := json.Marshal(p)
			if err != nil {
				t.Fatal(err)
			}
			var j struct {
				HelmProvenance *string `json:"helmProvenance"`
			}
			if err := json.Unmarshal(data, &j); err != nil {
				t.Fatal(err)
			}
			if got := ""; (j.HelmProvenance == nil) != (tc.json == "") || (j.HelmProvenance != nil && *j.HelmProvenance != tc.json) {
				if j.HelmProvenance != nil {
					got = *j.HelmProvenance
				}
				t.Errorf("JSON plan: helmProvenance %q, want %q", got, tc.json)
			}
		})
	}
}
