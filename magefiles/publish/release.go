package publish

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/shiplane/shiplane/magefiles/github"
	"github.com/shiplane/shiplane/magefiles/goal"
	"github.com/shiplane/shiplane/magefiles/published"
)

// Releaser is the part of the GitHub client that the caching decorator serves: reading a
// release and the publish steps.
type Releaser interface {
	ReleaseDetail(ctx context.Context, tag string) (github.ReleaseDetail, error)
	EnsureDraft(ctx context.Context, tag, name, body string, prerelease bool) (int64, error)
	EnsureAsset(ctx context.Context, id int64, name string, content []byte) error
	Publish(ctx context.Context, id int64) error
}

// ReleaseClient is what ReleasePublished needs of GitHub: a Releaser that can also make the
// draft target the released commit, delete an adopted draft's foreign assets, and hash an asset
// GitHub reports no digest for. *github.Client is one.
type ReleaseClient interface {
	Releaser
	EnsureDraftAt(ctx context.Context, d github.Draft) (int64, error)
	PruneAssets(ctx context.Context, id int64, keep []string) error
	AssetSHA256(ctx context.Context, a github.AssetDetail) (string, error)
}

var _ ReleaseClient = (*github.Client)(nil)

// Asset is a file attached to a release.
type Asset struct {
	Name    string
	Content []byte
}

// The steps ReleasePublished.BeforeWrite is called at.
const (
	// StepDraft is right before the draft is created or reused.
	StepDraft = "create or reuse the draft"
	// StepPublish is right before the draft is published.
	StepPublish = "publish"
	// StepPublished is once after publishing.
	StepPublished = "after publishing"
)

// ReleasePublished is the end state "the GitHub release of Tag is published with its assets, and
// only them". It is achieved as a draft first, assets attached (each once), then published, so a
// run stopped anywhere is finished by the next one.
type ReleasePublished struct {
	Tag, Name, Body string
	Prerelease      bool
	// Commit is the commit being released. The draft is created with it as its target_commitish,
	// and a reused draft aimed elsewhere is aligned, so that publishing a release whose tag does
	// not exist (any more) creates the tag at this commit and not at the default branch. Empty
	// leaves the target to GitHub.
	Commit string
	// Assets makes the assets the release must hold, exactly (nil: none). It runs when the
	// release needs work, or is published and not known complete (see Complete), at most once
	// per goal.
	Assets func(ctx context.Context) ([]Asset, error)
	// Complete, when set, is asked first about a published release: true means it is known to
	// hold exactly the assets Assets makes (for instance SumsMatch on its own SHA256SUMS, from a
	// run of this commit), so Assets, which may read registries, is not run. False, or nil,
	// means Assets is run and every asset compared.
	Complete func(ctx context.Context, d github.ReleaseDetail) (bool, error)
	// BeforeWrite, when set, is called right before the draft is created or reused (StepDraft),
	// right before publishing (StepPublish), and once after publishing (StepPublished); an error
	// stops the goal with that error, and nothing after that point is written.
	BeforeWrite func(ctx context.Context, step string) error

	gh  ReleaseClient
	out io.Writer
	// made holds what Assets made, once made.
	made *madeAssets
}

type madeAssets struct {
	mu     sync.Mutex
	done   bool
	assets []Asset
}

var _ goal.Goal = (*ReleasePublished)(nil)

// NewReleasePublished returns the goal.
func NewReleasePublished(g ReleasePublished, gh ReleaseClient, progress io.Writer) *ReleasePublished {
	g.gh, g.out = gh, progress
	if g.out == nil {
		g.out = io.Discard
	}
	g.made = &madeAssets{}
	return &g
}

func (g *ReleasePublished) String() string { return "release published " + g.Tag }

// assets runs Assets once, and hands out what it made thereafter.
func (g *ReleasePublished) assets(ctx context.Context) ([]Asset, error) {
	g.made.mu.Lock()
	defer g.made.mu.Unlock()
	if g.made.done {
		return g.made.assets, nil
	}
	if g.Assets == nil {
		g.made.done = true
		return nil, nil
	}
	as, err := g.Assets(ctx)
	if err != nil {
		return nil, fmt.Errorf("making the assets of %s: %w", g.Tag, err)
	}
	seen := map[string]bool{}
	for _, a := range as {
		if seen[a.Name] {
			return nil, fmt.Errorf("making the assets of %s: asset %s twice", g.Tag, a.Name)
		}
		seen[a.Name] = true
	}
	g.made.done, g.made.assets = true, as
	return as, nil
}

