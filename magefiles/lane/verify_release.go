package lane

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/shiplane/shiplane/magefiles/github"
	"github.com/shiplane/shiplane/magefiles/publish"
	"github.com/shiplane/shiplane/magefiles/redact"
	"github.com/shiplane/shiplane/magefiles/settings"
	"github.com/shiplane/shiplane/magefiles/sign"
)

// The release assets verification reads besides the manifest.
const (
	// manifestBundleAsset is the Sigstore bundle over release-manifest.json's bytes.
	manifestBundleAsset = manifestAsset + ".sigstore.json"
	// sumsAsset lists the SHA-256 of the release's assets.
	sumsAsset = "SHA256SUMS"
)

// VerifyOptions configure VerifyRelease: a public key (key mode), or the identity a keyless
// release was signed as; exactly one of the two.
type VerifyOptions struct {
	// KeyFile is the PEM public key every signature must verify with, relative to the repository
	// root unless absolute. Default: the settings' signing_public_key (deploy/signing.pub),
	// unless an identity is given.
	KeyFile string
	// CertificateIdentity is the identity a keyless release's certificates must name (their
	// subject alternative name), e.g. https://github.com/OWNER/REPO/.github/workflows/release.yml@refs/tags/v1.2.0.
	// Default "": key mode. Needs CertificateOIDCIssuer.
	CertificateIdentity string
	// CertificateIdentityRegexp is a regular expression (Go syntax) the identity must match,
	// instead of CertificateIdentity. Default "": none.
	CertificateIdentityRegexp string
	// CertificateOIDCIssuer is the OIDC issuer the certificates must name, e.g.
	// https://token.actions.githubusercontent.com. Default "": none (an identity without it is an
	// error).
	CertificateOIDCIssuer string
	// TrustedRoot is a trusted_root.json (relative to the repository root unless absolute) whose
	// certificate authorities and transparency logs keyless signatures must chain to and be
	// recorded in. Default "": the Sigstore public-good trusted root, fetched through its TUF
	// repository (needs the network).
	TrustedRoot string
	// HelmKeyring is the OpenPGP keyring (binary) every chart archive's .prov must verify with,
	// relative to the repository root unless absolute. Default: the settings' helm_keyring
	// (deploy/helm-keyring.gpg) when it exists; else .prov files are not checked.
	HelmKeyring string
}

// keyless reports whether the options name a keyless identity.
func (o VerifyOptions) keyless() bool {
	return o.CertificateIdentity != "" || o.CertificateIdentityRegexp != "" || o.CertificateOIDCIssuer != ""
}

// ErrVerifyOptions: the verification options contradict each other or miss a part.
var ErrVerifyOptions = errors.New("invalid verification options")

// trust is what the options trust: the identity (with the trusted root), or the key file (default
// the committed public key), and how the header names it.
func (o VerifyOptions) trust(root string, s settings.Settings) (sign.Trust, []byte, string, error) {
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(root, p)
	}
	if !o.keyless() {
		if o.TrustedRoot != "" {
			return sign.Trust{}, nil, "", fmt.Errorf("%w: -trusted-root is for a keyless release: give -certificate-identity and -certificate-oidc-issuer too", ErrVerifyOptions)
		}
		keyFile := o.KeyFile
		if keyFile == "" {
			keyFile = s.SigningPublicKey
		}
		key, err := os.ReadFile(abs(keyFile))
		if err != nil {
			return sign.Trust{}, nil, "", fmt.Errorf("reading the public key %s: %w (pass -key=<pub.pem>, or commit the release's public key at %s, the settings' signing_public_key; for a keyless release pass -certificate-identity= and -certificate-oidc-issuer=)", keyFile, err, s.SigningPublicKey)
		}
		return sign.KeyTrust(key), key, "the public key " + keyFile, nil
	}
	switch {
	case o.KeyFile != "":
		return sign.Trust{}, nil, "", fmt.Errorf("%w: -key and -certificate-identity/-certificate-oidc-issuer both given: a release is signed with a key or keyless, verify with one of them", ErrVerifyOptions)
	case o.CertificateIdentity != "" && o.CertificateIdentityRegexp != "":
		return sign.Trust{}, nil, "", fmt.Errorf("%w: -certificate-identity and -certificate-identity-regexp both given: use one", ErrVerifyOptions)
	case o.CertificateIdentity == "" && o.CertificateIdentityRegexp == "":
		return sign.Trust{}, nil, "", fmt.Errorf("%w: -certificate-oidc-issuer needs -certificate-identity (or -certificate-identity-regexp): whose signature counts", ErrVerifyOptions)
	case o.CertificateOIDCIssuer == "":
		return sign.Trust{}, nil, "", fmt.Errorf("%w: -certificate-identity needs -certificate-oidc-issuer (under GitHub Actions https://token.actions.githubusercontent.com)", ErrVerifyOptions)
	}
	material, err := sign.TrustedRoot(abs(o.TrustedRoot))
	if err != nil {
		return sign.Trust{}, nil, "", fmt.Errorf("%w (-trusted-root=<trusted_root.json> reads one from a file)", err)
	}
	identity, isRegexp := o.CertificateIdentity, false
	if identity == "" {
		identity, isRegexp = o.CertificateIdentityRegexp, true
	}
	t, err := sign.IdentityTrust(material, o.CertificateOIDCIssuer, identity, isRegexp)
	if err != nil {
		return sign.Trust{}, nil, "", fmt.Errorf("%w: %w", ErrVerifyOptions, err)
	}
	return t, nil, "signed by " + t.String(), nil
}

