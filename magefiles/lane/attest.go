package lane

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/shiplane/shiplane/magefiles/attest"
	"github.com/shiplane/shiplane/magefiles/goal"
	"github.com/shiplane/shiplane/magefiles/manifest"
	"github.com/shiplane/shiplane/magefiles/plan"
	"github.com/shiplane/shiplane/magefiles/publish"
	"github.com/shiplane/shiplane/magefiles/published"
	"github.com/shiplane/shiplane/magefiles/registry"
	"github.com/shiplane/shiplane/magefiles/settings"
	"github.com/shiplane/shiplane/magefiles/sign"
)

// SigningRefusal is a release that cannot sign what it would publish: refused before any write,
// with what to do.
type SigningRefusal struct {
	// Problem says what is wrong; Fix how to correct it.
	Problem, Fix string
	// Err is the cause, where there is one (sign.ErrBadKey, sign.ErrNoIDToken, os.ErrNotExist).
	Err error
}

func (e *SigningRefusal) Error() string {
	return fmt.Sprintf("signing: %s; fix: %s", e.Problem, e.Fix)
}

func (e *SigningRefusal) Unwrap() error { return e.Err }

// releaseSigning is how one release signs: the mode, the signer, the registry client the
// attestations are assessed and attached through, and each artifact's shared assessment.
type releaseSigning struct {
	mode   string
	source string
	// refusal, when set, refuses the release before any write (no signer then).
	refusal error
	// absent is a signer this machine does not have (SIGNING_KEY unset, no OIDC token): it
	// refuses releaseAll, while releasePlan and tagRelease plan without attestations and say so.
	absent error
	signer *sign.Signer
	// assessor, when this machine cannot sign in key mode (absent), is the committed public key's
	// signer: it assesses what the key attached, so the plan shows the steps a run with the key
	// runs. nil otherwise.
	assessor *sign.Signer
	// pub is the committed public key (key mode); nil for keyless.
	pub   []byte
	reg   *sign.Registry
	ropts []remote.Option
	// memo remembers the bundles verified as the release key's (with the release's other
	// verified digests), so that a re-run on this machine reads only each artifact's referrers.
	memo sign.Memo

	mu        sync.Mutex
	artifacts map[string]*publish.AttestedArtifact
	// helm signs the charts' Helm .prov files (helm_prov.go), whatever the mode.
	helm *helmProv
}

