package plan

import (
	"fmt"
	"strings"
)

// HelmProvSuffix is what a chart archive's Helm provenance asset adds to its name:
// "core-1.2.0.tgz.prov", what `helm verify core-1.2.0.tgz` reads beside it.
const HelmProvSuffix = ".prov"

// HelmProv is what the plan needs to decide the release's Helm provenance (.prov) assets. A nil
// *HelmProv in Input adds none and says nothing (a lane that never releases).
type HelmProv struct {
	// Keyring is the committed OpenPGP keyring's path (settings helm_keyring), for the plan line.
	Keyring string
	// Off: the keyring is not committed; no .prov is made, and the plan says so in one line.
	// Default false.
	Off bool
	// Unassessed, when set, says why this run cannot sign (HELM_SIGNING_KEY not set): the plan
	// still lists the .prov assets releaseAll makes, and says so in one line (releaseAll refuses
	// instead).
	Unassessed string
	// Signer names the signing key (its fingerprint), for the plan line; "" when Unassessed.
	Signer string
}

// withHelmProv adds "<chart>.tgz.prov" after every chart archive asset of a release (an asset
// of a component, named *.tgz) when the keyring is committed. It copies what it changes.
func withHelmProv(hp *HelmProv, cs []Component) []Component {
	if hp == nil || hp.Off {
		return cs
	}
	out := append([]Component(nil), cs...)
	for i := range out {
		arts := append([]Artifact(nil), out[i].Artifacts...)
		for j := range arts {
			a := &arts[j]
			if a.Kind != Release {
				continue
			}
			var assets []Asset
			have := map[string]bool{}
			for _, x := range a.Assets {
				have[x.Name] = true
			}
			for _, x := range a.Assets {
				assets = append(assets, x)
				if x.Component != "" && strings.HasSuffix(x.Name, ".tgz") && !have[x.Name+HelmProvSuffix] {
					assets = append(assets, Asset{Name: x.Name + HelmProvSuffix, Component: x.Component})
				}
			}
			a.Assets = assets
		}
		out[i].Artifacts = arts
	}
	return out
}

// helmProvLine is the plan's line about Helm provenance files, "" when the plan says nothing.
func (p *Plan) helmProvLine() string {
	hp := p.HelmProv
	switch {
	case hp == nil:
		return ""
	case hp.Off:
		return "helm provenance: none (no " + hp.Keyring + " committed): no .prov file is made for the charts"
	}
	n := 0
	for _, l := range p.Levels {
		for _, e := range l {
			for _, s := range e.Steps {
				if s.Kind == Release {
					for _, a := range s.Assets {
						if strings.HasSuffix(a.Name, HelmProvSuffix) {
							n++
						}
					}
				}
			}
		}
	}
	if hp.Unassessed != "" {
		return fmt.Sprintf("helm provenance: not assessed here (%s); releaseAll attaches %d .prov file(s), one per chart, signed by a key of %s", hp.Unassessed, n, hp.Keyring)
	}
	return fmt.Sprintf("helm provenance: %d .prov file(s), one per chart, signed by %s (a key of %s)", n, hp.Signer, hp.Keyring)
}
