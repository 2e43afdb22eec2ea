package sign_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/shiplane/shiplane/magefiles/sign"
)

var manifestJSON = []byte(`{"version":"1.2.0","components":[{"name":"core","image":"r/core@sha256:00"}]}` + "\n")

// TestSignBlobVerifyBlob: a signed blob verifies with the signer's public key, for each key form;
// the same bundle fails, with ErrBlobSignature, when one byte of the data is edited or when
// another key is given; a pure Ed25519 key refuses to sign blobs (ErrBadKey); a bundle that is not one fails with ErrBundleUnreadable, a bad key with
// ErrPublicKeyUnusable.
func TestSignBlobVerifyBlob(t *testing.T) {
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	pkcs8 := func(k any) []byte { return pkcs8PEM(t, k) }
	keys := map[string][]byte{
		"ecdsa-p256": newKey(t),
		"ecdsa-p384": pkcs8(p384),
		"rsa-2048":   pkcs8(rsaKey),
	}
	otherPub, err := signWithNewKey(t)
	if err != nil {
		t.Fatal(err)
	}
	for name, key := range keys {
		t.Run(name, func(t *testing.T) {
			s, err := sign.NewKeySigner(key)
			if err != nil {
				t.Fatal(err)
			}
			pub, err := s.PublicKeyPEM()
			if err != nil {
				t.Fatal(err)
			}
			bundle, err := sign.SignBlob(context.Background(), s, manifestJSON)
			if err != nil {
				t.Fatal(err)
			}
			if err := sign.VerifyBlob(bundle, manifestJSON, pub); err != nil {
				t.Fatalf("VerifyBlob of the signed data: %v", err)
			}
			edited := append([]byte(nil), manifestJSON...)
			edited[len(edited)-3] = '1' // "…@sha256:01"
			if err := sign.VerifyBlob(bundle, edited, pub); !errors.Is(err, sign.ErrBlobSignature) {
				t.Errorf("edited data: got %v, want ErrBlobSignature", err)
			}
			if err := sign.VerifyBlob(bundle, manifestJSON, otherPub); !errors.Is(err, sign.ErrBlobSignature) {
				t.Errorf("another key: got %v, want ErrBlobSignature", err)
			}
		})
	}
	ed, err := sign.NewKeySigner(pkcs8(edKey))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sign.SignBlob(context.Background(), ed, manifestJSON); !errors.Is(err, sign.ErrBadKey) {
		t.Errorf("Ed25519 blob signing: got %v, want ErrBadKey", err)
	}
	s, err := sign.NewKeySigner(newKey(t))
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := s.PublicKeyPEM()
	if err := sign.VerifyBlob([]byte(`{"not":"a bundle"}`), manifestJSON, pub); !errors.Is(err, sign.ErrBundleUnreadable) {
		t.Errorf("not a bundle: got %v, want ErrBundleUnreadable", err)
	}
	bundle, err := sign.SignBlob(context.Background(), s, manifestJSON)
	if err != nil {
		t.Fatal(err)
	}
	if err := sign.VerifyBlob(bundle, manifestJSON, []byte("not a key")); !errors.Is(err, sign.ErrPublicKeyUnusable) {
		t.Errorf("bad key: got %v, want ErrPublicKeyUnusable", err)
	}
}

// TestCosignVerifiesBlob: cosign verify-blob accepts the bundle SignBlob writes and refuses it
// for edited data.
func TestCosignVerifiesBlob(t *testing.T) {
	s, err := sign.NewKeySigner(newKey(t))
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := s.PublicKeyPEM()
	bundle, err := sign.SignBlob(context.Background(), s, manifestJSON)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pubF, bundleF := write("cosign.pub", pub), write("release-manifest.json.sigstore.json", bundle)
	dataF := write("release-manifest.json", manifestJSON)
	if out, err := cosign(t, "verify-blob", "--key", pubF, "--bundle", bundleF, "--insecure-ignore-tlog=true", dataF); err != nil {
		t.Fatalf("cosign verify-blob: %v\n%s", err, out)
	}
	edited := write("edited.json", append(append([]byte(nil), manifestJSON...), ' '))
	if out, err := cosign(t, "verify-blob", "--key", pubF, "--bundle", bundleF, "--insecure-ignore-tlog=true", edited); err == nil {
		t.Errorf("cosign verify-blob accepted edited data\n%s", out)
	}
}