// openSigning reads the signing mode and makes the signer: SIGNING_KEY (key mode, checked
// against the committed public key), or a GitHub Actions OIDC token (keyless). What cannot sign
// is a refusal, never an error that stops the plan: releasePlan shows it with the rest.
func (w *Workspace) openSigning(ctx context.Context) (*releaseSigning, error) {
	s := &releaseSigning{mode: w.Settings.Signing, source: w.Config.Settings, artifacts: map[string]*publish.AttestedArtifact{},
		memo: publish.NewDigestMemo(w.Env.memoDir())}
	hp, err := w.openHelmProv()
	if err != nil {
		return nil, err
	}
	s.helm = hp
	if s.mode == settings.SigningNone {
		return s, nil
	}
	var rt http.RoundTripper = http.DefaultTransport
	if w.Config.Observe.Registry != nil {
		rt = w.Config.Observe.Registry(rt)
	}
	insecure := w.Settings.Insecure
	host, _, _ := strings.Cut(w.Settings.Release.Registry, "/")
	chartHost, _, _ := strings.Cut(strings.TrimPrefix(w.Settings.Release.ChartRepo, "oci://"), "/")
	s.ropts = []remote.Option{remote.WithAuthFromKeychain(authn.DefaultKeychain),
		remote.WithTransport(registry.NewTransport(registry.WithInsecure(insecure), registry.WithTransport(rt)))}
	defer func() {
		if s.signer == nil || host == "" || host != chartHost {
			return
		}
		// One auth handshake for the registry, not one per repository: a transport that has done
		// it is used as it is by every repository's client (go-containerregistry's Wrapper).
		var nopts []name.Option
		if insecure(host) {
			nopts = append(nopts, name.Insecure)
		}
		reg, err := name.NewRegistry(host, nopts...)
		if err != nil {
			return
		}
		auth, err := authn.DefaultKeychain.Resolve(reg)
		if err != nil {
			return
		}
		tr, err := transport.NewWithContext(ctx, reg, auth, registry.NewTransport(registry.WithInsecure(insecure), registry.WithTransport(rt)), nil)
		if err != nil {
			return // the per-repository handshakes then report what is wrong
		}
		ropts := s.ropts
		s.ropts = []remote.Option{remote.WithAuth(auth), remote.WithTransport(tr)}
		if r, err := s.newRegistry(insecure(host)); err == nil {
			s.reg = r
		} else {
			s.ropts = ropts
		}
	}()
	reg, err := s.newRegistry(host != "" && insecure(host))
	if err != nil {
		return nil, err
	}
	s.reg = reg
	switch s.mode {
	case settings.SigningKeyless:
		tok, err := sign.GitHubIDToken(ctx, nil, w.Env.IDTokenURL, w.Env.IDTokenToken)
		if err != nil {
			s.absent = &SigningRefusal{Problem: "keyless signing needs the GitHub Actions OIDC token: " + err.Error(),
				Fix: "give the release job `permissions: id-token: write`, or set SIGNING_KEY and signing: key", Err: err}
			return s, nil
		}
		var kopts []sign.KeylessOption
		if r := w.Env.GitHubRun; r != nil {
			// What Fulcio certifies: the workflow file that runs the job (for a reusable workflow,
			// the called one), from the token; else the run's workflow. Missing then counts only
			// this workflow's bundles.
			id, ok := sign.TokenWorkflowIdentity(tok, r.ServerURL)
			if !ok {
				id = r.BuilderID()
			}
			kopts = append(kopts, sign.WithIdentity(id))
		}
		if s.signer, err = sign.NewKeylessSigner(tok, kopts...); err != nil {
			s.refusal = &SigningRefusal{Problem: err.Error(), Fix: "check the job's id-token permission", Err: err}
		}
		return s, nil
	}
	pubFile := w.Settings.SigningPublicKey
	if w.Env.SigningKey == "" {
		s.absent = &SigningRefusal{Problem: "SIGNING_KEY is not set",
			Fix: fmt.Sprintf("set SIGNING_KEY to the PEM private key whose public key is %s (RELEASING.md, Signing), or write signing: none in %s to release unsigned", pubFile, s.source)}
		if committed, err := os.ReadFile(w.Path(pubFile)); err == nil {
			s.assessor, _ = sign.NewPublicKeySigner(committed) // unreadable: nothing to assess with, said as unassessed
		}
		return s, nil
	}
	signer, err := sign.NewKeySigner([]byte(w.Env.SigningKey))
	if err != nil {
		s.refusal = &SigningRefusal{Problem: "SIGNING_KEY: " + err.Error(), Fix: "set SIGNING_KEY to an unencrypted PEM private key (ECDSA P-256 recommended)", Err: err}
		return s, nil
	}
	if _, err := sign.SignBlob(ctx, signer, []byte("probe")); err != nil {
		s.refusal = &SigningRefusal{Problem: "SIGNING_KEY cannot sign release-manifest.json: " + err.Error(), Fix: "use an ECDSA or RSA key", Err: err}
		return s, nil
	}
	mine, err := signer.PublicKeyPEM()
	if err != nil {
		return nil, err
	}
	committed, err := os.ReadFile(w.Path(pubFile))
	if err != nil {
		s.refusal = &SigningRefusal{Problem: fmt.Sprintf("the public key %s cannot be read (%v)", pubFile, errors.Unwrap(err)),
			Fix: fmt.Sprintf("commit SIGNING_KEY's public key as %s (RELEASING.md, Signing: cosign public-key, or openssl pkey -pubout)", pubFile), Err: err}
		return s, nil
	}
	if !samePublicKey(mine, committed) {
		s.refusal = &SigningRefusal{Problem: fmt.Sprintf("SIGNING_KEY's public key is not the one committed in %s", pubFile),
			Fix: fmt.Sprintf("set SIGNING_KEY to the private key of %s, or commit its public key there (and tell consumers: it is what verifyRelease checks)", pubFile)}
		return s, nil
	}
	s.signer, s.pub = signer, committed
	return s, nil
}

func (s *releaseSigning) newRegistry(insecure bool) (*sign.Registry, error) {
	opts := []sign.Option{sign.WithRemoteOptions(s.ropts...), sign.WithMemo(s.memo)}
	if insecure {
		opts = append(opts, sign.WithInsecure())
	}
	return sign.NewRegistry(opts...)
}

// samePublicKey compares two PEM public keys by their DER (comments and line endings aside).
func samePublicKey(a, b []byte) bool {
	der := func(p []byte) []byte {
		var out []byte
		for _, line := range strings.Split(strings.ReplaceAll(string(p), "\r", ""), "\n") {
			if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "-----") {
				out = append(out, line...)
			}
		}
		return out
	}
	da, db := der(a), der(b)
	return len(da) > 0 && bytes.Equal(da, db)
}

