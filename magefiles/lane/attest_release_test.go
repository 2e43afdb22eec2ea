package lane_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/shiplane/shiplane/magefiles/attest"
	"github.com/shiplane/shiplane/magefiles/git/gittest"
	"github.com/shiplane/shiplane/magefiles/goal"
	"github.com/shiplane/shiplane/magefiles/lane"
	"github.com/shiplane/shiplane/magefiles/sign"
)

// TestReleaseAttachFaultResumes: the registry refuses every referrer manifest of one image
// (svc-01) during the first release, so its three attestation goals fail and the GitHub release,
// which waits for every attestation, is not published; the other artifacts' attestations are
// attached. The re-run, fault gone, attaches exactly svc-01's three, finds every other one
// attached, and publishes the release. Real registry in-process, real git; the GitHub API is the
// fake (githubtest).
func TestReleaseAttachFaultResumes(t *testing.T) {
	var armed atomic.Bool
	armed.Store(true)
	fault := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if armed.Load() && r.Method == http.MethodPut && strings.HasPrefix(r.URL.Path, "/v2/rel/svc-01/manifests/sha256:") {
				http.Error(w, "injected fault", http.StatusBadRequest)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	var first error
	f := newNoopReleaseWith(t, 4, 2, nil, noopOptions{registry: fault, firstRelease: &first})
	if first == nil {
		t.Fatalf("the first release succeeded despite the fault\n%s", f.out)
	}
	rep := readNoopReport(t, f)
	failed := map[string]bool{}
	for _, r := range rep.Results {
		if r.Status == goal.Failed {
			failed[r.Goal] = true
		}
		if strings.Contains(r.Goal, " attached ") && !strings.Contains(r.Goal, "/svc-01:") && r.Status != goal.NewlyAchieved {
			t.Errorf("first run: %s", r.Line())
		}
	}
	for _, what := range []string{"signature", "sbom", "provenance"} {
		if g := what + " attached " + f.imageRef("svc-01", "1.1.0"); !failed[g] {
			t.Errorf("first run: %s did not fail (failed: %v)", g, failed)
		}
	}
	if rels := f.gh.Releases(); len(rels) == 1 && !rels[0].Draft {
		t.Errorf("the release was published with an image unsigned")
	}

	armed.Store(false)
	f.reg.Reset()
	f.out.Reset()
	if err := lane.ReleaseAll(t.Context(), f.config(0)); err != nil {
		t.Fatalf("re-run: %v\n%s", err, f.out)
	}
	rep = readNoopReport(t, f)
	newly := 0
	for _, r := range rep.Results {
		if !strings.Contains(r.Goal, " attached ") {
			continue
		}
		mine := strings.Contains(r.Goal, "/svc-01:")
		switch {
		case mine && r.Status != goal.NewlyAchieved, !mine && r.Status != goal.AlreadyAchieved:
			t.Errorf("re-run: %s", r.Line())
		case mine:
			newly++
		}
	}
	if newly != 3 {
		t.Errorf("re-run attached %d of svc-01's attestations, want 3\n%s", newly, f.out)
	}
	if rels := f.gh.Releases(); len(rels) != 1 || rels[0].Draft || len(rels[0].Assets) != f.charts+3 {
		t.Errorf("after the re-run, GitHub holds %+v", rels)
	}
	// Only svc-01 got referrers written: its three manifests (and their blobs, and its tag schema).
	for _, q := range f.reg.Requests() {
		if q.Method == http.MethodPut && strings.Contains(q.Path, "/manifests/") && !strings.HasPrefix(q.Path, "/v2/rel/svc-01/") {
			t.Errorf("re-run wrote %s %s", q.Method, q.Path)
		}
	}
}

func readNoopReport(t *testing.T, f *noopRelease) goal.Report {
	t.Helper()
	var rep goal.Report
	data, err := os.ReadFile(f.report)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestReleaseRefusesWithoutTheSigningKey: releaseAll with SIGNING_KEY unset, with a key whose
// public key is not the committed one, or with no committed public key, refuses before any write
// (registry, GitHub, the remote's tags), with a *lane.SigningRefusal naming the fix; releasePlan
// without the key plans no attestation and says so in one line; `signing: none` plans none and
// says that nothing is signed.
func TestReleaseRefusesWithoutTheSigningKey(t *testing.T) {
	r := newReleaseRepoNoDocker(t, "shipsignrefuse")
	ctx := t.Context()
	if err := lane.TagRelease(ctx, r.config()); err != nil {
		t.Fatalf("tagRelease: %v\n%s", err, r.out)
	}
	key := r.env["SIGNING_KEY"]
	other, _ := newSigningKey(t)
	for _, tc := range []struct {
		name, key, want string
		setup           func()
	}{
		{"unset", "", "SIGNING_KEY is not set", nil},
		{"another key", other, "is not the one committed in deploy/signing.pub", nil},
		{"not a key", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "SIGNING_KEY: unusable signing key", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r.env["SIGNING_KEY"] = tc.key
			defer func() { r.env["SIGNING_KEY"] = key }()
			r.out.Reset()
			r.reg.Reset()
			r.gh.ResetCounts()
			tags := r.remoteTags(t)
			err := lane.ReleaseAll(ctx, r.config())
			var sr *lane.SigningRefusal
			if !errors.As(err, &sr) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "fix:") {
				t.Fatalf("releaseAll: %v, want a *lane.SigningRefusal saying %q\n%s", err, tc.want, r.out)
			}
			if r.reg.Writes() != 0 || r.gh.Writes() != 0 || r.remoteTags(t) != tags {
				t.Errorf("a refused release wrote: registry %d, GitHub %d", r.reg.Writes(), r.gh.Writes())
			}
			if tc.key != "" && strings.Contains(r.out.String(), strings.Split(tc.key, "\n")[1]) {
				t.Errorf("the key leaked into the output")
			}
		})
	}

	// releasePlan without the key: the plan a run with the key makes (its attestation steps
	// assessed with the committed public key), one line saying this machine cannot sign, and no
	// refusal.
	r.out.Reset()
	if err := lane.ReleasePlan(ctx, r.config()); err != nil {
		t.Fatalf("releasePlan with SIGNING_KEY: %v\n%s", err, r.out)
	}
	withKey := r.out.String()
	r.env["SIGNING_KEY"] = ""
	r.out.Reset()
	if err := lane.ReleasePlan(ctx, r.config()); err != nil {
		t.Fatalf("releasePlan without SIGNING_KEY: %v\n%s", err, r.out)
	}
	withoutKey := r.out.String()
	if strings.Count(withoutKey, "signing:") != 1 || !strings.Contains(withoutKey, "(assessed with the public key; this machine cannot sign them: SIGNING_KEY is not set)") {
		t.Errorf("releasePlan without SIGNING_KEY:\n%s", withoutKey)
	}
	steps := func(out string) []string {
		var keep []string
		for _, l := range strings.Split(out, "\n") {
			if !strings.HasPrefix(strings.TrimSpace(l), "signing:") {
				keep = append(keep, l)
			}
		}
		return keep
	}
	if a, b := steps(withKey), steps(withoutKey); !slices.Equal(a, b) {
		t.Errorf("releasePlan without SIGNING_KEY plans other steps than with it:\nwith:\n%s\nwithout:\n%s", withKey, withoutKey)
	}
	if !strings.Contains(withoutKey, "signature attached ") {
		t.Errorf("releasePlan without SIGNING_KEY lists no attestation:\n%s", withoutKey)
	}
	// No deploy/helm-keyring.gpg: no .prov, and one line says so.
	if out := r.out.String(); strings.Count(out, "helm provenance:") != 1 || !strings.Contains(out, "helm provenance: none (no deploy/helm-keyring.gpg committed)") {
		t.Errorf("releasePlan without a Helm keyring:\n%s", out)
	}
	// signing: none: one line saying nothing is signed, and releaseAll is not refused for it.
	r.env["SIGNING"] = "none"
	r.out.Reset()
	if err := lane.ReleasePlan(ctx, r.config()); err != nil {
		t.Fatalf("releasePlan with signing none: %v\n%s", err, r.out)
	}
	if out := r.out.String(); strings.Count(out, "signing:") != 1 || !strings.Contains(out, "signing: none") || strings.Contains(out, " attached ") {
		t.Errorf("releasePlan with signing none:\n%s", out)
	}
	r.env["SIGNING"] = ""
	r.env["SIGNING_KEY"] = key
	// With the key: the plan lists three attestations per image and two per chart.
	r.out.Reset()
	if err := lane.ReleasePlan(ctx, r.config()); err != nil {
		t.Fatalf("releasePlan: %v\n%s", err, r.out)
	}
	out := r.out.String()
	if n := strings.Count(out, "sbom attached "); n != 6 {
		t.Errorf("plan lists %d SBOM steps, want one per image (6)\n%s", n, out)
	}
	if n := strings.Count(out, "signature attached "); n != 6+6 {
		t.Errorf("plan lists %d signature steps, want one per image and chart (12)\n%s", n, out)
	}
}

