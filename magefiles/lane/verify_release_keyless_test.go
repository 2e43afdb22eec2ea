package lane_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shiplane/shiplane/magefiles/lane"
	"github.com/shiplane/shiplane/magefiles/sign"
	"github.com/shiplane/shiplane/magefiles/sign/signtest"
)

// keylessOpts verifies as the workflow identity of the hand-published keyless release, through
// the virtual Sigstore's trusted_root.json.
func keylessOpts(h *handRelease, identity string) lane.VerifyOptions {
	return lane.VerifyOptions{CertificateIdentity: identity, CertificateOIDCIssuer: signtest.GitHubIssuer, TrustedRoot: h.trustedRoot}
}

func TestVerifyReleaseKeylessVirtualSigstoreFakeFulcioRekor(t *testing.T) {
	h := publishRelease(t, tamper{keyless: true})
	// No public key anywhere: a committed deploy/signing.pub would be ignored, and none is needed.
	if err := os.MkdirAll(filepath.Join(h.root, "deploy"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(h.root, "deploy", "signing.pub"), []byte("not a key\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, progress, err := h.verifyWith(t, keylessOpts(h, signtest.GitHubIdentity))
	if err != nil {
		t.Fatalf("VerifyRelease keyless: %v\n%s", err, progress)
	}
	if n := strings.Count(stdout, " verified\n"); n != 2 {
		t.Errorf("stdout has %d verified lines, want 2:\n%s", n, stdout)
	}
	if want := `signed by identity "` + signtest.GitHubIdentity + `" from issuer "` + signtest.GitHubIssuer + `"`; !strings.Contains(progress, want) {
		t.Errorf("the header does not say what is trusted (%s):\n%s", want, progress)
	}
	t.Logf("progress:\n%s", progress)

	// The identity as a regular expression (what a consumer trusting every tag of the workflow gives).
	re := lane.VerifyOptions{CertificateIdentityRegexp: `^https://github\.com/acme/shiplane/\.github/workflows/release\.yml@refs/tags/v`,
		CertificateOIDCIssuer: signtest.GitHubIssuer, TrustedRoot: h.trustedRoot}
	if _, progress, err := h.verifyWith(t, re); err != nil {
		t.Errorf("VerifyRelease with an identity regexp: %v\n%s", err, progress)
	}

	// The key-mode check of the same release fails: it has no key signature.
	key := filepath.Join(h.root, "other.pub")
	_, pub := signtest.NewKey(t)
	if err := os.WriteFile(key, pub, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := h.verifyWith(t, lane.VerifyOptions{KeyFile: key}); !errors.Is(err, sign.ErrMissing) {
		t.Errorf("a keyless release verified with a key: %v, want sign.ErrMissing", err)
	}
	if h.fake.Writes() != 0 {
		t.Errorf("verifyRelease wrote to GitHub (%d writes)", h.fake.Writes())
	}
}

func TestVerifyReleaseKeylessWrongIdentityVirtualSigstore(t *testing.T) {
	h := publishRelease(t, tamper{keyless: true})
	other := "https://github.com/mallory/shiplane/.github/workflows/release.yml@refs/tags/v1.0.0"
	_, progress, err := h.verifyWith(t, keylessOpts(h, other))
	rv := wantProblem(t, err, "release-manifest.json", "signature does not verify")
	if !errors.Is(rv, sign.ErrBlobSignature) {
		t.Errorf("the manifest's failure is not sign.ErrBlobSignature: %v", err)
	}
	image := "image " + strings.TrimSuffix(h.image, ":1.0.0") + "@" + imageDigest(t, h)
	chart := "chart " + strings.TrimSuffix(h.chart, ":1.0.0") + "@" + chartDigest(t, h)
	for _, check := range []string{"signature", "sbom", "provenance"} {
		wantProblem(t, err, image, check)
	}
	for _, check := range []string{"signature", "provenance"} {
		wantProblem(t, err, chart, check)
	}
	var ve *sign.VerifyError
	if !errors.As(rv, &ve) || !errors.Is(ve, sign.ErrMissing) || !strings.Contains(ve.Error(), other) {
		t.Errorf("an artifact's failure is not a sign.VerifyError wrapping ErrMissing naming %s: %v", other, err)
	}
	if !strings.Contains(progress, "FAIL ") {
		t.Errorf("no FAIL line:\n%s", progress)
	}

	// Another issuer, the right identity: fails the same way.
	opts := keylessOpts(h, signtest.GitHubIdentity)
	opts.CertificateOIDCIssuer = "https://accounts.google.com"
	_, _, err = h.verifyWith(t, opts)
	wantProblem(t, err, image, "signature")
}

func TestVerifyReleaseKeylessOptionErrors(t *testing.T) {
	h := publishRelease(t, tamper{keyless: true})
	for _, tc := range []struct {
		name  string
		opts  lane.VerifyOptions
		names []string // what the error must name
	}{
		{"key and identity", lane.VerifyOptions{KeyFile: "deploy/signing.pub", CertificateIdentity: signtest.GitHubIdentity, CertificateOIDCIssuer: signtest.GitHubIssuer},
			[]string{"-key", "-certificate-identity"}},
		{"identity without issuer", lane.VerifyOptions{CertificateIdentity: signtest.GitHubIdentity, TrustedRoot: h.trustedRoot},
			[]string{"-certificate-oidc-issuer"}},
		{"issuer without identity", lane.VerifyOptions{CertificateOIDCIssuer: signtest.GitHubIssuer, TrustedRoot: h.trustedRoot},
			[]string{"-certificate-identity"}},
		{"identity and regexp", lane.VerifyOptions{CertificateIdentity: "a", CertificateIdentityRegexp: "b", CertificateOIDCIssuer: signtest.GitHubIssuer},
			[]string{"-certificate-identity", "-certificate-identity-regexp"}},
		{"trusted root with a key", lane.VerifyOptions{TrustedRoot: h.trustedRoot}, []string{"-trusted-root"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := h.verifyWith(t, tc.opts)
			if !errors.Is(err, lane.ErrVerifyOptions) {
				t.Fatalf("err = %v, want lane.ErrVerifyOptions", err)
			}
			for _, n := range tc.names {
				if !strings.Contains(err.Error(), n) {
					t.Errorf("the error does not name %s: %v", n, err)
				}
			}
		})
	}
	// A trusted root that cannot be read is named.
	_, _, err := h.verifyWith(t, lane.VerifyOptions{CertificateIdentity: signtest.GitHubIdentity, CertificateOIDCIssuer: signtest.GitHubIssuer, TrustedRoot: "missing/trusted_root.json"})
	if err == nil || !strings.Contains(err.Error(), "missing/trusted_root.json") {
		t.Errorf("an unreadable trusted root: %v", err)
	}
}