// planSigning is the plan's view of signing: none; or, for every image and chart the snapshot
// holds, one assessment of what the signer attached to its digest (one referrers request each).
// A release that cannot sign plans no attestation (its refusal says why).
func (s *releaseSigning) planSigning(ctx context.Context, in plan.Input, snap *published.Snapshot) *plan.Signing {
	if s == nil {
		return nil
	}
	if s.mode == settings.SigningNone {
		return &plan.Signing{None: true, Source: s.source}
	}
	var cannot string
	if s.absent != nil && s.refusal == nil {
		if s.assessor == nil {
			return &plan.Signing{Unassessed: s.absent.(*SigningRefusal).Problem}
		}
		cannot = s.absent.(*SigningRefusal).Problem
	}
	if s.assessing() == nil {
		return nil
	}
	type subject struct {
		ref, digest string
		kinds       []string
	}
	var subjects []subject
	seen := map[string]bool{}
	for _, c := range in.Components {
		for _, a := range c.Artifacts {
			var present bool
			var digest string
			switch a.Kind {
			case plan.Image:
				img, err := snap.Image(a.Ref)
				present, digest = err == nil && img.Present, img.Digest
			case plan.Chart:
				ch, err := snap.Chart(a.Repo, a.Name, a.Version)
				present, digest = err == nil && ch.Present, ch.Digest
			default:
				continue
			}
			if present && digest != "" && !seen[a.Ref] {
				seen[a.Ref] = true
				subjects = append(subjects, subject{a.Ref, digest, plan.AttestationsOf(a.Kind)})
			}
		}
	}
	sg := &plan.Signing{Attached: make(map[string]plan.Attached, len(subjects)), CannotSign: cannot}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for _, sub := range subjects {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			a := s.artifact(sub.ref, sub.kinds, func(context.Context) (string, error) { return sub.digest, nil })
			digest, have, err := a.Attached(ctx)
			ans := plan.Attached{Digest: digest, Err: err}
			for _, k := range sub.kinds {
				if have[k] {
					ans.Have = append(ans.Have, k)
				}
			}
			mu.Lock()
			sg.Attached[sub.ref] = ans
			mu.Unlock()
		}()
	}
	wg.Wait()
	return sg
}

// assessing is the signer whose attachments are assessed: the release's, or, on a machine that
// cannot sign, the committed public key's.
func (s *releaseSigning) assessing() *sign.Signer {
	if s.signer != nil {
		return s.signer
	}
	return s.assessor
}

// artifact is the one shared assessment of ref's attestations (made on first use).
func (s *releaseSigning) artifact(ref string, kinds []string, digest func(context.Context) (string, error)) *publish.AttestedArtifact {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a, ok := s.artifacts[ref]; ok {
		return a
	}
	a := publish.NewAttestedArtifact(ref, kinds, digest, s.reg, s.assessing())
	s.artifacts[ref] = a
	return a
}

// attestationGoal is the goal of one planned attestation step: it shares its artifact's
// assessment (the plan's, for an artifact found published) with the artifact's other goals.
func (g *publishGoals) attestationGoal(st plan.Step) goal.Goal {
	s := g.signing
	if s == nil || s.signer == nil {
		return failing{st.Goal, errors.New("the release has no signer: nothing can be attached")}
	}
	cache := g.images.(*publish.Caching)
	published := func(ctx context.Context) (string, error) {
		if st.Subject == plan.Image {
			d, ok, err := cache.Digest(ctx, st.Ref)
			if err != nil || !ok {
				return "", err
			}
			return d, nil
		}
		ch, err := cache.Chart(ctx, st.Repo, st.Name, st.Version)
		if err != nil || !ch.Present {
			return "", err
		}
		return ch.Digest, nil
	}
	a := s.artifact(st.Ref, plan.AttestationsOf(st.Subject), published)
	a.Published = published
	if st.Digest == "" {
		a.Seed("", nil) // published by this run: nothing of ours is attached yet
	}
	att := publish.AttestationAttached{Name: st.Goal, What: st.Predicate, Artifact: a, BeforeWrite: g.beforeWrite}
	switch st.Predicate {
	case plan.AttestSBOM:
		att.Statement = func(ctx context.Context, subject name.Digest) ([]byte, error) { return g.sbom(ctx, st, subject) }
	case plan.AttestProvenance:
		att.Statement = func(ctx context.Context, subject name.Digest) ([]byte, error) {
			return g.provenance(ctx, st, subject)
		}
	}
	return publish.NewAttestationAttached(att)
}

