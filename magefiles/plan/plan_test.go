package plan_test

import (
	"errors"
	"testing"

	"github.com/shiplane/shiplane/magefiles/guard"
	"github.com/shiplane/shiplane/magefiles/plan"
	"github.com/shiplane/shiplane/magefiles/published"
	"github.com/shiplane/shiplane/magefiles/published/publishedtest"
)

const (
	imageRef  = "registry.test/rel/core:1.2.0"
	chartRepo = "oci://registry.test/charts"
)

// core is one publishable component with an image and a chart, whose current inputs are want.
func core(want string) plan.Component {
	return plan.Component{
		Name: "core", Version: "1.2.0", Publish: true,
		Facts: guard.ComponentFacts{Name: "core", Version: "1.2.0"},
		Artifacts: []plan.Artifact{
			plan.ImageArtifact("core", []string{imageRef}, nil, want),
			plan.ChartArtifact("core", chartRepo, "core", "1.2.0", want),
		},
	}
}

// TestPublishedInputsThatCannotBeToldAreRefused: an artifact published without an inputs key, or
// current inputs that are unknown, is a *guard.CannotTell that refuses the release; two empty keys
// never read as "already published".
func TestPublishedInputsThatCannotBeToldAreRefused(t *testing.T) {
	for _, tt := range []struct {
		name       string
		have, want string
		decision   plan.Decision
		image      string // the image step's full error, "" for none
		chart      string
	}{
		{name: "same inputs", have: "sha256:in", want: "sha256:in", decision: plan.AlreadyPublished},
		{
			name: "published without an inputs key", have: "", want: "sha256:in", decision: plan.Refuse,
			image: "core: cannot tell whether registry.test/rel/core:1.2.0 was built from the current inputs: the artifact at registry.test/rel/core:1.2.0 carries no dev.shiplane.inputs label: it was not published by shiplane; bump the version: run: go run mage.go bump core patch (published versions are never overwritten)",
			chart: "core: cannot tell whether registry.test/charts/core:1.2.0 was built from the current inputs: the artifact at registry.test/charts/core:1.2.0 carries no dev.shiplane.inputs annotation: it was not published by shiplane; bump the version: run: go run mage.go bump core patch (published versions are never overwritten)",
		},
		{
			name: "both keys empty", have: "", want: "", decision: plan.Refuse,
			image: "core: cannot tell whether registry.test/rel/core:1.2.0 was built from the current inputs: the artifact at registry.test/rel/core:1.2.0 carries no dev.shiplane.inputs label: it was not published by shiplane; bump the version: run: go run mage.go bump core patch (published versions are never overwritten)",
			chart: "core: cannot tell whether registry.test/charts/core:1.2.0 was built from the current inputs: the artifact at registry.test/charts/core:1.2.0 carries no dev.shiplane.inputs annotation: it was not published by shiplane; bump the version: run: go run mage.go bump core patch (published versions are never overwritten)",
		},
		{
			name: "current inputs unknown", have: "sha256:in", want: "", decision: plan.Refuse,
			image: "core: cannot tell whether registry.test/rel/core:1.2.0 was built from the current inputs: the current inputs are unknown; check that the component's source paths exist at HEAD and retry",
			chart: "core: cannot tell whether registry.test/charts/core:1.2.0 was built from the current inputs: the current inputs are unknown; check that the component's source paths exist at HEAD and retry",
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st := publishedtest.New()
			st.Images[imageRef] = published.Image{Present: true, Digest: "sha256:img", Inputs: tt.have}
			st.Charts[publishedtest.ChartKey(chartRepo, "core", "1.2.0")] = published.Chart{Present: true, Digest: "sha256:ch", Inputs: tt.have}
			in := plan.Input{Tag: "v1.2.0", Components: []plan.Component{core(tt.want)}}
			snap, err := published.Observe(t.Context(), st, in.Query(), 0)
			if err != nil {
				t.Fatal(err)
			}
			p, err := plan.Make(in, snap)
			if err != nil {
				t.Fatal(err)
			}
			steps := p.Levels[0][0].Steps
			for i, want := range []string{tt.image, tt.chart} {
				s := steps[i]
				if s.Decision != tt.decision {
					t.Errorf("%s: %s (%s), want %s", s.Goal, s.Decision, s.Cause, tt.decision)
				}
				if want == "" {
					if s.Err != nil {
						t.Errorf("%s: unexpected error %v", s.Goal, s.Err)
					}
					continue
				}
				var ct *guard.CannotTell
				if !errors.As(s.Err, &ct) || ct.Guardrail() != guard.PublishedInputsName || s.Err.Error() != want {
					t.Errorf("%s: error %T:\n got %v\nwant %s", s.Goal, s.Err, s.Err, want)
				}
				if s.Cause == "" {
					t.Errorf("%s: no cause", s.Goal)
				}
			}
			if err := p.Err(); (err == nil) != (tt.image == "") {
				t.Errorf("Err() = %v", err)
			} else if err != nil && len(guard.Violations(err)) != 2 {
				t.Errorf("Err() lists %d violations, want 2: %v", len(guard.Violations(err)), err)
			}
		})
	}
}

// TestPublishedReleaseIsDecidedByItsAssets: a published release counts as published only with
// exactly its assets; one published without some (a maintainer clicked Publish mid-run) or with
// foreign ones is to publish, so its goal completes it or names what to remove. A blocked
// component's chart is not expected.
func TestPublishedReleaseIsDecidedByItsAssets(t *testing.T) {
	rel := plan.ReleaseArtifact("platform", "v1.0.0")
	rel.Assets = []plan.Asset{{Name: "release-manifest.json"}, {Name: "SHA256SUMS"}, {Name: "core-1.2.0.tgz", Component: "core"}, {Name: "addon-1.0.0.tgz", Component: "addon"}}
	in := plan.Input{Tag: "v1.0.0", AllowBlocked: true, Components: []plan.Component{
		{Name: "tool", Version: "1.0.0"},
		{Name: "addon", Version: "1.0.0", Publish: true, DependsOn: []string{"tool"}},
		{Name: "core", Version: "1.2.0", Publish: true},
		{Name: "platform", Version: "1.0.0", Publish: true, Artifacts: []plan.Artifact{rel}},
	}}
	for _, tt := range []struct {
		name   string
		assets []string
		want   plan.Decision
		cause  string
	}{
		{"complete", []string{"release-manifest.json", "SHA256SUMS", "core-1.2.0.tgz"}, plan.AlreadyPublished, "its assets are all there"},
		{"published mid-run", []string{"release-manifest.json"}, plan.Publish, "published without SHA256SUMS, core-1.2.0.tgz: complete it"},
		{"foreign asset", []string{"release-manifest.json", "SHA256SUMS", "core-1.2.0.tgz", "evil.sh"}, plan.Publish, "published with foreign assets evil.sh: remove them"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st := publishedtest.New()
			st.Releases["v1.0.0"] = published.Release{Present: true, Assets: tt.assets}
			snap, err := published.Observe(t.Context(), st, in.Query(), 0)
			if err != nil {
				t.Fatal(err)
			}
			p, err := plan.Make(in, snap)
			if err != nil {
				t.Fatal(err)
			}
			steps := append(p.Steps(plan.Publish), p.Steps(plan.AlreadyPublished)...)
			if len(steps) != 1 || steps[0].Decision != tt.want || steps[0].Cause != tt.cause {
				t.Errorf("release step: %+v, want %s (%s)", steps, tt.want, tt.cause)
			}
		})
	}
}
