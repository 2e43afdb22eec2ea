package sign_test

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/sigstore/sigstore/pkg/signature/payload"

	"github.com/shiplane/shiplane/magefiles/attest"
	"github.com/shiplane/shiplane/magefiles/registry/registrytest"
	"github.com/shiplane/shiplane/magefiles/sign"
	"github.com/shiplane/shiplane/magefiles/sign/signtest"
)

// appendForeignSignature appends to subject's .sig tag a layer another tool signed with priv (a
// cosign simple-signing payload, with an annotation of its own), as cosign v2 would; it returns
// the layer's descriptor as the manifest lists it.
func appendForeignSignature(t testing.TB, subject name.Digest, priv []byte, marker string) v1.Descriptor {
	t.Helper()
	return appendSignatureLayer(t, subject, priv, map[string]string{"example.com/foreign": marker})
}

// appendSignatureLayer appends to subject's .sig tag a simple-signing layer signed with priv,
// with the signature annotation and ann.
func appendSignatureLayer(t testing.TB, subject name.Digest, priv []byte, ann map[string]string) v1.Descriptor {
	t.Helper()
	block, _ := pem.Decode(priv)
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	p, err := payload.Cosign{Image: subject}.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(p)
	sig, err := ecdsa.SignASN1(rand.Reader, k.(*ecdsa.PrivateKey), sum[:])
	if err != nil {
		t.Fatal(err)
	}
	tag := sign.LegacySignatureTag(subject)
	var base v1.Image = mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err := remote.Image(tag)
	var terr *transport.Error
	switch {
	case err == nil:
		base = img
	case !errors.As(err, &terr) || terr.StatusCode != http.StatusNotFound:
		t.Fatal(err)
	}
	ann = maps.Clone(ann)
	ann[sign.AnnCosignSignature] = base64.StdEncoding.EncodeToString(sig)
	img, err = mutate.Append(base, mutate.Addendum{Layer: static.NewLayer(p, sign.SimpleSigningMediaType), Annotations: ann})
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img); err != nil {
		t.Fatal(err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	return m.Layers[len(m.Layers)-1]
}

func legacyLayers(t *testing.T, tag name.Tag) []v1.Descriptor {
	t.Helper()
	img, err := remote.Image(tag)
	if err != nil {
		t.Fatalf("reading %s: %v", tag, err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	return m.Layers
}

// TestFallbackLegacyTagsCosignReads: on a registry without the referrers API (the distribution
// registry), Attach also writes cosign's legacy form: the signature into sha256-<hex>.sig (kept
// beside a foreign signature already there), the SBOM and the provenance into sha256-<hex>.att.
// cosign v3 reads them with --new-bundle-format=false (the path cosign v2 and its admission
// controllers take), with our key and, for the foreign layer, with its own. A second run writes
// nothing; with the .att tag emptied, a run restores it without attaching a second bundle.
func TestFallbackLegacyTagsCosignReads(t *testing.T) {
	reg := registrytest.New(t)
	f := setup(t, reg.Host())
	otherPriv, otherPub := signtest.NewKey(t)
	foreign := appendForeignSignature(t, f.subject, otherPriv, "kept")

	if n := f.attachMissing(t, f.signer, f.attestations(t, commitA)); n != 3 {
		t.Fatalf("first run attached %d, want 3", n)
	}

	sig := legacyLayers(t, sign.LegacySignatureTag(f.subject))
	if len(sig) != 2 || sig[0].Digest != foreign.Digest || sig[0].Annotations["example.com/foreign"] != "kept" ||
		sig[0].Annotations[sign.AnnCosignSignature] != foreign.Annotations[sign.AnnCosignSignature] {
		t.Fatalf(".sig layers = %+v, want the foreign one kept first, then ours", sig)
	}
	if sig[1].MediaType != sign.SimpleSigningMediaType || sig[1].Annotations[sign.AnnCosignSignature] == "" {
		t.Errorf(".sig layer of ours = %+v", sig[1])
	}
	att := legacyLayers(t, sign.LegacyAttestationTag(f.subject))
	var preds []string
	for _, l := range att {
		if l.MediaType != sign.DSSEEnvelopeMediaType {
			t.Errorf(".att layer media type %s", l.MediaType)
		}
		preds = append(preds, l.Annotations[sign.AnnLegacyPredicateType])
	}
	if strings.Join(preds, " ") != attest.SBOMPredicateType+" "+attest.ProvenancePredicateType {
		t.Errorf(".att predicate types = %v", preds)
	}

	dir := t.TempDir()
	pub := filepath.Join(dir, "cosign.pub")
	other := filepath.Join(dir, "other.pub")
	if err := os.WriteFile(pub, f.pub, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(other, otherPub, 0o644); err != nil {
		t.Fatal(err)
	}
	image := f.subject.String()
	legacy := []string{"--insecure-ignore-tlog=true", "--allow-http-registry=true", "--new-bundle-format=false"}
	for _, args := range [][]string{
		append([]string{"verify", "--key", pub}, append(legacy, image)...),
		append([]string{"verify-attestation", "--key", pub, "--type", "slsaprovenance1"}, append(legacy, image)...),
		append([]string{"verify-attestation", "--key", pub, "--type", "cyclonedx"}, append(legacy, image)...),
		// The foreign signature is intact: its own key verifies it.
		append([]string{"verify", "--key", other}, append(legacy, image)...),
	} {
		out, err := cosign(t, args...)
		t.Logf("cosign %s:\n%s", args[0], firstLines(out, 6))
		if err != nil {
			t.Errorf("cosign %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}

	// A re-run (a fresh client, which asks again whether the registry has the referrers API)
	// writes nothing.
	f2 := *f
	f2.reg, _ = sign.NewRegistry(sign.WithInsecure())
	reg.Reset()
	if n := f2.attachMissing(t, f.signer, f.attestations(t, commitA)); n != 0 {
		t.Errorf("re-run attached %d, want 0", n)
	}
	if w := reg.Writes(); w != 0 {
		t.Errorf("re-run wrote %d times: %v", w, reg.Requests())
	}

	// The .att tag emptied (only the legacy form gone): a run appends the two statements again,
	// and pushes no second bundle.
	bundlesBefore := referrerCount(t, f)
	emptyAtt := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	if err := remote.Write(sign.LegacyAttestationTag(f.subject), emptyAtt); err != nil {
		t.Fatal(err)
	}
	// cosign's legacy path reads the .att tag, not the bundles: it now finds nothing to accept.
	if out, err := cosign(t, append([]string{"verify-attestation", "--key", pub, "--type", "cyclonedx"}, append(legacy, image)...)...); err == nil {
		t.Errorf("cosign verify-attestation --new-bundle-format=false accepted an empty .att tag\n%s", out)
	}
	if n := f.attachMissing(t, f.signer, f.attestations(t, commitA)); n != 2 {
		t.Errorf("after emptying .att, attached %d, want 2 (the SBOM and the provenance)", n)
	}
	if got := len(legacyLayers(t, sign.LegacyAttestationTag(f.subject))); got != 2 {
		t.Errorf(".att has %d layers, want 2", got)
	}
	if after := referrerCount(t, f); after != bundlesBefore {
		t.Errorf("bundle referrers: %d, then %d: a bundle was attached twice", bundlesBefore, after)
	}
}

// inHandler is a testing.TB for code run in an HTTP handler's goroutine, where FailNow must not
// be called: Fatal reports the failure and aborts the request instead.
type inHandler struct{ testing.TB }

func (h inHandler) Fatal(args ...any) {
	h.Error(args...)
	panic(http.ErrAbortHandler)
}

func (h inHandler) Fatalf(format string, args ...any) {
	h.Errorf(format, args...)
	panic(http.ErrAbortHandler)
}

func referrerCount(t *testing.T, f *fixture) int {
	t.Helper()
	idx, err := remote.Referrers(f.subject)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	return len(im.Manifests)
}

// TestFallbackLegacyTagMovesBeforeTheWrite: another writer appends to the .sig tag between
// Attach's read and its write (injected on the re-read right before the PUT): Attach notices,
// reads again, and keeps both the earlier and the racing foreign layers.
func TestFallbackLegacyTagMovesBeforeTheWrite(t *testing.T) {
	var subject atomic.Pointer[name.Digest]
	var raced atomic.Bool
	otherPriv, _ := signtest.NewKey(t)
	reg := registrytest.New(t, registrytest.WithMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodHead && strings.HasSuffix(r.URL.Path, ".sig") && subject.Load() != nil && !raced.Swap(true) {
				// In the registry's handler goroutine: a failure is reported, and aborts this request.
				appendForeignSignature(inHandler{t}, *subject.Load(), otherPriv, "racing")
			}
			next.ServeHTTP(w, r)
		})
	}))
	f := setup(t, reg.Host())
	appendForeignSignature(t, f.subject, otherPriv, "earlier")
	subject.Store(&f.subject)
	if n := f.attachMissing(t, f.signer, f.attestations(t, commitA)[:1]); n != 1 {
		t.Fatalf("attached %d, want 1", n)
	}
	if !raced.Load() {
		t.Fatal("the race was not injected (no HEAD of the .sig tag before the write)")
	}
	var got []string
	for _, l := range legacyLayers(t, sign.LegacySignatureTag(f.subject)) {
		if m := l.Annotations["example.com/foreign"]; m != "" {
			got = append(got, m)
		} else if l.Annotations[sign.AnnCosignSignature] != "" {
			got = append(got, "ours")
		}
	}
	if strings.Join(got, " ") != "earlier racing ours" {
		t.Errorf(".sig layers: %v, want [earlier racing ours]", got)
	}
}

// TestFallbackNoLegacyTagsWithReferrersAPI: a registry with the referrers API gets the bundles
// only: no .sig or .att tag.
func TestFallbackNoLegacyTagsWithReferrersAPI(t *testing.T) {
	f := setup(t, registries[0].start(t))
	if n := f.attachMissing(t, f.signer, f.attestations(t, commitA)); n != 3 {
		t.Fatalf("attached %d, want 3", n)
	}
	for _, tag := range []name.Tag{sign.LegacySignatureTag(f.subject), sign.LegacyAttestationTag(f.subject)} {
		_, err := remote.Head(tag)
		var terr *transport.Error
		if !errors.As(err, &terr) || terr.StatusCode != http.StatusNotFound {
			t.Errorf("HEAD %s: %v, want a 404", tag, err)
		}
	}
}

// TestFallbackLegacyForgedLayerIsNotOurs: before the release, a writer to the registry puts in
// the .sig tag a layer signed by their key but annotated as the release key's (the annotation is
// not signed, and the key's hint is public). Attach does not take it for ours: it appends its own
// layer, keeping theirs, and a later run finds everything attached.
func TestFallbackLegacyForgedLayerIsNotOurs(t *testing.T) {
	reg := registrytest.New(t)
	f := setup(t, reg.Host())
	otherPriv, _ := signtest.NewKey(t)
	block, _ := pem.Decode(f.pub)
	sum := sha256.Sum256(block.Bytes)
	ours := "key:" + base64.StdEncoding.EncodeToString(sum[:])
	appendSignatureLayer(t, f.subject, otherPriv, map[string]string{sign.AnnSigner: ours})
	atts := f.attestations(t, commitA)
	if n := f.attachMissing(t, f.signer, atts); n != 3 {
		t.Fatalf("attached %d, want 3", n)
	}
	layers := legacyLayers(t, sign.LegacySignatureTag(f.subject))
	if len(layers) != 2 {
		t.Fatalf(".sig has %d layers, want the forged one kept and ours appended", len(layers))
	}
	if n := f.attachMissing(t, f.signer, atts); n != 0 {
		t.Errorf("re-run attached %d, want 0", n)
	}
	missing, err := newRun(t, nil, nil).Missing(t.Context(), f.signer, f.subject, atts)
	if err != nil || len(missing) != 0 {
		t.Errorf("a fresh run finds %d missing (%v), want none", len(missing), err)
	}
}