// sbom reads the pushed image (the first platform's, for an index) and makes its SBOM, listing
// the files of the layers that are not built here: those of the image it is built FROM, or every
// layer of an image that compiles no Go binary (the base).
func (g *publishGoals) sbom(ctx context.Context, st plan.Step, subject name.Digest) ([]byte, error) {
	w, s := g.w, g.signing
	opts := append([]remote.Option{remote.WithContext(ctx)}, s.ropts...)
	img, err := platformImage(subject, opts)
	if err != nil {
		return nil, err
	}
	c := w.Manifest.Component(st.Component)
	var layers []v1.Hash
	switch base := w.baseOf(c); {
	case base != nil:
		baseRef := g.imageRefOf(base.Name)
		d, ok, err := g.images.(*publish.Caching).Digest(ctx, baseRef)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("the base image %s is not in the registry", baseRef)
		}
		bref, err := s.reg.ParseDigest(repoOf(baseRef) + "@" + d)
		if err != nil {
			return nil, err
		}
		bimg, err := platformImage(bref, opts)
		if err != nil {
			return nil, err
		}
		bl, err := layerDigests(bimg)
		if err != nil {
			return nil, err
		}
		own, err := layerDigests(img)
		if err != nil {
			return nil, err
		}
		for _, h := range bl {
			if slices.Contains(own, h) { // the base's layers the image is made of
				layers = append(layers, h)
			}
		}
	case c != nil && c.Image != nil && c.Image.Main == "":
		if layers, err = layerDigests(img); err != nil {
			return nil, err
		}
	}
	st2, err := attest.SBOM(img, attest.WithName(subject.Context().Name()), attest.WithLayerFiles(layers...))
	if err != nil {
		return nil, err
	}
	// The statement is about the pushed digest (the index's for a multi-platform image).
	return attest.Statement(subject.Context().Name(), subject.DigestStr(), attest.SBOMPredicateType, st2)
}

func layerDigests(img v1.Image) ([]v1.Hash, error) {
	ls, err := img.Layers()
	if err != nil {
		return nil, err
	}
	out := make([]v1.Hash, 0, len(ls))
	for _, l := range ls {
		h, err := l.Digest()
		if err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, nil
}

// repoOf is a reference's repository, without its tag or digest.
func repoOf(ref string) string {
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		return ref
	}
	return r.Context().Name()
}

// platformImage is the image at ref, or the first image of the index at ref.
func platformImage(ref name.Digest, opts []remote.Option) (v1.Image, error) {
	desc, err := remote.Get(ref, opts...)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", ref, err)
	}
	if !desc.MediaType.IsIndex() {
		return desc.Image()
	}
	idx, err := desc.ImageIndex()
	if err != nil {
		return nil, err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	if len(im.Manifests) == 0 {
		return nil, fmt.Errorf("%s: an empty image index", ref)
	}
	return idx.Image(im.Manifests[0].Digest)
}

// builtFrom is the commit a component's artifacts were built from, as verifyRelease expects it:
// the commit of its tag <component>/v<version> when the remote has it (the release that first
// published that version pushed it there; a later release that finds the version published,
// with the same inputs, attaches what is missing about the same artifacts, signing on or off
// then), else this release's commit (it builds them now, and pushes the tag here). The platform
// chart is always this release's.
func (g *publishGoals) builtFrom(ctx context.Context, c *manifest.Component) (string, error) {
	if c == nil || g.tags == nil {
		return g.w.Head.Hash, nil
	}
	tags, err := g.tags.Get(ctx)
	if err != nil {
		return "", err
	}
	if commit := tags[ComponentTag(c.Name, c.Version)]; commit != "" {
		return commit, nil
	}
	return g.w.Head.Hash, nil
}

// imageRefOf is the release reference of component name's image, from the plan's artifacts.
func (g *publishGoals) imageRefOf(component string) string {
	for _, d := range []plan.Decision{plan.Publish, plan.AlreadyPublished} {
		for _, s := range g.plan.Steps(d) {
			if s.Kind == plan.Image && s.Component == component {
				return s.Ref
			}
		}
	}
	return ""
}

// provenance is the SLSA v1 statement about subject: the commit it was built from (builtFrom),
// the component's inputs key, its platforms and Dockerfile, the base image's digest, the Go
// toolchain and the GitHub Actions run (read once with the environment).
func (g *publishGoals) provenance(ctx context.Context, st plan.Step, subject name.Digest) ([]byte, error) {
	w := g.w
	src, err := w.sourceRepository(ctx)
	if err != nil {
		return nil, err
	}
	c := w.Manifest.Component(st.Component)
	commit, err := g.builtFrom(ctx, c)
	if err != nil {
		return nil, err
	}
	in := attest.ProvenanceInput{SubjectName: subject.Context().Name(), SubjectDigest: subject.DigestStr(),
		SourceRepository: src, Commit: commit, Component: st.Component, Version: st.Version,
		InputsKey: st.Inputs, GoVersion: runtime.Version(), GitHub: w.Env.GitHubRun}
	if st.Subject == plan.Chart {
		in.BuildType = attest.BuildTypeChart
	} else if c != nil && c.Image != nil {
		in.BuildType = attest.BuildTypeImage
		in.Dockerfile = c.Image.Dockerfile
		plats, err := g.publishedPlatforms(ctx, c, subject)
		if err != nil {
			return nil, err
		}
		in.Platforms = plats
		if in.Version == "" {
			in.Version = c.Version
		}
		if base := w.baseOf(c); base != nil {
			in.BaseImage = g.imageRefOf(base.Name)
			d, _, err := g.images.(*publish.Caching).Digest(ctx, in.BaseImage)
			if err != nil {
				return nil, err
			}
			in.BaseImageDigest = d
		}
	}
	return attest.Provenance(in)
}

// publishedPlatforms is the platforms c's image was published for: the components file's, the
// run's build targets when it built, else what the pushed image's config says (a run that found the
// image published built nothing, so it does not know its daemon).
func (g *publishGoals) publishedPlatforms(ctx context.Context, c *manifest.Component, subject name.Digest) ([]string, error) {
	var out []string
	switch {
	case len(c.Image.Platforms) > 0:
		for _, p := range c.Image.Platforms {
			out = append(out, p.String())
		}
	case g.w.Targets.Manifest:
		for _, p := range g.w.Platforms(c) {
			out = append(out, p.String())
		}
	default:
		img, err := platformImage(subject, append([]remote.Option{remote.WithContext(ctx)}, g.signing.ropts...))
		if err != nil {
			return nil, err
		}
		cf, err := img.ConfigFile()
		if err != nil {
			return nil, fmt.Errorf("reading %s's config: %w", subject, err)
		}
		if p := cf.Platform(); p != nil && p.OS != "" {
			out = append(out, p.String())
		}
	}
	return out, nil
}

// sourceRepository is the repository's URL for provenance: the GitHub repository when known,
// else the release remote's URL.
func (w *Workspace) sourceRepository(ctx context.Context) (string, error) {
	if r := w.Env.GitHubRun; r != nil && r.Repository != "" {
		return r.ServerURL + "/" + r.Repository, nil
	}
	if w.Env.GitHubRepository != "" {
		server := strings.TrimSuffix(w.Env.GitHubServerURL, "/")
		if server == "" {
			server = "https://github.com"
		}
		return server + "/" + w.Env.GitHubRepository, nil
	}
	return w.Repo.RemoteURL(ctx, Remote)
}

// signManifest is the Sigstore bundle of release-manifest.json: the one the release already holds
// when it verifies (signatures are not deterministic, and the release's assets never change once
// published), else a new one.
func (s *releaseSigning) signManifest(ctx context.Context, cache *publish.Caching, tag string, manifest []byte) ([]byte, error) {
	if s.pub != nil {
		d, err := cache.ReleaseDetail(ctx, tag)
		if err != nil {
			return nil, err
		}
		if a, ok := d.Asset(plan.ManifestBundleAsset); ok && a.Uploaded() {
			old, err := cache.AssetContent(ctx, a)
			if err != nil {
				return nil, err
			}
			if sign.VerifyBlob(old, manifest, s.pub) == nil {
				return old, nil
			}
		}
	}
	b, err := sign.SignBlob(ctx, s.signer, manifest)
	if err != nil {
		return nil, fmt.Errorf("signing release-manifest.json: %w", err)
	}
	return b, nil
}

// failing is a goal that cannot be assessed: it fails with err.
type failing struct {
	name string
	err  error
}

func (g failing) String() string                             { return g.name }
func (g failing) Assess(context.Context) (goal.State, error) { return goal.State{}, g.err }
func (g failing) Achieve(context.Context) error              { return g.err }
