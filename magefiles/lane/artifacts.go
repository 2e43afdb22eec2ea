package lane

import (
	"strings"

	"github.com/shiplane/shiplane/magefiles/guard"
	"github.com/shiplane/shiplane/magefiles/helm"
	"github.com/shiplane/shiplane/magefiles/identity"
	"github.com/shiplane/shiplane/magefiles/manifest"
	"github.com/shiplane/shiplane/magefiles/plan"
)

// ComponentTag is the git tag of a component's release: <component>/v<version>.
func ComponentTag(component, version string) string { return component + "/v" + version }

// ReleaseTag is the platform release tag: v<root VERSION>.
func ReleaseTag(version string) string { return "v" + version }

// Artifacts is the one artifact list of a run, made from the manifest and the lane's policy:
// every image, chart, git tag and the release, with its kind, reference, expected identity,
// goal name and what it must follow. Nothing else in the lanes spells an artifact's name or
// reference. facts supplies each component's guard facts (nil: none); tag is the release tag
// (used when the policy pushes git tags).
//
// Order, by what an artifact references: an image follows the image it is built FROM; a chart
// follows its component's image; the umbrella
// follows every chart and image it pins; a component's git tag follows its image and chart; the
// release follows everything. A run stopped half way never leaves a published chart pointing at
// an image that is not published.
func (w *Workspace) Artifacts(p Policy, facts *guard.Facts, tag string) []plan.Component {
	byName := map[string]guard.ComponentFacts{}
	if facts != nil {
		for _, f := range facts.Components {
			byName[f.Name] = f
		}
	}
	var out []plan.Component
	var pinned []string    // goals of every publishable component's image and chart
	var subPins []plan.Pin // the images the umbrella's subcharts install
	for _, c := range w.Manifest.Components {
		pc := plan.Component{Name: c.Name, Version: c.Version, DependsOn: c.DependsOn, Publish: c.Publish, Facts: byName[c.Name]}
		var own []string
		var img plan.Artifact
		if c.Image != nil {
			img = w.imageArtifact(p, c)
			own = append(own, img.Goal)
			pc.Artifacts = append(pc.Artifacts, img)
		}
		if c.Chart != "" {
			a := plan.ChartArtifact(c.Name, p.Target.ChartRepo, chartName(c.Chart), c.Version, string(w.ChartKeys[c.Name]))
			if c.Image != nil {
				// The chart installs the image this lane publishes, pinned by digest.
				pin := plan.Pin{Component: c.Name, Name: c.Image.Name, Ref: img.Ref}
				a.Pins = []plan.Pin{pin}
				if c.Publish {
					pin.Subchart = a.Name
					subPins = append(subPins, pin)
				}
			}
			a.After = append([]string(nil), own...)
			own = append(own, a.Goal)
			pc.Artifacts = append(pc.Artifacts, a)
		}
		if p.GitTags {
			a := plan.TagArtifact(c.Name, ComponentTag(c.Name, c.Version))
			a.After = append([]string(nil), own...)
			pc.Artifacts = append(pc.Artifacts, a)
		}
		if c.Publish {
			pinned = append(pinned, own...)
		}
		out = append(out, pc)
	}
	if pcDir := w.Manifest.Platform.Chart; pcDir != "" {
		var charted []string
		for _, c := range w.Manifest.Components {
			if c.Chart != "" {
				charted = append(charted, c.Name)
			}
		}
		v := w.Manifest.Platform.Version
		umbrella := plan.ChartArtifact(PlatformComponent, p.Target.ChartRepo, chartName(pcDir), v, string(w.ChartKeys[identity.PlatformChart]))
		umbrella.After = append([]string(nil), pinned...)
		umbrella.Pins = subPins
		pc := plan.Component{Name: PlatformComponent, Version: v, DependsOn: charted, Publish: true, Facts: byName[PlatformComponent],
			Artifacts: []plan.Artifact{umbrella}}
		if p.GitTags {
			rel := plan.ReleaseArtifact(PlatformComponent, tag)
			for _, c := range out {
				for _, a := range c.Artifacts {
					rel.After = append(rel.After, a.Goal)
				}
			}
			rel.After = append(rel.After, umbrella.Goal)
			rel.Assets = []plan.Asset{{Name: "release-manifest.json"}, {Name: "SHA256SUMS"}}
			for _, c := range append(append([]plan.Component(nil), out...), pc) {
				for _, a := range c.Artifacts {
					if a.Kind == plan.Chart && c.Publish {
						rel.Assets = append(rel.Assets, plan.Asset{Name: releaseChartAsset(a.Name, a.Version), Component: c.Name})
					}
				}
			}
			pc.Artifacts = append(pc.Artifacts, rel)
		}
		out = append(out, pc)
	}
	return out
}

// imageArtifact is c's image under the policy's tags: <version> (release), or the moving
// <version> and the immutable <version>-g<commit> (dev).
func (w *Workspace) imageArtifact(p Policy, c *manifest.Component) plan.Artifact {
	tags, moving := w.imageTags(p, c)
	a := plan.ImageArtifact(c.Name, tags, moving, string(w.Keys[c.Name]))
	if from := w.baseOf(c); from != nil {
		// Pushed after the image it is built FROM, whose layers it then mounts.
		a.MountFrom = []string{w.ImageRepository(p, from)}
		baseTags, _ := w.imageTags(p, from)
		a.After = []string{plan.ImageGoal(baseTags)}
	}
	return a
}

// imageTags are c's image references under the policy, and which of them move.
func (w *Workspace) imageTags(p Policy, c *manifest.Component) (tags, moving []string) {
	repo := w.ImageRepository(p, c)
	if p.MovingTag {
		m := repo + ":" + c.Version
		return []string{m, repo + ":" + w.ImmutableTag(c)}, []string{m}
	}
	return []string{repo + ":" + c.Version}, nil
}

// ImageRepository is c's repository in the policy's registry.
func (w *Workspace) ImageRepository(p Policy, c *manifest.Component) string {
	return p.Target.Registry + "/" + c.Image.Name
}

// ImmutableTag is the tag that always names one build: <version>-g<commit>, plus a dirty marker
// and the input key's prefix when the component's inputs differ from the commit.
func (w *Workspace) ImmutableTag(c *manifest.Component) string {
	tag := c.Version + "-g" + shortHash(w.Head.Hash)
	if w.Dirty(c) {
		tag += "-dirty." + strings.TrimPrefix(string(w.Keys[c.Name]), "sha256:")[:12]
	}
	return tag
}

func shortHash(h string) string {
	if h == "" {
		return "0000000"
	}
	if len(h) > 7 {
		return h[:7]
	}
	return h
}

// chartStamp is what a chart package records: its origin's time and revision, source, inputs,
// component.
func (w *Workspace) chartStamp(component, dir string, key identity.Key) helm.Stamp {
	o := w.chartOrigin(component, dir)
	return helm.Stamp{
		Created:     o.Time,
		Revision:    o.Revision(),
		Source:      w.Manifest.Source,
		Inputs:      key,
		Annotations: map[string]string{identity.LabelComponent: component},
	}
}

func chartName(dir string) string {
	dir = strings.TrimSuffix(dir, "/")
	return dir[strings.LastIndex(dir, "/")+1:]
}

// releaseChartAsset is the name a chart's archive has among the release's assets.
func releaseChartAsset(name, version string) string { return name + "-" + version + ".tgz" }