// VerifyRelease checks the published GitHub release of tag, as a consumer with only the tag, the
// registries and the public key (or the expected keyless identity, see VerifyOptions) can: the release (GITHUB_REPOSITORY, GITHUB_API_URL; GITHUB_TOKEN
// is optional for a public repository; a draft is not a release) has release-manifest.json with
// a signature bundle (release-manifest.json.sigstore.json) that verifies with the key (or was
// signed by the identity), and
// SHA256SUMS matching the assets it lists; the manifest's commit is the one the git tag names
// (read from GitHub's git refs, annotated tags peeled); and every image and chart the manifest
// lists is, by digest, signed by the key (or the identity), with a provenance for that commit (and an SBOM, for an
// image), and its tag still holds that digest. It prints a pass or fail line per artifact on
// Progress, "<ref@digest> verified" on Stdout for each that passed, and returns a
// *ReleaseVerifyError naming every failure. It writes nothing anywhere.
func VerifyRelease(ctx context.Context, cfg Config, tag string, opts VerifyOptions) error {
	tag = strings.TrimSpace(tag)
	if tag == "" {
		return errors.New("verifyRelease needs the release tag: go run mage.go verifyRelease v1.2.0 (-key=<pub.pem> to use another public key; -certificate-identity=<id> -certificate-oidc-issuer=<issuer> for a keyless release)")
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return err
	}
	env := readEnv(cfg.Getenv)
	s, err := settings.Load(cfg.Root, cfg.Settings, env.Getenv)
	if err != nil {
		return err
	}
	red := redact.New()
	for _, v := range env.Secrets {
		red.Add(v)
	}
	progress := red.Writer(cfg.Progress)
	v, err := newReleaseVerifier(cfg.Root, opts, env, s, progress, cfg.Stdout)
	if err != nil {
		return red.Error(err)
	}
	if v.helmKeyring, err = readHelmKeyring(cfg.Root, opts.HelmKeyring, s); err != nil {
		return red.Error(err)
	}
	return red.Error(v.verify(ctx, tag))
}

// releaseVerifier checks one published release against a public key or a keyless identity.
type releaseVerifier struct {
	gh  verifyGitHub
	reg func(ref string) *sign.Registry
	// trust is whose signatures count; trusted says so for people ("the public key FILE", or
	// `signed by identity "…" from issuer "…"`).
	trust   sign.Trust
	trusted string
	// key is the public key's PEM in key mode (nil when keyless).
	key      []byte
	progress io.Writer
	stdout   io.Writer
	// helmKeyring checks the charts' Helm .prov files (verify_prov.go); nil: not checked.
	helmKeyring *helmKeyring
}

// verifyGitHub is what verification reads of GitHub; *github.Client is one.
type verifyGitHub interface {
	ReleaseDetail(ctx context.Context, tag string) (github.ReleaseDetail, error)
	AssetContent(ctx context.Context, a github.AssetDetail) ([]byte, error)
	TagCommit(ctx context.Context, tag string) (string, error)
}

var _ verifyGitHub = (*github.Client)(nil)

