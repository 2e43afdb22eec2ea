package sign

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/shiplane/shiplane/magefiles/attest"
)

// Media types and annotations of a bundle referrer, as cosign v3 writes them.
const (
	// BundleMediaType is the referrer's artifactType and its one layer's media type.
	BundleMediaType = "application/vnd.dev.sigstore.bundle.v0.3+json"
	// EmptyConfigMediaType is the OCI empty descriptor's media type (config "{}").
	EmptyConfigMediaType = "application/vnd.oci.empty.v1+json"

	AnnBundleContent = "dev.sigstore.bundle.content"       // "dsse-envelope"
	AnnPredicateType = "dev.sigstore.bundle.predicateType" // the statement's predicate type
	// AnnSigner names who signed (the key's hint, "key:<base64 sha256 of the public key>", or
	// "keyless"); Missing matches on it. It is not signed: Verify trusts only the bundle.
	AnnSigner = "dev.shiplane.signer"
)

// SignaturePredicateType is the predicate type cosign v3 signs an image with (an in-toto statement
// about the digest with an empty predicate).
const SignaturePredicateType = "https://sigstore.dev/cosign/sign/v1"

// Attestation is one statement to attach to an artifact.
type Attestation struct {
	PredicateType string
	// Statement is the in-toto statement, JSON.
	Statement []byte
}

// SignatureAttestation is the signature of subject itself: an in-toto statement about its
// digest with predicate type SignaturePredicateType, as cosign v3's `sign` makes.
func SignatureAttestation(subject name.Digest) (Attestation, error) {
	st, err := attest.Statement(subject.Context().Name(), subject.DigestStr(), SignaturePredicateType, []byte("{}"))
	if err != nil {
		return Attestation{}, fmt.Errorf("signature statement for %s: %w", subject, err)
	}
	return Attestation{PredicateType: SignaturePredicateType, Statement: st}, nil
}

// Option configures NewRegistry.
type Option func(*Registry)

// WithRemoteOptions sets go-containerregistry options for every request (a transport, a user
// agent). Default: credentials from the Docker config keychain (authn.DefaultKeychain).
func WithRemoteOptions(opts ...remote.Option) Option {
	return func(r *Registry) { r.ropts = append(r.ropts, opts...) }
}

// WithInsecure allows plain-HTTP registries. Default: HTTPS only (localhost excepted, as
// go-containerregistry does).
func WithInsecure() Option { return func(r *Registry) { r.nopts = append(r.nopts, name.Insecure) } }

// Registry attaches and verifies bundles in OCI registries. Its connections (and their auth
// handshakes) are reused across calls.
type Registry struct {
	ropts  []remote.Option
	nopts  []name.Option
	puller *remote.Puller
	pusher *remote.Pusher

	apiMu sync.Mutex
	api   map[string]bool // registry host → it has the referrers API (referrersAPI)

	// memo and seen remember the bundle referrers verified as a signer's (ours.go).
	memo Memo
	seen memMemo
}

// NewRegistry returns a Registry.
func NewRegistry(opts ...Option) (*Registry, error) {
	r := &Registry{}
	for _, o := range opts {
		o(r)
	}
	if len(r.ropts) == 0 {
		r.ropts = []remote.Option{remote.WithAuthFromKeychain(authn.DefaultKeychain)}
	}
	var err error
	if r.puller, err = remote.NewPuller(r.ropts...); err != nil {
		return nil, fmt.Errorf("registry client: %w", err)
	}
	if r.pusher, err = remote.NewPusher(r.ropts...); err != nil {
		return nil, fmt.Errorf("registry client: %w", err)
	}
	return r, nil
}

// ParseDigest parses "repo@sha256:…" with the registry's name options (plain HTTP allowed
// under WithInsecure).
func (r *Registry) ParseDigest(ref string) (name.Digest, error) {
	d, err := name.NewDigest(ref, r.nopts...)
	if err != nil {
		return name.Digest{}, fmt.Errorf("parsing %q: %w", ref, err)
	}
	return d, nil
}

// Resolve returns ref (a tag or a digest reference) pinned to the digest the registry holds.
func (r *Registry) Resolve(ctx context.Context, ref string) (name.Digest, error) {
	parsed, err := name.ParseReference(ref, r.nopts...)
	if err != nil {
		return name.Digest{}, fmt.Errorf("parsing %q: %w", ref, err)
	}
	if d, ok := parsed.(name.Digest); ok {
		return d, nil
	}
	desc, err := r.puller.Head(ctx, parsed)
	if err != nil {
		return name.Digest{}, fmt.Errorf("resolving %s: %w", ref, err)
	}
	return parsed.Context().Digest(desc.Digest.String()), nil
}

