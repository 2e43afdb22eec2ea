package guard

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/shiplane/shiplane/magefiles/graph"
	"github.com/shiplane/shiplane/magefiles/version"
)

// Guardrail is one named check, runnable alone.
type Guardrail struct {
	// Name identifies the guardrail; every Violation it reports returns it
	// from Guardrail().
	Name string
	// Description says what the guardrail ensures, for listings.
	Description string
	// Check returns every violation found in the facts, nil when none.
	Check func(Facts) []error
}

// Run runs the guardrail alone and joins what it finds (nil when nothing).
func (g Guardrail) Run(f Facts) error { return errors.Join(g.Check(f)...) }

// All lists every guardrail, in the order Run applies them.
var All = []Guardrail{
	{
		Name:        VersionsName,
		Description: "every VERSION file and chart version is a valid semantic version, every chart's version and appVersion equal its component's VERSION, and the umbrella chart pins each component at its VERSION",
		Check:       func(f Facts) []error { return Consistency(f.Components, f.Umbrella) },
	},
	{
		Name:        UmbrellaCoverageName,
		Description: "every publishable component with a chart is a dependency of the umbrella chart, unless the components file says umbrella: false",
		Check:       func(f Facts) []error { return UmbrellaCoverage(f.Manifest, f.Components, f.Umbrella) },
	},
	{
		Name:        MetadataName,
		Description: "every publishable chart has a description, sources and a license (and maintainers when it has the key); every publishable image gets source, license and description labels from the manifest",
		Check:       func(f Facts) []error { return Metadata(f.Manifest, f.Components) },
	},
	{
		Name:        BumpedName,
		Description: "a component whose inputs changed since the tag of its version has a new version",
		Check: func(f Facts) []error {
			return eachComponent(f.Components, Bumped)
		},
	},
	{
		Name:        PublishedInputsName,
		Description: "an artifact already published at a component's version was built from the current inputs",
		Check: func(f Facts) []error {
			var errs []error
			for _, c := range f.Components {
				errs = append(errs, publishedInputs(c)...)
			}
			return errs
		},
	},
	{
		Name:        PublishableName,
		Description: "no publishable component depends, directly or transitively, on a component with publish: false",
		Check:       func(f Facts) []error { return Publishable(f.Manifest, f.Components) },
	},
	{
		Name:        CleanTreeName,
		Description: "the working tree has no uncommitted changes",
		Check:       func(f Facts) []error { return single(CleanTree(f.Release)) },
	},
	{
		Name:        ReleaseTagName,
		Description: "the release tag is v followed by the root VERSION",
		Check:       func(f Facts) []error { return single(ReleaseTag(f.Release)) },
	},
	{
		Name:        TagFreeName,
		Description: "the release tag to create exists neither locally nor on the remote",
		Check:       func(f Facts) []error { return single(TagFree(f.Release)) },
	},
}

// UnknownGuardrailError reports a guardrail name that is not in All.
type UnknownGuardrailError struct {
	// Name is the unknown name.
	Name string
}

// Error implements error.
func (e *UnknownGuardrailError) Error() string {
	names := make([]string, len(All))
	for i, g := range All {
		names[i] = g.Name
	}
	return fmt.Sprintf("unknown guardrail %q; known guardrails: %s", e.Name, strings.Join(names, ", "))
}

// Lookup returns the guardrail of All with the given name.
func Lookup(name string) (Guardrail, bool) {
	i := slices.IndexFunc(All, func(g Guardrail) bool { return g.Name == name })
	if i < 0 {
		return Guardrail{}, false
	}
	return All[i], true
}

// Select returns the named guardrails, in the given order, or an
// *UnknownGuardrailError.
func Select(names ...string) ([]Guardrail, error) {
	out := make([]Guardrail, 0, len(names))
	for _, n := range names {
		g, ok := Lookup(n)
		if !ok {
			return nil, &UnknownGuardrailError{Name: n}
		}
		out = append(out, g)
	}
	return out, nil
}

// Run runs the given guardrails (All when none are given) and joins every
// violation with errors.Join; nil when there is none. Use Violations to list
// them and errors.As to find one type.
func Run(f Facts, guardrails ...Guardrail) error {
	if len(guardrails) == 0 {
		guardrails = All
	}
	var errs []error
	for _, g := range guardrails {
		errs = append(errs, g.Check(f)...)
	}
	return errors.Join(errs...)
}

