package lane_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/shiplane/shiplane/magefiles/attest"
	"github.com/shiplane/shiplane/magefiles/github/githubtest"
	"github.com/shiplane/shiplane/magefiles/lane"
	"github.com/shiplane/shiplane/magefiles/publish"
	"github.com/shiplane/shiplane/magefiles/registry/registrytest"
	"github.com/shiplane/shiplane/magefiles/sign"
	"github.com/shiplane/shiplane/magefiles/sign/signtest"
)

const (
	vrRepo    = "acme/shiplane"
	vrTag     = "v1.0.0"
	vrCommit  = "1111111111111111111111111111111111111111"
	vrOther   = "2222222222222222222222222222222222222222"
	vrTagSHA  = "3333333333333333333333333333333333333333"
	chartTgz  = "core-1.0.0.tgz"
	sumsAsset = "SHA256SUMS"
)

// handRelease is a release published by hand the way the release lane publishes one (its
// images and charts pushed to an in-process registry with their attestations attached by
// sign.Registry.Attach, and its GitHub release with release-manifest.json, its signature bundle,
// SHA256SUMS and the chart archive, on the FAKE GitHub), for verifyRelease to check.
type handRelease struct {
	host      string
	fake      *githubtest.Fake
	releaseID int64
	signer    *sign.Signer
	reg       *sign.Registry
	keyFile   string
	// vs is the virtual Sigstore (FAKE Fulcio and Rekor) of a keyless release, trustedRoot its
	// trusted_root.json; both unset for a key-mode release.
	vs          *signtest.VirtualSigstore
	trustedRoot string
	root        string
	image       string // host/shiplane/core:1.0.0
	chart       string // host/shiplane/charts/core:1.0.0
	manifest    []byte
	assets      map[string][]byte
}

// tamper changes what publishRelease attaches.
type tamper struct {
	// sbomSigner signs the image's SBOM instead of the release key.
	sbomSigner *sign.Signer
	// provCommit is the commit the image's provenance names instead of the release's.
	provCommit string
	// noChartSignature leaves the chart's signature out.
	noChartSignature bool
	// assets changes the release's assets before the release is made.
	assets func(h *handRelease)
	// draft makes the GitHub release a draft, never published.
	draft bool
	// keyless signs everything keyless, as signtest.GitHubIdentity from signtest.GitHubIssuer,
	// through a virtual Sigstore (FAKE Fulcio and Rekor), instead of with a key.
	keyless bool
}

func newPEMKey(t *testing.T) []byte {
	t.Helper()
	priv, _ := signtest.NewKey(t)
	return priv
}

