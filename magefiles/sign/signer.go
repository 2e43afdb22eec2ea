// Package sign signs in-toto statements (an artifact's signature, SBOM and provenance) into
// Sigstore bundles and keeps them beside the artifact in its OCI registry, in the layout cosign v3
// reads by default: one referrer manifest per bundle (artifactType
// application/vnd.dev.sigstore.bundle.v0.3+json, subject = the artifact), found through the OCI
// referrers API, or through the referrers tag schema (tag sha256-<hex>) where the registry has no
// referrers API; there, in key mode, cosign's legacy sha256-<hex>.sig and .att tags are written
// too (legacy.go). Verify checks the bundles with sigstore-go; cosign checks them with
//
//	cosign verify --key pub.pem --insecure-ignore-tlog=true <image@digest>
//	cosign verify-attestation --key pub.pem --insecure-ignore-tlog=true --type slsaprovenance1 <image@digest>
//	cosign verify-attestation --key pub.pem --insecure-ignore-tlog=true --type cyclonedx <image@digest>
//
// (plus --allow-http-registry for a plain-HTTP registry). Key mode records no transparency log
// entry, hence --insecure-ignore-tlog; keyless mode (NewKeylessSigner) does.
package sign

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"google.golang.org/protobuf/encoding/protojson"
)

// InTotoPayloadType is the DSSE payload type of an in-toto statement.
const InTotoPayloadType = "application/vnd.in-toto+json"

// Signer signs in-toto statements into Sigstore bundles (v0.3, DSSE envelope).
type Signer struct {
	keypair sgsign.Keypair
	opts    sgsign.BundleOptions
	// identity names the signer in the referrer's annotations (the key hint, or "keyless", or
	// "keyless:<certificate identity>" with WithIdentity).
	identity string
	// wantIdentity is the certificate identity WithIdentity requires ("" any).
	wantIdentity string
	// wantIssuer and material are what Registry.Missing verifies a keyless signer's bundles
	// with (WithIssuer, WithTrustedMaterial); material is fetched on first need when not given.
	wantIssuer string
	mu         sync.Mutex
	material   root.TrustedMaterial
}

// errNoIdentity: a keyless signer without WithIdentity cannot tell its bundles from others'.
var errNoIdentity = errors.New("a keyless signer without an expected identity cannot tell its bundles from another's")

// keylessTrust is what a keyless signer's own bundles verify with: its expected identity and
// issuer, on its trusted material (the Sigstore public-good root, fetched once, by default).
func (s *Signer) keylessTrust() (Trust, error) {
	if s.wantIdentity == "" {
		return Trust{}, errNoIdentity
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.material == nil {
		m, err := TrustedRoot("")
		if err != nil {
			return Trust{}, fmt.Errorf("assessing what is attached: %w", err)
		}
		s.material = m
	}
	return IdentityTrust(s.material, s.wantIssuer, s.wantIdentity, false)
}

// ErrWrongIdentity: the certificate authority certified another identity than WithIdentity's.
var ErrWrongIdentity = errors.New("the certificate names another identity")

// checkIdentity checks that a keyless bundle's certificate names s.wantIdentity.
func (s *Signer) checkIdentity(b *protobundle.Bundle) error {
	if s.wantIdentity == "" {
		return nil
	}
	raw := b.GetVerificationMaterial().GetCertificate().GetRawBytes()
	cert, err := x509.ParseCertificate(raw)
	if err != nil {
		return fmt.Errorf("reading the signing certificate: %w", err)
	}
	sum, err := certificate.SummarizeCertificate(cert)
	if err != nil {
		return fmt.Errorf("reading the signing certificate: %w", err)
	}
	if sum.SubjectAlternativeName != s.wantIdentity {
		return fmt.Errorf("%w: %q, want %q", ErrWrongIdentity, sum.SubjectAlternativeName, s.wantIdentity)
	}
	return nil
}

// ErrBadKey is returned (wrapped) when a private key cannot be used. Its message never contains
// the key.
var ErrBadKey = errors.New("unusable signing key")

// NewKeySigner signs with a PEM private key given as bytes: PKCS#8 ("PRIVATE KEY": ECDSA P-256 or
// P-384, RSA, Ed25519), SEC 1 ("EC PRIVATE KEY") or PKCS#1 ("RSA PRIVATE KEY"), unencrypted. The
// key stays in memory; it is never written, printed or put in an error.
func NewKeySigner(pemKey []byte) (*Signer, error) {
	priv, err := parsePrivateKey(pemKey)
	if err != nil {
		return nil, err
	}
	return keySigner(priv)
}

// ErrNoPrivateKey: a signer made by NewPublicKeySigner was asked to sign.
var ErrNoPrivateKey = errors.New("this signer has the public key only: it assesses what the key attached, and cannot sign")

// NewPublicKeySigner is the signer of the private key whose public key is publicKeyPEM, for
// assessing only: Registry.Missing finds what that key attached (as NewKeySigner's signer would),
// while signing fails with ErrNoPrivateKey. releasePlan uses it on a machine without the key.
func NewPublicKeySigner(publicKeyPEM []byte) (*Signer, error) {
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(publicKeyPEM)
	if err != nil {
		return nil, fmt.Errorf("%w: reading the public key: %v", ErrBadKey, err)
	}
	return keySigner(publicOnly{pub})
}

// keySigner signs with priv; its identity is the hint of its public key.
func keySigner(priv crypto.Signer) (*Signer, error) {
	details, err := signature.GetDefaultAlgorithmDetails(priv.Public())
	if err != nil {
		return nil, fmt.Errorf("%w: no signing algorithm for its type (%T)", ErrBadKey, priv.Public())
	}
	der, err := x509.MarshalPKIXPublicKey(priv.Public())
	if err != nil {
		return nil, fmt.Errorf("%w: encoding its public key: %v", ErrBadKey, err)
	}
	sum := sha256.Sum256(der)
	hint := base64.StdEncoding.EncodeToString(sum[:])
	return &Signer{keypair: &keyPair{priv: priv, alg: details, hint: []byte(hint)}, identity: "key:" + hint}, nil
}

// publicOnly is a crypto.Signer without its private half: it cannot sign.
type publicOnly struct{ pub crypto.PublicKey }

func (p publicOnly) Public() crypto.PublicKey { return p.pub }
func (p publicOnly) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, ErrNoPrivateKey
}