// newReleaseVerifier reads what opts trust (the identity and trusted root, or the public key:
// opts.KeyFile, else the committed one) and connects to GitHub (env) and the registries (plain
// HTTP where settings allow it).
func newReleaseVerifier(root string, opts VerifyOptions, env Env, s settings.Settings, progress, stdout io.Writer) (*releaseVerifier, error) {
	trust, key, trusted, err := opts.trust(root, s)
	if err != nil {
		return nil, err
	}
	if env.GitHubRepository == "" {
		return nil, fmt.Errorf("cannot read the release: %w (set GITHUB_REPOSITORY=owner/name; GITHUB_TOKEN only for a private repository)", publish.ErrNoGitHub)
	}
	ghOpts := []github.Option{github.WithProgress(progress)}
	if env.GitHubAPIURL != "" {
		ghOpts = append(ghOpts, github.WithBaseURL(env.GitHubAPIURL))
	}
	gh, err := github.New(env.GitHubRepository, env.GitHubToken, ghOpts...)
	if err != nil {
		return nil, err
	}
	secure, err := sign.NewRegistry()
	if err != nil {
		return nil, err
	}
	insecure, err := sign.NewRegistry(sign.WithInsecure())
	if err != nil {
		return nil, err
	}
	reg := func(ref string) *sign.Registry {
		if host, _, _ := strings.Cut(ref, "/"); s.Insecure(host) {
			return insecure
		}
		return secure
	}
	return &releaseVerifier{gh: gh, reg: reg, trust: trust, trusted: trusted, key: key, progress: progress, stdout: stdout}, nil
}

// VerifyProblem is one failed check of a release: the artifact (an image or chart reference, or a
// release asset), what is wrong, and what it means or how to fix it.
type VerifyProblem struct {
	Artifact string
	Problem  string
	Fix      string
	// Err is the cause, when there is one (a *sign.VerifyError for an artifact's attestations,
	// sign.ErrBlobSignature for the manifest's signature).
	Err error
}

func (p VerifyProblem) String() string {
	s := p.Artifact + ": " + p.Problem
	if p.Fix != "" {
		s += "; " + p.Fix
	}
	return s
}

// ReleaseVerifyError is a release that did not verify: every problem found.
type ReleaseVerifyError struct {
	Tag      string
	Problems []VerifyProblem
}

func (e *ReleaseVerifyError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	n := fmt.Sprintf("%d problems", len(e.Problems))
	if len(e.Problems) == 1 {
		n = "1 problem"
	}
	return fmt.Sprintf("release %s does not verify (%s):\n  %s", e.Tag, n, strings.Join(lines, "\n  "))
}

// Unwrap returns the problems' causes (errors.As finds a *sign.VerifyError among them).
func (e *ReleaseVerifyError) Unwrap() []error {
	var out []error
	for _, p := range e.Problems {
		if p.Err != nil {
			out = append(out, p.Err)
		}
	}
	return out
}

// ErrReleaseNotPublished: the tag has no published GitHub release (none, or only a draft).
var ErrReleaseNotPublished = errors.New("no published release")

// verification collects one run's problems and prints each artifact's result.
type verification struct {
	v        *releaseVerifier
	problems []VerifyProblem
	// verified are the artifacts ("ref@digest") whose checks passed; they are printed on stdout
	// only when the whole release verifies.
	verified []string
}

func (r *verification) fail(p VerifyProblem) {
	r.problems = append(r.problems, p)
	fmt.Fprintf(r.v.progress, "FAIL %s\n", p)
}

func (r *verification) pass(artifact, what string) {
	fmt.Fprintf(r.v.progress, "ok   %s: %s\n", artifact, what)
}