func newSigner(t *testing.T) *sign.Signer {
	t.Helper()
	s, err := sign.NewKeySigner(newPEMKey(t))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// helmChartArtifact is an OCI chart as Helm pushes one: its config and its archive layer.
func helmChartArtifact(t *testing.T, archive []byte) v1.Image {
	t.Helper()
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, "application/vnd.cncf.helm.config.v1+json")
	img, err := mutate.Append(img, mutate.Addendum{Layer: static.NewLayer(archive, "application/vnd.cncf.helm.chart.content.v1.tar+gzip")})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func push(t *testing.T, ref string, img v1.Image) name.Digest { return registrytest.Push(t, ref, img) }

func attach(t *testing.T, reg *sign.Registry, s *sign.Signer, subject name.Digest, predicateType string, statement []byte) {
	t.Helper()
	if err := reg.Attach(t.Context(), s, subject, sign.Attestation{PredicateType: predicateType, Statement: statement}); err != nil {
		t.Fatal(err)
	}
}

func provenance(t *testing.T, subject name.Digest, buildType, commit string) []byte {
	t.Helper()
	p, err := attest.Provenance(attest.ProvenanceInput{SubjectName: subject.Context().Name(), SubjectDigest: subject.DigestStr(),
		BuildType: buildType, SourceRepository: "https://github.com/" + vrRepo, Commit: commit, Component: "core", Version: "1.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// publishRelease publishes release v1.0.0 by hand (see handRelease), altered by tm.
func publishRelease(t *testing.T, tm tamper) *handRelease {
	t.Helper()
	h := &handRelease{host: registrytest.New(t).Host(), fake: githubtest.NewFake(t, vrRepo), root: t.TempDir(), assets: map[string][]byte{}}
	if tm.keyless {
		h.vs = signtest.NewVirtualSigstore(t)
		h.signer = h.vs.Signer(t, signtest.GitHubIdentity, signtest.GitHubIssuer)
		h.trustedRoot = h.vs.WriteTrustedRoot(t, h.root)
	} else {
		h.signer = newSigner(t)
	}
	var err error
	if h.reg, err = sign.NewRegistry(sign.WithInsecure()); err != nil {
		t.Fatal(err)
	}
	h.image, h.chart = h.host+"/shiplane/core:1.0.0", h.host+"/shiplane/charts/core:1.0.0"

	img, err := random.Image(256, 2)
	if err != nil {
		t.Fatal(err)
	}
	imgDigest := push(t, h.image, img)
	sig, err := sign.SignatureAttestation(imgDigest)
	if err != nil {
		t.Fatal(err)
	}
	attach(t, h.reg, h.signer, imgDigest, sign.SignaturePredicateType, sig.Statement)
	sbom, err := attest.SBOM(img, attest.WithName(imgDigest.Context().Name()))
	if err != nil {
		t.Fatal(err)
	}
	sbomSt, err := attest.Statement(imgDigest.Context().Name(), imgDigest.DigestStr(), attest.SBOMPredicateType, sbom)
	if err != nil {
		t.Fatal(err)
	}
	sbomSigner := h.signer
	if tm.sbomSigner != nil {
		sbomSigner = tm.sbomSigner
	}
	attach(t, h.reg, sbomSigner, imgDigest, attest.SBOMPredicateType, sbomSt)
	provCommit := vrCommit
	if tm.provCommit != "" {
		provCommit = tm.provCommit
	}
	attach(t, h.reg, h.signer, imgDigest, attest.ProvenancePredicateType, provenance(t, imgDigest, attest.BuildTypeImage, provCommit))

	archive := []byte("a chart archive standing in for core-1.0.0.tgz\n")
	chartDigest := push(t, h.chart, helmChartArtifact(t, archive))
	if !tm.noChartSignature {
		sig, err := sign.SignatureAttestation(chartDigest)
		if err != nil {
			t.Fatal(err)
		}
		attach(t, h.reg, h.signer, chartDigest, sign.SignaturePredicateType, sig.Statement)
	}
	attach(t, h.reg, h.signer, chartDigest, attest.ProvenancePredicateType, provenance(t, chartDigest, attest.BuildTypeChart, vrCommit))

	m := publish.ReleaseManifest{Tag: vrTag, Version: "1.0.0", Commit: vrCommit, Components: []publish.ReleasedComponent{{
		Name: "core", Version: "1.0.0", Inputs: "tree", Image: h.image, ImageDigest: imgDigest.DigestStr(),
		Chart: "oci://" + h.chart, ChartDigest: chartDigest.DigestStr(),
	}}}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	h.manifest = append(data, '\n')
	h.assets[chartTgz] = archive
	h.setManifest(t, h.manifest)
	h.fake.SeedAnnotatedTag(vrTag, vrTagSHA, vrCommit)

	if !tm.keyless {
		pub, err := h.signer.PublicKeyPEM()
		if err != nil {
			t.Fatal(err)
		}
		h.keyFile = filepath.Join(h.root, "signing.pub")
		if err := os.WriteFile(h.keyFile, pub, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if tm.assets != nil {
		tm.assets(h)
	}
	h.publish(t, tm.draft)
	return h
}

// setManifest sets release-manifest.json, signs it, and rewrites SHA256SUMS over the assets.
func (h *handRelease) setManifest(t *testing.T, data []byte) {
	t.Helper()
	h.assets["release-manifest.json"] = data
	bundle, err := sign.SignBlob(t.Context(), h.signer, data)
	if err != nil {
		t.Fatal(err)
	}
	h.assets["release-manifest.json.sigstore.json"] = bundle
	h.assets[sumsAsset] = sums(h.assets, chartTgz, "release-manifest.json")
}

func sums(assets map[string][]byte, names ...string) []byte {
	sort.Strings(names)
	var b bytes.Buffer
	for _, n := range names {
		s := sha256.Sum256(assets[n])
		fmt.Fprintf(&b, "%s  %s\n", hex.EncodeToString(s[:]), n)
	}
	return b.Bytes()
}

// publish makes the GitHub release (published, or a draft) with the assets as they are now.
func (h *handRelease) publish(t *testing.T, draft bool) {
	t.Helper()
	h.releaseID = h.fake.SeedRelease(githubtest.Release{Tag: vrTag, Name: vrTag, Draft: draft})
	names := make([]string, 0, len(h.assets))
	for n := range h.assets {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		h.fake.SeedAsset(h.releaseID, githubtest.Asset{Name: n, Content: h.assets[n]})
	}
}

// verify runs VerifyRelease as a consumer: only the tag, GITHUB_REPOSITORY, the API URL and the
// key file; no token.
func (h *handRelease) verify(t *testing.T) (stdout, progress string, err error) {
	t.Helper()
	return h.verifyWith(t, lane.VerifyOptions{KeyFile: h.keyFile})
}

// verifyWith runs VerifyRelease as a consumer with opts.
func (h *handRelease) verifyWith(t *testing.T, opts lane.VerifyOptions) (stdout, progress string, err error) {
	t.Helper()
	var out, prog bytes.Buffer
	env := map[string]string{"GITHUB_REPOSITORY": vrRepo, "GITHUB_API_URL": h.fake.URL()}
	cfg := lane.Config{Root: h.root, Getenv: func(k string) string { return env[k] }, Stdout: &out, Progress: &prog}
	err = lane.VerifyRelease(t.Context(), cfg, vrTag, opts)
	return out.String(), prog.String(), err
}

// wantProblem asserts err is a *lane.ReleaseVerifyError with a problem naming artifact (and
// containing what), and returns it.
func wantProblem(t *testing.T, err error, artifact, what string) *lane.ReleaseVerifyError {
	t.Helper()
	var rv *lane.ReleaseVerifyError
	if !errors.As(err, &rv) {
		t.Fatalf("err = %v, want a *lane.ReleaseVerifyError", err)
	}
	for _, p := range rv.Problems {
		if p.Artifact == artifact && strings.Contains(p.Problem, what) {
			if p.Fix == "" {
				t.Errorf("problem %q says nothing of what it means", p)
			}
			return rv
		}
	}
	t.Fatalf("no problem naming %q with %q in:\n%v", artifact, what, err)
	return nil
}

func TestVerifyReleasePassesOnAHandPublishedRelease(t *testing.T) {
	h := publishRelease(t, tamper{})
	// A draft of the same tag, with garbage assets, is not the release: it is ignored.
	draft := h.fake.SeedRelease(githubtest.Release{Tag: vrTag, Draft: true})
	h.fake.SeedAsset(draft, githubtest.Asset{Name: "release-manifest.json", Content: []byte("{}")})
	stdout, progress, err := h.verify(t)
	if err != nil {
		t.Fatalf("VerifyRelease: %v\n%s", err, progress)
	}
	for _, ref := range []string{h.image, h.chart} {
		repo := ref[:strings.LastIndex(ref, ":")]
		if !strings.Contains(stdout, repo+"@sha256:") || !strings.Contains(progress, "ok   ") {
			t.Errorf("stdout does not say %s@… verified:\n%s", repo, stdout)
		}
	}
	if n := strings.Count(stdout, " verified\n"); n != 2 {
		t.Errorf("stdout has %d verified lines, want 2:\n%s", n, stdout)
	}
	if h.fake.Writes() != 0 {
		t.Errorf("verifyRelease wrote to GitHub (%d writes)", h.fake.Writes())
	}
	t.Logf("progress:\n%s", progress)
}

func TestVerifyReleaseIgnoresADraftOfTheTag(t *testing.T) {
	h := publishRelease(t, tamper{draft: true})
	if _, _, err := h.verify(t); !errors.Is(err, lane.ErrReleaseNotPublished) {
		t.Fatalf("err = %v, want ErrReleaseNotPublished (a draft is not a release)", err)
	}
}

func TestVerifyReleaseFailsWhenAnImageIsRetagged(t *testing.T) {
	h := publishRelease(t, tamper{})
	registrytest.PushRandom(t, h.image)
	_, _, err := h.verify(t)
	wantProblem(t, err, "image "+h.image, "the tag now holds")
}

func TestVerifyReleaseFailsWhenTheSBOMIsReplaced(t *testing.T) {
	h := publishRelease(t, tamper{sbomSigner: newSigner(t)})
	_, _, err := h.verify(t)
	rv := wantProblem(t, err, "image "+strings.TrimSuffix(h.image, ":1.0.0")+"@"+imageDigest(t, h), "sbom")
	var ve *sign.VerifyError
	if !errors.As(rv, &ve) || ve.Check != sign.CheckSBOM {
		t.Errorf("the cause is not a sign.VerifyError of the SBOM: %v", err)
	}
}

func TestVerifyReleaseFailsForAProvenanceOfAnotherCommit(t *testing.T) {
	h := publishRelease(t, tamper{provCommit: vrOther})
	_, _, err := h.verify(t)
	rv := wantProblem(t, err, "image "+strings.TrimSuffix(h.image, ":1.0.0")+"@"+imageDigest(t, h), "provenance")
	if !errors.Is(rv, sign.ErrCommitMismatch) {
		t.Errorf("err = %v, want ErrCommitMismatch", err)
	}
}

func TestVerifyReleaseFailsWhenTheManifestIsEdited(t *testing.T) {
	// The edit keeps SHA256SUMS consistent (whoever edits the release can rewrite it too): only
	// the signature catches it.
	h := publishRelease(t, tamper{assets: func(h *handRelease) {
		h.assets["release-manifest.json"] = bytes.Replace(h.manifest, []byte(`"version": "1.0.0"`), []byte(`"version": "1.0.1"`), 1)
		h.assets[sumsAsset] = sums(h.assets, chartTgz, "release-manifest.json")
	}})
	_, _, err := h.verify(t)
	rv := wantProblem(t, err, "release-manifest.json", "signature does not verify")
	if !errors.Is(rv, sign.ErrBlobSignature) {
		t.Errorf("err = %v, want sign.ErrBlobSignature", err)
	}
	if len(rv.Problems) != 1 {
		t.Errorf("only the manifest's signature should fail: %v", err)
	}
}

func TestVerifyReleaseFailsOnASHA256SUMSMismatch(t *testing.T) {
	h := publishRelease(t, tamper{assets: func(h *handRelease) { h.assets[chartTgz] = []byte("another archive\n") }})
	_, _, err := h.verify(t)
	wantProblem(t, err, chartTgz, "SHA256SUMS lists")
}

func TestVerifyReleaseFailsWhenAChartSignatureIsMissing(t *testing.T) {
	h := publishRelease(t, tamper{noChartSignature: true})
	_, _, err := h.verify(t)
	rv := wantProblem(t, err, "chart "+strings.TrimSuffix(h.chart, ":1.0.0")+"@"+chartDigest(t, h), "signature")
	if !errors.Is(rv, sign.ErrMissing) {
		t.Errorf("err = %v, want sign.ErrMissing", err)
	}
}

func TestVerifyReleaseFailsWhenTheTagMoved(t *testing.T) {
	h := publishRelease(t, tamper{})
	h.fake.SeedTag(vrTag, vrOther)
	_, _, err := h.verify(t)
	wantProblem(t, err, "release-manifest.json", "git tag "+vrTag+" is at "+vrOther)
}

func imageDigest(t *testing.T, h *handRelease) string {
	return manifestOf(t, h).Components[0].ImageDigest
}
func chartDigest(t *testing.T, h *handRelease) string {
	return manifestOf(t, h).Components[0].ChartDigest
}

func manifestOf(t *testing.T, h *handRelease) publish.ReleaseManifest {
	t.Helper()
	var m publish.ReleaseManifest
	if err := json.Unmarshal(h.manifest, &m); err != nil {
		t.Fatal(err)
	}
	return m
}