// Consistency checks versions: each component's VERSION and chart version
// are valid semantic versions (*InvalidVersion); each chart's version and
// appVersion equal the component's VERSION (*ChartVersionMismatch); the
// umbrella pins every component it depends on at that component's VERSION
// (*UmbrellaDependencyMismatch). Comparisons against an invalid VERSION are
// skipped, as the *InvalidVersion already refuses it.
func Consistency(components []ComponentFacts, umbrella *UmbrellaFacts) []error {
	var errs []error
	valid := make(map[string]ComponentFacts, len(components))
	for _, c := range components {
		want := ""
		if _, err := version.Parse(c.Version); err != nil {
			errs = append(errs, &InvalidVersion{Component: c.Name, File: c.VersionFile, Value: c.Version, Err: err})
		} else {
			want = c.Version
			valid[c.Name] = c
		}
		ch := c.Chart
		if ch == nil {
			continue
		}
		if _, err := version.Parse(ch.Version); err != nil {
			errs = append(errs, &InvalidVersion{Component: c.Name, File: ch.File, Field: "version", Value: ch.Version, Err: err, Want: want})
		} else if want != "" && ch.Version != want {
			errs = append(errs, &ChartVersionMismatch{Component: c.Name, ChartFile: ch.File, Field: "version", Found: ch.Version, VersionFile: c.VersionFile, Want: want})
		}
		if want != "" && ch.AppVersion != want {
			errs = append(errs, &ChartVersionMismatch{Component: c.Name, ChartFile: ch.File, Field: "appVersion", Found: ch.AppVersion, VersionFile: c.VersionFile, Want: want})
		}
	}
	if umbrella != nil {
		deps := make([]string, 0, len(umbrella.Dependencies))
		for name := range umbrella.Dependencies {
			deps = append(deps, name)
		}
		slices.Sort(deps)
		for _, name := range deps {
			c, ok := valid[name]
			if !ok {
				continue // not a component (an external chart), or its VERSION is already refused
			}
			if pinned := umbrella.Dependencies[name]; pinned != c.Version {
				errs = append(errs, &UmbrellaDependencyMismatch{Umbrella: umbrella.Name, File: umbrella.File, Dependency: name, Found: pinned, VersionFile: c.VersionFile, Want: c.Version})
			}
		}
	}
	return errs
}

// UmbrellaCoverage reports a *NotInUmbrella for every publishable component whose chart the
// umbrella does not list as a dependency, in the order of components. A dependency matches a
// chart by the chart's directory name (the name it is pushed and depended on by) or by the
// component's name. The umbrella itself, components with umbrella: false and unpublished
// components are not checked; it checks nothing when umbrella is nil.
func UmbrellaCoverage(manifest string, components []ComponentFacts, umbrella *UmbrellaFacts) []error {
	if umbrella == nil {
		return nil
	}
	var errs []error
	for _, c := range components {
		if c.Chart == nil || !c.Publish || c.UmbrellaExcluded || c.Name == umbrella.Name || c.Chart.File == umbrella.File {
			continue
		}
		name := path.Base(path.Dir(c.Chart.File))
		if _, ok := umbrella.Dependencies[name]; ok {
			continue
		}
		if _, ok := umbrella.Dependencies[c.Name]; ok {
			continue
		}
		errs = append(errs, &NotInUmbrella{Component: c.Name, Chart: name, ChartFile: c.Chart.File, Umbrella: umbrella.File, Manifest: manifest})
	}
	return errs
}

// Metadata checks that what publishable components publish is described:
// every chart has a description, sources and a license, and at least one
// maintainer when it has a maintainers key; every image gets non-empty
// source, license and description labels from the manifest, the file named in
// the fix. Each missing field is a *MissingMetadata.
func Metadata(manifest string, components []ComponentFacts) []error {
	var errs []error
	for _, c := range components {
		if !c.Publish {
			continue
		}
		if ch := c.Chart; ch != nil {
			missing := func(field string) {
				errs = append(errs, &MissingMetadata{Component: c.Name, File: ch.File, Field: field})
			}
			if blank(ch.Description) {
				missing("description")
			}
			if !slices.ContainsFunc(ch.Sources, func(s string) bool { return !blank(s) }) {
				missing("sources")
			}
			if blank(ch.License) {
				missing("license")
			}
			if ch.HasMaintainersField && ch.Maintainers == 0 {
				missing("maintainers")
			}
		}
		if im := c.Image; im != nil {
			for _, l := range []struct{ field, value, label string }{
				{"source", im.Source, "org.opencontainers.image.source"},
				{"license", im.License, "org.opencontainers.image.licenses"},
				{"description", im.Description, "org.opencontainers.image.description"},
			} {
				if blank(l.value) {
					errs = append(errs, &MissingMetadata{Component: c.Name, File: manifest, Field: l.field, Label: l.label})
				}
			}
		}
	}
	return errs
}

// Bumped checks that a component whose version is already tagged has the
// same inputs as at that tag; otherwise it changed without a bump
// (*ChangedWithoutBump). Unknown inputs are a *CannotTell.
func Bumped(c ComponentFacts) error {
	if !c.TagExists {
		return nil
	}
	question := fmt.Sprintf("whether %s changed since tag %s", c.Name, c.Tag)
	switch {
	case c.TagInputs == "":
		return &CannotTell{Check: BumpedName, Component: c.Name, Question: question, Reason: "the inputs at the tag are unknown", Fix: "fetch the tag (git fetch --tags) and retry"}
	case c.HeadInputs == "":
		return &CannotTell{Check: BumpedName, Component: c.Name, Question: question, Reason: "the inputs at HEAD are unknown", Fix: "check that the component's source paths exist at HEAD and retry"}
	case c.TagInputs != c.HeadInputs:
		return &ChangedWithoutBump{Component: c.Name, VersionFile: c.VersionFile, Version: c.Version, Tag: c.Tag, Files: c.ChangedFiles}
	}
	return nil
}

// PublishedInputs checks that every artifact already published at the
// component's version carries the current inputs
// (*PublishedWithDifferentInputs). An artifact without an inputs hash, or
// unknown current inputs, is a *CannotTell. Several violations are joined.
func PublishedInputs(c ComponentFacts) error { return errors.Join(publishedInputs(c)...) }

func publishedInputs(c ComponentFacts) []error {
	var errs []error
	for _, a := range c.Published {
		if _, err := SameInputs(Subject{Component: c.Name, Version: c.Version, Ref: a.Ref}, a.Inputs, c.HeadInputs); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// Publishable reports a *Blocked for every publishable component depending,
// directly or transitively, on a component with publish: false, in the order
// of components. manifest is the file where publish: is set. A graph that
// cannot be built (a dependency on an unknown component …) is an
// *InvalidDependencies wrapping the graph's error.
func Publishable(manifest string, components []ComponentFacts) []error {
	nodes := make([]graph.Node, len(components))
	for i, c := range components {
		nodes[i] = graph.Node{Name: c.Name, DependsOn: c.DependsOn, Publish: c.Publish}
	}
	g, err := graph.New(nodes)
	if err != nil {
		return []error{&InvalidDependencies{Manifest: manifest, Err: err}}
	}
	blocked := g.Blocked()
	var errs []error
	for _, c := range components {
		if b, ok := blocked[c.Name]; ok {
			errs = append(errs, &Blocked{Component: c.Name, Immediate: b.Immediate, Causes: b.Causes, Manifest: manifest})
		}
	}
	return errs
}

// CleanTree refuses uncommitted changes (*DirtyTree). It checks nothing when
// r is nil.
func CleanTree(r *ReleaseFacts) error {
	if r == nil || len(r.DirtyFiles) == 0 {
		return nil
	}
	return &DirtyTree{Files: r.DirtyFiles}
}

// ReleaseTag checks that the release tag is "v" followed by a semantic
// version (*TagNotSemver) equal to the root VERSION (*TagMismatch). It
// checks nothing when r is nil.
func ReleaseTag(r *ReleaseFacts) error {
	if r == nil {
		return nil
	}
	rest, ok := strings.CutPrefix(r.Tag, "v")
	if !ok {
		return &TagNotSemver{Tag: r.Tag, Err: errors.New("it does not start with v"), VersionFile: r.VersionFile, Version: r.Version}
	}
	if _, err := version.Parse(rest); err != nil {
		return &TagNotSemver{Tag: r.Tag, Err: err, VersionFile: r.VersionFile, Version: r.Version}
	}
	if rest != r.Version {
		return &TagMismatch{Tag: r.Tag, Component: r.Component, VersionFile: r.VersionFile, Version: r.Version}
	}
	return nil
}

// TagFree checks that the release tag exists neither on the remote nor
// locally (*TagExists), for lanes that create it. It checks nothing when r is
// nil.
func TagFree(r *ReleaseFacts) error {
	switch {
	case r == nil:
		return nil
	case r.RemoteTagExists:
		return &TagExists{Tag: r.Tag, Where: Remote, Component: r.Component}
	case r.LocalTagExists:
		return &TagExists{Tag: r.Tag, Where: Local, Component: r.Component}
	}
	return nil
}

func eachComponent(components []ComponentFacts, check func(ComponentFacts) error) []error {
	var errs []error
	for _, c := range components {
		if err := check(c); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

func single(err error) []error {
	if err == nil {
		return nil
	}
	return []error{err}
}

func blank(s string) bool { return strings.TrimSpace(s) == "" }
