package sign

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/sigstore/sigstore/pkg/signature/payload"
)

// Cosign's legacy layout, which cosign v2 (and the admission controllers built on its libraries)
// read, and cosign v3 reads with --new-bundle-format=false: beside the artifact, the tag
// sha256-<hex>.sig holds an image manifest whose layers are simple-signing payloads, each with its
// signature in an annotation, and sha256-<hex>.att one whose layers are DSSE envelopes of in-toto
// statements. Where a registry has no referrers API, Attach writes this form too (key mode only).
const (
	// SimpleSigningMediaType is a .sig layer's media type: a cosign simple-signing payload
	// ({"critical":{"identity":…,"image":{"docker-manifest-digest":…},"type":…},"optional":null}).
	SimpleSigningMediaType = "application/vnd.dev.cosign.simplesigning.v1+json"
	// DSSEEnvelopeMediaType is an .att layer's media type: a DSSE envelope (JSON).
	DSSEEnvelopeMediaType = "application/vnd.dsse.envelope.v1+json"

	// AnnCosignSignature is a .sig layer's base64 signature over the layer's bytes ("" on an .att
	// layer, whose envelope carries its signature).
	AnnCosignSignature = "dev.cosignproject.cosign/signature"
	// AnnLegacyPredicateType is an .att layer's predicate type.
	AnnLegacyPredicateType = "predicateType"
)

// LegacySignatureTag is the tag of subject's cosign signatures, sha256-<hex>.sig in its repository.
func LegacySignatureTag(subject name.Digest) name.Tag { return legacyTag(subject, ".sig") }

// LegacyAttestationTag is the tag of subject's cosign attestations, sha256-<hex>.att.
func LegacyAttestationTag(subject name.Digest) name.Tag { return legacyTag(subject, ".att") }

func legacyTag(subject name.Digest, suffix string) name.Tag {
	return subject.Context().Tag(strings.Replace(subject.DigestStr(), ":", "-", 1) + suffix)
}

func legacyTagFor(subject name.Digest, predicateType string) name.Tag {
	if predicateType == SignaturePredicateType {
		return LegacySignatureTag(subject)
	}
	return LegacyAttestationTag(subject)
}

// ErrLegacyTagMoved is returned (wrapped) when another writer changed a .sig or .att tag between
// Attach's read and its write, three times in a row: nothing was written.
var ErrLegacyTagMoved = errors.New("the tag changed while appending to it")

// writesLegacy reports whether attestations signed by s are kept in the legacy form too: in key
// mode, on a registry without the referrers API. (Keyless legacy layers would need the Fulcio
// certificate and the Rekor bundle in their annotations; they are not written.)
func (r *Registry) writesLegacy(ctx context.Context, s *Signer, repo name.Repository) (bool, error) {
	if s.opts.CertificateProvider != nil {
		return false, nil
	}
	api, err := r.referrersAPI(ctx, repo)
	return !api, err
}

// probeDigest names no content: the referrers API answers it with an empty index (200), and a
// registry without the API with a 404, after which no sha256-000… tag is found either.
const probeDigest = "sha256:0000000000000000000000000000000000000000000000000000000000000000"

// referrersAPI reports whether repo's registry has the OCI referrers API, asking once per
// registry host for the Registry's lifetime (one or two requests: the API, then the fallback tag).
func (r *Registry) referrersAPI(ctx context.Context, repo name.Repository) (bool, error) {
	host := repo.RegistryStr()
	r.apiMu.Lock()
	defer r.apiMu.Unlock()
	if api, ok := r.api[host]; ok {
		return api, nil
	}
	idx, err := remote.Referrers(repo.Digest(probeDigest), remote.Reuse(r.puller), remote.WithContext(ctx))
	if err != nil {
		return false, fmt.Errorf("asking whether %s has the referrers API: %w", host, err)
	}
	// go-containerregistry answers empty.Index itself only when the API is absent and the fallback
	// tag is not found; an API's answer is the registry's index, even an empty one.
	api := idx != empty.Index
	if r.api == nil {
		r.api = map[string]bool{}
	}
	r.api[host] = api
	return api, nil
}