// TestReleaseCrashResumesAttestations SIGKILLs a release child while it attaches attestations or
// uploads the manifest's signature bundle, runs releaseAll again in-process, and requires the
// state of a clean run: every image with exactly its three bundles and every chart its two (an
// attestation whose write was carried out before the kill is found, not attached again), the
// GitHub release published with its bundle asset, and verifyRelease passing. Real registry
// in-process and real git; the GitHub API is the fake (githubtest); the kill is made by the
// test's servers, never by production code.
func TestReleaseCrashResumesAttestations(t *testing.T) {
	for _, p := range []struct {
		name     string
		registry *requestKill
		github   *requestKill
	}{
		{name: "svc-01: before its first referrer is written", registry: &requestKill{match: referrerPut("/v2/rel/svc-01/"), nth: 1}},
		{name: "svc-01: its second referrer written, answer lost", registry: &requestKill{match: referrerPut("/v2/rel/svc-01/"), nth: 2, when: killAfter}},
		{name: "chart svc-00: its first referrer written, answer lost", registry: &requestKill{match: referrerPut("/v2/rel/charts/svc-00/"), nth: 1, when: killAfter}},
		{name: "the manifest's bundle: before its upload", github: &requestKill{match: func(r *http.Request) bool {
			return r.Method == http.MethodPost && r.URL.Query().Get("name") == "release-manifest.json.sigstore.json"
		}, nth: 1}},
	} {
		t.Run(p.name, func(t *testing.T) {
			k := &killSwitch{}
			var o noopOptions
			if p.registry != nil {
				o.registry = p.registry.middleware(k, p.name)
			}
			if p.github != nil {
				o.github = p.github.middleware(k, p.name)
			}
			var first error
			var out string
			o.firstRelease = &first
			o.runFirst = func(f *noopRelease) error {
				var err error
				out, err = runReleaseChild(releaseChildEnv(f.root, f.env, 0), k)
				var ce *childError
				if errors.As(err, &ce) {
					t.Fatalf("%v\n%s", err, out)
				}
				return err
			}
			f := newNoopReleaseWith(t, 2, 1, nil, o)
			if k.firedAt() == "" {
				t.Fatalf("the release finished (%v) without reaching the kill point:\n%s", first, out)
			}
			if rels := f.gh.Releases(); len(rels) == 1 && !rels[0].Draft {
				t.Fatalf("the killed release was published:\n%s", out)
			}
			t.Logf("killed at %s; the child said:\n%s", k.firedAt(), lastLines(out, 6))
			removeStaleLocks(t, f.root, f.origin)
			f.out.Reset()
			if err := lane.ReleaseAll(t.Context(), f.config(0)); err != nil {
				t.Fatalf("resumed run: %v\n%s", err, f.out)
			}
			rels := f.gh.Releases()
			if len(rels) != 1 || rels[0].Draft || len(rels[0].Assets) != f.charts+3 {
				t.Fatalf("after the resumed run, GitHub holds %+v", rels)
			}
			var m lane.ReleaseManifest
			for _, a := range rels[0].Assets {
				if a.Name == "release-manifest.json" {
					if err := json.Unmarshal(a.Content, &m); err != nil {
						t.Fatal(err)
					}
				}
			}
			pub, err := os.ReadFile(filepath.Join(f.root, "deploy", "signing.pub"))
			if err != nil {
				t.Fatal(err)
			}
			checkAttestations(t, pub, m.Commit, m) // exactly 3 bundles per image, 2 per chart, each valid
			t.Logf("resumed run:\n%s", lastLines(f.out.String(), 8))
			r := &released{f: f, clone: f.root, manifest: m}
			if _, progress, err := r.verify(t); err != nil {
				t.Errorf("verifyRelease after the resumed run: %v\n%s", err, progress)
			}
		})
	}
}

