package lane_test

import (
	"github.com/shiplane/shiplane/magefiles/sign/signtest"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/shiplane/shiplane/magefiles/attest"
	"github.com/shiplane/shiplane/magefiles/lane"
	"github.com/shiplane/shiplane/magefiles/sign"
)

// newSigningKey makes a fresh ECDSA P-256 key pair in memory: the PEM private key (what
// SIGNING_KEY holds; never written into a repository) and the PEM public key (what a repository
// commits as deploy/signing.pub).
func newSigningKey(t testing.TB) (private, public string) {
	t.Helper()
	priv, pub := signtest.NewKey(t)
	return string(priv), string(pub)
}

// checkAttestations verifies, with the public key alone, every image (signature, SBOM,
// provenance) and chart (signature, provenance) release-manifest.json lists, at the digest it
// names, with the provenance naming commit; and counts the bundles attached: three per image and
// two per chart, none twice.
func checkAttestations(t *testing.T, pub []byte, commit string, m lane.ReleaseManifest) {
	t.Helper()
	reg, err := sign.NewRegistry(sign.WithInsecure(), sign.WithRemoteOptions(remote.WithAuthFromKeychain(authn.DefaultKeychain)))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for _, c := range m.Components {
		for _, a := range []struct {
			ref, digest string
			sbom        bool
			want        int
		}{{c.Image, c.ImageDigest, true, 3}, {strings.TrimPrefix(c.Chart, "oci://"), c.ChartDigest, false, 2}} {
			if a.ref == "" {
				continue
			}
			v, err := reg.Verify(ctx, a.ref, pub, sign.Expect{Digest: a.digest, Commit: commit, SBOM: a.sbom})
			if err != nil {
				t.Errorf("%s: %v", a.ref, err)
				continue
			}
			if v.Provenance == nil || v.Provenance.Commit != commit {
				t.Errorf("%s: provenance %+v, want commit %s", a.ref, v.Provenance, commit)
			} else if a.sbom && (v.Provenance.InputsKey != c.Inputs || v.Provenance.BuildType != attest.BuildTypeImage ||
				!slices.Equal(v.Provenance.SubjectDigests, []string{a.digest})) {
				t.Errorf("%s: provenance %+v, want inputs %s and subject %s", a.ref, v.Provenance, c.Inputs, a.digest)
			}
			subject, err := reg.ParseDigest(repoOfRef(a.ref) + "@" + a.digest)
			if err != nil {
				t.Fatal(err)
			}
			if n := countBundles(t, subject); n != a.want {
				t.Errorf("%s: %d bundles attached, want %d", a.ref, n, a.want)
			}
		}
	}
}

// countBundles counts the Sigstore bundle referrers of subject (the referrers API, or its tag
// schema fallback).
func countBundles(t *testing.T, subject name.Digest) int {
	t.Helper()
	idx, err := remote.Referrers(subject, remote.WithContext(t.Context()))
	if err != nil {
		t.Fatalf("referrers of %s: %v", subject, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, d := range im.Manifests {
		if d.ArtifactType == sign.BundleMediaType || d.ArtifactType == sign.EmptyConfigMediaType {
			n++
		}
	}
	return n
}

func repoOfRef(ref string) string {
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		return ref
	}
	return r.Context().Name()
}
