package lane

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/shiplane/shiplane/magefiles/github"
	"github.com/shiplane/shiplane/magefiles/helm"
	"github.com/shiplane/shiplane/magefiles/plan"
	"github.com/shiplane/shiplane/magefiles/publish"
	"github.com/shiplane/shiplane/magefiles/published"
	"github.com/shiplane/shiplane/magefiles/registry"
)

// observed is a release's view of what is published, read once per run: the plan's answers serve
// the goals' first assessments, and a write forgets the answers it may change, so re-assessing
// after achieving asks again. When the GitHub release of the tag already exists, its
// release-manifest.json says which digest was published from which inputs; a manifest HEAD that
// answers that digest then settles an artifact without reading its config.
type observed struct {
	reg    *registry.Client
	charts *helm.Client
	gh     *github.Client

	mu       sync.Mutex
	index    map[string]indexed // "host/path/name:tag" → what the release manifest recorded
	digests  map[string]digestAnswer
	images   map[string]published.Image
	chartAns map[string]published.Chart
	releases map[string]github.ReleaseDetail
}

type indexed struct{ digest, inputs string }

type digestAnswer struct {
	digest  string
	present bool
}

var (
	_ published.Images   = (*observed)(nil)
	_ published.Charts   = (*observed)(nil)
	_ published.Releases = (*observed)(nil)
	_ publish.Registry   = (*observed)(nil)
	_ publish.Charts     = chartView{}
	_ publish.Releaser   = (*observed)(nil)
)

func newObserved(reg *registry.Client, charts *helm.Client, gh *github.Client) *observed {
	return &observed{reg: reg, charts: charts, gh: gh, index: map[string]indexed{}, digests: map[string]digestAnswer{},
		images: map[string]published.Image{}, chartAns: map[string]published.Chart{}, releases: map[string]github.ReleaseDetail{}}
}