// referrerPut matches the PUT of a Sigstore bundle referrer manifest under the repository path
// prefix (e.g. /v2/rel/svc-01/); the body is read and put back.
func referrerPut(prefix string) func(*http.Request) bool {
	return func(r *http.Request) bool {
		if r.Method != http.MethodPut || !strings.HasPrefix(r.URL.Path, prefix+"manifests/sha256:") {
			return false
		}
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		return bytes.Contains(body, []byte(`"artifactType":"`+sign.BundleMediaType+`"`))
	}
}

// lastLines is the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// TestReleasePlanWithoutTheKeyAssessesWithThePublicKey: after a signed release, releasePlan on a
// machine without SIGNING_KEY (a developer's) finds every attestation attached, by verifying
// each bundle with the committed public key, and plans nothing to attach or publish; after one
// provenance is replaced by a bundle of another key carrying the release key's annotations, it
// plans exactly that one attestation again.
func TestReleasePlanWithoutTheKeyAssessesWithThePublicKey(t *testing.T) {
	f := newNoopRelease(t, 2, 1)
	ctx := t.Context()
	f.env["SIGNING_KEY"] = ""
	f.env["SHIPLANE_CACHE"] = t.TempDir() // a developer's machine: nothing verified before
	plan := func() string {
		t.Helper()
		f.out.Reset()
		if err := lane.ReleasePlan(ctx, f.config(0)); err != nil {
			t.Fatalf("releasePlan without SIGNING_KEY: %v\n%s", err, f.out)
		}
		return f.out.String()
	}
	attestations := 3*f.images + 2*f.charts
	out := plan()
	if want := fmt.Sprintf("signing: 0 attestation(s) to attach, %d attached (assessed with the public key; this machine cannot sign them: SIGNING_KEY is not set)", attestations); !strings.Contains(out, want) {
		t.Fatalf("releasePlan after the release:\n%s\nwant %q", out, want)
	}
	if strings.Contains(out, ": publish (") {
		t.Errorf("releasePlan after the release plans a publication:\n%s", out)
	}

	// A forged provenance on svc-01: another key's bundle, annotated as the release key's.
	r := &released{f: f, clone: f.root}
	if err := json.Unmarshal(r.asset(t, "release-manifest.json"), &r.manifest); err != nil {
		t.Fatal(err)
	}
	_, subject := r.image(t)
	forger, err := sign.NewKeySigner(newPEMKey(t))
	if err != nil {
		t.Fatal(err)
	}
	prov, err := attest.Provenance(attest.ProvenanceInput{SubjectName: subject.Context().Name(), SubjectDigest: subject.DigestStr(),
		BuildType: attest.BuildTypeImage, SourceRepository: "https://example.com/bench", Commit: r.manifest.Commit, Component: "svc-01", Version: "1.1.0"})
	if err != nil {
		t.Fatal(err)
	}
	r.replaceAttestation(t, subject, attest.ProvenancePredicateType, forger, prov)
	reannotate(t, subject, attest.ProvenancePredicateType, releaseIdentity(t, subject))
	f.env["SHIPLANE_CACHE"] = t.TempDir()
	out = plan()
	t.Logf("releasePlan after the forgery:\n%s", out)
	if want := fmt.Sprintf("signing: 1 attestation(s) to attach, %d attached", attestations-1); !strings.Contains(out, want) {
		t.Errorf("releasePlan after the forgery:\n%s\nwant %q", out, want)
	}
	if !strings.Contains(out, "provenance attached "+f.imageRef("svc-01", "1.1.0")+": publish") {
		t.Errorf("releasePlan does not plan svc-01's provenance again:\n%s", out)
	}
}