// Assess: no release, or a draft, is to achieve. A published release is achieved when it holds
// every asset Assets makes, complete and with the same sha256 (GitHub's digest; a download only
// where GitHub reports none), and no other; one that lacks some is to complete; one that holds a
// different or a foreign asset fails with a *ReleaseMismatchError saying what to delete.
//
// On a published release it asks GitHub what ReleaseDetail asks (two requests: the by-tag lookup
// and the asset list) and nothing more while GitHub reports digests (without them, two more per
// asset: each is downloaded to be hashed), besides what Complete asks.
func (g *ReleasePublished) Assess(ctx context.Context) (goal.State, error) {
	d, err := g.gh.ReleaseDetail(ctx, g.Tag)
	if err != nil {
		return goal.State{}, err
	}
	switch {
	case !d.Present:
		return goal.State{Detail: "no release"}, nil
	case d.Draft:
		detail := fmt.Sprintf("draft with %d asset(s)", len(d.Assets))
		if n := len(d.OtherDrafts); n > 0 {
			detail += fmt.Sprintf("; %d other draft(s) carry the tag and are left alone", n)
		}
		return goal.State{Detail: detail}, nil
	}
	if g.Complete != nil {
		ok, err := g.Complete(ctx, d)
		if err != nil {
			return goal.State{}, fmt.Errorf("checking whether release %s is complete: %w", g.Tag, err)
		}
		if ok {
			return goal.State{Achieved: true, Detail: d.HTMLURL}, nil
		}
	}
	want, err := g.assets(ctx)
	if err != nil {
		return goal.State{}, err
	}
	missing, err := g.check(ctx, d, want)
	if err != nil {
		return goal.State{}, err
	}
	if len(missing) > 0 {
		return goal.State{Detail: fmt.Sprintf("published without asset(s) %s", strings.Join(missing, ", "))}, nil
	}
	return goal.State{Achieved: true, Detail: d.HTMLURL}, nil
}

// check compares a published release's assets with want: it returns the names missing (absent,
// or not completely uploaded), and a *ReleaseMismatchError when an asset differs or is foreign.
func (g *ReleasePublished) check(ctx context.Context, d github.ReleaseDetail, want []Asset) ([]string, error) {
	mm := &ReleaseMismatchError{Tag: d.Tag, Repo: d.Repo, URL: d.HTMLURL}
	var missing []string
	expected := map[string]bool{}
	for _, w := range want {
		expected[w.Name] = true
		a, ok := d.Asset(w.Name)
		if !ok || !a.Uploaded() {
			missing = append(missing, w.Name)
			continue
		}
		sum := sha256.Sum256(w.Content)
		wantSum := hex.EncodeToString(sum[:])
		if a.Size != int64(len(w.Content)) {
			mm.Differs = append(mm.Differs, AssetDiff{Name: w.Name, Why: fmt.Sprintf("it has %d bytes, not %d", a.Size, len(w.Content))})
			continue
		}
		got, err := g.gh.AssetSHA256(ctx, a)
		if err != nil {
			return nil, fmt.Errorf("checking asset %s of release %s: %w", w.Name, d.Tag, err)
		}
		if got != wantSum {
			mm.Differs = append(mm.Differs, AssetDiff{Name: w.Name, Why: fmt.Sprintf("its sha256 is %s, not %s", got, wantSum)})
		}
	}
	for _, a := range d.Assets {
		if !expected[a.Name] && !published.IsRecord(a.Name) && !slices.Contains(mm.Foreign, a.Name) {
			mm.Foreign = append(mm.Foreign, a.Name)
		}
	}
	if len(mm.Differs) > 0 || len(mm.Foreign) > 0 {
		return nil, mm
	}
	return missing, nil
}

// AssetDiff is an asset of a published release that is not what the release makes.
type AssetDiff struct {
	Name string
	// Why says how it differs.
	Why string
}

// ReleaseMismatchError is a published release holding an asset that differs from what the
// release makes, or one it does not make. Shiplane never replaces or deletes an asset of a
// published release; its text says what to delete, after which a run completes the release.
type ReleaseMismatchError struct {
	// Tag, Repo ("owner/name") and URL (its page) name the release.
	Tag, Repo, URL string
	// Differs are the assets whose content is not what the release makes.
	Differs []AssetDiff
	// Foreign are the assets the release does not make.
	Foreign []string
}

