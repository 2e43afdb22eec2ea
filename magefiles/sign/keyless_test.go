package sign_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/shiplane/shiplane/magefiles/registry/registrytest"
	"github.com/shiplane/shiplane/magefiles/sign"
	"github.com/shiplane/shiplane/magefiles/sign/signtest"
)

// identityTrust trusts identity from issuer, through the virtual Sigstore's trusted root written
// to a trusted_root.json file and read back as a verifier would.
func identityTrust(t *testing.T, vs *signtest.VirtualSigstore, issuer, identity string, isRegexp bool) sign.Trust {
	t.Helper()
	material, err := sign.TrustedRoot(vs.WriteTrustedRoot(t, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	trust, err := sign.IdentityTrust(material, issuer, identity, isRegexp)
	if err != nil {
		t.Fatal(err)
	}
	return trust
}

// TestKeylessVerifyVirtualSigstoreFakeFulcioRekor signs with the production keyless signer, its
// Fulcio and Rekor being sigstore-go's virtual Sigstore (FAKE: the real services cannot be reached
// here), attaches the bundles to an image in an in-process registry, and verifies them by identity.
func TestKeylessVerifyVirtualSigstoreFakeFulcioRekor(t *testing.T) {
	for _, rk := range registries {
		t.Run(rk.name, func(t *testing.T) {
			vs := signtest.NewVirtualSigstore(t)
			f := setup(t, rk.start(t))
			keyless := vs.Signer(t, signtest.GitHubIdentity, signtest.GitHubIssuer)
			if n := f.attachMissing(t, keyless, f.attestations(t, commitA)); n != 3 {
				t.Fatalf("attached %d, want 3", n)
			}
			want := sign.Expect{Digest: f.subject.DigestStr(), Commit: commitA, SBOM: true}
			ctx := t.Context()

			got, err := f.reg.VerifyWith(ctx, f.ref, identityTrust(t, vs, signtest.GitHubIssuer, signtest.GitHubIdentity, false), want)
			if err != nil {
				t.Fatalf("VerifyWith the expected identity: %v", err)
			}
			if got.Provenance == nil || got.Provenance.Commit != commitA || got.SBOM == nil {
				t.Errorf("VerifyWith = %+v", got)
			}
			re := `^https://github\.com/acme/shiplane/\.github/workflows/release\.yml@refs/tags/v`
			if _, err := f.reg.VerifyWith(ctx, f.ref, identityTrust(t, vs, signtest.GitHubIssuer, re, true), want); err != nil {
				t.Errorf("VerifyWith an identity regexp: %v", err)
			}

			other := "https://github.com/mallory/shiplane/.github/workflows/release.yml@refs/tags/v1.0.0"
			_, err = f.reg.VerifyWith(ctx, f.ref, identityTrust(t, vs, signtest.GitHubIssuer, other, false), want)
			for _, c := range []sign.Check{sign.CheckSignature, sign.CheckSBOM, sign.CheckProvenance} {
				wantVerifyError(t, err, f.ref, c, sign.ErrMissing)
			}
			if err == nil || !strings.Contains(err.Error(), other) {
				t.Errorf("the failure does not name the trusted identity %s: %v", other, err)
			}

			_, err = f.reg.VerifyWith(ctx, f.ref, identityTrust(t, vs, "https://accounts.google.com", signtest.GitHubIdentity, false), want)
			wantVerifyError(t, err, f.ref, sign.CheckSignature, sign.ErrMissing)

			// A keyless bundle does not satisfy key trust, not even of the certificate's own key.
			_, err = f.reg.Verify(ctx, f.ref, f.pub, want)
			wantVerifyError(t, err, f.ref, sign.CheckSignature, sign.ErrMissing)

			// The same trusted root from another virtual Sigstore (another Fulcio, another log)
			// trusts none of it.
			_, err = f.reg.VerifyWith(ctx, f.ref, identityTrust(t, signtest.NewVirtualSigstore(t), signtest.GitHubIssuer, signtest.GitHubIdentity, false), want)
			wantVerifyError(t, err, f.ref, sign.CheckProvenance, sign.ErrMissing)
		})
	}
}

func TestKeyBundleDoesNotSatisfyIdentityTrustVirtualSigstore(t *testing.T) {
	vs := signtest.NewVirtualSigstore(t)
	f := setup(t, registrytest.New(t).Host())
	f.attachMissing(t, f.signer, f.attestations(t, commitA))
	want := sign.Expect{Digest: f.subject.DigestStr(), Commit: commitA, SBOM: true}
	if _, err := f.reg.VerifyWith(t.Context(), f.ref, sign.KeyTrust(f.pub), want); err != nil {
		t.Fatalf("VerifyWith the key: %v", err)
	}
	_, err := f.reg.VerifyWith(t.Context(), f.ref, identityTrust(t, vs, signtest.GitHubIssuer, signtest.GitHubIdentity, false), want)
	for _, c := range []sign.Check{sign.CheckSignature, sign.CheckSBOM, sign.CheckProvenance} {
		wantVerifyError(t, err, f.ref, c, sign.ErrMissing)
	}
}

func TestBlobKeylessVirtualSigstoreFakeFulcioRekor(t *testing.T) {
	vs := signtest.NewVirtualSigstore(t)
	data := []byte(`{"tag":"v1.0.0"}` + "\n")
	bundle, err := sign.SignBlob(t.Context(), vs.Signer(t, signtest.GitHubIdentity, signtest.GitHubIssuer), data)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(bundle), `"tlogEntries"`) || !strings.Contains(string(bundle), `"certificate"`) {
		t.Errorf("the keyless bundle has no certificate or log entry:\n%s", bundle)
	}
	trust := identityTrust(t, vs, signtest.GitHubIssuer, signtest.GitHubIdentity, false)
	if err := sign.VerifyBlobWith(bundle, data, trust); err != nil {
		t.Fatalf("VerifyBlobWith: %v", err)
	}
	if err := sign.VerifyBlobWith(bundle, append(data, ' '), trust); !errors.Is(err, sign.ErrBlobSignature) {
		t.Errorf("an edited blob: %v, want ErrBlobSignature", err)
	}
	other := identityTrust(t, vs, signtest.GitHubIssuer, "https://github.com/acme/shiplane/.github/workflows/other.yml@refs/heads/main", false)
	if err := sign.VerifyBlobWith(bundle, data, other); !errors.Is(err, sign.ErrBlobSignature) {
		t.Errorf("another identity: %v, want ErrBlobSignature", err)
	}

	// A key-signed blob does not satisfy identity trust.
	keySigner, err := sign.NewKeySigner(newKey(t))
	if err != nil {
		t.Fatal(err)
	}
	keyBundle, err := sign.SignBlob(t.Context(), keySigner, data)
	if err != nil {
		t.Fatal(err)
	}
	if err := sign.VerifyBlobWith(keyBundle, data, trust); !errors.Is(err, sign.ErrBlobSignature) {
		t.Errorf("a key bundle under identity trust: %v, want ErrBlobSignature", err)
	}
}

func TestIdentityTrustNeedsIssuerAndMaterial(t *testing.T) {
	vs := signtest.NewVirtualSigstore(t)
	if _, err := sign.IdentityTrust(vs.TrustedRoot(t), "", signtest.GitHubIdentity, false); !errors.Is(err, sign.ErrNoTrust) {
		t.Errorf("no issuer: %v, want ErrNoTrust", err)
	}
	if _, err := sign.IdentityTrust(nil, signtest.GitHubIssuer, signtest.GitHubIdentity, false); !errors.Is(err, sign.ErrNoTrust) {
		t.Errorf("no trusted root: %v, want ErrNoTrust", err)
	}
	if _, err := sign.IdentityTrust(vs.TrustedRoot(t), signtest.GitHubIssuer, "(", true); err == nil {
		t.Error("a bad regexp was accepted")
	}
	if _, err := sign.TrustedRoot("/nonexistent/trusted_root.json"); err == nil || !strings.Contains(err.Error(), "/nonexistent/trusted_root.json") {
		t.Errorf("a missing trusted root file: %v", err)
	}
}

// TestMissingKeylessCountsOnlyTheWorkflowIdentityVirtualSigstore: a keyless bundle attached by
// another workflow does not count as this one's.
func TestMissingKeylessCountsOnlyTheWorkflowIdentityVirtualSigstore(t *testing.T) {
	vs := signtest.NewVirtualSigstore(t)
	f := setup(t, registrytest.New(t).Host())
	atts := f.attestations(t, commitA)
	other := vs.Signer(t, "https://github.com/acme/shiplane/.github/workflows/other.yml@refs/heads/main", signtest.GitHubIssuer)
	if n := f.attachMissing(t, other, atts); n != 3 {
		t.Fatalf("the other workflow attached %d, want 3", n)
	}
	release := vs.Signer(t, signtest.GitHubIdentity, signtest.GitHubIssuer)
	if n := f.attachMissing(t, release, atts); n != 3 {
		t.Fatalf("the release workflow attached %d, want 3 (the other workflow's bundles are not its)", n)
	}
	if n := f.attachMissing(t, release, atts); n != 0 {
		t.Errorf("a re-run attached %d, want 0", n)
	}
	// A signer whose certificate names another identity than it expects attaches nothing.
	liar := vs.Signer(t, signtest.GitHubIdentity, signtest.GitHubIssuer, sign.WithIdentity("https://github.com/acme/shiplane/.github/workflows/x.yml@refs/tags/v9"))
	err := f.reg.Attach(t.Context(), liar, f.subject, atts[0])
	if !errors.Is(err, sign.ErrWrongIdentity) {
		t.Errorf("Attach with a certificate of another identity: %v, want ErrWrongIdentity", err)
	}
	if _, err := sign.SignBlob(t.Context(), liar, []byte("x")); !errors.Is(err, sign.ErrWrongIdentity) {
		t.Errorf("SignBlob with a certificate of another identity: %v, want ErrWrongIdentity", err)
	}
}

// TestMissingKeylessDoesNotAdoptAForgedReferrerVirtualSigstore: a writer to the registry pushes a
// bundle signed by their own key, annotated as the release workflow's keyless bundle (the
// annotation is not signed, and the identity is predictable). The release workflow's signer
// verifies candidates against its trusted root, identity and issuer: it does not count it, and
// attaches its own.
func TestMissingKeylessDoesNotAdoptAForgedReferrerVirtualSigstore(t *testing.T) {
	vs := signtest.NewVirtualSigstore(t)
	f := setup(t, registrytest.New(t).Host())
	ctx := t.Context()
	atts := f.attestations(t, commitA)
	if err := f.reg.Attach(ctx, f.signer, f.subject, atts[2]); err != nil { // a key's provenance
		t.Fatal(err)
	}
	d := referrersOf(t, f.subject)[0].Digest
	m := readManifest(t, f.subject.Context().Digest(d.String()))
	pushAnnotatedAs(t, f.subject, m, "keyless:"+signtest.GitHubIdentity)
	release := vs.Signer(t, signtest.GitHubIdentity, signtest.GitHubIssuer)
	missing, err := newRun(t, nil, nil).Missing(ctx, release, f.subject, atts)
	if err != nil {
		t.Fatal(err)
	}
	if len(missing) != 3 {
		t.Fatalf("Missing = %d, want 3: the forged provenance is not the release workflow's", len(missing))
	}
	if n := f.attachMissing(t, release, atts); n != 3 {
		t.Fatalf("attached %d, want 3", n)
	}
	if missing, err := newRun(t, nil, nil).Missing(ctx, release, f.subject, atts); err != nil || len(missing) != 0 {
		t.Errorf("after attaching: Missing = %d, %v; want none (its own bundles verify)", len(missing), err)
	}
	// Without an expected identity, nothing counts as the signer's.
	anyone, err := sign.NewKeylessSigner("token")
	if err != nil {
		t.Fatal(err)
	}
	if missing, err := newRun(t, nil, nil).Missing(ctx, anyone, f.subject, atts); err != nil || len(missing) != 3 {
		t.Errorf("a keyless signer without an identity: Missing = %d, %v; want 3", len(missing), err)
	}
}
