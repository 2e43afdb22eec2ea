package helm_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/provenance"

	"github.com/shiplane/shiplane/magefiles/helm"
	"github.com/shiplane/shiplane/magefiles/helm/provtest"
)

// provChart is a small chart archive, saved by helm's own chartutil.Save.
func provChart(t *testing.T, version string) (name string, tgz []byte) {
	t.Helper()
	c := &chart.Chart{Metadata: &chart.Metadata{APIVersion: "v2", Name: "demo", Version: version, AppVersion: version,
		Description: "a demo chart", Type: "application"},
		Templates: []*chart.File{{Name: "templates/cm.yaml", Data: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: demo\n")}}}
	p, err := chartutil.Save(c, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Base(p), data
}

// TestProvSignerMatchesHelm: a .prov made in memory is verified by helm's own
// provenance.Signatory.Verify, signs the very text helm's ClearSign signs, and is the same bytes
// for the same archive and time (an EdDSA key, no salt); VerifyProv classifies an edited
// archive, an edited .prov and another key's keyring.
func TestProvSignerMatchesHelm(t *testing.T) {
	private, keyring := provtest.NewKey(t, "Release Bot", "")
	s, err := helm.NewProvSigner([]byte(private), nil)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := s.InKeyring(keyring); !ok || err != nil {
		t.Fatalf("InKeyring(own keyring) = %v, %v", ok, err)
	}
	name, tgz := provChart(t, "1.2.0")
	at := time.Now()
	prov, err := s.Sign(name, tgz, at)
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.Sign(name, tgz, at)
	if err != nil || !bytes.Equal(prov, again) {
		t.Errorf("two signatures of the same archive at the same time differ (%v)", err)
	}

	// helm's own verification, from files, as `helm verify` does it.
	dir := t.TempDir()
	chartPath, ringPath := filepath.Join(dir, name), filepath.Join(dir, "keyring.gpg")
	os.WriteFile(chartPath, tgz, 0o644)
	os.WriteFile(chartPath+helm.ProvSuffix, prov, 0o644)
	os.WriteFile(ringPath, keyring, 0o644)
	sig, err := provenance.NewFromKeyring(ringPath, "")
	if err != nil {
		t.Fatal(err)
	}
	ver, err := sig.Verify(chartPath, chartPath+helm.ProvSuffix)
	if err != nil {
		t.Fatalf("helm's Verify: %v\n%s", err, prov)
	}
	if ver.FileName != name {
		t.Errorf("helm verified %q, want %q", ver.FileName, name)
	}
	// The text signed is what helm's ClearSign signs for the same archive.
	full, err := provenance.NewFromKeyring(ringPath, "")
	if err != nil {
		t.Fatal(err)
	}
	mine, _ := clearsign.Decode(prov)
	if mine == nil {
		t.Fatal("no clearsigned block")
	}
	full.Entity = entityOf(t, private)
	theirs, err := full.ClearSign(chartPath)
	if err != nil {
		t.Fatal(err)
	}
	hb, _ := clearsign.Decode([]byte(theirs))
	if hb == nil || !bytes.Equal(hb.Plaintext, mine.Plaintext) {
		t.Errorf("signed text differs from helm's:\nhelm:\n%s\nours:\n%s", hb.Plaintext, mine.Plaintext)
	}

	v, err := helm.VerifyProv(keyring, name, tgz, prov)
	if err != nil || v.Fingerprint != s.Fingerprint() || v.Signer == "" {
		t.Fatalf("VerifyProv = %+v, %v", v, err)
	}
	edited := append(append([]byte(nil), tgz...), 0)
	if _, err := helm.VerifyProv(keyring, name, edited, prov); !errors.Is(err, helm.ErrProvDigest) {
		t.Errorf("an edited archive: %v, want ErrProvDigest", err)
	}
	tampered := bytes.Replace(prov, []byte("version: 1.2.0"), []byte("version: 1.2.1"), 1)
	if bytes.Equal(tampered, prov) {
		t.Fatal("the .prov does not hold the version")
	}
	if _, err := helm.VerifyProv(keyring, name, tgz, tampered); !errors.Is(err, helm.ErrProvSignature) {
		t.Errorf("an edited .prov: %v, want ErrProvSignature", err)
	}
	if _, err := helm.VerifyProv(keyring, name, tgz, []byte("not signed")); !errors.Is(err, helm.ErrProvMalformed) {
		t.Errorf("garbage: %v, want ErrProvMalformed", err)
	}
	_, otherRing := provtest.NewKey(t, "Someone Else", "")
	if _, err := helm.VerifyProv(otherRing, name, tgz, prov); !errors.Is(err, helm.ErrProvSignature) {
		t.Errorf("another keyring: %v, want ErrProvSignature", err)
	}
	if ok, err := s.InKeyring(otherRing); ok || err != nil {
		t.Errorf("InKeyring(another keyring) = %v, %v", ok, err)
	}
	if _, err := helm.VerifyProv([]byte(private), name, tgz, prov); !errors.Is(err, helm.ErrProvKeyring) {
		t.Errorf("an armored key as keyring: %v, want ErrProvKeyring", err)
	}
}

// TestProvSignerKeyProblems: a protected key needs its passphrase; a public key or garbage is
// ErrProvKey; a signature is never older than its key.
func TestProvSignerKeyProblems(t *testing.T) {
	private, keyring := provtest.NewKey(t, "Protected", "s3cret")
	if _, err := helm.NewProvSigner([]byte(private), nil); !errors.Is(err, helm.ErrProvKey) {
		t.Errorf("no passphrase: %v", err)
	}
	if _, err := helm.NewProvSigner([]byte(private), []byte("wrong")); !errors.Is(err, helm.ErrProvKey) {
		t.Errorf("wrong passphrase: %v", err)
	}
	s, err := helm.NewProvSigner([]byte(private), []byte("s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := helm.NewProvSigner([]byte("-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nAAAA\n-----END PGP PRIVATE KEY BLOCK-----\n"), nil); !errors.Is(err, helm.ErrProvKey) {
		t.Errorf("garbage: %v", err)
	}
	name, tgz := provChart(t, "0.1.0")
	// A commit older than the key: signed at the key's creation, and it verifies.
	prov, err := s.Sign(name, tgz, time.Unix(1e9, 0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := helm.VerifyProv(keyring, name, tgz, prov); err != nil {
		t.Errorf("signed before the key existed: %v", err)
	}
}

// entityOf reads the armored private key as helm's Signatory wants it.
func entityOf(t *testing.T, armored string) *openpgp.Entity {
	t.Helper()
	ring, err := openpgp.ReadArmoredKeyRing(bytes.NewReader([]byte(armored)))
	if err != nil || len(ring) != 1 {
		t.Fatalf("reading the key: %v", err)
	}
	return ring[0]
}

// TestProvSignerGPGKey: a key made as RELEASING.md says (gpg --quick-gen-key ed25519, exported
// armored and binary, here with a passphrase) signs, and gpg itself verifies the clearsigned .prov
// with the exported keyring, as VerifyProv does.
func TestProvSignerGPGKey(t *testing.T) {
	if _, err := exec.LookPath("gpg"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("gpg is not installed (.ci/run installs it)")
		}
		t.Skip("gpg is not installed")
	}
	home := t.TempDir()
	t.Cleanup(func() { exec.Command("gpgconf", "--homedir", home, "--kill", "gpg-agent").Run() }) // the agent gpg started
	gpg := func(stdin []byte, args ...string) []byte {
		t.Helper()
		cmd := exec.CommandContext(t.Context(), "gpg", append([]string{"--batch", "--homedir", home}, args...)...)
		cmd.Stdin = bytes.NewReader(stdin)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("gpg %v: %v\n%s", args, err, stderr.String())
		}
		return out
	}
	// The passphrase goes to gpg on stdin, never in its argv.
	gpg([]byte("s3cret\n"), "--pinentry-mode", "loopback", "--passphrase-fd", "0", "--quick-gen-key", "ACME charts <charts@acme.example>", "ed25519", "sign", "never")
	keyring := gpg(nil, "--export", "ACME charts")
	private := gpg([]byte("s3cret\n"), "--pinentry-mode", "loopback", "--passphrase-fd", "0", "--armor", "--export-secret-keys", "ACME charts")
	s, err := helm.NewProvSigner(private, []byte("s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := s.InKeyring(keyring); !ok || err != nil {
		t.Fatalf("InKeyring = %v, %v", ok, err)
	}
	name, tgz := provChart(t, "2.0.0")
	prov, err := s.Sign(name, tgz, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := helm.VerifyProv(keyring, name, tgz, prov); err != nil {
		t.Fatalf("VerifyProv: %v", err)
	}
	ring := filepath.Join(t.TempDir(), "ring.gpg")
	os.WriteFile(ring, keyring, 0o644)
	gpg(prov, "--no-default-keyring", "--keyring", ring, "--verify")
}
