package lane

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/Masterminds/semver/v3"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/shiplane/shiplane/magefiles/build"
	"github.com/shiplane/shiplane/magefiles/docker"
	"github.com/shiplane/shiplane/magefiles/github"
	"github.com/shiplane/shiplane/magefiles/goal"
	"github.com/shiplane/shiplane/magefiles/guard"
	"github.com/shiplane/shiplane/magefiles/helm"
	"github.com/shiplane/shiplane/magefiles/identity"
	"github.com/shiplane/shiplane/magefiles/pipeline"
	"github.com/shiplane/shiplane/magefiles/plan"
	"github.com/shiplane/shiplane/magefiles/publish"
	"github.com/shiplane/shiplane/magefiles/registry"
)

// releaseBackends are the clients a release talks to.
type releaseBackends struct {
	pub    Publisher
	reg    *registry.Client
	charts *helm.Client
	gh     *github.Client
	obs    *observed
	state  State
	red    *pipeline.Redactor
	out    io.Writer
}

// openRelease connects to the release registry, chart repository, git remote and GitHub. Every
// line it and the release print goes through a redactor that hides GITHUB_TOKEN and any
// secret-looking environment value.
func (w *Workspace) openRelease(ctx context.Context, needGitHub bool) (*releaseBackends, error) {
	s := w.Settings.Release
	var missing []string
	if s.Registry == "" {
		missing = append(missing, "RELEASE_REGISTRY (or release.registry in deploy/settings.yaml)")
	}
	if !strings.HasPrefix(s.ChartRepo, "oci://") {
		missing = append(missing, "RELEASE_CHART_REPO as oci://host/path (or release.chart_repo in deploy/settings.yaml)")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("nowhere to release to: set %s", strings.Join(missing, " and "))
	}
	cl, err := w.clients(ctx, s)
	if err != nil {
		return nil, err
	}
	reg, charts, red, out := cl.reg, cl.charts, cl.red, cl.out
	b := &releaseBackends{reg: reg, charts: charts, red: red, out: out}
	token, repo := w.Config.Getenv("GITHUB_TOKEN"), w.Config.Getenv("GITHUB_REPOSITORY")
	if token != "" && repo != "" {
		opts := []github.Option{github.WithProgress(out)}
		if api := w.Config.Getenv("GITHUB_API_URL"); api != "" {
			opts = append(opts, github.WithBaseURL(api))
		}
		if b.gh, err = github.New(repo, token, opts...); err != nil {
			return nil, red.Error(err)
		}
	} else if needGitHub {
		return nil, fmt.Errorf("cannot release to GitHub: %w", ErrNoGitHub)
	}
	tags, err := w.remoteTags(ctx)
	if err != nil {
		return nil, red.Error(err)
	}
	b.obs = newObserved(reg, charts, b.gh)
	b.pub = Publisher{Registry: s.Registry, ChartRepo: s.ChartRepo, Images: b.obs, Charts: chartView{b.obs}, Release: true, Out: out}
	b.state = State{Images: b.obs, Charts: b.obs, Tags: tags, Releases: b.obs}
	return b, nil
}

// ReleasePlan prints what releaseAll would decide, level by level and artifact by artifact, and
// writes nothing. It fails when releaseAll would refuse.
func ReleasePlan(ctx context.Context, cfg Config) error {
	ws, err := Open(ctx, cfg)
	if err != nil {
		return err
	}
	b, err := ws.openRelease(ctx, false)
	if err != nil {
		return err
	}
	tag, err := ws.releaseTag(ctx)
	if err != nil {
		return err
	}
	if tag == "" {
		tag = ReleaseTag(ws.Manifest.Platform.Version)
	}
	if _, ok := b.state.Tags[tag]; !ok {
		fmt.Fprintf(ws.Config.Stdout, "note: %s is not on %s yet; releaseAll runs from the pushed tag (go run mage.go tagRelease)\n", tag, Remote)
	}
	if err := b.obs.loadIndex(ctx, tag); err != nil {
		return b.red.Error(err)
	}
	pl, err := ws.MakePlan(ctx, b.pub, b.state, tag, false)
	if err != nil {
		return b.red.Error(err)
	}
	fmt.Fprint(ws.Config.Stdout, b.red.String(pl.String()))
	return b.red.Error(pl.Err())
}

