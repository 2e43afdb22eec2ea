package sign_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/shiplane/shiplane/magefiles/sign"
)

// cosignModule is the independent verifier: cosign at a pinned version, built with its own
// dependencies (it is not a requirement of this module). A cold build takes several minutes;
// the binary is kept in the user cache directory afterwards.
const (
	cosignModule  = "github.com/sigstore/cosign/v3/cmd/cosign"
	cosignVersion = "v3.1.3"
)

var (
	cosignOnce sync.Once
	cosignBin  string
	cosignErr  error
)

// cosignPath installs cosign once into <user cache>/shiplane/cosign-<version>/ and returns it.
func cosignPath(t *testing.T) string {
	t.Helper()
	cosignOnce.Do(func() {
		cache, err := os.UserCacheDir()
		if err != nil {
			cache = os.TempDir()
		}
		dir := filepath.Join(cache, "shiplane", "cosign-"+cosignVersion)
		bin := filepath.Join(dir, "cosign")
		if _, err := os.Stat(bin); err == nil {
			cosignBin = bin
			return
		}
		cmd := exec.Command("go", "install", cosignModule+"@"+cosignVersion)
		cmd.Env = append(os.Environ(), "GOBIN="+dir, "CGO_ENABLED=0", "GOFLAGS=", "GOWORK=off")
		if out, err := cmd.CombinedOutput(); err != nil {
			cosignErr = fmt.Errorf("go install %s@%s: %v\n%s", cosignModule, cosignVersion, err, out)
			return
		}
		cosignBin = bin
	})
	if cosignErr != nil {
		t.Fatal(cosignErr)
	}
	return cosignBin
}

// cosign runs the cosign binary offline (no TUF, no transparency log) and returns its output.
func cosign(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(cosignPath(t), args...)
	home := t.TempDir()
	// A private HOME and TUF root: cosign must not reach the public Sigstore infrastructure.
	cmd.Env = append(os.Environ(), "HOME="+home, "TUF_ROOT="+filepath.Join(home, "tuf"),
		"SIGSTORE_NO_CACHE=true", "DOCKER_CONFIG="+filepath.Join(home, "docker"))
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestCosignVerifiesWhatWeAttach: cosign, a client no one here wrote, accepts the signature, the
// SBOM and the provenance, on a registry with the referrers API and on one without it; and it
// refuses them with another key.
func TestCosignVerifiesWhatWeAttach(t *testing.T) {
	for _, rk := range registries {
		t.Run(rk.name, func(t *testing.T) {
			f := setup(t, rk.start(t))
			f.attachMissing(t, f.signer, f.attestations(t, commitA))
			dir := t.TempDir()
			pub := filepath.Join(dir, "cosign.pub")
			if err := os.WriteFile(pub, f.pub, 0o644); err != nil {
				t.Fatal(err)
			}
			image := f.subject.String()
			flags := []string{"--key", pub, "--insecure-ignore-tlog=true", "--allow-http-registry=true"}

			runs := [][]string{
				append([]string{"verify"}, append(flags, image)...),
				append([]string{"verify-attestation", "--type", "slsaprovenance1"}, append(flags, image)...),
				append([]string{"verify-attestation", "--type", "cyclonedx"}, append(flags, image)...),
			}
			for _, args := range runs {
				out, err := cosign(t, args...)
				t.Logf("cosign %s:\n%s", args[0], firstLines(out, 12))
				if err != nil {
					t.Errorf("cosign %s: %v\n%s", strings.Join(args, " "), err, out)
				}
			}

			// The tag, too (cosign resolves it to the digest).
			if out, err := cosign(t, append([]string{"verify"}, append(flags, f.ref)...)...); err != nil {
				t.Errorf("cosign verify %s: %v\n%s", f.ref, err, out)
			}

			// Another key: cosign refuses.
			other := filepath.Join(dir, "other.pub")
			otherSigner, err := signWithNewKey(t)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(other, otherSigner, 0o644); err != nil {
				t.Fatal(err)
			}
			if out, err := cosign(t, "verify", "--key", other, "--insecure-ignore-tlog=true", "--allow-http-registry=true", image); err == nil {
				t.Errorf("cosign verify accepted another key\n%s", out)
			}
		})
	}
}

// signWithNewKey returns the public key PEM of a fresh key signer.
func signWithNewKey(t *testing.T) ([]byte, error) {
	t.Helper()
	s, err := sign.NewKeySigner(newKey(t))
	if err != nil {
		return nil, err
	}
	return s.PublicKeyPEM()
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "\n")
}
