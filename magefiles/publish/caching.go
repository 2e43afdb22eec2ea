package publish

import (
	"context"
	"fmt"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/shiplane/shiplane/magefiles/github"
	"github.com/shiplane/shiplane/magefiles/helm"
	"github.com/shiplane/shiplane/magefiles/published"
	"github.com/shiplane/shiplane/magefiles/registry"
)

// ChartRepository is what the caching decorator needs of a chart repository client.
type ChartRepository interface {
	Charts
	helm.Puller
	helm.DigestPuller
}

// GitHub is what the caching decorator needs of the GitHub releases client.
type GitHub interface {
	ReleaseClient
	AssetContent(ctx context.Context, a github.AssetDetail) ([]byte, error)
	PublishedReleases(ctx context.Context) ([]github.PublishedRelease, error)
	DeleteRelease(ctx context.Context, id int64) error
}

// Caching decorates the registry, chart repository, git remote and GitHub clients of one run, in
// the manner of ko's publish.NewCaching: each question is asked once per run, the answers serve
// the plan's observation and the goals' first assessments alike, and a write forgets exactly the
// answers it may change, so re-assessing after achieving asks again; except that an image push
// that succeeded keeps what it established (each of its tags holds the pushed digest, as the
// registry answered our manifest PUT), so re-assessing the image asks its tags nothing.
//
// It satisfies published.State (what the plan observes through) and the goals' client
// interfaces (Registry, Charts via ChartView, Releaser).
type Caching struct {
	reg    Registry
	charts ChartRepository
	gh     GitHub // nil when GitHub is not configured: releases cannot be told
	tags   *RemoteTags

	// ids remembers the identity (inputs key) each digest was read to carry; nil for none.
	ids *DigestMemo

	mu       sync.Mutex
	digests  map[string]digestAnswer
	images   map[string]published.Image
	chartAns map[string]published.Chart
	releases map[string]github.ReleaseDetail
	inflight map[string]chan struct{}
	// gen counts writes: an answer asked before a write is not kept after it.
	gen int
}

type digestAnswer struct {
	digest  string
	present bool
}

var (
	_ published.State = (*Caching)(nil)
	_ Registry        = (*Caching)(nil)
	_ ReleaseClient   = (*Caching)(nil)
	_ ChartRepository = ChartView{}
)

// ErrNoGitHub is a release question asked without GITHUB_TOKEN or GITHUB_REPOSITORY.
var ErrNoGitHub = fmt.Errorf("GITHUB_TOKEN and GITHUB_REPOSITORY must be set (GITHUB_API_URL for GitHub Enterprise)")

// NewCaching decorates the clients. gh may be nil (GitHub not configured: a release question then
// cannot be told); tags may be nil (no git remote: a tag question cannot be told).
func NewCaching(reg Registry, charts ChartRepository, tags *RemoteTags, gh GitHub) *Caching {
	return &Caching{reg: reg, charts: charts, gh: gh, tags: tags, digests: map[string]digestAnswer{},
		images: map[string]published.Image{}, chartAns: map[string]published.Chart{}, releases: map[string]github.ReleaseDetail{}, inflight: map[string]chan struct{}{}}
}

// WithIdentities keeps, in memo, the inputs key each image or chart digest was read to carry, so a
// later run settles that digest with its manifest HEAD alone. A digest names immutable content, so
// the record cannot go stale, and it lives on this machine: nothing a registry or release writer
// can edit (a release's assets, a draft) ever stands in for the artifact's own labels. Default:
// none (every identity is read from the registry).
func (o *Caching) WithIdentities(memo *DigestMemo) *Caching {
	o.ids = memo
	return o
}

// ReleaseManifest is release-manifest.json: every component, version, artifact digest and the commit.
type ReleaseManifest struct {
	Tag        string              `json:"tag"`
	Version    string              `json:"version"`
	Commit     string              `json:"commit"`
	Components []ReleasedComponent `json:"components"`
	// FirstPublished are the artifacts this release published first: no release published
	// before it lists them. revertRelease removes these, and only these. nil (absent) in a
	// manifest made before it was recorded; empty when the release published nothing new.
	FirstPublished []ReleasedArtifact `json:"first_published"`
}

// ReleasedComponent is one component in the release manifest.
type ReleasedComponent struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Inputs  string `json:"inputs"`
	Image   string `json:"image,omitempty"`
	// ImageDigest is what Image holds: the image index's digest for a multi-platform image.
	ImageDigest string `json:"image_digest,omitempty"`
	// ImagePlatforms are the index's images, each platform with its image's digest, in the
	// index's order; left out for a single-platform image.
	ImagePlatforms []published.Platform `json:"image_platforms,omitempty"`
	Chart          string               `json:"chart,omitempty"`
	ChartDigest    string               `json:"chart_digest,omitempty"`
	ChartInputs    string               `json:"chart_inputs,omitempty"`
}

// remember runs ask once per key and keeps its answer; a failed answer is not kept. Callers
// asking the same key at once share one question (single flight), so goals assessed together
// cost one request.
func remember[T any](o *Caching, m map[string]T, key string, ask func() (T, error)) (T, error) {
	for {
		o.mu.Lock()
		if v, ok := m[key]; ok {
			o.mu.Unlock()
			return v, nil
		}
		flight := fmt.Sprintf("%p %s", m, key)
		if wait, busy := o.inflight[flight]; busy {
			o.mu.Unlock()
			<-wait // the other caller's answer is kept, or it failed: look again
			o.mu.Lock()
			v, ok := m[key]
			o.mu.Unlock()
			if ok {
				return v, nil
			}
			continue
		}
		done := make(chan struct{})
		o.inflight[flight] = done
		gen := o.gen
		o.mu.Unlock()
		v, err := ask()
		o.mu.Lock()
		if err == nil && gen == o.gen {
			m[key] = v // kept only if no write happened meanwhile: a write may have changed it
		}
		delete(o.inflight, flight)
		o.mu.Unlock()
		close(done)
		return v, err
	}
}

// Digest is one manifest HEAD per reference and run, until a push to it.
func (o *Caching) Digest(ctx context.Context, ref string) (string, bool, error) {
	a, err := remember(o, o.digests, ref, func() (digestAnswer, error) {
		d, present, err := o.reg.Digest(ctx, ref)
		return digestAnswer{d, present}, err
	})
	return a.digest, a.present, err
}

// Image reads what ref holds: one manifest HEAD, then the identity it carries, from the memo when
// that digest was verified before (a digest names immutable content), else from the image's own
// config labels in the registry (a manifest and a config GET), which the memo then keeps.
func (o *Caching) Image(ctx context.Context, ref string) (published.Image, error) {
	return remember(o, o.images, ref, func() (published.Image, error) {
		return identify(ctx, o, "image", ref, o.reg.Image,
			func(img published.Image) (string, string) { return img.Digest, img.Inputs },
			func(d, in string) published.Image { return published.Image{Present: true, Digest: d, Inputs: in} })
	})
}

// identify settles what ref holds: with the memo, one manifest HEAD, and the identity verified
// before for that digest; otherwise read (the artifact's own labels or annotations), whose
// identity the memo then keeps. carried gives what was read's digest and inputs ("" when absent);
// known makes the answer from a remembered identity.
func identify[T any](ctx context.Context, o *Caching, kind, ref string, read func(context.Context, string) (T, error),
	carried func(T) (digest, inputs string), known func(digest, inputs string) T) (T, error) {
	var zero T
	if o.ids != nil {
		d, present, err := o.Digest(ctx, ref)
		if err != nil || !present {
			return zero, err
		}
		if in, ok := o.ids.Get(kind + " inputs " + d); ok {
			return known(d, in), nil
		}
	}
	v, err := read(ctx, ref)
	if d, in := carried(v); err == nil && o.ids != nil && d != "" && in != "" {
		o.ids.Put(kind+" inputs "+d, in)
	}
	return v, err
}

// Push pushes and forgets what it knew of the tags; once the push succeeded, the tags' digest is
// the pushed one (see Caching).
func (o *Caching) Push(ctx context.Context, img v1.Image, tags []string, opts ...registry.PushOption) (registry.Pushed, error) {
	o.forget(tags...)
	res, err := o.reg.Push(ctx, img, tags, opts...)
	o.pushed(tags, res, err)
	return res, err
}

// PushIndex pushes an image index, as Push.
func (o *Caching) PushIndex(ctx context.Context, idx v1.ImageIndex, tags []string, opts ...registry.PushOption) (registry.Pushed, error) {
	o.forget(tags...)
	res, err := o.reg.PushIndex(ctx, idx, tags, opts...)
	o.pushed(tags, res, err)
	return res, err
}

// pushed forgets the tags again (answers asked during the push are not kept) and, when the push
// succeeded, keeps that every tag holds the pushed digest.
func (o *Caching) pushed(tags []string, res registry.Pushed, err error) {
	o.forget(tags...)
	if err != nil || res.Digest == "" {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, t := range tags {
		o.digests[t] = digestAnswer{digest: res.Digest, present: true}
	}
}

// Platforms reads which image each platform gets from ref (never cached: it is read once, for the
// release's assets).
func (o *Caching) Platforms(ctx context.Context, ref string) (string, []published.Platform, error) {
	return o.reg.Platforms(ctx, ref)
}

func (o *Caching) forget(refs ...string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.gen++
	for _, r := range refs {
		delete(o.digests, r)
		delete(o.images, r)
		delete(o.chartAns, r)
	}
}

// Chart reads what the chart repository holds for the version: with the memo, one manifest HEAD
// and the identity verified before for that digest; else the manifest's annotations.
func (o *Caching) Chart(ctx context.Context, repo, name, version string) (published.Chart, error) {
	ref := published.ChartRef(repo, name, version)
	return remember(o, o.chartAns, ref, func() (published.Chart, error) {
		return identify(ctx, o, "chart", ref,
			func(ctx context.Context, _ string) (published.Chart, error) {
				return o.charts.Chart(ctx, repo, name, version)
			},
			func(c published.Chart) (string, string) { return c.Digest, c.Inputs },
			func(d, in string) published.Chart { return published.Chart{Present: true, Digest: d, Inputs: in} })
	})
}

// PullChart reads a chart archive (never cached: the bytes are what is published now).
func (o *Caching) PullChart(ctx context.Context, repo, name, version string) ([]byte, error) {
	return o.charts.PullChart(ctx, repo, name, version)
}

// PullChartAt reads the chart archive of a manifest digest (never cached).
func (o *Caching) PullChartAt(ctx context.Context, repo, name, version, digest string) ([]byte, error) {
	return o.charts.PullChartAt(ctx, repo, name, version, digest)
}

// Charts is the decorator as a chart repository client.
func (o *Caching) Charts() ChartView { return ChartView{o} }

// ChartView is the caching decorator as a chart repository (Charts and helm.Puller).
type ChartView struct{ *Caching }

// Push pushes a chart and forgets what it knew of it.
func (o ChartView) Push(ctx context.Context, pkg *helm.Package, repo string, opts ...helm.PushOption) (*helm.PushResult, error) {
	ref := published.ChartRef(repo, pkg.Name, pkg.Version)
	o.forget(ref)
	defer o.forget(ref)
	return o.charts.Push(ctx, pkg, repo, opts...)
}

// Tag answers from the remote's tag list, read once per run until a tag push.
func (o *Caching) Tag(ctx context.Context, name string) (published.Tag, error) {
	if o.tags == nil {
		return published.Tag{}, &published.UnknownError{What: "the git tag " + name, Err: fmt.Errorf("no git remote")}
	}
	tags, err := o.tags.Get(ctx)
	if err != nil {
		return published.Tag{}, &published.UnknownError{What: "the git tag " + name, Err: err}
	}
	c, ok := tags[name]
	return published.Tag{Present: ok, Commit: c}, nil
}

// ReleaseDetail is one lookup per tag and run, until a write to the release.
func (o *Caching) ReleaseDetail(ctx context.Context, tag string) (github.ReleaseDetail, error) {
	if o.gh == nil {
		return github.ReleaseDetail{}, &published.UnknownError{What: "the GitHub release " + tag, Err: ErrNoGitHub}
	}
	return remember(o, o.releases, tag, func() (github.ReleaseDetail, error) { return o.gh.ReleaseDetail(ctx, tag) })
}

// Release answers published.Releases from ReleaseDetail.
func (o *Caching) Release(ctx context.Context, tag string) (published.Release, error) {
	d, err := o.ReleaseDetail(ctx, tag)
	if err != nil {
		return published.Release{}, err
	}
	r := published.Release{Present: d.Present, Draft: d.Draft}
	for _, a := range d.Assets {
		r.Assets = append(r.Assets, a.Name)
	}
	return r, nil
}

func (o *Caching) forgetReleases() {
	o.mu.Lock()
	o.gen++
	clear(o.releases) // in place: remember holds the map, not a copy
	o.mu.Unlock()
}

// EnsureDraft writes to GitHub and forgets the release.
func (o *Caching) EnsureDraft(ctx context.Context, tag, name, body string, prerelease bool) (int64, error) {
	defer o.forgetReleases()
	return o.gh.EnsureDraft(ctx, tag, name, body, prerelease)
}

// EnsureAsset attaches an asset and forgets the release.
func (o *Caching) EnsureAsset(ctx context.Context, id int64, name string, content []byte) error {
	defer o.forgetReleases()
	return o.gh.EnsureAsset(ctx, id, name, content)
}

// Publish publishes a draft and forgets the release.
func (o *Caching) Publish(ctx context.Context, id int64) error {
	defer o.forgetReleases()
	return o.gh.Publish(ctx, id)
}

// EnsureDraftAt makes or reuses the tag's draft, aimed at the commit, and forgets the release.
func (o *Caching) EnsureDraftAt(ctx context.Context, d github.Draft) (int64, error) {
	defer o.forgetReleases()
	return o.gh.EnsureDraftAt(ctx, d)
}

// PruneAssets removes a draft's assets not in keep, and forgets the release.
func (o *Caching) PruneAssets(ctx context.Context, id int64, keep []string) error {
	defer o.forgetReleases()
	return o.gh.PruneAssets(ctx, id, keep)
}

// AssetSHA256 is an asset's sha256 (GitHub's digest, else its content's).
func (o *Caching) AssetSHA256(ctx context.Context, a github.AssetDetail) (string, error) {
	return o.gh.AssetSHA256(ctx, a)
}

// AssetContent reads an asset's content (never cached: it is what is published now).
func (o *Caching) AssetContent(ctx context.Context, a github.AssetDetail) ([]byte, error) {
	return o.gh.AssetContent(ctx, a)
}