// ReleaseAll publishes the release of the tag HEAD is at: it refuses before any write when a
// guardrail fails, runs the verification goals of deploy/release.yaml, then publishes images
// (reproducibly, times set to the commit time), charts and per-component git tags in
// topological order, and finally the GitHub release with its assets. What is already published
// from the same inputs is left alone, so a re-run after a failure finishes only what is missing.
func ReleaseAll(ctx context.Context, cfg Config) error {
	ws, err := Open(ctx, cfg)
	if err != nil {
		return err
	}
	tag, err := ws.releaseTag(ctx)
	if err != nil {
		return err
	}
	if tag == "" {
		return fmt.Errorf("no release tag: set RELEASE_TAG, or run from the tag (go run mage.go tagRelease creates v%s at HEAD)", ws.Manifest.Platform.Version)
	}
	b, err := ws.openRelease(ctx, true)
	if err != nil {
		return err
	}
	out := b.out
	if err := b.obs.loadIndex(ctx, tag); err != nil {
		return b.red.Error(err)
	}
	pl, err := ws.MakePlan(ctx, b.pub, b.state, tag, true)
	if err != nil {
		return b.red.Error(err)
	}
	fmt.Fprint(out, pl.String())
	if err := pl.Err(); err != nil {
		return b.red.Error(err)
	}

	var verify []*goal.Node
	if pl.Count(plan.Publish) > 0 {
		if verify, err = ws.verifyNodes(ctx, b); err != nil {
			return b.red.Error(err)
		}
	} else {
		fmt.Fprintln(out, "everything is published: no verification needed")
	}
	skip, buildNeeded := map[string]bool{}, map[string]bool{}
	for _, l := range pl.Levels {
		for _, e := range l {
			for _, s := range e.Steps {
				if s.Decision == plan.Blocked {
					skip[e.Name] = true
				}
				if s.Decision == plan.Publish && s.Kind == plan.Image {
					buildNeeded[e.Name] = true
				}
			}
		}
	}
	b.pub.Skip = skip
	var builds []*goal.Node
	if len(buildNeeded) > 0 {
		d, err := docker.New(ctx, docker.WithHost(ws.Config.Getenv("DOCKER_HOST")))
		if err != nil {
			return err
		}
		defer d.Close()
		b.pub.Source = publish.Reproducible{Source: registry.NewDaemon(d.API()), Time: ws.Head.Time}
		// Every image the release builds names this commit: one built from the same inputs at
		// another commit (or from uncommitted edits) is rebuilt, not reused.
		for _, n := range ws.LocalBuildNodes(d, build.WithProgress(out), build.WithRequiredRevision(ws.Head.Hash)) {
			if buildNeeded[n.Component] || baseOfNeeded(ws, n.Component, buildNeeded) {
				builds = append(builds, n)
			}
		}
	} else {
		b.pub.Source = noLocalImages{}
	}
	nodes := append(append([]*goal.Node(nil), verify...), builds...)
	pubs := ws.PublishNodes(b.pub, builds)
	nodes = append(nodes, pubs...)
	tags := publish.NewRemoteTags(ws.Repo, Remote).Seed(b.state.Tags)
	byComponent := map[string][]*goal.Node{}
	for _, n := range pubs {
		byComponent[n.Component] = append(byComponent[n.Component], n)
	}
	for _, c := range ws.Manifest.Components {
		if !c.Publish || skip[c.Name] {
			continue
		}
		t := ComponentTag(c.Name, c.Version)
		n := &goal.Node{Component: c.Name, After: byComponent[c.Name],
			Goal: publish.NewTagPushed(t, ws.Head.Hash, fmt.Sprintf("%s %s (release %s)", c.Name, c.Version, tag), tags, out)}
		nodes = append(nodes, n)
	}
	// Nothing is published before every verification goal passed.
	for _, n := range nodes[len(verify):] {
		n.After = append(n.After, verify...)
	}
	rel := publish.NewReleasePublished(publish.ReleasePublished{
		Tag: tag, Name: tag, Body: ws.releaseBody(tag, skip), Prerelease: prerelease(ws.Manifest.Platform.Version),
		Assets: func(ctx context.Context) ([]publish.Asset, error) { return ws.releaseAssets(ctx, b, tag, skip) },
	}, b.obs, out)
	all := append(nodes, &goal.Node{Component: PlatformComponent, Goal: rel, After: append([]*goal.Node(nil), nodes...)})

	r := goal.New(goal.WithWorkers(ws.Config.Workers), goal.WithProgress(out)).Run(ctx, all)
	return ws.finishRedacted(r, b.red)
}

