package plan_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/shiplane/shiplane/magefiles/plan"
	"github.com/shiplane/shiplane/magefiles/published"
	"github.com/shiplane/shiplane/magefiles/published/publishedtest"
)

// signedInput is core (an image and a chart) and the platform's release, planned with sg.
func signedInput(sg *plan.Signing) plan.Input {
	rel := plan.ReleaseArtifact("platform", "v1.2.0")
	rel.Assets = []plan.Asset{{Name: "release-manifest.json"}, {Name: "SHA256SUMS"}}
	return plan.Input{Tag: "v1.2.0", Signing: sg, Components: []plan.Component{
		core("sha256:in"),
		{Name: "platform", Version: "1.2.0", Publish: true, DependsOn: []string{"core"}, Artifacts: []plan.Artifact{rel}},
	}}
}

func makePlan(t *testing.T, st *publishedtest.Memory, in plan.Input) *plan.Plan {
	t.Helper()
	snap, err := published.Observe(t.Context(), st, in.Query(), 0)
	if err != nil {
		t.Fatal(err)
	}
	p, err := plan.Make(in, snap)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func decisions(p *plan.Plan) map[string]string {
	out := map[string]string{}
	for _, l := range p.Levels {
		for _, e := range l {
			for _, s := range e.Steps {
				if s.Kind == plan.Attestation {
					out[s.Goal] = s.Decision.Word()
				}
			}
		}
	}
	return out
}

// TestAttestationSteps: a release that signs plans three attestations per image and two per
// chart, each after its artifact: all to publish with a new artifact; for a published one, the
// missing ones only, decided from the one assessment of its digest; an assessment that could not
// tell refuses them; the release waits for every attestation and expects the manifest's bundle.
func TestAttestationSteps(t *testing.T) {
	chartRef := "registry.test/charts/core:1.2.0"
	imgSig, imgSBOM, imgProv := "signature attached "+imageRef, "sbom attached "+imageRef, "provenance attached "+imageRef
	chSig, chProv := "signature attached "+chartRef, "provenance attached "+chartRef

	t.Run("new artifacts", func(t *testing.T) {
		p := makePlan(t, publishedtest.New(), signedInput(&plan.Signing{}))
		got := decisions(p)
		for _, g := range []string{imgSig, imgSBOM, imgProv, chSig, chProv} {
			if got[g] != "publish" {
				t.Errorf("%s: %q, want publish", g, got[g])
			}
		}
		if len(got) != 5 {
			t.Errorf("attestation steps: %v, want 5", got)
		}
		for _, s := range p.Steps(plan.Publish) {
			switch {
			case s.Kind == plan.Attestation && s.Subject == plan.Image && (len(s.After) != 1 || !strings.HasPrefix(s.After[0], "image pushed ")):
				t.Errorf("%s after %v, want its image", s.Goal, s.After)
			case s.Kind == plan.Release:
				for _, g := range []string{imgSig, imgSBOM, imgProv, chSig, chProv} {
					if !strings.Contains(strings.Join(s.After, "|"), g) {
						t.Errorf("the release does not wait for %s", g)
					}
				}
			}
		}
		if p.Count(plan.Publish) != 3 || p.CountAttestations(plan.Publish) != 5 {
			t.Errorf("counts: %d artifacts, %d attestations", p.Count(plan.Publish), p.CountAttestations(plan.Publish))
		}
		if !strings.Contains(p.String(), "signing: 5 attestation(s) to attach, 0 attached") {
			t.Errorf("plan text:\n%s", p)
		}
	})

	published1 := func() *publishedtest.Memory {
		st := publishedtest.New()
		st.Images[imageRef] = published.Image{Present: true, Digest: "sha256:img", Inputs: "sha256:in"}
		st.Charts[publishedtest.ChartKey(chartRepo, "core", "1.2.0")] = published.Chart{Present: true, Digest: "sha256:ch", Inputs: "sha256:in"}
		st.Releases["v1.2.0"] = published.Release{Present: true, Assets: []string{"release-manifest.json", "SHA256SUMS"}}
		return st
	}
	t.Run("published, partly attached", func(t *testing.T) {
		sg := &plan.Signing{Attached: map[string]plan.Attached{
			imageRef: {Digest: "sha256:img", Have: []string{plan.AttestSignature}},
			chartRef: {Digest: "sha256:ch", Have: []string{plan.AttestSignature, plan.AttestProvenance}},
		}}
		p := makePlan(t, published1(), signedInput(sg))
		want := map[string]string{imgSig: "already", imgSBOM: "publish", imgProv: "publish", chSig: "already", chProv: "already"}
		got := decisions(p)
		for g, w := range want {
			if got[g] != w {
				t.Errorf("%s: %q, want %q", g, got[g], w)
			}
		}
		// The release lacks the manifest's bundle: it is completed.
		for _, s := range p.Steps(plan.Publish) {
			if s.Kind == plan.Release && !strings.Contains(s.Cause, plan.ManifestBundleAsset) {
				t.Errorf("release: %s", s.Cause)
			}
		}
	})
	t.Run("cannot tell", func(t *testing.T) {
		boom := errors.New("referrers: 503")
		sg := &plan.Signing{Attached: map[string]plan.Attached{imageRef: {Err: boom}}}
		p := makePlan(t, published1(), signedInput(sg))
		if p.Err() == nil || !errors.Is(p.Err(), boom) {
			t.Errorf("Err() = %v, want the assessment's error", p.Err())
		}
		got := decisions(p)
		if got[imgSig] != "refuse" || got[chSig] != "refuse" { // the chart was not assessed at all
			t.Errorf("decisions: %v", got)
		}
	})
	t.Run("signing none", func(t *testing.T) {
		p := makePlan(t, publishedtest.New(), signedInput(&plan.Signing{None: true, Source: "deploy/settings.yaml"}))
		if got := decisions(p); len(got) != 0 {
			t.Errorf("attestation steps with signing none: %v", got)
		}
		text := p.String()
		if n := strings.Count(text, "signing"); n != 1 || !strings.Contains(text, "signing: none (deploy/settings.yaml): nothing is signed") {
			t.Errorf("plan text (want one signing line):\n%s", text)
		}
		var j struct {
			Signing string `json:"signing"`
		}
		raw, _ := json.Marshal(p)
		if err := json.Unmarshal(raw, &j); err != nil || j.Signing != "none" {
			t.Errorf("JSON signing %q (%v)", j.Signing, err)
		}
	})
}