// referrer is one bundle referrer of a subject, with the manifest annotations that say what it is.
type referrer struct {
	digest      v1.Hash
	annotations map[string]string
}

// bundleReferrers lists subject's bundle referrers: one request (the referrers API, or the tag
// schema where the registry has no API; see referrerIndex), plus one manifest read for each bundle referrer whose index entry
// carries no annotations (the tag schema's entries, as go-containerregistry writes them, and
// go-containerregistry's in-process registry's answers do not).
func (r *Registry) bundleReferrers(ctx context.Context, subject name.Digest) ([]referrer, error) {
	im, err := r.referrerIndex(ctx, subject)
	if err != nil {
		return nil, err
	}
	var out []referrer
	for _, d := range im.Manifests {
		// A registry that does not copy the manifest's artifactType into the index entry gives
		// the config's media type instead (go-containerregistry's registry does).
		if d.ArtifactType != BundleMediaType && d.ArtifactType != EmptyConfigMediaType {
			continue
		}
		ann := d.Annotations
		if ann[AnnPredicateType] == "" || d.ArtifactType != BundleMediaType {
			m, err := r.manifest(ctx, subject.Context().Digest(d.Digest.String()))
			if err != nil {
				return nil, err
			}
			if m.ArtifactType != BundleMediaType {
				continue
			}
			ann = m.Annotations
		}
		out = append(out, referrer{digest: d.Digest, annotations: ann})
	}
	return out, nil
}

func (r *Registry) manifest(ctx context.Context, ref name.Digest) (*v1.Manifest, error) {
	desc, err := r.puller.Get(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", ref, err)
	}
	m, err := v1.ParseManifest(bytes.NewReader(desc.Manifest))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", ref, err)
	}
	return m, nil
}

// Missing is the assess step: which of wants the signer has not attached to subject yet. A
// want counts as attached when a bundle referrer of subject has its predicate type and the
// signer's identity (a re-run with a rebuilt statement, e.g. another run id, attaches nothing)
// and, for a key signer, its bundle verifies with the signer's key (see hasOurBundle; verified
// once per referrer, then remembered: WithMemo),
// and, where the legacy form is kept too (key mode, no referrers API: see attachLegacy), when
// the .sig or .att tag has a layer of that kind signed by the signer. It costs one referrers
// request (see bundleReferrers), plus the .sig and .att reads where the legacy form is kept,
// plus, once per registry host, the question whether it has the referrers API.
func (r *Registry) Missing(ctx context.Context, s *Signer, subject name.Digest, wants []Attestation) ([]Attestation, error) {
	refs, err := r.bundleReferrers(ctx, subject)
	if err != nil {
		return nil, err
	}
	var missing []Attestation
	for _, w := range wants {
		ok, err := r.hasOurBundle(ctx, s, subject, refs, w.PredicateType)
		if err != nil {
			return nil, err
		}
		if !ok {
			missing = append(missing, w)
		}
	}
	return r.missingLegacy(ctx, s, subject, wants, missing)
}

