package sign

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/shiplane/shiplane/magefiles/attest"
)

// Check names what Verify checks.
type Check string

// The checks, in the order Verify reports them.
const (
	CheckDigest     Check = "digest"
	CheckSignature  Check = "signature"
	CheckSBOM       Check = "sbom"
	CheckProvenance Check = "provenance"
)

// Reasons a check fails; a VerifyError wraps one of them (errors.Is).
var (
	// ErrMissing: no bundle of that kind verifies against the trust (none attached, or only ones
	// with a bad signature, by another key or identity, or about another digest).
	ErrMissing = errors.New("missing or not signed by the trusted signer")
	// ErrCommitMismatch: the provenance names another commit than the expected one.
	ErrCommitMismatch = errors.New("provenance commit differs")
	// ErrDigestMismatch: the reference resolves to another digest than the expected one.
	ErrDigestMismatch = errors.New("digest differs")
)

// VerifyError is one failed check of one artifact.
type VerifyError struct {
	Artifact string // the reference verified, e.g. registry/core:1.0.0
	Check    Check
	Err      error
}

func (e *VerifyError) Error() string {
	return fmt.Sprintf("%s: %s: %v", e.Artifact, e.Check, e.Err)
}

func (e *VerifyError) Unwrap() error { return e.Err }

// Expect is what Verify requires beyond valid signatures.
type Expect struct {
	// Digest the reference must resolve to ("sha256:…"). Default "": any.
	Digest string
	// Commit the provenance must name. Default "": any (but a provenance must be present).
	Commit string
	// SBOM requires an SBOM attestation (images have one; charts do not). Default false.
	SBOM bool
}

// Verified is what Verify found valid.
type Verified struct {
	Digest     name.Digest
	Provenance *attest.ProvenanceSummary
	// SBOM is the verified in-toto statement carrying the SBOM (nil unless Expect.SBOM).
	SBOM []byte
}

// Verify checks ref against the public key publicKeyPEM: VerifyWith(ctx, ref,
// KeyTrust(publicKeyPEM), want).
func (r *Registry) Verify(ctx context.Context, ref string, publicKeyPEM []byte, want Expect) (*Verified, error) {
	return r.VerifyWith(ctx, ref, KeyTrust(publicKeyPEM), want)
}

