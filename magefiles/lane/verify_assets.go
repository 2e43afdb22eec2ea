package lane

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"strings"

	"github.com/shiplane/shiplane/magefiles/github"
	"github.com/shiplane/shiplane/magefiles/helm"
	"github.com/shiplane/shiplane/magefiles/publish"
	"github.com/shiplane/shiplane/magefiles/published"
)

// chartLayerMediaType is the media type of a Helm chart's archive layer in its OCI manifest.
const chartLayerMediaType = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"

// checkAssets ties every file of the release to what is signed. SHA256SUMS is not signed: whoever
// can write to the release can rewrite it with a file they replaced. So:
//   - a chart archive on the release must be the archive of the chart digest the signed manifest
//     lists (its sha256 is that manifest's chart layer digest, read from the registry by digest);
//   - a file the release's signed content does not account for (the manifest, its bundle,
//     SHA256SUMS, each listed chart's archive and .prov, the after-publish goals' records) was
//     added after the release, and fails.
func (r *verification) checkAssets(ctx context.Context, d github.ReleaseDetail, m publish.ReleaseManifest, read func(string) ([]byte, bool, error)) error {
	expected := map[string]bool{manifestAsset: true, manifestBundleAsset: true, sumsAsset: true}
	for _, a := range manifestArtifacts(m) {
		if a.kind != "chart" || a.digest == "" {
			continue
		}
		repo, version, _ := strings.Cut(a.ref[strings.LastIndex(a.ref, "/")+1:], ":")
		name := releaseChartAsset(path.Base(repo), version)
		expected[name], expected[name+helm.ProvSuffix] = true, true
		data, ok, err := read(name)
		if err != nil {
			return err
		}
		if !ok {
			continue // not carried by this release: the chart repository is where it is
		}
		byDigest := imageRepo(a.ref) + "@" + a.digest
		want, err := r.v.reg(a.ref).LayerDigest(ctx, byDigest, chartLayerMediaType)
		if err != nil {
			r.fail(VerifyProblem{Artifact: name, Problem: "cannot be compared with chart " + byDigest + ": " + err.Error(),
				Fix: "the registry does not serve the signed chart (deleted, or unreachable): do not use the archive", Err: err})
			continue
		}
		sum := sha256.Sum256(data)
		if got := "sha256:" + hex.EncodeToString(sum[:]); got != want {
			r.fail(VerifyProblem{Artifact: name, Problem: fmt.Sprintf("its digest is %s, but chart %s (listed in the signed %s) holds archive %s", got, byDigest, manifestAsset, want),
				Fix: "the archive was replaced after the release: do not use it; pull the chart by digest " + byDigest})
			continue
		}
		r.pass(name, "the archive of chart "+byDigest)
	}
	for _, a := range d.Assets {
		if !expected[a.Name] && !published.IsRecord(a.Name) {
			r.fail(VerifyProblem{Artifact: a.Name, Problem: "is on the release, but nothing signed accounts for it",
				Fix: "it was added after the release (a SHA256SUMS entry is not a signature): do not use it"})
		}
	}
	return nil
}