// verify checks the published release of tag (see VerifyRelease).
func (v *releaseVerifier) verify(ctx context.Context, tag string) error {
	d, err := v.gh.ReleaseDetail(ctx, tag)
	if err != nil {
		return fmt.Errorf("verifying release %s: %w", tag, err)
	}
	if !d.Present || d.Draft {
		return fmt.Errorf("verifying release %s of %s: %w (a draft is not a release): nothing to verify; check the tag and GITHUB_REPOSITORY",
			tag, d.Repo, ErrReleaseNotPublished)
	}
	if v.trust.Keyless() {
		fmt.Fprintf(v.progress, "verifying release %s of %s %s\n", tag, d.Repo, v.trusted)
	} else {
		fmt.Fprintf(v.progress, "verifying release %s of %s with %s\n", tag, d.Repo, v.trusted)
	}
	r := &verification{v: v}
	assets := map[string][]byte{}
	// read downloads an asset once: a second read of it answers from assets.
	read := func(name string) ([]byte, bool, error) {
		if data, ok := assets[name]; ok {
			return data, true, nil
		}
		a, ok := d.Asset(name)
		if !ok {
			return nil, false, nil
		}
		data, err := v.gh.AssetContent(ctx, a)
		if err != nil {
			return nil, false, fmt.Errorf("verifying release %s: downloading %s: %w", tag, name, err)
		}
		assets[name] = data
		return data, true, nil
	}
	manifestData, ok, err := read(manifestAsset)
	if err != nil {
		return err
	}
	if !ok {
		r.fail(VerifyProblem{Artifact: manifestAsset, Problem: "missing from the release",
			Fix: "the release does not say what it published: nothing can be verified; do not use it"})
		return &ReleaseVerifyError{Tag: tag, Problems: r.problems}
	}
	r.checkManifestSignature(read, manifestData)
	if err := r.checkSums(read); err != nil {
		return err
	}
	if err := r.checkHelmProv(d, read); err != nil {
		return err
	}
	var m publish.ReleaseManifest
	if err := json.Unmarshal(manifestData, &m); err != nil {
		r.fail(VerifyProblem{Artifact: manifestAsset, Problem: "not a release manifest: " + err.Error(), Fix: "nothing can be verified; do not use this release"})
		return &ReleaseVerifyError{Tag: tag, Problems: r.problems}
	}
	if err := r.checkCommit(ctx, tag, m); err != nil {
		return err
	}
	builtAt := map[string]string{} // component → the commit its artifacts were built from
	for _, a := range manifestArtifacts(m) {
		commit, ok := builtAt[a.context]
		if !ok {
			commit = r.builtFrom(ctx, m, a)
			builtAt[a.context] = commit
		}
		r.checkArtifact(ctx, a, commit)
	}
	if err := r.checkAssets(ctx, d, m, read); err != nil {
		return err
	}
	if len(r.problems) > 0 {
		return &ReleaseVerifyError{Tag: tag, Problems: r.problems}
	}
	// Machine output, only for a release that verified whole: a manifest that does not verify
	// may list older, genuinely signed artifacts, and a pipe must not take those.
	for _, ref := range r.verified {
		fmt.Fprintf(v.stdout, "%s verified\n", ref)
	}
	fmt.Fprintf(v.progress, "release %s verified: %d artifacts, commit %s\n", tag, len(manifestArtifacts(m)), m.Commit)
	return nil
}

// checkManifestSignature verifies the manifest's bundle over its exact bytes.
func (r *verification) checkManifestSignature(read func(string) ([]byte, bool, error), manifestData []byte) {
	bundle, ok, err := read(manifestBundleAsset)
	switch {
	case err != nil:
		r.fail(VerifyProblem{Artifact: manifestBundleAsset, Problem: "cannot be downloaded: " + err.Error(), Fix: "try again; the manifest's signature is not checked", Err: err})
	case !ok:
		r.fail(VerifyProblem{Artifact: manifestAsset, Problem: "its signature " + manifestBundleAsset + " is missing from the release",
			Fix: "the digests it lists cannot be trusted; ask the publisher to re-run releaseAll with signing on"})
	default:
		if err := sign.VerifyBlobWith(bundle, manifestData, r.v.trust); err != nil {
			r.fail(VerifyProblem{Artifact: manifestAsset, Problem: fmt.Sprintf("its signature does not verify (trusted: %s): %v", r.v.trusted, err),
				Fix: "it was edited after signing, or another key or identity signed it: do not trust the digests it lists", Err: err})
			return
		}
		r.pass(manifestAsset, "signed by "+r.v.trust.String())
	}
}