// VerifyWith checks ref (a tag or digest reference) against trust (a key, or a keyless identity):
// a signature over its digest, a provenance whose commit is want.Commit, and, with want.SBOM, an
// SBOM attestation, each a Sigstore bundle attached as a referrer, signed as trust requires and
// about this digest. Every failed check is a *VerifyError naming the artifact (several are
// joined); a missing one wraps ErrMissing and says what was trusted.
func (r *Registry) VerifyWith(ctx context.Context, ref string, trust Trust, want Expect) (*Verified, error) {
	fail := func(c Check, err error) error { return &VerifyError{Artifact: ref, Check: c, Err: err} }
	missing := fmt.Errorf("%w (trusted: %s)", ErrMissing, trust)
	verifier, trustPolicy, err := trust.verifier()
	if err != nil {
		return nil, fmt.Errorf("verifying %s: %w", ref, err)
	}
	subject, err := r.Resolve(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("verifying %s: %w", ref, err)
	}
	if want.Digest != "" && subject.DigestStr() != want.Digest {
		return nil, fail(CheckDigest, fmt.Errorf("%w: %s, want %s", ErrDigestMismatch, subject.DigestStr(), want.Digest))
	}
	refs, err := r.bundleReferrers(ctx, subject)
	if err != nil {
		return nil, fmt.Errorf("verifying %s: %w", ref, err)
	}
	hexDigest, err := hex.DecodeString(strings.TrimPrefix(subject.DigestStr(), "sha256:"))
	if err != nil {
		return nil, fmt.Errorf("verifying %s: digest %s: %w", ref, subject.DigestStr(), err)
	}
	policy := verify.NewPolicy(verify.WithArtifactDigest("sha256", hexDigest), trustPolicy)

	out := &Verified{Digest: subject}
	var sigOK bool
	var provErrs []error
	for _, rf := range refs {
		statement, predicateType, err := r.verifyBundle(ctx, subject, rf, verifier, policy)
		if err != nil {
			continue // not signed as trusted, or not about this digest: it does not count
		}
		switch predicateType {
		case SignaturePredicateType:
			sigOK = true
		case attest.SBOMPredicateType:
			out.SBOM = statement
		case attest.ProvenancePredicateType:
			p, err := attest.ParseProvenance(statement)
			if err != nil {
				provErrs = append(provErrs, err)
				continue
			}
			if want.Commit != "" && p.Commit != want.Commit {
				provErrs = append(provErrs, fmt.Errorf("%w: %q, want %q", ErrCommitMismatch, p.Commit, want.Commit))
				continue
			}
			out.Provenance = p
		}
	}
	var errs []error
	if !sigOK {
		errs = append(errs, fail(CheckSignature, missing))
	}
	if want.SBOM && out.SBOM == nil {
		errs = append(errs, fail(CheckSBOM, missing))
	}
	if out.Provenance == nil {
		if len(provErrs) > 0 {
			errs = append(errs, fail(CheckProvenance, errors.Join(provErrs...)))
		} else {
			errs = append(errs, fail(CheckProvenance, missing))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// LayerDigest is the digest of the layer of mediaType in the manifest ref ("repo@sha256:…"; the
// registry checks the manifest against its digest): e.g. a Helm chart's archive layer.
func (r *Registry) LayerDigest(ctx context.Context, ref, mediaType string) (string, error) {
	d, err := r.ParseDigest(ref)
	if err != nil {
		return "", err
	}
	m, err := r.manifest(ctx, d)
	if err != nil {
		return "", err
	}
	for _, l := range m.Layers {
		if string(l.MediaType) == mediaType {
			return l.Digest.String(), nil
		}
	}
	return "", fmt.Errorf("%s has no %s layer", ref, mediaType)
}

// verifyBundle reads one bundle referrer and verifies it; it returns the verified statement and
// its predicate type (read from the signed statement, not from the annotations).
func (r *Registry) verifyBundle(ctx context.Context, subject name.Digest, rf referrer, v *verify.Verifier, policy verify.PolicyBuilder) ([]byte, string, error) {
	m, err := r.manifest(ctx, subject.Context().Digest(rf.digest.String()))
	if err != nil {
		return nil, "", err
	}
	if len(m.Layers) != 1 || m.Layers[0].MediaType != BundleMediaType {
		return nil, "", fmt.Errorf("referrer %s: not one bundle layer", rf.digest)
	}
	l, err := r.puller.Layer(ctx, subject.Context().Digest(m.Layers[0].Digest.String()))
	if err != nil {
		return nil, "", fmt.Errorf("reading bundle %s: %w", rf.digest, err)
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, "", fmt.Errorf("reading bundle %s: %w", rf.digest, err)
	}
	defer rc.Close()
	raw, err := io.ReadAll(io.LimitReader(rc, 16<<20))
	if err != nil {
		return nil, "", fmt.Errorf("reading bundle %s: %w", rf.digest, err)
	}
	var b sgbundle.Bundle
	if err := b.UnmarshalJSON(raw); err != nil {
		return nil, "", fmt.Errorf("reading bundle %s: %w", rf.digest, err)
	}
	res, err := v.Verify(&b, policy)
	if err != nil {
		return nil, "", fmt.Errorf("bundle %s: %w", rf.digest, err)
	}
	if res.Statement == nil {
		return nil, "", fmt.Errorf("bundle %s: no in-toto statement", rf.digest)
	}
	st, err := protojson.Marshal(res.Statement)
	if err != nil {
		return nil, "", fmt.Errorf("bundle %s: %w", rf.digest, err)
	}
	return st, res.Statement.GetPredicateType(), nil
}

// keyVerifier is a sigstore-go verifier that trusts exactly publicKeyPEM, with no transparency
// log or timestamp required (key mode).
func keyVerifier(publicKeyPEM []byte) (*verify.Verifier, error) {
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(publicKeyPEM)
	if err != nil {
		return nil, fmt.Errorf("reading the public key: %w", err)
	}
	sv, err := signature.LoadDefaultVerifier(pub)
	if err != nil {
		return nil, fmt.Errorf("loading the public key: %w", err)
	}
	key := root.NewExpiringKey(sv, time.Time{}, time.Time{})
	tm := root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) { return key, nil })
	v, err := verify.NewVerifier(tm, verify.WithNoObserverTimestamps())
	if err != nil {
		return nil, fmt.Errorf("making the verifier: %w", err)
	}
	return v, nil
}