// releaseIdentity is the signer annotation of subject's signature referrer (the release key's).
func releaseIdentity(t *testing.T, subject name.Digest) string {
	t.Helper()
	for _, m := range referrerManifests(t, subject) {
		if m.Annotations[sign.AnnPredicateType] == sign.SignaturePredicateType {
			return m.Annotations[sign.AnnSigner]
		}
	}
	t.Fatalf("%s has no signature referrer", subject)
	return ""
}

// reannotate re-pushes subject's referrer of predicateType with its signer annotation set to
// identity, and deletes the original: what anyone who can write to the registry can do.
func reannotate(t *testing.T, subject name.Digest, predicateType, identity string) {
	t.Helper()
	ctx := t.Context()
	for _, m := range referrerManifests(t, subject) {
		if m.Annotations[sign.AnnPredicateType] != predicateType {
			continue
		}
		old := m.digest
		m.Annotations[sign.AnnSigner] = identity
		raw, err := json.Marshal(m.Manifest)
		if err != nil {
			t.Fatal(err)
		}
		h, _, err := v1.SHA256(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Put(subject.Context().Digest(h.String()), rawOCIManifest(raw), remote.WithContext(ctx)); err != nil {
			t.Fatal(err)
		}
		if err := remote.Delete(subject.Context().Digest(old.String()), remote.WithContext(ctx)); err != nil {
			t.Fatal(err)
		}
		pruneTagSchema(t, subject, func(d v1.Descriptor) bool { return d.Digest == old })
		return
	}
	t.Fatalf("%s has no %s referrer", subject, predicateType)
}

type referrerManifest struct {
	*v1.Manifest
	digest v1.Hash
}

func referrerManifests(t *testing.T, subject name.Digest) []referrerManifest {
	t.Helper()
	idx, err := remote.Referrers(subject, remote.WithContext(t.Context()))
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var out []referrerManifest
	for _, d := range im.Manifests {
		desc, err := remote.Get(subject.Context().Digest(d.Digest.String()), remote.WithContext(t.Context()))
		if err != nil {
			t.Fatal(err)
		}
		m, err := v1.ParseManifest(bytes.NewReader(desc.Manifest))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, referrerManifest{m, d.Digest})
	}
	return out
}