// checkSums checks SHA256SUMS against every asset it lists (each downloaded once); it must list
// the manifest.
func (r *verification) checkSums(read func(string) ([]byte, bool, error)) error {
	sums, ok, err := read(sumsAsset)
	if err != nil {
		return err
	}
	if !ok {
		r.fail(VerifyProblem{Artifact: sumsAsset, Problem: "missing from the release", Fix: "the release's assets cannot be checked; do not use them"})
		return nil
	}
	listed := map[string]string{}
	var order []string
	sc := bufio.NewScanner(bytes.NewReader(sums))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		sum, name, ok := strings.Cut(line, "  ")
		if !ok {
			r.fail(VerifyProblem{Artifact: sumsAsset, Problem: fmt.Sprintf("line %q is not \"<sha256>  <name>\"", line), Fix: "the file was edited; do not use the release's assets"})
			return nil
		}
		listed[name] = sum
		order = append(order, name)
	}
	if _, ok := listed[manifestAsset]; !ok {
		r.fail(VerifyProblem{Artifact: sumsAsset, Problem: "does not list " + manifestAsset, Fix: "the file was edited or belongs to another release"})
	}
	bad := false
	for _, name := range order {
		data, ok, err := read(name)
		if err != nil {
			return err
		}
		if !ok {
			r.fail(VerifyProblem{Artifact: name, Problem: sumsAsset + " lists it, the release does not have it", Fix: "an asset was removed after the release; ask the publisher"})
			bad = true
			continue
		}
		h := sha256.Sum256(data)
		if got := hex.EncodeToString(h[:]); got != listed[name] {
			r.fail(VerifyProblem{Artifact: name, Problem: fmt.Sprintf("sha256 %s, %s lists %s", got, sumsAsset, listed[name]),
				Fix: "the asset was replaced after the release (or SHA256SUMS edited): do not use it"})
			bad = true
		}
	}
	if !bad {
		r.pass(sumsAsset, fmt.Sprintf("%d assets match", len(order)))
	}
	return nil
}

// checkCommit checks that the manifest is this tag's, and that its commit is the one the git tag
// names, read from GitHub's git refs: the same repository the release is read from, and all a
// consumer has (no clone needed, and a clone's remote may be a mirror whose tags differ).
func (r *verification) checkCommit(ctx context.Context, tag string, m publish.ReleaseManifest) error {
	if m.Tag != tag {
		r.fail(VerifyProblem{Artifact: manifestAsset, Problem: fmt.Sprintf("it is for tag %q, not %s", m.Tag, tag),
			Fix: "it was copied from another release: do not trust the digests it lists"})
	}
	commit, err := r.v.gh.TagCommit(ctx, tag)
	switch {
	case errors.Is(err, github.ErrTagNotFound):
		r.fail(VerifyProblem{Artifact: "git tag " + tag, Problem: "does not exist", Fix: "the release's commit cannot be checked; the tag was deleted after the release", Err: err})
	case err != nil:
		return fmt.Errorf("verifying release %s: %w", tag, err)
	case commit != m.Commit:
		r.fail(VerifyProblem{Artifact: manifestAsset, Problem: fmt.Sprintf("commit %s, but git tag %s is at %s", m.Commit, tag, commit),
			Fix: "the tag was moved after the release, or the manifest is another commit's: the artifacts were not built from the tag"})
	default:
		r.pass("git tag "+tag, "at the manifest's commit "+commit)
	}
	return nil
}

// releasedArtifact is one image or chart of a release manifest.
type releasedArtifact struct {
	kind    string // "image" or "chart"
	ref     string // as published, with its version tag: host/path/name:version
	digest  string
	sbom    bool
	context string // the component
}

// manifestArtifacts are the manifest's images and charts, in its order.
func manifestArtifacts(m publish.ReleaseManifest) []releasedArtifact {
	var out []releasedArtifact
	for _, c := range m.Components {
		if c.Image != "" {
			out = append(out, releasedArtifact{kind: "image", ref: c.Image, digest: c.ImageDigest, sbom: true, context: c.Name})
		}
		if c.Chart != "" {
			out = append(out, releasedArtifact{kind: "chart", ref: strings.TrimPrefix(c.Chart, "oci://"), digest: c.ChartDigest, context: c.Name})
		}
	}
	return out
}

