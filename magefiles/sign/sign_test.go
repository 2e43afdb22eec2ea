package sign_test

import (
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/shiplane/shiplane/magefiles/attest"
	"github.com/shiplane/shiplane/magefiles/registry/registrytest"
	"github.com/shiplane/shiplane/magefiles/sign"
	"github.com/shiplane/shiplane/magefiles/sign/signtest"
)

const (
	commitA = "1111111111111111111111111111111111111111"
	commitB = "2222222222222222222222222222222222222222"
)

// newKey returns a fresh ECDSA P-256 private key as PKCS#8 PEM.
func newKey(t *testing.T) []byte {
	t.Helper()
	priv, _ := signtest.NewKey(t)
	return priv
}

// countingTransport counts the requests a client sends.
type countingTransport struct {
	next http.RoundTripper
	n    atomic.Int64
	log  []string
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	c.log = append(c.log, r.Method+" "+r.URL.Path)
	return c.next.RoundTrip(r)
}

// registryKind is a registry the tests run against: the distribution registry (referrers API) or
// go-containerregistry's (no referrers API: the referrers tag schema is used).
type registryKind struct {
	name  string
	start func(t *testing.T) string // returns host:port
}

var registries = []registryKind{
	{"ggcr-referrers-api", func(t *testing.T) string {
		srv := httptest.NewServer(ggcrregistry.New(ggcrregistry.WithReferrersSupport(true), ggcrregistry.Logger(log.New(io.Discard, "", 0))))
		t.Cleanup(srv.Close)
		return strings.TrimPrefix(srv.URL, "http://")
	}},
	// distribution v3.1.2 has no referrers API (GET /v2/<name>/referrers/<digest> is a 404).
	{"distribution-tag-schema", func(t *testing.T) string { return registrytest.New(t).Host() }},
}

type fixture struct {
	reg     *sign.Registry
	count   *countingTransport
	signer  *sign.Signer
	pub     []byte
	host    string
	ref     string // tag reference
	subject name.Digest
	img     v1.Image
}