// referrerIndex is subject's referrers index: the API's answer, or, where the registry has no
// referrers API, the index tagged sha256-<hex> (empty when there is no such tag).
func (r *Registry) referrerIndex(ctx context.Context, subject name.Digest) (*v1.IndexManifest, error) {
	api, err := r.referrersAPI(ctx, subject.Context())
	if err != nil {
		return nil, fmt.Errorf("listing referrers of %s: %w", subject, err)
	}
	if api {
		idx, err := remote.Referrers(subject, remote.Reuse(r.puller), remote.WithContext(ctx))
		if err != nil {
			return nil, fmt.Errorf("listing referrers of %s: %w", subject, err)
		}
		im, err := idx.IndexManifest()
		if err != nil {
			return nil, fmt.Errorf("reading referrers of %s: %w", subject, err)
		}
		return im, nil
	}
	tag := subject.Context().Tag(strings.Replace(subject.DigestStr(), ":", "-", 1))
	desc, err := r.puller.Get(ctx, tag)
	if isNotFound(err) {
		return &v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing referrers of %s: reading the referrers tag: %w", subject, err)
	}
	im, err := v1.ParseIndexManifest(bytes.NewReader(desc.Manifest))
	if err != nil {
		return nil, fmt.Errorf("listing referrers of %s: reading the referrers tag: %w", subject, err)
	}
	return im, nil
}

func isNotFound(err error) bool {
	var terr *transport.Error
	return errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound
}

// legacyManifest reads the manifest at tag: nil, nil, nil when the tag does not exist.
func (r *Registry) legacyManifest(ctx context.Context, tag name.Tag) (*remote.Descriptor, *v1.Manifest, error) {
	desc, err := r.puller.Get(ctx, tag)
	if isNotFound(err) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("reading %s: %w", tag, err)
	}
	m, err := v1.ParseManifest(bytes.NewReader(desc.Manifest))
	if err != nil {
		return nil, nil, fmt.Errorf("reading %s: %w", tag, err)
	}
	return desc, m, nil
}

// missingLegacy adds to missing the wants whose bundle is attached but whose legacy form is not,
// where the legacy form is kept (writesLegacy). It reads the .sig tag when a signature is
// wanted and the .att tag when another attestation is: at most two requests.
func (r *Registry) missingLegacy(ctx context.Context, s *Signer, subject name.Digest, wants, missing []Attestation) ([]Attestation, error) {
	legacy, err := r.writesLegacy(ctx, s, subject.Context())
	if err != nil || !legacy {
		return missing, err
	}
	read := map[string]*v1.Manifest{}
	out := missing
	for _, w := range wants {
		if containsPredicate(missing, w.PredicateType) {
			continue
		}
		tag := legacyTagFor(subject, w.PredicateType)
		m, ok := read[tag.TagStr()]
		if !ok {
			if _, m, err = r.legacyManifest(ctx, tag); err != nil {
				return nil, fmt.Errorf("assessing the cosign legacy form of %s: %w", subject, err)
			}
			read[tag.TagStr()] = m
		}
		ok, err := r.hasOurLegacy(ctx, m, s, subject, w.PredicateType)
		if err != nil {
			return nil, err
		}
		if !ok {
			out = append(out, w)
		}
	}
	return out, nil
}

func containsPredicate(atts []Attestation, predicateType string) bool {
	for _, a := range atts {
		if a.PredicateType == predicateType {
			return true
		}
	}
	return false
}

