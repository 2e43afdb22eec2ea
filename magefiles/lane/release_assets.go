package lane

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/shiplane/shiplane/magefiles/github"
	"github.com/shiplane/shiplane/magefiles/identity"
	"github.com/shiplane/shiplane/magefiles/plan"
	"github.com/shiplane/shiplane/magefiles/publish"
	"github.com/shiplane/shiplane/magefiles/published"
)

// ReleaseManifest is release-manifest.json: every component, version, artifact digest and the commit.
type ReleaseManifest = publish.ReleaseManifest

// ReleasedComponent is one component in the release manifest.
type ReleasedComponent = publish.ReleasedComponent

// released are the plan's entries that the release carries: every component with an artifact
// (other than the release itself) the plan publishes or found published (not blocked, not
// skipped), in level order.
func released(pl *plan.Plan) []plan.Entry {
	var out []plan.Entry
	for _, l := range pl.Levels {
		for _, e := range l {
			for _, s := range e.Steps {
				if s.Kind != plan.Release && (s.Decision == plan.Publish || s.Decision == plan.AlreadyPublished) {
					out = append(out, e)
					break
				}
			}
		}
	}
	return out
}

// releaseContent is the GitHub release of the plan: its name, notes and assets, all made from
// the plan's entries.
//
// The draft is aimed at the commit being released, and beforeWrite (the release tag's re-check)
// runs right before the draft is made or reused, before publishing, and after. A published
// release counts as complete when it holds exactly the expected asset names and its own
// SHA256SUMS lists each with GitHub's digest of it (one download); otherwise every asset is made
// and compared, and what is missing is added.
func (w *Workspace) releaseContent(cache *publish.Caching, pl *plan.Plan, beforeWrite func(context.Context, string) error, sg *releaseSigning) publish.ReleasePublished {
	entries := released(pl)
	hp := sg.helmProv() // signed whatever the Sigstore mode
	if !hp.signs() {
		hp = nil
	}
	if sg != nil && (sg.signer == nil || pl.Signing == nil || pl.Signing.None) {
		sg = nil // nothing signed: no bundle asset
	}
	return publish.ReleasePublished{
		Tag: pl.Tag, Name: pl.Tag, Body: w.ReleaseNotes(pl.Tag, pl, w.changelogs), Prerelease: prerelease(w.Manifest.Platform.Version),
		Commit: w.Head.Hash, BeforeWrite: beforeWrite,
		Assets: func(ctx context.Context) ([]publish.Asset, error) {
			return w.releaseAssets(ctx, cache, pl.Tag, entries, sg, hp)
		},
		Complete: func(ctx context.Context, d github.ReleaseDetail) (bool, error) {
			d.Assets = withoutRecords(d.Assets) // after-publish goals' records are not content
			want := map[string]bool{"release-manifest.json": true, "SHA256SUMS": true}
			if sg != nil {
				want[plan.ManifestBundleAsset] = true
			}
			for _, e := range entries {
				for _, s := range e.Steps {
					if s.Kind == plan.Chart {
						want[releaseChartAsset(s.Name, s.Version)] = true
						if hp != nil {
							want[releaseChartAsset(s.Name, s.Version)+plan.HelmProvSuffix] = true
						}
					}
				}
			}
			if len(d.Assets) != len(want) {
				return false, nil
			}
			for _, a := range d.Assets {
				if !want[a.Name] {
					return false, nil
				}
			}
			sums, _ := d.Asset("SHA256SUMS")
			data, err := cache.AssetContent(ctx, sums)
			if err != nil {
				return false, err
			}
			return publish.SumsMatch(d, "SHA256SUMS", data), nil
		},
	}
}