func parsePrivateKey(pemKey []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(pemKey)
	if block == nil {
		return nil, fmt.Errorf("%w: no PEM block found", ErrBadKey)
	}
	var key any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("%w: PEM block type %q is not an unencrypted private key", ErrBadKey, block.Type)
	}
	if err != nil {
		// The parse errors of crypto/x509 describe the structure, never the key material.
		return nil, fmt.Errorf("%w: parsing the %s block: %v", ErrBadKey, block.Type, err)
	}
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		return k, nil
	case *rsa.PrivateKey:
		return k, nil
	case ed25519.PrivateKey:
		return k, nil
	default:
		return nil, fmt.Errorf("%w: unsupported key type %T", ErrBadKey, key)
	}
}

// KeylessOption configures NewKeylessSigner.
type KeylessOption func(*keylessConfig)

type keylessConfig struct {
	fulcio, rekor string
	transport     http.RoundTripper
	certs         sgsign.CertificateProvider
	tlog          sgsign.Transparency
	keypair       sgsign.Keypair
	identity      string
	issuer        string
	material      root.TrustedMaterial
}

// GitHubActionsIssuer is the OIDC issuer of GitHub Actions' ID tokens.
const GitHubActionsIssuer = "https://token.actions.githubusercontent.com"

// WithIssuer sets the OIDC issuer the certificates name, which Registry.Missing requires of this
// signer's bundles. Default: GitHubActionsIssuer.
func WithIssuer(issuer string) KeylessOption { return func(c *keylessConfig) { c.issuer = issuer } }

// WithTrustedMaterial sets the trusted root (certificate authorities, transparency logs)
// Registry.Missing verifies this signer's bundles against. Default: the Sigstore public-good
// trusted root, fetched through its TUF repository on first need (TrustedRoot("")).
func WithTrustedMaterial(m root.TrustedMaterial) KeylessOption {
	return func(c *keylessConfig) { c.material = m }
}

// WithIdentity sets the identity the certificates must name (their subject alternative name;
// under GitHub Actions the workflow, attest.GitHubActions.BuilderID): a bundle whose certificate
// names another is an error, not attached, and Registry.Missing counts a keyless bundle as this
// signer's only when its certificate, chaining to the trusted root (WithTrustedMaterial), names
// this identity and the issuer (WithIssuer): a bundle by another workflow, another repository's,
// or one only annotated as ours, does not count. Default "": any identity is signed with, and
// Missing counts no keyless bundle as this signer's.
func WithIdentity(identity string) KeylessOption {
	return func(c *keylessConfig) { c.identity = identity }
}