// attachLegacy appends att's legacy form, signed by s, to subject's .sig or .att tag, unless a
// layer of that kind signed by s is there already (verified: hasOurLegacy). bundle is att's Sigstore bundle: an .att layer
// is its DSSE envelope (the same signature); a .sig layer is the simple-signing payload signed
// apart. Every layer already there is kept, and so are the manifest's annotations.
//
// The registry offers no conditional write: the tag is read, the new manifest built on it, then
// the tag is read again (a HEAD) right before the PUT, and the PUT is made only if the tag still
// has the digest first read; otherwise it starts again (three times at most, then an error
// wrapping ErrLegacyTagMoved). A writer that changes the tag between that HEAD and the PUT loses
// its change.
func (r *Registry) attachLegacy(ctx context.Context, s *Signer, subject name.Digest, att Attestation, bundle []byte) error {
	tag := legacyTagFor(subject, att.PredicateType)
	layer, ann, err := legacyLayer(ctx, s, subject, att, bundle)
	if err != nil {
		return fmt.Errorf("cosign legacy form in %s: %w", tag, err)
	}
	for range 3 {
		desc, m, err := r.legacyManifest(ctx, tag)
		if err != nil {
			return err
		}
		if ok, err := r.hasOurLegacy(ctx, m, s, subject, att.PredicateType); err != nil {
			return err
		} else if ok {
			return nil
		}
		var base v1.Image = mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
		if desc != nil {
			if base, err = desc.Image(); err != nil {
				return fmt.Errorf("reading %s: %w", tag, err)
			}
		}
		img, err := mutate.Append(base, mutate.Addendum{Layer: layer, Annotations: ann})
		if err != nil {
			return fmt.Errorf("appending to %s: %w", tag, err)
		}
		cfgRaw, err := img.RawConfigFile()
		if err != nil {
			return fmt.Errorf("appending to %s: %w", tag, err)
		}
		mt, err := img.MediaType()
		if err != nil {
			return fmt.Errorf("appending to %s: %w", tag, err)
		}
		cm, err := img.Manifest()
		if err != nil {
			return fmt.Errorf("appending to %s: %w", tag, err)
		}
		for _, l := range []v1.Layer{layer, static.NewLayer(cfgRaw, cm.Config.MediaType)} {
			if err := r.pusher.Upload(ctx, tag.Context(), l); err != nil {
				return fmt.Errorf("appending to %s: uploading: %w", tag, err)
			}
		}
		raw, err := img.RawManifest()
		if err != nil {
			return fmt.Errorf("appending to %s: %w", tag, err)
		}
		// Read again right before the write: go on only if nobody wrote the tag meanwhile.
		now, err := r.puller.Head(ctx, tag)
		switch {
		case isNotFound(err):
			if desc != nil {
				continue
			}
		case err != nil:
			return fmt.Errorf("re-reading %s: %w", tag, err)
		case desc == nil || now.Digest != desc.Digest:
			continue
		}
		if err := r.pusher.Put(ctx, tag, typedManifest{raw: raw, mt: mt}); err != nil {
			return fmt.Errorf("appending to %s: %w", tag, err)
		}
		if d, err := layer.Digest(); err == nil {
			r.remember(s, subject, d, "legacy "+att.PredicateType) // signed here, by this key
		}
		return nil
	}
	return fmt.Errorf("appending to %s: %w", tag, ErrLegacyTagMoved)
}

// legacyLayer is att's layer in the legacy form and its annotations.
func legacyLayer(ctx context.Context, s *Signer, subject name.Digest, att Attestation, bundle []byte) (v1.Layer, map[string]string, error) {
	if att.PredicateType == SignaturePredicateType {
		p, err := payload.Cosign{Image: subject}.MarshalJSON()
		if err != nil {
			return nil, nil, fmt.Errorf("encoding the simple-signing payload: %w", err)
		}
		sig, _, err := s.keypair.SignData(ctx, p)
		if err != nil {
			return nil, nil, fmt.Errorf("signing the simple-signing payload: %w", err)
		}
		return static.NewLayer(p, SimpleSigningMediaType), map[string]string{
			AnnCosignSignature: base64.StdEncoding.EncodeToString(sig),
			AnnSigner:          s.identity,
		}, nil
	}
	var b struct {
		Envelope *dsseEnvelope `json:"dsseEnvelope"`
	}
	if err := json.Unmarshal(bundle, &b); err != nil || b.Envelope == nil || len(b.Envelope.Signatures) == 0 {
		return nil, nil, fmt.Errorf("%w: the bundle has no signed DSSE envelope", ErrBundleUnreadable)
	}
	env, err := json.Marshal(b.Envelope)
	if err != nil {
		return nil, nil, fmt.Errorf("encoding the DSSE envelope: %w", err)
	}
	return static.NewLayer(env, DSSEEnvelopeMediaType), map[string]string{
		AnnLegacyPredicateType: att.PredicateType,
		AnnCosignSignature:     "",
		AnnSigner:              s.identity,
	}, nil
}

// dsseEnvelope is a DSSE envelope as JSON (the bundle's protobuf JSON uses the same names, with
// bytes in standard base64).
type dsseEnvelope struct {
	PayloadType string `json:"payloadType"`
	Payload     string `json:"payload"`
	Signatures  []struct {
		KeyID string `json:"keyid"`
		Sig   string `json:"sig"`
	} `json:"signatures"`
}

// typedManifest is a manifest's bytes and media type, as remote.Put takes them.
type typedManifest struct {
	raw []byte
	mt  types.MediaType
}

func (m typedManifest) RawManifest() ([]byte, error)        { return m.raw, nil }
func (m typedManifest) MediaType() (types.MediaType, error) { return m.mt, nil }