// Attach signs att with s and pushes the bundle as a referrer of subject: the bundle layer, the
// empty config, and the manifest (with the referrers tag schema updated where the registry has
// no referrers API). Where the registry has no referrers API and s is a key signer, it first
// appends the legacy form to the .sig or .att tag (attachLegacy), and pushes the bundle only if
// s has none of that kind attached yet (a re-run after a failure between the two writes adds
// only what is missing). Otherwise it does not check whether att is attached already: call
// Missing first.
func (r *Registry) Attach(ctx context.Context, s *Signer, subject name.Digest, att Attestation) error {
	desc, err := r.puller.Head(ctx, subject)
	if err != nil {
		return fmt.Errorf("attaching %s to %s: reading the subject: %w", att.PredicateType, subject, err)
	}
	bundle, err := s.SignStatement(ctx, att.Statement)
	if err != nil {
		return fmt.Errorf("attaching %s to %s: %w", att.PredicateType, subject, err)
	}
	if legacy, err := r.writesLegacy(ctx, s, subject.Context()); err != nil {
		return fmt.Errorf("attaching %s to %s: %w", att.PredicateType, subject, err)
	} else if legacy {
		if err := r.attachLegacy(ctx, s, subject, att, bundle); err != nil {
			return fmt.Errorf("attaching %s to %s: %w", att.PredicateType, subject, err)
		}
		refs, err := r.bundleReferrers(ctx, subject)
		if err != nil {
			return fmt.Errorf("attaching %s to %s: %w", att.PredicateType, subject, err)
		}
		if ok, err := r.hasOurBundle(ctx, s, subject, refs, att.PredicateType); err != nil {
			return fmt.Errorf("attaching %s to %s: %w", att.PredicateType, subject, err)
		} else if ok {
			return nil
		}
	}
	repo := subject.Context()
	layer := static.NewLayer(bundle, BundleMediaType)
	config := static.NewLayer([]byte("{}"), EmptyConfigMediaType)
	for _, l := range []v1.Layer{config, layer} {
		if err := r.pusher.Upload(ctx, repo, l); err != nil {
			return fmt.Errorf("attaching %s to %s: uploading: %w", att.PredicateType, subject, err)
		}
	}
	ld, err := partial(layer)
	if err != nil {
		return err
	}
	cd, err := partial(config)
	if err != nil {
		return err
	}
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		ArtifactType:  BundleMediaType,
		Config:        cd,
		Layers:        []v1.Descriptor{ld},
		Subject:       &v1.Descriptor{MediaType: desc.MediaType, Digest: desc.Digest, Size: desc.Size},
		Annotations: map[string]string{
			AnnBundleContent: "dsse-envelope",
			AnnPredicateType: att.PredicateType,
			AnnSigner:        s.identity,
		},
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("attaching %s to %s: encoding the manifest: %w", att.PredicateType, subject, err)
	}
	h, _, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	if err := r.pusher.Put(ctx, repo.Digest(h.String()), rawManifest(raw)); err != nil {
		return fmt.Errorf("attaching %s to %s: pushing the referrer: %w", att.PredicateType, subject, err)
	}
	if s.opts.CertificateProvider == nil || s.wantIdentity != "" {
		r.remember(s, subject, h, att.PredicateType) // signed here, by this key or identity
	}
	if err := r.annotateTagSchema(ctx, subject, h, m.Annotations); err != nil {
		return fmt.Errorf("attaching %s to %s: %w", att.PredicateType, subject, err)
	}
	return nil
}

// annotateTagSchema copies the referrer's annotations into its entry of the referrers tag
// schema's index (sha256-<hex>), which go-containerregistry writes without them, so that
// Missing reads one index instead of every referrer manifest. Where the registry has the
// referrers API there is no such tag (one GET, 404) and nothing to do.
func (r *Registry) annotateTagSchema(ctx context.Context, subject name.Digest, referrer v1.Hash, ann map[string]string) error {
	tag := subject.Context().Tag(strings.Replace(subject.DigestStr(), ":", "-", 1))
	desc, err := r.puller.Get(ctx, tag)
	var terr *transport.Error
	if errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the referrers tag %s: %w", tag, err)
	}
	if desc.MediaType != types.OCIImageIndex {
		return nil // not a referrers index: leave it alone
	}
	var idx v1.IndexManifest
	if err := json.Unmarshal(desc.Manifest, &idx); err != nil {
		return fmt.Errorf("reading the referrers tag %s: %w", tag, err)
	}
	changed := false
	for i, d := range idx.Manifests {
		if d.Digest == referrer && len(d.Annotations) == 0 {
			idx.Manifests[i].Annotations = ann
			changed = true
		}
	}
	if !changed {
		return nil
	}
	raw, err := json.Marshal(idx)
	if err != nil {
		return fmt.Errorf("encoding the referrers tag %s: %w", tag, err)
	}
	if err := r.pusher.Put(ctx, tag, rawIndex(raw)); err != nil {
		return fmt.Errorf("annotating the referrers tag %s: %w", tag, err)
	}
	return nil
}

// rawIndex is an OCI image index's bytes, as remote.Put takes them.
type rawIndex []byte

func (m rawIndex) RawManifest() ([]byte, error)        { return m, nil }
func (m rawIndex) MediaType() (types.MediaType, error) { return types.OCIImageIndex, nil }

func partial(l v1.Layer) (v1.Descriptor, error) {
	d, err := l.Digest()
	if err != nil {
		return v1.Descriptor{}, err
	}
	sz, err := l.Size()
	if err != nil {
		return v1.Descriptor{}, err
	}
	mt, err := l.MediaType()
	if err != nil {
		return v1.Descriptor{}, err
	}
	return v1.Descriptor{MediaType: mt, Digest: d, Size: sz}, nil
}

// rawManifest is an OCI image manifest's bytes, as remote.Put takes them.
type rawManifest []byte

func (m rawManifest) RawManifest() ([]byte, error)        { return m, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }
