package lane

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strings"
	"sync"

	"helm.sh/helm/v3/pkg/chart/loader"

	"github.com/shiplane/shiplane/magefiles/deploy"
	"github.com/shiplane/shiplane/magefiles/github"
	"github.com/shiplane/shiplane/magefiles/goal"
	"github.com/shiplane/shiplane/magefiles/identity"
	"github.com/shiplane/shiplane/magefiles/pipeline"
	"github.com/shiplane/shiplane/magefiles/publish"
	"github.com/shiplane/shiplane/magefiles/published"
	"github.com/shiplane/shiplane/magefiles/settings"
)

// manifestAsset is the release asset that records what the release published.
const manifestAsset = "release-manifest.json"

// servicesOf is the release the lane's kinds act on, or an error for a goal run outside one.
func servicesOf(spec pipeline.Spec) (*releaseServices, error) {
	if svc, ok := spec.Services.(*releaseServices); ok && svc != nil {
		return svc, nil
	}
	return nil, fmt.Errorf("kind %s acts on a release: it runs only in releaseAll", spec.Kind)
}

// releaseManifest reads release-manifest.json from the published GitHub release of the tag.
func (s *releaseServices) releaseManifest(ctx context.Context) (ReleaseManifest, github.ReleaseDetail, error) {
	var m ReleaseManifest
	d, err := s.gh.ReleaseDetail(ctx, s.tag)
	if err != nil {
		return m, d, err
	}
	if !d.Present || d.Draft {
		return m, d, fmt.Errorf("release %s is not published: nothing to check after publishing", s.tag)
	}
	a, ok := d.Asset(manifestAsset)
	if !ok {
		return m, d, fmt.Errorf("release %s has no %s: it does not say what was published", s.tag, manifestAsset)
	}
	data, err := s.gh.AssetContent(ctx, a)
	if err != nil {
		return m, d, err
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return m, d, fmt.Errorf("reading %s of release %s: %w", manifestAsset, s.tag, err)
	}
	return m, d, nil
}

// publishedArtifacts is the check "published artifacts verified": every image the release
// manifest names is pulled back by digest, and its labels (inputs key, version, source revision)
// and platforms are what the release published, and its version tag still holds that digest;
// the umbrella chart is pulled from the release chart repository by version, rendered with the
// Helm SDK, and every image it references must be in the release registry.
type publishedArtifacts struct {
	name string
	svc  func() (*releaseServices, error)

	mu     sync.Mutex
	passed bool
}

func newPublishedArtifacts(spec pipeline.Spec) (goal.Goal, error) {
	for k := range spec.With {
		return nil, spec.Invalid("with", fmt.Sprintf("kind %s takes no with: parameters (found %q)", KindPublishedArtifacts, k), "remove with:")
	}
	if spec.Run != "" {
		return nil, spec.Invalid("run", fmt.Sprintf("kind %s takes no run:", KindPublishedArtifacts), "remove run:")
	}
	return &publishedArtifacts{name: spec.Name, svc: func() (*releaseServices, error) { return servicesOf(spec) }}, nil
}

func (g *publishedArtifacts) String() string { return g.name }

func (g *publishedArtifacts) Assess(context.Context) (goal.State, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.passed {
		return goal.State{Achieved: true, Detail: "every published artifact is what the release published"}, nil
	}
	return goal.State{Detail: "not checked yet in this release"}, nil
}

// ArtifactsDifferError is a published artifact that is not what the release published.
type ArtifactsDifferError struct {
	Tag      string
	Problems []string
}

func (e *ArtifactsDifferError) Error() string {
	return fmt.Sprintf("what release %s published has changed since: %s; find who wrote to the release registry, "+
		"then put the published digest back under its tag (crane tag <image>@<digest> <version>) or publish a new version",
		e.Tag, strings.Join(e.Problems, "; "))
}