// rawOCIManifest is an OCI image manifest pushed as its exact bytes.
type rawOCIManifest []byte

func (m rawOCIManifest) RawManifest() ([]byte, error)        { return m, nil }
func (m rawOCIManifest) MediaType() (types.MediaType, error) { return types.OCIManifestSchema1, nil }

// TestSigningTurnedOnLaterNamesTheBuildCommit: release v1.0.0 is published unsigned (signing:
// none); v1.0.1, with signing on, finds every component published with the same inputs and
// attaches their attestations. Their provenance names the commit they were built from (their
// component tags', v1.0.0's), not v1.0.1's, and v1.0.1 verifies.
func TestSigningTurnedOnLaterNamesTheBuildCommit(t *testing.T) {
	var first error
	f := newNoopReleaseWith(t, 2, 1, nil, noopOptions{env: map[string]string{"SIGNING": "none"}, firstRelease: &first})
	if first != nil {
		t.Fatalf("the unsigned release: %v\n%s", first, f.out)
	}
	ctx := t.Context()
	built := strings.TrimSpace(gittest.Git(t, f.root, "rev-parse", "HEAD"))
	delete(f.env, "SIGNING")
	if err := lane.Bump(ctx, f.config(0), "platform", "patch"); err != nil {
		t.Fatal(err)
	}
	gittest.Git(t, f.root, "commit", "-qam", "platform 1.0.1")
	gittest.Git(t, f.root, "push", "-q", "origin", "HEAD:refs/heads/main")
	f.out.Reset()
	if err := lane.TagRelease(ctx, f.config(0)); err != nil {
		t.Fatalf("tagRelease v1.0.1: %v\n%s", err, f.out)
	}
	f.out.Reset()
	if err := lane.ReleaseAll(ctx, f.config(0)); err != nil {
		t.Fatalf("releaseAll v1.0.1: %v\n%s", err, f.out)
	}
	var out, prog bytes.Buffer
	env := map[string]string{"GITHUB_REPOSITORY": "bench/shiplane", "GITHUB_API_URL": f.ghURL, "GITHUB_TOKEN": noopToken}
	cfg := lane.Config{Root: f.root, Getenv: func(k string) string { return env[k] }, Stdout: &out, Progress: &prog}
	if err := lane.VerifyRelease(ctx, cfg, "v1.0.1", lane.VerifyOptions{}); err != nil {
		t.Fatalf("verifyRelease v1.0.1: %v\n%s", err, prog.String())
	}
	if !strings.Contains(prog.String(), "provenance for "+built) {
		t.Errorf("no artifact's provenance names the build commit %s:\n%s", built, prog.String())
	}
}