// loadIndex reads release-manifest.json from the tag's GitHub release, when there is one.
func (o *observed) loadIndex(ctx context.Context, tag string) error {
	if o.gh == nil {
		return nil
	}
	d, err := o.ReleaseDetail(ctx, tag)
	if err != nil || !d.Present {
		return err
	}
	a, ok := d.Asset("release-manifest.json")
	if !ok || !a.Uploaded() {
		return nil
	}
	data, err := o.gh.AssetContent(ctx, a)
	if err != nil {
		return err
	}
	var m ReleaseManifest
	if err := json.Unmarshal(data, &m); err != nil {
		return fmt.Errorf("reading release-manifest.json of %s: %w", tag, err)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, c := range m.Components {
		if c.Image != "" && c.ImageDigest != "" {
			o.index[c.Image] = indexed{digest: c.ImageDigest, inputs: c.Inputs}
		}
		if c.Chart != "" && c.ChartDigest != "" && c.ChartInputs != "" {
			o.index[strings.TrimPrefix(c.Chart, "oci://")] = indexed{digest: c.ChartDigest, inputs: c.ChartInputs}
		}
	}
	return nil
}

// Digest is one manifest HEAD per reference and run, until a push to it.
func (o *observed) Digest(ctx context.Context, ref string) (string, bool, error) {
	o.mu.Lock()
	a, ok := o.digests[ref]
	o.mu.Unlock()
	if ok {
		return a.digest, a.present, nil
	}
	d, present, err := o.reg.Digest(ctx, ref)
	if err != nil {
		return "", false, err
	}
	o.mu.Lock()
	o.digests[ref] = digestAnswer{d, present}
	o.mu.Unlock()
	return d, present, nil
}

// fromIndex answers from the release manifest when the registry holds the recorded digest.
func (o *observed) fromIndex(ctx context.Context, ref string) (published.Image, bool, error) {
	o.mu.Lock()
	ix, ok := o.index[ref]
	o.mu.Unlock()
	if !ok {
		return published.Image{}, false, nil
	}
	d, present, err := o.Digest(ctx, ref)
	if err != nil {
		return published.Image{}, false, err
	}
	if !present {
		return published.Image{}, true, nil
	}
	if d != ix.digest {
		return published.Image{}, false, nil // not what the release recorded: read it
	}
	return published.Image{Present: true, Digest: d, Inputs: ix.inputs}, true, nil
}

// Image answers from the index, else reads the manifest and config (once per run).
func (o *observed) Image(ctx context.Context, ref string) (published.Image, error) {
	o.mu.Lock()
	img, ok := o.images[ref]
	o.mu.Unlock()
	if ok {
		return img, nil
	}
	img, ok, err := o.fromIndex(ctx, ref)
	if err != nil {
		return published.Image{}, err
	}
	if !ok {
		if img, err = o.reg.Image(ctx, ref); err != nil {
			return published.Image{}, err
		}
	}
	o.mu.Lock()
	o.images[ref] = img
	o.mu.Unlock()
	return img, nil
}

// Push pushes and forgets what it knew of the tags.
func (o *observed) Push(ctx context.Context, img v1.Image, tags []string, opts ...registry.PushOption) (registry.Pushed, error) {
	o.forget(tags...)
	defer o.forget(tags...)
	return o.reg.Push(ctx, img, tags, opts...)
}

func (o *observed) forget(refs ...string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, r := range refs {
		delete(o.digests, r)
		delete(o.images, r)
		delete(o.chartAns, r)
		delete(o.index, r)
	}
}

// Chart answers from the index, else asks the chart repository (once per run).
func (o *observed) Chart(ctx context.Context, repo, name, version string) (published.Chart, error) {
	ref := strings.TrimPrefix(repo, "oci://") + "/" + name + ":" + version
	o.mu.Lock()
	c, ok := o.chartAns[ref]
	o.mu.Unlock()
	if ok {
		return c, nil
	}
	img, ok, err := o.fromIndex(ctx, ref)
	if err != nil {
		return published.Chart{}, err
	}
	if ok {
		c = published.Chart{Present: img.Present, Digest: img.Digest, Inputs: img.Inputs}
	} else if c, err = o.charts.Chart(ctx, repo, name, version); err != nil {
		return published.Chart{}, err
	}
	o.mu.Lock()
	o.chartAns[ref] = c
	o.mu.Unlock()
	return c, nil
}

// chartView is the observed state as a chart repository (publish.Charts and helm.Puller).
type chartView struct{ *observed }

// Push pushes a chart and forgets what it knew of it.
func (o chartView) Push(ctx context.Context, pkg *helm.Package, repo string) (*helm.PushResult, error) {
	ref := strings.TrimPrefix(repo, "oci://") + "/" + pkg.Name + ":" + pkg.Version
	o.forget(ref)
	defer o.forget(ref)
	return o.charts.Push(ctx, pkg, repo)
}

// PullChart reads a chart archive.
func (o *observed) PullChart(ctx context.Context, repo, name, version string) ([]byte, error) {
	return o.charts.PullChart(ctx, repo, name, version)
}

// ReleaseDetail is one lookup per tag and run, until a write to the release.
func (o *observed) ReleaseDetail(ctx context.Context, tag string) (github.ReleaseDetail, error) {
	o.mu.Lock()
	d, ok := o.releases[tag]
	o.mu.Unlock()
	if ok {
		return d, nil
	}
	d, err := o.gh.ReleaseDetail(ctx, tag)
	if err != nil {
		return d, err
	}
	o.mu.Lock()
	o.releases[tag] = d
	o.mu.Unlock()
	return d, nil
}

// Release answers published.Releases from ReleaseDetail.
func (o *observed) Release(ctx context.Context, tag string) (published.Release, error) {
	if o.gh == nil {
		return published.Release{}, &published.UnknownError{What: "the GitHub release " + tag, Err: ErrNoGitHub}
	}
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

func (o *observed) forgetReleases() {
	o.mu.Lock()
	o.releases = map[string]github.ReleaseDetail{}
	o.mu.Unlock()
}

// EnsureDraft, EnsureAsset and Publish write to GitHub and forget the release.
func (o *observed) EnsureDraft(ctx context.Context, tag, name, body string, prerelease bool) (int64, error) {
	defer o.forgetReleases()
	return o.gh.EnsureDraft(ctx, tag, name, body, prerelease)
}

// EnsureAsset attaches an asset.
func (o *observed) EnsureAsset(ctx context.Context, id int64, name string, content []byte) error {
	defer o.forgetReleases()
	return o.gh.EnsureAsset(ctx, id, name, content)
}

// Publish publishes a draft.
func (o *observed) Publish(ctx context.Context, id int64) error {
	defer o.forgetReleases()
	return o.gh.Publish(ctx, id)
}

// prefetchLimit bounds the lookups a release makes at once before planning; it is about the
// registry's latency, not the machine's cores, so it is not the engine's worker count.
const prefetchLimit = 32

// prefetch asks about every artifact at once, so the plan, which decides one component after
// another, answers from memory. A failed lookup is not kept: the plan asks again and reports it.
func (o *observed) prefetch(ctx context.Context, in plan.Input) {
	sem := make(chan struct{}, prefetchLimit)
	var wg sync.WaitGroup
	for _, c := range in.Components {
		for _, a := range c.Artifacts {
			if a.Kind != plan.Image && a.Kind != plan.Chart {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				select {
				case sem <- struct{}{}:
				case <-ctx.Done():
					return
				}
				defer func() { <-sem }()
				if a.Kind == plan.Image {
					o.Image(ctx, a.Ref) //nolint:errcheck // see above
				} else {
					o.Chart(ctx, a.Repo, a.Name, a.Version) //nolint:errcheck // see above
				}
			}()
		}
	}
	wg.Wait()
}
