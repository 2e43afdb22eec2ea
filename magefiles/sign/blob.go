package sign

import (
	"bytes"
	"context"
	"crypto"
	"errors"
	"fmt"

	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	sgsign "github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"google.golang.org/protobuf/encoding/protojson"
)

// Reasons VerifyBlob fails; its error wraps exactly one of them (errors.Is).
var (
	// ErrBundleUnreadable: the bundle is not a Sigstore bundle (bad JSON, unknown version).
	ErrBundleUnreadable = errors.New("unreadable signature bundle")
	// ErrPublicKeyUnusable: the public key PEM cannot be read or has no verification algorithm.
	ErrPublicKeyUnusable = errors.New("unusable public key")
	// ErrBlobSignature: the bundle's signature does not verify for these bytes and this key (the
	// blob was edited, or another key signed it).
	ErrBlobSignature = errors.New("signature does not match the data and the trusted signer")
)

// SignBlob signs data (a file's bytes, e.g. release-manifest.json) with s and returns the
// Sigstore bundle (v0.3, a message signature over the SHA-256 of data) as JSON: the
// `<file>.sigstore.json` a consumer checks with VerifyBlob, or with
//
//	cosign verify-blob --key pub.pem --bundle FILE.sigstore.json --insecure-ignore-tlog=true FILE
//
// Key mode records no transparency log entry; keyless mode (NewKeylessSigner) does. A pure
// Ed25519 key cannot sign blobs (a message signature is over a digest, which pure Ed25519 does
// not sign): the error wraps ErrBadKey.
func SignBlob(ctx context.Context, s *Signer, data []byte) ([]byte, error) {
	if kp, ok := s.keypair.(*keyPair); ok && kp.alg.GetHashType() == crypto.Hash(0) {
		return nil, fmt.Errorf("signing the blob: %w: a pure Ed25519 key signs no message digest; use an ECDSA or RSA key", ErrBadKey)
	}
	opts := s.opts
	opts.Context = ctx
	b, err := sgsign.Bundle(&sgsign.PlainData{Data: data}, s.keypair, opts)
	if err != nil {
		return nil, fmt.Errorf("signing the blob: %w", err)
	}
	if err := s.checkIdentity(b); err != nil {
		return nil, fmt.Errorf("signing the blob: %w", err)
	}
	out, err := protojson.Marshal(b)
	if err != nil {
		return nil, fmt.Errorf("encoding the blob's bundle: %w", err)
	}
	return out, nil
}

// VerifyBlob checks that bundleJSON (what SignBlob returned) is a signature over data by the key
// publicKeyPEM: VerifyBlobWith(bundleJSON, data, KeyTrust(publicKeyPEM)). It needs no network.
func VerifyBlob(bundleJSON, data, publicKeyPEM []byte) error {
	return VerifyBlobWith(bundleJSON, data, KeyTrust(publicKeyPEM))
}

// VerifyBlobWith checks that bundleJSON (what SignBlob returned) is a signature over data, signed
// as trust requires (a key, or a keyless identity with its certificate and transparency log
// entry). Its error wraps ErrBundleUnreadable, ErrPublicKeyUnusable (the trust's key cannot be
// used, or the trust is empty) or ErrBlobSignature (also: another key or identity signed it).
func VerifyBlobWith(bundleJSON, data []byte, trust Trust) error {
	v, trustPolicy, err := trust.verifier()
	if err != nil {
		return fmt.Errorf("verifying the blob: %w: %v", ErrPublicKeyUnusable, err)
	}
	var b sgbundle.Bundle
	if err := b.UnmarshalJSON(bundleJSON); err != nil {
		return fmt.Errorf("verifying the blob: %w: %v", ErrBundleUnreadable, err)
	}
	if _, err := v.Verify(&b, verify.NewPolicy(verify.WithArtifact(bytes.NewReader(data)), trustPolicy)); err != nil {
		return fmt.Errorf("verifying the blob: %w (trusted: %s): %v", ErrBlobSignature, trust, err)
	}
	return nil
}
