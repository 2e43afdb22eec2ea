package lane

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/shiplane/shiplane/magefiles/git"
	"github.com/shiplane/shiplane/magefiles/manifest"
	"github.com/shiplane/shiplane/magefiles/publish"
)

// Origin is the commit an artifact names and takes its times from.
type Origin struct {
	git.Commit
	// Dirty says the artifact is made from uncommitted edits: Commit is then HEAD, which does not
	// hold these inputs.
	Dirty bool
}

// Revision is the artifact's org.opencontainers.image.revision: the commit, "-dirty" appended
// when the inputs are not committed.
func (o Origin) Revision() string {
	if o.Dirty {
		return o.Hash + "-dirty"
	}
	return o.Hash
}

// Origin is c's: the last commit that changed its inputs (Inputs), or HEAD when they are not
// committed (Dirty) or no commit is known for them.
func (w *Workspace) Origin(c *manifest.Component) Origin {
	if w.Dirty(c) {
		return Origin{Commit: w.Head, Dirty: true}
	}
	if in := w.Inputs[c.Name]; in.Hash != "" {
		return Origin{Commit: in}
	}
	return Origin{Commit: w.Head}
}

// chartOrigin is the chart's (component names it, the umbrella as PlatformComponent; dir is its
// directory): the last commit that changed its inputs (ChartInputs), or HEAD when its directory
// has uncommitted edits or no commit is known for it.
func (w *Workspace) chartOrigin(component, dir string) Origin {
	if w.Trees[dir] != w.HeadTrees[dir] {
		return Origin{Commit: w.Head, Dirty: true} // packaged from uncommitted edits
	}
	if in := w.ChartInputs[component]; in.Hash != "" {
		return Origin{Commit: in}
	}
	return Origin{Commit: w.Head}
}

// lastChanges finds the last commit that changed each component's and each chart's inputs (see
// Workspace.Inputs and ChartInputs), with one git process per distinct set of paths. In a shallow
// clone whose history stops before some of them, those map to the boundary commit (which holds
// the same inputs, but is no reproducible choice), and the error comes back as shallow.
func lastChanges(ctx context.Context, repo *git.Repo, m *manifest.Manifest) (inputs, charts map[string]git.Commit, shallow, err error) {
	own := map[string][]string{}
	var paths func(c *manifest.Component, depth int) []string
	paths = func(c *manifest.Component, depth int) []string {
		if p, ok := own[c.Name]; ok {
			return p
		}
		p := append([]string(nil), c.Paths...)
		if c.Image != nil && c.Image.From != "" && c.Image.From != c.Name && depth <= len(m.Components) {
			if from := m.Component(c.Image.From); from != nil {
				p = append(p, paths(from, depth+1)...)
			}
		}
		own[c.Name] = p
		return p
	}
	sets := map[string][]string{}
	var umbrella []string
	for _, c := range m.Components {
		sets["component "+c.Name] = paths(c, 0)
		if c.Chart == "" {
			continue
		}
		chart := []string{c.Chart}
		if c.Image != nil {
			chart = append(chart, paths(c, 0)...) // the package pins the image
		}
		sets["chart "+c.Name] = chart
		umbrella = append(umbrella, chart...)
	}
	if m.Platform.Chart != "" {
		sets["chart "+PlatformComponent] = append([]string{m.Platform.Chart, m.Platform.VersionFile}, umbrella...)
	}
	for k, ps := range sets {
		kept := ps[:0:0]
		for _, p := range ps {
			if p != "" { // git refuses an empty pathspec
				kept = append(kept, p)
			}
		}
		sets[k] = kept
	}
	found, err := repo.LastChanges(ctx, "HEAD", sets)
	var se *git.ShallowError
	if errors.As(err, &se) {
		shallow, err = se, nil
	}
	if err != nil {
		return nil, nil, nil, err
	}
	inputs, charts = map[string]git.Commit{}, map[string]git.Commit{}
	for k, c := range found {
		if name, ok := strings.CutPrefix(k, "component "); ok {
			inputs[name] = c
		} else if name, ok := strings.CutPrefix(k, "chart "); ok {
			charts[name] = c
		}
	}
	return inputs, charts, shallow, nil
}

// requireInputsHistory refuses a release in a clone too shallow to tell the commit each
// component's inputs last changed at: its images would not rebuild to the digests published.
func (w *Workspace) requireInputsHistory() error {
	if w.inputsErr != nil {
		return fmt.Errorf("a release needs each component's last change, to build it reproducibly: %w", w.inputsErr)
	}
	return nil
}

// Reproducible wraps src, the daemon's images, so the release's images are reproducible from
// their own inputs: each component's image takes its Origin's time, and an image FROM one of ours
// is that base's reproducible image, as published, plus its own layers.
//
// A component's local image is <project>/<image>:<version>, or that tag with a suffix
// (<version><suffix>, e.g. one local image per platform, "1.2.0-linux-arm64"): its base is then
// the base's local image with the same suffix, the base built for the same platform.
func (w *Workspace) Reproducible(src publish.Source) publish.Reproducible {
	byRepo := map[string]*manifest.Component{}
	for _, c := range w.Manifest.Components {
		if c.Image != nil {
			byRepo[w.LocalImage(c)] = c
		}
	}
	return publish.Reproducible{Source: src, Origin: func(ref string) (publish.Origin, bool) {
		i := strings.LastIndex(ref, ":")
		if i < 0 || strings.Contains(ref[i:], "/") {
			return publish.Origin{}, false
		}
		c := byRepo[ref[:i]]
		if c == nil || !strings.HasPrefix(ref[i+1:], c.Version) {
			return publish.Origin{}, false
		}
		suffix := ref[i+1+len(c.Version):]
		if suffix != "" && !strings.ContainsAny(suffix[:1], "-_.") {
			return publish.Origin{}, false // another version's tag (1.2.0 against 1.2.01)
		}
		o := publish.Origin{Time: w.Origin(c).Time}
		if from := w.baseOf(c); from != nil {
			o.Base = w.LocalImage(from) + ":" + from.Version + suffix
		}
		return o, true
	}}
}
