package sign_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/shiplane/shiplane/magefiles/publish"
	"github.com/shiplane/shiplane/magefiles/sign"
)

// referrersOf lists subject's referrer manifests (the referrers API, or the tag schema).
func referrersOf(t *testing.T, subject name.Digest) []v1.Descriptor {
	t.Helper()
	idx, err := remote.Referrers(subject, remote.WithContext(t.Context()))
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	return im.Manifests
}

// rawManifest is a manifest pushed as its exact bytes.
type rawManifest []byte

func (m rawManifest) RawManifest() ([]byte, error)        { return m, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }

// TestMissingDoesNotAdoptAForgedReferrer: someone who can write to the registry pushes a bundle
// referrer signed by their own key but annotated as the release key's (the annotations are not
// signed, and the key's hint in them is public). Missing does not count it: the attestation is
// attached again, and the artifact verifies.
func TestMissingDoesNotAdoptAForgedReferrer(t *testing.T) {
	for _, rk := range registries {
		t.Run(rk.name, func(t *testing.T) {
			f := setup(t, rk.start(t))
			ctx := t.Context()
			atts := f.attestations(t, commitA)
			// Ours: the signature, which shows the annotation the release key's bundles carry.
			if n := f.attachMissing(t, f.signer, atts[:1]); n != 1 {
				t.Fatalf("attached %d, want 1", n)
			}
			refs := referrersOf(t, f.subject)
			if len(refs) != 1 {
				t.Fatalf("%d referrers, want 1", len(refs))
			}
			ours := readManifest(t, f.subject.Context().Digest(refs[0].Digest.String()))
			// Theirs: a provenance for another commit, signed by their key, re-annotated as ours.
			intruder, err := sign.NewKeySigner(newKey(t))
			if err != nil {
				t.Fatal(err)
			}
			forged := f.attestations(t, commitB)[2]
			if err := f.reg.Attach(ctx, intruder, f.subject, forged); err != nil {
				t.Fatal(err)
			}
			var theirs *v1.Manifest
			for _, d := range referrersOf(t, f.subject) {
				if d.Digest != refs[0].Digest {
					theirs = readManifest(t, f.subject.Context().Digest(d.Digest.String()))
				}
			}
			if theirs == nil {
				t.Fatal("the intruder's referrer is not listed")
			}
			pushAnnotatedAs(t, f.subject, theirs, ours.Annotations[sign.AnnSigner])
			fresh := newRun(t, nil, nil) // another run: nothing remembered
			missing, err := fresh.Missing(ctx, f.signer, f.subject, atts)
			if err != nil {
				t.Fatal(err)
			}
			if len(missing) != 2 || missing[0].PredicateType != atts[1].PredicateType || missing[1].PredicateType != atts[2].PredicateType {
				t.Fatalf("Missing = %d attestations, want the SBOM and the provenance (the forged one is not ours)", len(missing))
			}
			for _, a := range missing {
				if err := fresh.Attach(ctx, f.signer, f.subject, a); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := fresh.Verify(ctx, f.ref, f.pub, sign.Expect{Digest: f.subject.DigestStr(), Commit: commitA, SBOM: true}); err != nil {
				t.Errorf("after attaching again: %v", err)
			}
		})
	}
}

// TestMissingAttachesAgainWhatWasDeleted: the release key's provenance referrer is deleted (on a
// registry without the referrers API its entry stays in the sha256-<hex> tag's index). A run that
// has not verified it before finds it missing and attaches it again.
func TestMissingAttachesAgainWhatWasDeleted(t *testing.T) {
	for _, rk := range registries {
		t.Run(rk.name, func(t *testing.T) {
			f := setup(t, rk.start(t))
			ctx := t.Context()
			atts := f.attestations(t, commitA)
			f.attachMissing(t, f.signer, atts)
			deleted := 0
			for _, d := range referrersOf(t, f.subject) {
				m := readManifest(t, f.subject.Context().Digest(d.Digest.String()))
				if m.Annotations[sign.AnnPredicateType] == atts[2].PredicateType {
					if err := remote.Delete(f.subject.Context().Digest(d.Digest.String()), remote.WithContext(ctx)); err != nil {
						t.Fatal(err)
					}
					deleted++
				}
			}
			if deleted != 1 {
				t.Fatalf("deleted %d provenance referrers, want 1", deleted)
			}
			missing, err := newRun(t, nil, nil).Missing(ctx, f.signer, f.subject, atts)
			if err != nil {
				t.Fatal(err)
			}
			if len(missing) != 1 || missing[0].PredicateType != atts[2].PredicateType {
				t.Fatalf("Missing = %d attestations, want the deleted provenance only", len(missing))
			}
		})
	}
}

// TestMissingRemembersWhatItVerified: a run whose Registry shares the memo (a folder, as the
// release keeps it) of the run that attached reads no bundle to assess; a run without it reads
// each bundle once (a blob GET), and both find nothing missing.
func TestMissingRemembersWhatItVerified(t *testing.T) {
	host := registries[0].start(t)
	dir := t.TempDir()
	first := setup(t, host)
	first.reg = newRun(t, first.count, publish.NewDigestMemo(dir))
	atts := first.attestations(t, commitA)
	if n := first.attachMissing(t, first.signer, atts); n != 3 {
		t.Fatalf("attached %d, want 3", n)
	}
	blobGets := func(c *countingTransport) int {
		n := 0
		for _, l := range c.log {
			if strings.HasPrefix(l, "GET ") && strings.Contains(l, "/blobs/") {
				n++
			}
		}
		return n
	}
	for _, tc := range []struct {
		name  string
		memo  bool
		blobs int
	}{{"the same memo", true, 0}, {"no memo", false, 3}} {
		t.Run(tc.name, func(t *testing.T) {
			var memo sign.Memo
			if tc.memo {
				memo = publish.NewDigestMemo(dir)
			}
			count := &countingTransport{next: http.DefaultTransport}
			missing, err := newRun(t, count, memo).Missing(t.Context(), first.signer, first.subject, atts)
			if err != nil || len(missing) != 0 {
				t.Fatalf("Missing = %d, %v; want none", len(missing), err)
			}
			if got := blobGets(count); got != tc.blobs {
				t.Errorf("%d bundle reads, want %d: %v", got, tc.blobs, count.log)
			}
		})
	}
}

// newRun is another run's Registry: through count (nil: uncounted), remembering in memo (nil:
// nothing from earlier runs).
func newRun(t *testing.T, count *countingTransport, memo sign.Memo) *sign.Registry {
	t.Helper()
	opts := []sign.Option{sign.WithInsecure()}
	if count != nil {
		opts = append(opts, sign.WithRemoteOptions(remote.WithTransport(count)))
	}
	if memo != nil {
		opts = append(opts, sign.WithMemo(memo))
	}
	r, err := sign.NewRegistry(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// pushAnnotatedAs pushes referrer manifest m of subject again, with its signer annotation set to
// signer: what anyone who can write to the registry can do (the annotations are not signed).
func pushAnnotatedAs(t *testing.T, subject name.Digest, m *v1.Manifest, signer string) {
	t.Helper()
	m.Annotations[sign.AnnSigner] = signer
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	h, _, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Put(subject.Context().Digest(h.String()), rawManifest(raw), remote.WithContext(t.Context())); err != nil {
		t.Fatal(err)
	}
}

func readManifest(t *testing.T, ref name.Digest) *v1.Manifest {
	t.Helper()
	desc, err := remote.Get(ref, remote.WithContext(t.Context()))
	if err != nil {
		t.Fatal(err)
	}
	m, err := v1.ParseManifest(bytes.NewReader(desc.Manifest))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestPublicKeySignerAssessesButCannotSign: the public key's signer finds what the private key
// attached, and signing with it fails with ErrNoPrivateKey.
func TestPublicKeySignerAssessesButCannotSign(t *testing.T) {
	f := setup(t, registries[0].start(t))
	atts := f.attestations(t, commitA)
	f.attachMissing(t, f.signer, atts[:2])
	assessor, err := sign.NewPublicKeySigner(f.pub)
	if err != nil {
		t.Fatal(err)
	}
	missing, err := newRun(t, nil, nil).Missing(t.Context(), assessor, f.subject, atts)
	if err != nil || len(missing) != 1 || missing[0].PredicateType != atts[2].PredicateType {
		t.Fatalf("Missing with the public key = %d, %v; want the provenance only", len(missing), err)
	}
	if err := f.reg.Attach(t.Context(), assessor, f.subject, atts[2]); !errors.Is(err, sign.ErrNoPrivateKey) {
		t.Errorf("Attach with the public key: %v, want ErrNoPrivateKey", err)
	}
	if _, err := sign.NewPublicKeySigner([]byte("not a key")); !errors.Is(err, sign.ErrBadKey) {
		t.Errorf("NewPublicKeySigner(garbage) = %v, want ErrBadKey", err)
	}
}