// builtFrom is the commit a's provenance must name: the commit of its component's git tag
// <component>/v<version>, which the release that first published that version pushed at the
// commit it built from (a later release that finds the version published, with the same inputs,
// reuses the artifacts and their provenance). The platform chart, and a component whose tag
// GitHub does not have, must have been built from the release commit itself.
func (r *verification) builtFrom(ctx context.Context, m publish.ReleaseManifest, a releasedArtifact) string {
	if a.context == PlatformComponent {
		return m.Commit
	}
	for _, c := range m.Components {
		if c.Name != a.context {
			continue
		}
		commit, err := r.v.gh.TagCommit(ctx, ComponentTag(c.Name, c.Version))
		if err != nil {
			if !errors.Is(err, github.ErrTagNotFound) {
				r.fail(VerifyProblem{Artifact: a.kind + " " + a.ref, Problem: "cannot read the commit of git tag " + ComponentTag(c.Name, c.Version) + ": " + err.Error(),
					Fix: "its provenance is checked against the release commit instead", Err: err})
			}
			return m.Commit
		}
		return commit
	}
	return m.Commit
}

// checkArtifact verifies one artifact's attestations by digest, and that its tag still holds
// that digest.
func (r *verification) checkArtifact(ctx context.Context, a releasedArtifact, commit string) {
	byDigest := imageRepo(a.ref) + "@" + a.digest
	name := a.kind + " " + byDigest
	if a.digest == "" {
		r.fail(VerifyProblem{Artifact: a.kind + " " + a.ref, Problem: manifestAsset + " lists no digest for it", Fix: "it cannot be verified; do not use it"})
		return
	}
	reg := r.v.reg(a.ref)
	failed := false
	_, err := reg.VerifyWith(ctx, byDigest, r.v.trust, sign.Expect{Digest: a.digest, Commit: commit, SBOM: a.sbom})
	if err != nil {
		failed = true
		ves := verifyErrors(err)
		if len(ves) == 0 {
			r.fail(VerifyProblem{Artifact: name, Problem: "cannot be verified: " + err.Error(), Fix: "the registry does not serve it (deleted, or unreachable): do not deploy it", Err: err})
		}
		for _, ve := range ves {
			r.fail(VerifyProblem{Artifact: name, Problem: fmt.Sprintf("%s: %v", ve.Check, ve.Err), Fix: fixFor(ve), Err: ve})
		}
	}
	got, err := reg.Resolve(ctx, a.ref)
	switch {
	case err != nil:
		failed = true
		r.fail(VerifyProblem{Artifact: a.kind + " " + a.ref, Problem: "its tag cannot be read: " + err.Error(),
			Fix: "pull it by digest " + byDigest + " (the tag may have been deleted)", Err: err})
	case got.DigestStr() != a.digest:
		failed = true
		r.fail(VerifyProblem{Artifact: a.kind + " " + a.ref, Problem: fmt.Sprintf("the tag now holds %s, the release published %s", got.DigestStr(), a.digest),
			Fix: "it was re-tagged after the release: whoever pulls it by tag gets an artifact this release did not sign; pull " + byDigest + ", or put the tag back"})
	}
	if !failed {
		what := "signature, provenance for " + commit
		if a.sbom {
			what = "signature, SBOM, provenance for " + commit
		}
		r.pass(name, what+"; tag "+a.ref+" holds it")
		r.verified = append(r.verified, byDigest)
	}
}

// verifyErrors finds every *sign.VerifyError in a tree of joined errors.
func verifyErrors(err error) []*sign.VerifyError {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []*sign.VerifyError
		for _, e := range j.Unwrap() {
			out = append(out, verifyErrors(e)...)
		}
		return out
	}
	var ve *sign.VerifyError
	if errors.As(err, &ve) {
		return []*sign.VerifyError{ve}
	}
	return nil
}

// fixFor says what a failed attestation check means for a consumer.
func fixFor(ve *sign.VerifyError) string {
	switch {
	case errors.Is(ve, sign.ErrCommitMismatch):
		return "its provenance says it was built from another commit than the release's: do not deploy it"
	case errors.Is(ve, sign.ErrDigestMismatch):
		return "the registry serves another artifact under this reference: do not deploy it"
	case ve.Check == sign.CheckSignature:
		return "no signature by the release's key or identity: it was not signed by the release, or replaced since; do not deploy it"
	case ve.Check == sign.CheckSBOM:
		return "no SBOM signed by the release's key or identity (missing or replaced): what it contains is not attested"
	case ve.Check == sign.CheckProvenance:
		return "no provenance signed by the release's key or identity: where it was built is not attested; do not deploy it"
	}
	return "do not deploy it"
}