// WithFulcio sets the Fulcio (certificate authority) URL. Default: https://fulcio.sigstore.dev.
func WithFulcio(u string) KeylessOption { return func(c *keylessConfig) { c.fulcio = u } }

// WithRekor sets the Rekor (transparency log) URL. Default: https://rekor.sigstore.dev.
func WithRekor(u string) KeylessOption { return func(c *keylessConfig) { c.rekor = u } }

// WithKeylessTransport sets the HTTP transport to Fulcio and Rekor. Default: http.DefaultTransport.
func WithKeylessTransport(rt http.RoundTripper) KeylessOption {
	return func(c *keylessConfig) { c.transport = rt }
}

// WithCertificateProvider sets what certifies the signing key for the ID token instead of Fulcio
// at WithFulcio's URL (a private certificate authority; tests use a virtual Fulcio). Default:
// Fulcio.
func WithCertificateProvider(p sgsign.CertificateProvider) KeylessOption {
	return func(c *keylessConfig) { c.certs = p }
}

// WithTransparency sets the transparency log each signature is recorded in instead of Rekor at
// WithRekor's URL (e.g. sgsign.NewRekor with a client of a private log). Default: Rekor.
func WithTransparency(t sgsign.Transparency) KeylessOption {
	return func(c *keylessConfig) { c.tlog = t }
}

// WithKeypair sets the signing key the certificate is made for (e.g. one held by a KMS). Default:
// a fresh ECDSA P-256 key in memory, for this signer only.
func WithKeypair(kp sgsign.Keypair) KeylessOption {
	return func(c *keylessConfig) { c.keypair = kp }
}

// NewKeylessSigner signs with a fresh key per bundle, certified by Fulcio for the identity in
// idToken (an OIDC token with audience "sigstore"), and records each signature in Rekor. Under
// GitHub Actions the workflow needs `permissions: id-token: write`; get the token with
// GitHubIDToken. Verifiers then check the workflow identity instead of a key, e.g.
//
//	cosign verify --certificate-identity-regexp '^https://github.com/OWNER/REPO/.github/workflows/' \
//	  --certificate-oidc-issuer https://token.actions.githubusercontent.com IMAGE@DIGEST
//
// The token is a secret: it is sent to Fulcio only, never printed.
func NewKeylessSigner(idToken string, opts ...KeylessOption) (*Signer, error) {
	if idToken == "" {
		return nil, fmt.Errorf("keyless signing: %w: empty ID token", ErrBadKey)
	}
	c := keylessConfig{fulcio: "https://fulcio.sigstore.dev", rekor: "https://rekor.sigstore.dev", issuer: GitHubActionsIssuer}
	for _, o := range opts {
		o(&c)
	}
	kp := c.keypair
	if kp == nil {
		var err error
		if kp, err = sgsign.NewEphemeralKeypair(nil); err != nil {
			return nil, fmt.Errorf("keyless signing: making a key: %w", err)
		}
	}
	if c.certs == nil {
		c.certs = sgsign.NewFulcio(&sgsign.FulcioOptions{BaseURL: c.fulcio, Transport: c.transport})
	}
	if c.tlog == nil {
		c.tlog = sgsign.NewRekor(&sgsign.RekorOptions{BaseURL: c.rekor})
	}
	identity := "keyless"
	if c.identity != "" {
		identity = "keyless:" + c.identity
	}
	return &Signer{
		keypair: kp,
		opts: sgsign.BundleOptions{
			CertificateProvider:        c.certs,
			CertificateProviderOptions: &sgsign.CertificateProviderOptions{IDToken: idToken},
			TransparencyLogs:           []sgsign.Transparency{c.tlog},
		},
		identity:     identity,
		wantIdentity: c.identity,
		wantIssuer:   c.issuer,
		material:     c.material,
	}, nil
}