func (g *publishedArtifacts) Achieve(ctx context.Context) error {
	svc, err := g.svc()
	if err != nil {
		return err
	}
	m, _, err := svc.releaseManifest(ctx)
	if err != nil {
		return err
	}
	var problems []string
	for _, c := range m.Components {
		if c.Image == "" {
			continue
		}
		// release-manifest.json is editable by anyone who can edit the release: the image it
		// names must be the one this repository publishes for the component, never anything else.
		if want := svc.releaseImage(c.Name); c.Image != want {
			problems = append(problems, fmt.Sprintf("image %s: %s lists it for %s, whose release image is %q: the asset was edited, or it is another release's",
				c.Image, publish.ManifestAsset, c.Name, want))
			continue
		}
		p, err := svc.checkImage(ctx, c)
		if err != nil {
			return err
		}
		problems = append(problems, p...)
	}
	p, err := svc.checkUmbrella(ctx, m)
	if err != nil {
		return err
	}
	if problems = append(problems, p...); len(problems) > 0 {
		return &ArtifactsDifferError{Tag: svc.tag, Problems: problems}
	}
	g.mu.Lock()
	g.passed = true
	g.mu.Unlock()
	return nil
}

// releaseImage is the reference the release publishes component's image under (version tag),
// from this repository's own components file; "" for a component it does not have or without an
// image.
func (s *releaseServices) releaseImage(component string) string {
	mc := s.ws.Manifest.Component(component)
	if mc == nil || mc.Image == nil {
		return ""
	}
	return s.ws.ImageRepository(s.ws.ReleasePolicy(), mc) + ":" + mc.Version
}

// checkImage pulls one component's image back by digest and compares it with the manifest.
func (s *releaseServices) checkImage(ctx context.Context, c ReleasedComponent) ([]string, error) {
	repo := imageRepo(c.Image)
	byDigest := repo + "@" + c.ImageDigest
	var problems []string
	img, err := s.reg.Image(ctx, byDigest)
	if err != nil {
		return nil, fmt.Errorf("pulling %s back: %w", byDigest, err)
	}
	if !img.Present {
		return []string{fmt.Sprintf("image %s: the registry no longer holds it", byDigest)}, nil
	}
	want := map[string]string{identity.LabelInputs: c.Inputs, identity.LabelVersion: c.Version}
	if in, ok := s.ws.Inputs[c.Name]; ok && in.Hash != "" {
		want[identity.LabelRevision] = in.Hash
	}
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if got := img.Labels[k]; got != want[k] {
			problems = append(problems, fmt.Sprintf("image %s: label %s is %q, the release published %q", byDigest, k, got, want[k]))
		}
	}
	if img.Inputs != c.Inputs {
		problems = append(problems, fmt.Sprintf("image %s: its platforms carry inputs %q, the release published %q", byDigest, img.Inputs, c.Inputs))
	}
	if got, want := platformList(img.Platforms), platformList(c.ImagePlatforms); got != want {
		problems = append(problems, fmt.Sprintf("image %s: platforms %s, the release published %s", byDigest, got, want))
	}
	d, present, err := s.reg.Digest(ctx, c.Image)
	switch {
	case err != nil:
		return nil, fmt.Errorf("reading %s: %w", c.Image, err)
	case !present:
		problems = append(problems, fmt.Sprintf("image %s: the tag is gone (the release published %s)", c.Image, c.ImageDigest))
	case d != c.ImageDigest:
		problems = append(problems, fmt.Sprintf("image %s: the tag now holds %s, the release published %s (re-tagged after the publish)", c.Image, d, c.ImageDigest))
	}
	return problems, nil
}

