package sign_test

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"testing"

	"github.com/shiplane/shiplane/magefiles/registry/registrytest"
	"github.com/shiplane/shiplane/magefiles/sign"
)

// TestKeyFormatsSignAndVerify: each supported PEM form signs bundles Verify accepts.
func TestKeyFormatsSignAndVerify(t *testing.T) {
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	pkcs8 := func(k any) []byte { return pkcs8PEM(t, k) }
	sec1, err := x509.MarshalECPrivateKey(p256)
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string][]byte{
		"ecdsa-p256-sec1":  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1}),
		"ecdsa-p384-pkcs8": pkcs8(p384),
		"rsa-2048-pkcs1":   pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rsaKey)}),
		"ed25519-pkcs8":    pkcs8(edKey),
	}
	host := registrytest.New(t).Host()
	for name, key := range keys {
		t.Run(name, func(t *testing.T) {
			f := setup(t, host)
			s, err := sign.NewKeySigner(key)
			if err != nil {
				t.Fatal(err)
			}
			pub, err := s.PublicKeyPEM()
			if err != nil {
				t.Fatal(err)
			}
			atts := f.attestations(t, commitA)
			if n := f.attachMissing(t, s, atts); n != 3 {
				t.Fatalf("attached %d, want 3", n)
			}
			if _, err := f.reg.Verify(t.Context(), f.subject.String(), pub, sign.Expect{Commit: commitA, SBOM: true}); err != nil {
				t.Fatalf("Verify: %v", err)
			}
		})
	}
}

// pkcs8PEM is k as an unencrypted PKCS#8 PEM private key.
func pkcs8PEM(t testing.TB, k any) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}