// GitHubIDToken asks GitHub Actions for an OIDC token with audience "sigstore". requestURL and
// requestToken are the runner's ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN
// (set only when the job has `permissions: id-token: write`). client nil means
// http.DefaultClient.
func GitHubIDToken(ctx context.Context, client *http.Client, requestURL, requestToken string) (string, error) {
	if requestURL == "" || requestToken == "" {
		return "", fmt.Errorf("requesting a GitHub OIDC token: %w", ErrNoIDToken)
	}
	if client == nil {
		client = http.DefaultClient
	}
	u, err := url.Parse(requestURL)
	if err != nil {
		return "", fmt.Errorf("requesting a GitHub OIDC token: parsing the request URL: %w", err)
	}
	q := u.Query()
	q.Set("audience", "sigstore")
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", fmt.Errorf("requesting a GitHub OIDC token: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+requestToken)
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("requesting a GitHub OIDC token: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("requesting a GitHub OIDC token: status %d", resp.StatusCode)
	}
	var body struct {
		Value string `json:"value"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&body); err != nil || body.Value == "" {
		return "", fmt.Errorf("requesting a GitHub OIDC token: unreadable answer")
	}
	return body.Value, nil
}

// ErrNoIDToken means the job cannot get an OIDC token (no `id-token: write` permission).
var ErrNoIDToken = errors.New("no ID token request URL/token (does the job have permissions: id-token: write?)")

// PublicKeyPEM is the verification key of a key signer, PEM-encoded (what `cosign verify --key`
// takes). It is an error for a keyless signer.
func (s *Signer) PublicKeyPEM() ([]byte, error) {
	if s.opts.CertificateProvider != nil {
		return nil, errors.New("a keyless signer has no long-lived public key")
	}
	return cryptoutils.MarshalPublicKeyToPEM(s.keypair.GetPublicKey())
}

// SignStatement wraps an in-toto statement in a DSSE envelope, signs it, and returns the Sigstore
// bundle as JSON.
func (s *Signer) SignStatement(ctx context.Context, statement []byte) ([]byte, error) {
	opts := s.opts
	opts.Context = ctx
	b, err := sgsign.Bundle(&sgsign.DSSEData{Data: statement, PayloadType: InTotoPayloadType}, s.keypair, opts)
	if err != nil {
		return nil, fmt.Errorf("signing the statement: %w", err)
	}
	if err := s.checkIdentity(b); err != nil {
		return nil, fmt.Errorf("signing the statement: %w", err)
	}
	out, err := protojson.Marshal(b)
	if err != nil {
		return nil, fmt.Errorf("encoding the bundle: %w", err)
	}
	return out, nil
}

// keyPair is a sigstore-go Keypair over a long-lived private key.
type keyPair struct {
	priv crypto.Signer
	alg  signature.AlgorithmDetails
	hint []byte
}

var _ sgsign.Keypair = (*keyPair)(nil)

func (k *keyPair) GetHashAlgorithm() protocommon.HashAlgorithm { return k.alg.GetProtoHashType() }
func (k *keyPair) GetSigningAlgorithm() protocommon.PublicKeyDetails {
	return k.alg.GetSignatureAlgorithm()
}
func (k *keyPair) GetHint() []byte                { return k.hint }
func (k *keyPair) GetPublicKey() crypto.PublicKey { return k.priv.Public() }
func (k *keyPair) GetKeyAlgorithm() string {
	switch k.alg.GetKeyType() {
	case signature.ECDSA:
		return "ECDSA"
	case signature.RSA:
		return "RSA"
	case signature.ED25519:
		return "ED25519"
	}
	return ""
}

func (k *keyPair) GetPublicKeyPem() (string, error) {
	b, err := cryptoutils.MarshalPublicKeyToPEM(k.priv.Public())
	return string(b), err
}

// SignData signs data as sigstore-go's EphemeralKeypair does: over its digest, except for pure
// Ed25519, which hashes while signing.
func (k *keyPair) SignData(_ context.Context, data []byte) ([]byte, []byte, error) {
	hf := k.alg.GetHashType()
	toSign := data
	if hf != crypto.Hash(0) {
		h := hf.New()
		h.Write(data)
		toSign = h.Sum(nil)
	}
	sig, err := k.priv.Sign(rand.Reader, toSign, hf)
	if err != nil {
		return nil, nil, fmt.Errorf("signing: %w", err)
	}
	return sig, toSign, nil
}

// TokenWorkflowIdentity is the identity Fulcio certifies for a GitHub Actions OIDC token:
// serverURL + "/" + its job_workflow_ref claim (the workflow file that runs the job, which, for a
// reusable workflow, is the called one, not the caller named by GITHUB_WORKFLOW_REF). It reads
// the claim without checking the token's signature (Fulcio does that); ok is false when the token
// has no such claim. The token is a secret: nothing of it is returned but that claim.
func TokenWorkflowIdentity(idToken, serverURL string) (identity string, ok bool) {
	parts := strings.Split(idToken, ".")
	if len(parts) != 3 {
		return "", false
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return "", false
	}
	var claims struct {
		JobWorkflowRef string `json:"job_workflow_ref"`
	}
	if json.Unmarshal(payload, &claims) != nil || claims.JobWorkflowRef == "" {
		return "", false
	}
	return strings.TrimRight(serverURL, "/") + "/" + claims.JobWorkflowRef, true
}
