package sign

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	"github.com/sigstore/sigstore/pkg/signature"
)

// hasOurLegacy reports whether m (a .sig or .att manifest of subject) has a layer of
// predicateType that s signed. As with the bundles (hasOurBundle), the layers' annotations only
// pick the candidates: a .sig layer counts when its signature annotation verifies over the layer
// (a simple-signing payload naming subject's digest) with s's key, an .att layer when its DSSE
// envelope verifies with the key and its statement is of predicateType about subject. What was
// verified is remembered (WithMemo). A registry error other than "not found" is returned.
func (r *Registry) hasOurLegacy(ctx context.Context, m *v1.Manifest, s *Signer, subject name.Digest, predicateType string) (bool, error) {
	if m == nil {
		return false, nil
	}
	var candidates []v1.Descriptor
	for _, l := range m.Layers {
		if l.Annotations[AnnSigner] != s.identity {
			continue
		}
		if (predicateType == SignaturePredicateType && l.MediaType == SimpleSigningMediaType) ||
			(predicateType != SignaturePredicateType && l.MediaType == DSSEEnvelopeMediaType && l.Annotations[AnnLegacyPredicateType] == predicateType) {
			candidates = append(candidates, l)
		}
	}
	for _, l := range candidates {
		if r.remembered(s, subject, l.Digest, "legacy "+predicateType) {
			return true, nil
		}
	}
	if len(candidates) == 0 {
		return false, nil
	}
	v, err := signature.LoadDefaultVerifier(s.keypair.GetPublicKey())
	if err != nil {
		return false, fmt.Errorf("loading the public key: %w", err)
	}
	for _, l := range candidates {
		data, err := r.blob(ctx, subject.Context().Digest(l.Digest.String()))
		if err != nil {
			if unavailable(err) {
				return false, fmt.Errorf("checking %s's cosign legacy %s layer %s: %w", subject, predicateType, l.Digest, err)
			}
			continue
		}
		if legacyLayerOK(v, l, data, subject, predicateType) {
			r.remember(s, subject, l.Digest, "legacy "+predicateType)
			return true, nil
		}
	}
	return false, nil
}

// legacyLayerOK checks one candidate layer's content and signature (see hasOurLegacy).
func legacyLayerOK(v signature.Verifier, l v1.Descriptor, data []byte, subject name.Digest, predicateType string) bool {
	if predicateType == SignaturePredicateType {
		sig, err := base64.StdEncoding.DecodeString(l.Annotations[AnnCosignSignature])
		if err != nil || v.VerifySignature(bytes.NewReader(sig), bytes.NewReader(data)) != nil {
			return false
		}
		var p struct {
			Critical struct {
				Image struct {
					Digest string `json:"docker-manifest-digest"`
				} `json:"image"`
			} `json:"critical"`
		}
		return json.Unmarshal(data, &p) == nil && p.Critical.Image.Digest == subject.DigestStr()
	}
	var env dsseEnvelope
	if json.Unmarshal(data, &env) != nil || env.PayloadType != InTotoPayloadType {
		return false
	}
	body, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		return false
	}
	signed := false
	for _, sg := range env.Signatures {
		sig, err := base64.StdEncoding.DecodeString(sg.Sig)
		if err == nil && v.VerifySignature(bytes.NewReader(sig), bytes.NewReader(dsse.PAE(env.PayloadType, body))) == nil {
			signed = true
			break
		}
	}
	if !signed {
		return false
	}
	var st struct {
		PredicateType string `json:"predicateType"`
		Subject       []struct {
			Digest map[string]string `json:"digest"`
		} `json:"subject"`
	}
	if json.Unmarshal(body, &st) != nil || st.PredicateType != predicateType {
		return false
	}
	for _, sub := range st.Subject {
		if "sha256:"+sub.Digest["sha256"] == subject.DigestStr() {
			return true
		}
	}
	return false
}

// blob reads a small blob (a legacy layer) by digest, at most 16 MiB.
func (r *Registry) blob(ctx context.Context, ref name.Digest) ([]byte, error) {
	l, err := r.puller.Layer(ctx, ref)
	if err != nil {
		return nil, err
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(io.LimitReader(rc, 16<<20))
}