func platformList(ps []published.Platform) string {
	if len(ps) == 0 {
		return "(a single image)"
	}
	parts := make([]string, len(ps))
	for i, p := range ps {
		parts[i] = p.Platform + "=" + p.Digest
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// imageRepo is a reference without its tag and digest.
func imageRepo(ref string) string {
	ref, _, _ = strings.Cut(ref, "@")
	if i := strings.LastIndex(ref, ":"); i > strings.LastIndex(ref, "/") {
		ref = ref[:i]
	}
	return ref
}

// renderedImage finds the image: values of a rendered manifest.
var renderedImage = regexp.MustCompile(`(?m)^\s*-?\s*image:\s*["']?([^"'\s]+)["']?\s*$`)

// checkUmbrella pulls the umbrella chart by version from the release chart repository, renders
// it, and checks that every image it references is in the release registry.
func (s *releaseServices) checkUmbrella(ctx context.Context, m ReleaseManifest) ([]string, error) {
	var umbrella *ReleasedComponent
	for i := range m.Components {
		if m.Components[i].Name == PlatformComponent && m.Components[i].Chart != "" {
			umbrella = &m.Components[i]
		}
	}
	if umbrella == nil {
		return nil, nil // the release has no umbrella chart (it is blocked, or there is none)
	}
	ref := strings.TrimPrefix(umbrella.Chart, "oci://")
	nameVersion := ref[strings.LastIndex(ref, "/")+1:]
	name, _, _ := strings.Cut(nameVersion, ":")
	where := fmt.Sprintf("umbrella chart %s/%s:%s", s.target.ChartRepo, name, m.Version)
	data, err := s.charts.PullChart(ctx, s.target.ChartRepo, name, m.Version)
	if err != nil {
		return nil, fmt.Errorf("pulling the %s: %w", where, err)
	}
	ch, err := loader.LoadArchive(bytes.NewReader(data))
	if err != nil {
		return []string{fmt.Sprintf("%s: not a chart archive: %v", where, err)}, nil
	}
	manifest, err := deploy.Render(ctx, &deploy.Release{Name: name, Namespace: "default", Chart: ch})
	if err != nil {
		return []string{fmt.Sprintf("%s: does not render: %v", where, err)}, nil
	}
	var problems []string
	seen := map[string]bool{}
	prefix := strings.TrimSuffix(s.target.Registry, "/") + "/"
	for _, sub := range renderedImage.FindAllStringSubmatch(manifest, -1) {
		img := sub[1]
		if seen[img] {
			continue
		}
		seen[img] = true
		if !strings.HasPrefix(img, prefix) {
			problems = append(problems, fmt.Sprintf("%s renders image %s, which is not in the release registry %s", where, img, s.target.Registry))
			continue
		}
		check := img
		if repo, digest, ok := strings.Cut(img, "@"); ok {
			check = imageRepo(repo) + "@" + digest
		}
		_, present, err := s.reg.Digest(ctx, check)
		if err != nil {
			return nil, fmt.Errorf("checking image %s that the %s renders: %w", img, where, err)
		}
		if !present {
			problems = append(problems, fmt.Sprintf("%s renders image %s, which the release registry does not hold", where, img))
		}
	}
	if len(seen) == 0 {
		problems = append(problems, where+" renders no image")
	}
	return problems, nil
}

// webhookNotified is the goal "webhook notified": it POSTs a JSON summary of the release (tag,
// release URL, components with versions and digests) to with.url, a secret, and records that
// it did as the asset webhook-<name>.sent on the GitHub release, so a re-run does not send
// again. A run that stops between the POST and the record sends again next time (at least
// once). The URL is never printed: it is a secret of the run, and a failed request's error
// leaves it out.
type webhookNotified struct {
	name   string
	url    string
	record string
	svc    func() (*releaseServices, error)
}

func newWebhook(spec pipeline.Spec) (goal.Goal, error) {
	u := spec.With["url"]
	for k := range spec.With {
		if k != "url" {
			return nil, spec.Invalid("with", fmt.Sprintf("kind %s takes with: {url: …} only (found %q)", KindWebhook, k), "remove "+k)
		}
	}
	if spec.Run != "" {
		return nil, spec.Invalid("run", fmt.Sprintf("kind %s takes no run:", KindWebhook), "remove run:")
	}
	if strings.TrimSpace(u) == "" {
		return nil, spec.Invalid("with", "kind webhook needs with.url", "add with: {url: secret!env!<VARIABLE>} (the URL is a secret: keep it out of the file)")
	}
	if !spec.Validating {
		spec.Redactor().Add(u)
		if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return nil, spec.Invalid("with", "with.url is not an http(s) URL", "set the variable it reads to the webhook's https:// URL")
		}
	}
	return &webhookNotified{name: spec.Name, url: u, record: "webhook-" + slug(spec.Name) + published.RecordSuffix,
		svc: func() (*releaseServices, error) { return servicesOf(spec) }}, nil
}

// slug makes a goal name fit an asset name: lower-case letters, digits and "-".
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}

func (g *webhookNotified) String() string { return g.name }

func (g *webhookNotified) Assess(ctx context.Context) (goal.State, error) {
	svc, err := g.svc()
	if err != nil {
		return goal.State{}, err
	}
	d, err := svc.gh.ReleaseDetail(ctx, svc.tag)
	if err != nil {
		return goal.State{}, err
	}
	if !d.Present || d.Draft {
		return goal.State{Detail: fmt.Sprintf("release %s is not published yet: nothing to notify about", svc.tag)}, nil
	}
	if _, ok := d.Asset(g.record); ok {
		return goal.State{Achieved: true, Detail: "sent (recorded as " + g.record + ")"}, nil
	}
	return goal.State{Detail: fmt.Sprintf("not sent: release %s has no %s", svc.tag, g.record)}, nil
}

// WebhookSummary is the JSON body a webhook receives.
type WebhookSummary struct {
	Tag        string              `json:"tag"`
	Version    string              `json:"version"`
	Commit     string              `json:"commit"`
	URL        string              `json:"url"`
	Components []ReleasedComponent `json:"components"`
}

func (g *webhookNotified) Achieve(ctx context.Context) error {
	svc, err := g.svc()
	if err != nil {
		return err
	}
	m, d, err := svc.releaseManifest(ctx)
	if err != nil {
		return err
	}
	body, err := json.MarshalIndent(WebhookSummary{Tag: m.Tag, Version: m.Version, Commit: m.Commit, URL: d.HTMLURL, Components: m.Components}, "", "  ")
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.url, bytes.NewReader(body))
	if err != nil {
		return errors.New("making the webhook request: the URL is not usable") // the error would show it
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "shiplane")
	resp, err := svc.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // *url.Error repeats the URL
		}
		return fmt.Errorf("posting to the webhook: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("the webhook answered %s; nothing is recorded, so the next run sends again", resp.Status)
	}
	if err := svc.gh.EnsureAsset(ctx, d.ID, g.record, append(body, '\n')); err != nil {
		return fmt.Errorf("the webhook was notified, but recording it as asset %s failed (the next run sends again): %w", g.record, err)
	}
	fmt.Fprintf(svc.out, "%s: sent; recorded as asset %s of release %s\n", g.name, g.record, svc.tag)
	return nil
}

// releaseVerified is the check "release verified": what verifyRelease checks, run at the end of
// releaseAll against the release just published, with the repository's committed public key
// (with.key, default deploy/signing.pub): the signed release-manifest.json, SHA256SUMS, the tag's
// commit read from GitHub, and every image and chart's signature, SBOM, provenance and tag. It
// reads GitHub and the registries afresh, as a consumer does, and writes nothing.
type releaseVerified struct {
	name string
	key  string
	svc  func() (*releaseServices, error)

	mu     sync.Mutex
	passed bool
}

func newReleaseVerified(spec pipeline.Spec) (goal.Goal, error) {
	for k := range spec.With {
		if k != "key" {
			return nil, spec.Invalid("with", fmt.Sprintf("kind %s takes with: {key: <public key file>} only (found %q)", KindReleaseVerified, k), "remove "+k)
		}
	}
	if spec.Run != "" {
		return nil, spec.Invalid("run", fmt.Sprintf("kind %s takes no run:", KindReleaseVerified), "remove run:")
	}
	return &releaseVerified{name: spec.Name, key: spec.With["key"], svc: func() (*releaseServices, error) { return servicesOf(spec) }}, nil
}

func (g *releaseVerified) String() string { return g.name }

func (g *releaseVerified) Assess(context.Context) (goal.State, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.passed {
		return goal.State{Achieved: true, Detail: "every artifact verifies with the release key"}, nil
	}
	return goal.State{Detail: "not verified yet in this release"}, nil
}

func (g *releaseVerified) Achieve(ctx context.Context) error {
	svc, err := g.svc()
	if err != nil {
		return err
	}
	ws := svc.ws
	v, err := newReleaseVerifier(ws.Config.Root, VerifyOptions{KeyFile: g.key}, ws.Env, ws.Settings, svc.out, svc.out)
	if err != nil {
		return err
	}
	if v.helmKeyring, err = readHelmKeyring(ws.Config.Root, "", ws.Settings); err != nil {
		return err
	}
	if err := v.verify(ctx, svc.tag); err != nil {
		return err
	}
	g.mu.Lock()
	g.passed = true
	g.mu.Unlock()
	return nil
}

// signingConfigured reports whether the repository's releases are signed with a key it commits
// (settings signing: key, the default, and its signing_public_key file exists): then "release
// verified" is on by default.
func (w *Workspace) signingConfigured() bool {
	if w.Settings.Signing != settings.SigningKey {
		return false
	}
	_, err := os.Stat(w.Path(w.Settings.SigningPublicKey))
	return err == nil
}