func setup(t *testing.T, host string) *fixture {
	t.Helper()
	ct := &countingTransport{next: http.DefaultTransport}
	reg, err := sign.NewRegistry(sign.WithInsecure(), sign.WithRemoteOptions(remote.WithTransport(ct)))
	if err != nil {
		t.Fatal(err)
	}
	signer, err := sign.NewKeySigner(newKey(t))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := signer.PublicKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	img, err := random.Image(512, 2)
	if err != nil {
		t.Fatal(err)
	}
	ref := host + "/shiplane/core:1.0.0"
	tag, err := name.NewTag(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img); err != nil {
		t.Fatal(err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{reg: reg, count: ct, signer: signer, pub: pub, host: host, ref: ref, subject: tag.Context().Digest(d.String()), img: img}
}

// attestations are the three statements a release attaches to an image.
func (f *fixture) attestations(t *testing.T, commit string) []sign.Attestation {
	t.Helper()
	sig, err := sign.SignatureAttestation(f.subject)
	if err != nil {
		t.Fatal(err)
	}
	sbom, err := attest.SBOM(f.img, attest.WithName(f.subject.Context().Name()))
	if err != nil {
		t.Fatal(err)
	}
	sbomSt, err := attest.Statement(f.subject.Context().Name(), f.subject.DigestStr(), attest.SBOMPredicateType, sbom)
	if err != nil {
		t.Fatal(err)
	}
	prov, err := attest.Provenance(attest.ProvenanceInput{
		SubjectName: f.subject.Context().Name(), SubjectDigest: f.subject.DigestStr(),
		SourceRepository: "https://github.com/shiplane/shiplane", Commit: commit, Component: "core",
	})
	if err != nil {
		t.Fatal(err)
	}
	return []sign.Attestation{
		sig,
		{PredicateType: attest.SBOMPredicateType, Statement: sbomSt},
		{PredicateType: attest.ProvenancePredicateType, Statement: prov},
	}
}

// attachMissing is the goal: assess, then achieve what is missing. It returns how many it attached.
func (f *fixture) attachMissing(t *testing.T, s *sign.Signer, atts []sign.Attestation) int {
	t.Helper()
	ctx := t.Context()
	missing, err := f.reg.Missing(ctx, s, f.subject, atts)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range missing {
		if err := f.reg.Attach(ctx, s, f.subject, a); err != nil {
			t.Fatal(err)
		}
	}
	return len(missing)
}

func TestAttachVerifyAndRerunAttachesNothing(t *testing.T) {
	for _, rk := range registries {
		t.Run(rk.name, func(t *testing.T) {
			f := setup(t, rk.start(t))
			atts := f.attestations(t, commitA)
			if n := f.attachMissing(t, f.signer, atts); n != 3 {
				t.Fatalf("first run attached %d, want 3", n)
			}
			got, err := f.reg.Verify(t.Context(), f.ref, f.pub, sign.Expect{Digest: f.subject.DigestStr(), Commit: commitA, SBOM: true})
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if got.Provenance.Commit != commitA || got.SBOM == nil || got.Digest != f.subject {
				t.Errorf("Verify = %+v", got)
			}

			// A re-run, with a rebuilt provenance (another run id would change its bytes), attaches
			// nothing, and its assess costs a bounded number of requests.
			f.count.n.Store(0)
			f.count.log = nil
			again := f.attestations(t, commitA)
			again[2].Statement = append([]byte(nil), again[2].Statement...)
			if n := f.attachMissing(t, f.signer, again); n != 0 {
				t.Fatalf("re-run attached %d, want 0", n)
			}
			t.Logf("no-op assess: %d requests: %v", f.count.n.Load(), f.count.log)
			// The referrers API: GET /referrers/<digest>, then one manifest per referrer, as
			// go-containerregistry's registry leaves the annotations out of its answer (a registry
			// following the distribution spec includes them: one request). No referrers API (known
			// from the first run: asked once per registry): the sha256-<hex> tag, whose entries
			// Attach annotates, and cosign's legacy sha256-<hex>.sig and .att tags.
			budget := int64(1 + 3)
			if rk.name == "distribution-tag-schema" {
				budget = 3
			}
			if n := f.count.n.Load(); n > budget {
				t.Errorf("no-op assess sent %d requests, want at most %d: %v", n, budget, f.count.log)
			}

			// Another signer's key has attached nothing.
			other, err := sign.NewKeySigner(newKey(t))
			if err != nil {
				t.Fatal(err)
			}
			missing, err := f.reg.Missing(t.Context(), other, f.subject, atts)
			if err != nil || len(missing) != 3 {
				t.Errorf("Missing for another key = %d, %v; want 3", len(missing), err)
			}
		})
	}
}

func wantVerifyError(t *testing.T, err error, artifact string, check sign.Check, reason error) {
	t.Helper()
	if err == nil {
		t.Fatalf("Verify passed, want a %s failure", check)
	}
	var found bool
	for _, e := range unjoin(err) {
		var ve *sign.VerifyError
		if errors.As(e, &ve) && ve.Check == check {
			found = true
			if ve.Artifact != artifact {
				t.Errorf("error names %q, want %q", ve.Artifact, artifact)
			}
			if !errors.Is(ve, reason) {
				t.Errorf("%s failure %v, want %v", check, ve, reason)
			}
		}
	}
	if !found {
		t.Errorf("no %s failure in %v", check, err)
	}
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func TestVerifyFailsWhenTheTagMovesToAnotherDigest(t *testing.T) {
	f := setup(t, registrytest.New(t).Host())
	f.attachMissing(t, f.signer, f.attestations(t, commitA))
	other, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	tag, _ := name.NewTag(f.ref, name.Insecure)
	if err := remote.Write(tag, other); err != nil {
		t.Fatal(err)
	}
	_, err = f.reg.Verify(t.Context(), f.ref, f.pub, sign.Expect{Digest: f.subject.DigestStr(), Commit: commitA, SBOM: true})
	wantVerifyError(t, err, f.ref, sign.CheckDigest, sign.ErrDigestMismatch)
	// Without an expected digest, the new image has no signature, SBOM or provenance.
	_, err = f.reg.Verify(t.Context(), f.ref, f.pub, sign.Expect{Commit: commitA, SBOM: true})
	wantVerifyError(t, err, f.ref, sign.CheckSignature, sign.ErrMissing)
	wantVerifyError(t, err, f.ref, sign.CheckSBOM, sign.ErrMissing)
	wantVerifyError(t, err, f.ref, sign.CheckProvenance, sign.ErrMissing)
}

func TestVerifyFailsWhenTheSBOMIsReplaced(t *testing.T) {
	f := setup(t, registrytest.New(t).Host())
	atts := f.attestations(t, commitA)
	f.attachMissing(t, f.signer, atts[:1])
	f.attachMissing(t, f.signer, atts[2:])
	// An SBOM signed by another key stands where the release's would be.
	intruder, err := sign.NewKeySigner(newKey(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.reg.Attach(t.Context(), intruder, f.subject, atts[1]); err != nil {
		t.Fatal(err)
	}
	_, err = f.reg.Verify(t.Context(), f.ref, f.pub, sign.Expect{Commit: commitA, SBOM: true})
	wantVerifyError(t, err, f.ref, sign.CheckSBOM, sign.ErrMissing)
	if len(unjoin(err)) != 1 {
		t.Errorf("only the SBOM should fail: %v", err)
	}
}

func TestVerifyFailsForAnotherCommit(t *testing.T) {
	f := setup(t, registrytest.New(t).Host())
	f.attachMissing(t, f.signer, f.attestations(t, commitB))
	_, err := f.reg.Verify(t.Context(), f.ref, f.pub, sign.Expect{Commit: commitA, SBOM: true})
	wantVerifyError(t, err, f.ref, sign.CheckProvenance, sign.ErrCommitMismatch)
}

func TestVerifyIgnoresABundleAboutAnotherDigest(t *testing.T) {
	f := setup(t, registrytest.New(t).Host())
	// A provenance about another image, attached to this one.
	atts := f.attestations(t, commitA)
	wrong, err := attest.Provenance(attest.ProvenanceInput{
		SubjectName: f.subject.Context().Name(), SubjectDigest: "sha256:" + strings.Repeat("ab", 32),
		SourceRepository: "https://github.com/shiplane/shiplane", Commit: commitA,
	})
	if err != nil {
		t.Fatal(err)
	}
	atts[2].Statement = wrong
	f.attachMissing(t, f.signer, atts)
	_, err = f.reg.Verify(t.Context(), f.ref, f.pub, sign.Expect{Commit: commitA, SBOM: true})
	wantVerifyError(t, err, f.ref, sign.CheckProvenance, sign.ErrMissing)
}

func TestNewKeySignerRejectsGarbageWithoutEchoingIt(t *testing.T) {
	secret := "-----BEGIN PRIVATE KEY-----\nc2VjcmV0LXZhbHVlLXRoYXQtbXVzdC1ub3QtbGVhaw==\n-----END PRIVATE KEY-----\n"
	_, err := sign.NewKeySigner([]byte(secret))
	if !errors.Is(err, sign.ErrBadKey) {
		t.Fatalf("err = %v, want ErrBadKey", err)
	}
	if strings.Contains(err.Error(), "c2VjcmV0") || strings.Contains(err.Error(), "secret-value") {
		t.Errorf("the error repeats the key: %v", err)
	}
	if _, err := sign.NewKeySigner([]byte("not pem")); !errors.Is(err, sign.ErrBadKey) {
		t.Errorf("err = %v, want ErrBadKey", err)
	}
}
