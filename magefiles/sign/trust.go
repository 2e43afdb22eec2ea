package sign

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
)

// Trust is whose signatures count when verifying: a public key (key mode), or a keyless signer
// named by its certificate identity and OIDC issuer (a Fulcio certificate chaining to trusted
// material, with a transparency log entry). Make one with KeyTrust or IdentityTrust; the zero
// Trust trusts nothing.
type Trust struct {
	key      []byte // PEM public key (key mode)
	material root.TrustedMaterial
	identity *verify.CertificateIdentity
	describe string
}

// ErrNoTrust: the Trust is empty, or an identity trust misses part of its identity.
var ErrNoTrust = errors.New("nothing to trust")

// KeyTrust trusts signatures by the PEM public key publicKeyPEM: no certificate, no transparency
// log entry and no timestamp are needed (what key mode signs), and no network.
func KeyTrust(publicKeyPEM []byte) Trust {
	return Trust{key: publicKeyPEM, describe: "the public key"}
}

// IdentityTrust trusts keyless signatures: the bundle's certificate must chain to a certificate
// authority of material (e.g. Fulcio's, in the Sigstore public-good trusted root; see
// TrustedRoot) at the time a transparency log of material observed the signature (at least one
// log entry with its integrated, or a signed, timestamp), and the certificate must name issuer as
// its OIDC issuer and identity as its subject alternative name (under GitHub Actions
// https://github.com/OWNER/REPO/.github/workflows/FILE@refs/tags/TAG, issuer
// https://token.actions.githubusercontent.com). With identityIsRegexp, identity is a regular
// expression (Go syntax, unanchored unless written with ^…$) the subject alternative name must
// match. Certificate transparency (SCTs) is not required.
func IdentityTrust(material root.TrustedMaterial, issuer, identity string, identityIsRegexp bool) (Trust, error) {
	if material == nil {
		return Trust{}, fmt.Errorf("trusting identity %q: %w: no trusted material (a trusted root)", identity, ErrNoTrust)
	}
	if issuer == "" || identity == "" {
		return Trust{}, fmt.Errorf("trusting identity %q of issuer %q: %w: both the identity and its OIDC issuer are needed", identity, issuer, ErrNoTrust)
	}
	san, sanRegexp, what := identity, "", "identity "+strconv.Quote(identity)
	if identityIsRegexp {
		san, sanRegexp, what = "", identity, "an identity matching "+strconv.Quote(identity)
	}
	id, err := verify.NewShortCertificateIdentity(issuer, "", san, sanRegexp)
	if err != nil {
		return Trust{}, fmt.Errorf("trusting %s: %w", what, err)
	}
	return Trust{material: material, identity: &id, describe: what + " from issuer " + strconv.Quote(issuer)}, nil
}

// String says what is trusted: "the public key", or `identity "…" from issuer "…"`.
func (t Trust) String() string {
	if t.describe == "" {
		return "nothing"
	}
	return t.describe
}

// Keyless reports whether t trusts a certificate identity rather than a key.
func (t Trust) Keyless() bool { return t.identity != nil }

// verifier is the sigstore-go verifier and the policy option (key, or certificate identity) for t.
func (t Trust) verifier() (*verify.Verifier, verify.PolicyOption, error) {
	switch {
	case t.identity != nil:
		v, err := verify.NewVerifier(t.material, verify.WithTransparencyLog(1), verify.WithObserverTimestamps(1))
		if err != nil {
			return nil, nil, fmt.Errorf("making the verifier: %w", err)
		}
		return v, verify.WithCertificateIdentity(*t.identity), nil
	case t.key != nil:
		v, err := keyVerifier(t.key)
		if err != nil {
			return nil, nil, err
		}
		return v, verify.WithKey(), nil
	}
	return nil, nil, ErrNoTrust
}

// TrustedRoot reads the trusted material keyless verification checks certificates and log entries
// against: the trusted_root.json at path (what `cosign trusted-root create` writes, or a private
// Sigstore's), or, with path "", the Sigstore public-good trusted root, fetched and checked
// through Sigstore's TUF repository (cached under ~/.sigstore): that needs the network.
func TrustedRoot(path string) (root.TrustedMaterial, error) {
	if path != "" {
		tr, err := root.NewTrustedRootFromPath(path)
		if err != nil {
			return nil, fmt.Errorf("reading the trusted root %s: %w", path, err)
		}
		return tr, nil
	}
	tr, err := root.FetchTrustedRoot()
	if err != nil {
		return nil, fmt.Errorf("fetching the Sigstore public-good trusted root through TUF (needs the network; or pass a trusted_root.json file): %w", err)
	}
	return tr, nil
}