// baseOfNeeded reports whether name's image is, directly or through other images, the base of an
// image that must be built: the build of an image waits for the build of its base.
func baseOfNeeded(ws *Workspace, name string, needed map[string]bool) bool {
	for n := range needed {
		for c := ws.Manifest.Component(n); c != nil && c.Image != nil && c.Image.From != ""; c = ws.Manifest.Component(c.Image.From) {
			if c.Image.From == name {
				return true
			}
			if c.Image.From == c.Name {
				break
			}
		}
	}
	return false
}

// noLocalImages is the image source of a release that builds nothing: every image is published.
type noLocalImages struct{}

func (noLocalImages) LocalImage(_ context.Context, ref string) (v1.Image, error) {
	return nil, fmt.Errorf("%s: the plan found it published, so it was not built", ref)
}

// verifyNodes loads deploy/release.yaml when there is one.
func (w *Workspace) verifyNodes(ctx context.Context, b *releaseBackends) ([]*goal.Node, error) {
	if _, err := os.Stat(w.Path(pipeline.DefaultFile)); errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(b.out, "no %s: no verification goals\n", pipeline.DefaultFile)
		return nil, nil
	}
	p, err := pipeline.Load(ctx, w.Config.Root, pipeline.DefaultFile, pipeline.WithProgress(b.out), pipeline.WithRedactor(b.red))
	if err != nil {
		return nil, err
	}
	return p.Nodes(), nil
}

func prerelease(v string) bool {
	sv, err := semver.StrictNewVersion(v)
	return err == nil && sv.Prerelease() != ""
}

func (w *Workspace) releaseBody(tag string, skip map[string]bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Release %s from commit %s.\n\n| component | version |\n|---|---|\n", tag, w.Head.Hash)
	for _, c := range w.Manifest.Components {
		if c.Publish && !skip[c.Name] {
			fmt.Fprintf(&b, "| %s | %s |\n", c.Name, c.Version)
		}
	}
	return b.String()
}

// ReleaseManifest is release-manifest.json: every component, version, artifact digest and the commit.
type ReleaseManifest struct {
	Tag        string              `json:"tag"`
	Version    string              `json:"version"`
	Commit     string              `json:"commit"`
	Components []ReleasedComponent `json:"components"`
}

// ReleasedComponent is one component in the release manifest.
type ReleasedComponent struct {
	Name        string `json:"name"`
	Version     string `json:"version"`
	Inputs      string `json:"inputs"`
	Image       string `json:"image,omitempty"`
	ImageDigest string `json:"image_digest,omitempty"`
	Chart       string `json:"chart,omitempty"`
	ChartDigest string `json:"chart_digest,omitempty"`
	ChartInputs string `json:"chart_inputs,omitempty"`
}

// releaseAssets pulls every released chart back from the chart repository (the exact published
// bytes) and writes release-manifest.json and SHA256SUMS over them.
func (w *Workspace) releaseAssets(ctx context.Context, b *releaseBackends, tag string, skip map[string]bool) ([]publish.Asset, error) {
	m := ReleaseManifest{Tag: tag, Version: w.Manifest.Platform.Version, Commit: w.Head.Hash}
	var assets []publish.Asset
	addChart := func(name, version string) (string, error) {
		data, err := b.obs.PullChart(ctx, b.pub.ChartRepo, name, version)
		if err != nil {
			return "", err
		}
		assets = append(assets, publish.Asset{Name: fmt.Sprintf("%s-%s.tgz", name, version), Content: data})
		ch, err := b.obs.Chart(ctx, b.pub.ChartRepo, name, version)
		if err != nil {
			return "", err
		}
		return ch.Digest, nil
	}
	for _, c := range w.Manifest.Components {
		if !c.Publish || skip[c.Name] {
			continue
		}
		rc := ReleasedComponent{Name: c.Name, Version: c.Version, Inputs: string(w.Keys[c.Name])}
		if c.Image != nil {
			rc.Image = b.pub.ImageRepository(c) + ":" + c.Version
			d, ok, err := b.obs.Digest(ctx, rc.Image)
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, fmt.Errorf("%s is not in the registry: its push did not finish", rc.Image)
			}
			rc.ImageDigest = d
		}
		if c.Chart != "" {
			name := chartName(c.Chart)
			rc.Chart = fmt.Sprintf("%s/%s:%s", b.pub.ChartRepo, name, c.Version)
			d, err := addChart(name, c.Version)
			if err != nil {
				return nil, err
			}
			rc.ChartDigest, rc.ChartInputs = d, string(w.ChartKeys[c.Name])
		}
		m.Components = append(m.Components, rc)
	}
	if pc := w.Manifest.Platform.Chart; pc != "" && !skip[PlatformComponent] {
		name := chartName(pc)
		rc := ReleasedComponent{Name: PlatformComponent, Version: w.Manifest.Platform.Version, Inputs: string(w.ChartKeys[identity.PlatformChart]),
			ChartInputs: string(w.ChartKeys[identity.PlatformChart]),
			Chart:       fmt.Sprintf("%s/%s:%s", b.pub.ChartRepo, name, w.Manifest.Platform.Version)}
		d, err := addChart(name, w.Manifest.Platform.Version)
		if err != nil {
			return nil, err
		}
		rc.ChartDigest = d
		m.Components = append(m.Components, rc)
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	assets = append(assets, publish.Asset{Name: "release-manifest.json", Content: append(data, '\n')})
	sort.Slice(assets, func(i, j int) bool { return assets[i].Name < assets[j].Name })
	var sums bytes.Buffer
	for _, a := range assets {
		h := sha256.Sum256(a.Content)
		fmt.Fprintf(&sums, "%s  %s\n", hex.EncodeToString(h[:]), a.Name)
	}
	return append(assets, publish.Asset{Name: "SHA256SUMS", Content: sums.Bytes()}), nil
}

// TagRelease creates the annotated tag v<root VERSION> at HEAD and pushes it to origin, after
// refusing when the tag exists locally or on the remote, the tree is dirty, or a version or
// changed-without-bump guardrail fails.
func TagRelease(ctx context.Context, cfg Config) error {
	ws, err := Open(ctx, cfg)
	if err != nil {
		return err
	}
	tag := ReleaseTag(ws.Manifest.Platform.Version)
	remote, err := ws.remoteTags(ctx)
	if err != nil {
		return err
	}
	facts, err := ws.facts(ctx, remote)
	if err != nil {
		return err
	}
	if err := ws.releaseFacts(ctx, &facts, tag, remote); err != nil {
		return err
	}
	checks, err := guard.Select(guard.VersionsName, guard.MetadataName, guard.BumpedName, guard.CleanTreeName, guard.ReleaseTagName, guard.TagFreeName)
	if err != nil {
		return err
	}
	if err := guard.Run(facts, checks...); err != nil {
		return &RefusedError{Err: err}
	}
	if err := ws.Repo.CreateTag(ctx, tag, ws.Head.Hash, "Release "+tag); err != nil {
		return err
	}
	if err := ws.Repo.PushTag(ctx, Remote, tag); err != nil {
		return fmt.Errorf("%w; the local tag %s was created: push it with git push %s %s, or delete it with git tag -d %s", err, tag, Remote, tag, tag)
	}
	fmt.Fprintf(ws.Config.Stdout, "tagged %s at %s and pushed it to %s\n", tag, ws.Head.Short(), Remote)
	fmt.Fprintf(ws.Config.Progress, "CI runs releaseAll for %s; preview it with: go run mage.go releasePlan\n", tag)
	return nil
}

// remoteTags lists the release remote's tags, saying first when the remote is not configured.
func (w *Workspace) remoteTags(ctx context.Context) (map[string]string, error) {
	if _, err := w.Repo.RemoteURL(ctx, Remote); err != nil {
		return nil, fmt.Errorf("releases read and push tags on a git remote: %w", err)
	}
	return w.Repo.RemoteTags(ctx, Remote)
}