// releaseAssets pulls every released chart back from the chart repository (the exact published
// bytes), each with its Helm .prov (when hp signs), and writes release-manifest.json, its Sigstore
// bundle (when sg signs) and SHA256SUMS over them all.
func (w *Workspace) releaseAssets(ctx context.Context, cache *publish.Caching, tag string, entries []plan.Entry, sg *releaseSigning, hp *helmProv) ([]publish.Asset, error) {
	m := ReleaseManifest{Tag: tag, Version: w.Manifest.Platform.Version, Commit: w.Head.Hash}
	var assets []publish.Asset
	for _, e := range entries {
		rc := ReleasedComponent{Name: e.Name, Version: e.Version, Inputs: string(w.Keys[e.Name])}
		if e.Name == PlatformComponent {
			rc.Inputs = string(w.ChartKeys[identity.PlatformChart])
		}
		for _, s := range e.Steps {
			switch s.Kind {
			case plan.Image:
				d, ok, err := cache.Digest(ctx, s.Ref)
				if err != nil {
					return nil, err
				}
				if !ok {
					return nil, fmt.Errorf("%s is not in the registry: its push did not finish", s.Ref)
				}
				// Which image each platform gets (one GET): the index names them.
				at, plats, err := cache.Platforms(ctx, s.Ref)
				if err != nil {
					return nil, err
				}
				if at != d {
					return nil, fmt.Errorf("%s changed while the release's assets were made (%s, now %s): run releaseAll again to find out who wrote it", s.Ref, d, at)
				}
				rc.Image, rc.ImageDigest, rc.ImagePlatforms = s.Ref, d, plats
			case plan.Chart:
				ch, err := cache.Chart(ctx, s.Repo, s.Name, s.Version)
				if err != nil {
					return nil, err
				}
				// The archive of the digest the manifest lists (and its attestations are about), not
				// whatever the version tag holds by now: these are the bytes the release carries and
				// its .prov signs.
				data, err := cache.PullChartAt(ctx, s.Repo, s.Name, s.Version, ch.Digest)
				if err != nil {
					return nil, err
				}
				assets = append(assets, publish.Asset{Name: releaseChartAsset(s.Name, s.Version), Content: data})
				if hp != nil {
					prov, err := hp.prov(ctx, cache, tag, releaseChartAsset(s.Name, s.Version), data)
					if err != nil {
						return nil, err
					}
					assets = append(assets, publish.Asset{Name: releaseChartAsset(s.Name, s.Version) + plan.HelmProvSuffix, Content: prov})
				}
				// The chart's identity: its files and the digests of the images it pins.
				var derr error
				inputs, ok := plan.PinnedInputs(s.Artifact, func(ref string) string {
					d, _, err := cache.Digest(ctx, ref)
					if err != nil {
						derr = err
					}
					return d
				})
				if derr != nil {
					return nil, derr
				}
				if !ok {
					return nil, fmt.Errorf("%s pins an image that is not in the registry: its push did not finish", s.Ref)
				}
				rc.Chart, rc.ChartDigest, rc.ChartInputs = "oci://"+s.Ref, ch.Digest, inputs
				if e.Name == PlatformComponent {
					rc.Inputs = inputs
				}
			}
		}
		m.Components = append(m.Components, rc)
	}
	first, err := w.firstPublished(ctx, cache, m)
	if err != nil {
		return nil, err
	}
	m.FirstPublished = first
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	data = append(data, '\n')
	assets = append(assets, publish.Asset{Name: "release-manifest.json", Content: data})
	if sg != nil {
		bundle, err := sg.signManifest(ctx, cache, tag, data)
		if err != nil {
			return nil, err
		}
		assets = append(assets, publish.Asset{Name: plan.ManifestBundleAsset, Content: bundle})
	}
	sort.Slice(assets, func(i, j int) bool { return assets[i].Name < assets[j].Name })
	var sums bytes.Buffer
	for _, a := range assets {
		h := sha256.Sum256(a.Content)
		fmt.Fprintf(&sums, "%s  %s\n", hex.EncodeToString(h[:]), a.Name)
	}
	return append(assets, publish.Asset{Name: "SHA256SUMS", Content: sums.Bytes()}), nil
}

// withoutRecords is a release's assets less the records after-publish goals attach to it.
func withoutRecords(as []github.AssetDetail) []github.AssetDetail {
	var out []github.AssetDetail
	for _, a := range as {
		if !published.IsRecord(a.Name) {
			out = append(out, a)
		}
	}
	return out
}