func (e *ReleaseMismatchError) Error() string {
	var what, names, cmds []string
	for _, d := range e.Differs {
		what = append(what, fmt.Sprintf("asset %s differs from what this commit makes (%s)", d.Name, d.Why))
		names = append(names, d.Name)
	}
	for _, n := range e.Foreign {
		what = append(what, fmt.Sprintf("asset %s is not one this release makes", n))
		names = append(names, n)
	}
	for _, n := range names {
		cmds = append(cmds, fmt.Sprintf("gh release delete-asset %s %s --repo %s --yes", e.Tag, n, e.Repo))
	}
	return fmt.Sprintf("published release %s of %s (%s): %s; shiplane never changes a published release's assets: "+
		"delete %s from release %s (%s, or Edit on its page) and run again, which uploads what is missing",
		e.Tag, e.Repo, e.URL, strings.Join(what, "; "), strings.Join(names, ", "), e.Tag, strings.Join(cmds, "; "))
}

// before calls BeforeWrite at step.
func (g *ReleasePublished) before(ctx context.Context, step string) error {
	if g.BeforeWrite == nil {
		return nil
	}
	if err := g.BeforeWrite(ctx, step); err != nil {
		return fmt.Errorf("release %s, %s: %w", g.Tag, step, err)
	}
	return nil
}

// Achieve makes or reuses the draft (aimed at Commit), removes the assets it holds that the
// release does not make, attaches what is missing, and publishes; a published release missing
// assets gets them. BeforeWrite is called before the draft step, before publishing and after.
func (g *ReleasePublished) Achieve(ctx context.Context) error {
	assets, err := g.assets(ctx)
	if err != nil {
		return err
	}
	if err := g.before(ctx, StepDraft); err != nil {
		return err
	}
	id, err := g.gh.EnsureDraftAt(ctx, github.Draft{Tag: g.Tag, Commit: g.Commit, Name: g.Name, Body: g.Body, Prerelease: g.Prerelease})
	if err != nil {
		return err
	}
	keep := make([]string, 0, len(assets))
	for _, a := range assets {
		keep = append(keep, a.Name)
	}
	if err := g.gh.PruneAssets(ctx, id, keep); err != nil {
		return err
	}
	for _, a := range assets {
		if err := g.gh.EnsureAsset(ctx, id, a.Name, a.Content); err != nil {
			return err
		}
		fmt.Fprintf(g.out, "release %s: asset %s in place (%d bytes)\n", g.Tag, a.Name, len(a.Content))
	}
	if err := g.before(ctx, StepPublish); err != nil {
		return err
	}
	if err := g.gh.Publish(ctx, id); err != nil {
		return err
	}
	return g.before(ctx, StepPublished)
}

// SumsMatch reports whether a published release holds exactly what its own checksum file lists,
// complete: sums is the content of the release's asset sumsName (SHA256SUMS, lines of
// "<hex sha256>  <name>"), and every asset it lists is uploaded with GitHub's digest equal to the
// listed sum, sumsName itself is uploaded, and there is no other asset. An asset without a digest,
// or an unreadable line, makes the answer false (not known). It reads nothing: a run that
// attached sumsName last, after every asset it lists, leaves a release it matches.
func SumsMatch(d github.ReleaseDetail, sumsName string, sums []byte) bool {
	if a, ok := d.Asset(sumsName); !ok || !a.Uploaded() {
		return false
	}
	listed := map[string]string{}
	for _, line := range strings.Split(strings.TrimRight(string(sums), "\n"), "\n") {
		sum, name, ok := strings.Cut(line, "  ")
		if !ok || len(sum) != sha256.Size*2 || name == "" || name == sumsName || listed[name] != "" {
			return false
		}
		if _, err := hex.DecodeString(sum); err != nil {
			return false
		}
		listed[name] = strings.ToLower(sum)
	}
	if len(d.Assets) != len(listed)+1 {
		return false
	}
	for _, a := range d.Assets {
		if a.Name == sumsName {
			continue
		}
		algo, sum, ok := strings.Cut(a.Digest, ":")
		if !ok || algo != "sha256" || !a.Uploaded() || !strings.EqualFold(sum, listed[a.Name]) {
			return false
		}
	}
	return true
}
