package guard

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/shiplane/shiplane/magefiles/graph"
	"github.com/shiplane/shiplane/magefiles/testenv/golden"
	"github.com/shiplane/shiplane/magefiles/version"
)

const manifest = "deploy/components.yaml"

func chart(name, v string) *ChartFacts {
	return &ChartFacts{
		File:        "charts/" + name + "/Chart.yaml",
		Version:     v,
		AppVersion:  v,
		Description: name + " chart",
		Sources:     []string{"https://github.com/shiplane/shiplane"},
		License:     "Apache-2.0",
	}
}

func image() *ImageFacts {
	return &ImageFacts{Source: "https://github.com/shiplane/shiplane", License: "Apache-2.0", Description: "a service"}
}

func component(name, v string, deps ...string) ComponentFacts {
	return ComponentFacts{
		Name: name, VersionFile: "services/" + name + "/VERSION", Version: v, DependsOn: deps, Publish: true,
		Chart: chart(name, v), Image: image(),
		Tag: name + "/v" + v, TagExists: true, HeadInputs: "h-" + name, TagInputs: "h-" + name,
		Published: []PublishedArtifact{{Ref: "registry.example.com/" + name + ":" + v, Inputs: "h-" + name}},
	}
}

// healthy returns the reference platform with every guardrail satisfied.
func healthy() Facts {
	base := component("base", "1.0.0")
	base.Chart = nil
	platform := component("platform", "0.9.0", "core", "connector-fs", "scanner")
	platform.VersionFile = "VERSION"
	platform.Image = nil
	return Facts{
		Manifest: manifest,
		Components: []ComponentFacts{
			base,
			component("core", "1.2.0", "base"),
			component("connector-fs", "1.0.1", "base", "core"),
			component("scanner", "0.3.0", "base"),
			platform,
		},
		Umbrella: &UmbrellaFacts{Name: "platform", File: "charts/platform/Chart.yaml", Dependencies: map[string]string{
			"core": "1.2.0", "connector-fs": "1.0.1", "scanner": "0.3.0", "postgresql": "15.0.0",
		}},
		Release: &ReleaseFacts{Tag: "v0.9.0", Component: "platform", VersionFile: "VERSION", Version: "0.9.0"},
	}
}

func get(f *Facts, name string) *ComponentFacts {
	for i := range f.Components {
		if f.Components[i].Name == name {
			return &f.Components[i]
		}
	}
	panic("no component " + name)
}

type guardCase struct {
	name   string
	mutate func(f *Facts)
	want   []string // full messages, in order; empty: the guardrail passes
	types  []any    // optional: pointers to the wanted error types, by index
}

// runCases runs one guardrail alone over each case and compares full
// messages, and checks that every error is a Violation of that guardrail.
func runCases(t *testing.T, guardrail string, cases []guardCase) {
	t.Helper()
	g, ok := Lookup(guardrail)
	if !ok {
		t.Fatalf("no guardrail %q", guardrail)
	}
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			f := healthy()
			if tt.mutate != nil {
				tt.mutate(&f)
			}
			errs := g.Check(f)
			var got []string
			for _, err := range errs {
				got = append(got, err.Error())
				var v Violation
				if errors.As(err, &v) && v.Guardrail() != guardrail {
					t.Errorf("%T reports guardrail %q, want %q", err, v.Guardrail(), guardrail)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("messages:\n got %q\nwant %q", got, tt.want)
			}
			for i, typ := range tt.types {
				if !errors.As(errs[i], typ) {
					t.Errorf("error %d is %T, want %T", i, errs[i], typ)
				}
			}
			if joined := g.Run(f); (joined == nil) != (len(tt.want) == 0) || len(Violations(joined)) != len(tt.want) {
				t.Errorf("Run = %v", joined)
			}
		})
	}
}

func TestVersions(t *testing.T) {
	runCases(t, VersionsName, []guardCase{
		{name: "consistent"},
		{
			name:   "chart version behind VERSION",
			mutate: func(f *Facts) { get(f, "core").Chart.Version = "1.1.0" },
			want:   []string{"core: charts/core/Chart.yaml has version 1.1.0 but services/core/VERSION says 1.2.0; run: go run mage.go bump core 1.2.0 (or edit charts/core/Chart.yaml)"},
			types:  []any{new(*ChartVersionMismatch)},
		},
		{
			name:   "appVersion differs",
			mutate: func(f *Facts) { get(f, "core").Chart.AppVersion = "1.1.0" },
			want:   []string{"core: charts/core/Chart.yaml has appVersion 1.1.0 but services/core/VERSION says 1.2.0; run: go run mage.go bump core 1.2.0 (or edit charts/core/Chart.yaml)"},
			types:  []any{new(*ChartVersionMismatch)},
		},
		{
			name:   "appVersion missing",
			mutate: func(f *Facts) { get(f, "scanner").Chart.AppVersion = "" },
			want:   []string{"scanner: charts/scanner/Chart.yaml has no appVersion but services/scanner/VERSION says 0.3.0; run: go run mage.go bump scanner 0.3.0 (or edit charts/scanner/Chart.yaml)"},
		},
		{
			name:   "umbrella version follows root VERSION",
			mutate: func(f *Facts) { get(f, "platform").Version = "1.0.0" },
			want: []string{
				"platform: charts/platform/Chart.yaml has version 0.9.0 but VERSION says 1.0.0; run: go run mage.go bump platform 1.0.0 (or edit charts/platform/Chart.yaml)",
				"platform: charts/platform/Chart.yaml has appVersion 0.9.0 but VERSION says 1.0.0; run: go run mage.go bump platform 1.0.0 (or edit charts/platform/Chart.yaml)",
			},
		},
		{
			name: "invalid VERSION skips comparisons",
			mutate: func(f *Facts) {
				c := get(f, "core")
				c.Version = "1.2"
				c.Chart.Version = "1.2.0"
			},
			want:  []string{`core: services/core/VERSION has "1.2", which is not a version X.Y.Z[-prerelease][+build] such as 1.4.2; edit services/core/VERSION`},
			types: []any{new(*InvalidVersion)},
		},
		{
			name:   "empty VERSION",
			mutate: func(f *Facts) { get(f, "base").Version = "" },
			want:   []string{`base: services/base/VERSION has "", which is not a version X.Y.Z[-prerelease][+build] such as 1.4.2; edit services/base/VERSION`},
		},
		{
			name:   "invalid chart version",
			mutate: func(f *Facts) { get(f, "core").Chart.Version = "v1.2.0" },
			want:   []string{`core: charts/core/Chart.yaml has version "v1.2.0", which is not a version X.Y.Z[-prerelease][+build] such as 1.4.2; run: go run mage.go bump core 1.2.0 (or edit charts/core/Chart.yaml)`},
			types:  []any{new(*InvalidVersion)},
		},
		{
			name:   "umbrella pins an old version",
			mutate: func(f *Facts) { f.Umbrella.Dependencies["core"] = "1.1.0" },
			want:   []string{"platform: charts/platform/Chart.yaml pins dependency core at 1.1.0 but services/core/VERSION says 1.2.0; edit charts/platform/Chart.yaml: set the version of dependency core to 1.2.0"},
			types:  []any{new(*UmbrellaDependencyMismatch)},
		},
		{
			name:   "umbrella dependency without a version",
			mutate: func(f *Facts) { f.Umbrella.Dependencies["scanner"] = "" },
			want:   []string{"platform: charts/platform/Chart.yaml lists dependency scanner without a version but services/scanner/VERSION says 0.3.0; edit charts/platform/Chart.yaml: set the version of dependency scanner to 0.3.0"},
		},
		{
			name:   "no umbrella",
			mutate: func(f *Facts) { f.Umbrella = nil },
		},
	})
	var pe *version.ParseError
	f := healthy()
	get(&f, "core").Version = "x"
	if err := Run(f); !errors.As(err, &pe) {
		t.Errorf("InvalidVersion does not unwrap to *version.ParseError: %v", err)
	}
}

func TestMetadata(t *testing.T) {
	runCases(t, MetadataName, []guardCase{
		{name: "complete"},
		{
			name:   "chart description",
			mutate: func(f *Facts) { get(f, "core").Chart.Description = "  " },
			want:   []string{"core: charts/core/Chart.yaml has no description; add a line description: <what the chart deploys> to charts/core/Chart.yaml"},
			types:  []any{new(*MissingMetadata)},
		},
		{
			name:   "chart sources",
			mutate: func(f *Facts) { get(f, "core").Chart.Sources = []string{""} },
			want:   []string{`core: charts/core/Chart.yaml has no sources; add sources: with a "- <repository URL>" entry to charts/core/Chart.yaml`},
		},
		{
			name:   "chart license",
			mutate: func(f *Facts) { get(f, "scanner").Chart.License = "" },
			want:   []string{"scanner: charts/scanner/Chart.yaml has no license; add org.opencontainers.image.licenses: <SPDX license> under annotations: in charts/scanner/Chart.yaml"},
		},
		{
			name:   "maintainers key without entries",
			mutate: func(f *Facts) { get(f, "core").Chart.HasMaintainersField = true },
			want:   []string{`core: charts/core/Chart.yaml has an empty maintainers list; add a "- name: <maintainer>" entry under maintainers: in charts/core/Chart.yaml, or remove the key`},
		},
		{
			name: "maintainers present",
			mutate: func(f *Facts) {
				get(f, "core").Chart.HasMaintainersField = true
				get(f, "core").Chart.Maintainers = 1
			},
		},
		{
			name: "image labels",
			mutate: func(f *Facts) {
				*get(f, "connector-fs").Image = ImageFacts{}
			},
			want: []string{
				"connector-fs: image label org.opencontainers.image.source would be empty; set source for component connector-fs in deploy/components.yaml",
				"connector-fs: image label org.opencontainers.image.licenses would be empty; set license for component connector-fs in deploy/components.yaml",
				"connector-fs: image label org.opencontainers.image.description would be empty; set description for component connector-fs in deploy/components.yaml",
			},
		},
		{
			name: "not publishable: not checked",
			mutate: func(f *Facts) {
				c := get(f, "scanner")
				c.Publish = false
				c.Chart.License, *c.Image = "", ImageFacts{}
			},
		},
	})
}

func TestBumped(t *testing.T) {
	runCases(t, BumpedName, []guardCase{
		{name: "same inputs as the tag"},
		{
			name: "version not tagged yet",
			mutate: func(f *Facts) {
				c := get(f, "core")
				c.TagExists, c.TagInputs, c.HeadInputs = false, "", "new"
			},
		},
		{
			name: "changed since the tag",
			mutate: func(f *Facts) {
				c := get(f, "core")
				c.HeadInputs = "h-core-2"
				c.ChangedFiles = []string{"services/core/main.go", "services/core/Dockerfile"}
			},
			want:  []string{"core: 2 files changed (services/core/main.go, services/core/Dockerfile) since tag core/v1.2.0 but services/core/VERSION still says 1.2.0; run: go run mage.go bump core patch (or minor, major)"},
			types: []any{new(*ChangedWithoutBump)},
		},
		{
			name: "many files are summarised",
			mutate: func(f *Facts) {
				c := get(f, "base")
				c.HeadInputs = "other"
				for _, n := range strings.Split("a b c d e f g h i j k l", " ") {
					c.ChangedFiles = append(c.ChangedFiles, n+".go")
				}
			},
			want: []string{"base: 12 files changed (a.go, b.go, c.go, d.go, e.go, f.go, g.go, h.go, i.go, j.go and 2 more) since tag base/v1.0.0 but services/base/VERSION still says 1.0.0; run: go run mage.go bump base patch (or minor, major)"},
		},
		{
			name:   "inputs changed without file list",
			mutate: func(f *Facts) { get(f, "core").HeadInputs = "x" },
			want:   []string{"core: inputs changed since tag core/v1.2.0 but services/core/VERSION still says 1.2.0; run: go run mage.go bump core patch (or minor, major)"},
		},
		{
			name:   "tag inputs unknown",
			mutate: func(f *Facts) { get(f, "core").TagInputs = "" },
			want:   []string{"core: cannot tell whether core changed since tag core/v1.2.0: the inputs at the tag are unknown; fetch the tag (git fetch --tags) and retry"},
			types:  []any{new(*CannotTell)},
		},
		{
			name:   "head inputs unknown",
			mutate: func(f *Facts) { get(f, "core").HeadInputs = "" },
			want:   []string{"core: cannot tell whether core changed since tag core/v1.2.0: the inputs at HEAD are unknown; check that the component's source paths exist at HEAD and retry"},
		},
	})
}

func TestPublishedInputs(t *testing.T) {
	runCases(t, PublishedInputsName, []guardCase{
		{name: "published from the same inputs"},
		{name: "nothing published", mutate: func(f *Facts) { get(f, "core").Published = nil }},
		{
			name: "published from other inputs",
			mutate: func(f *Facts) {
				c := get(f, "core")
				c.Published = append(c.Published, PublishedArtifact{Ref: "oci://charts.example.com/core:1.2.0", Inputs: "3f2a9c"})
				c.HeadInputs, c.Published[0].Inputs = "9bc1d0", "9bc1d0"
			},
			want:  []string{"core: oci://charts.example.com/core:1.2.0 is already published from inputs 3f2a9c but the current inputs are 9bc1d0, so version 1.2.0 was not bumped; run: go run mage.go bump core patch (published versions are never overwritten)"},
			types: []any{new(*PublishedWithDifferentInputs)},
		},
		{
			name:   "published without an inputs hash",
			mutate: func(f *Facts) { get(f, "core").Published[0].Inputs = "" },
			want:   []string{"core: cannot tell whether registry.example.com/core:1.2.0 was built from the current inputs: the artifact at registry.example.com/core:1.2.0 carries no dev.shiplane.inputs label: it was not published by shiplane; bump the version: run: go run mage.go bump core patch (published versions are never overwritten)"},
			types:  []any{new(*CannotTell)},
		},
		{
			name:   "current inputs unknown",
			mutate: func(f *Facts) { get(f, "scanner").HeadInputs = "" },
			want:   []string{"scanner: cannot tell whether registry.example.com/scanner:0.3.0 was built from the current inputs: the current inputs are unknown; check that the component's source paths exist at HEAD and retry"},
		},
	})
	c := healthy().Components[1]
	c.HeadInputs = "x"
	c.Published = append(c.Published, c.Published[0])
	if err := PublishedInputs(c); len(Violations(err)) != 2 {
		t.Errorf("PublishedInputs joins every artifact: %v", err)
	}
}

func TestPublishable(t *testing.T) {
	runCases(t, PublishableName, []guardCase{
		{name: "everything publishable"},
		{
			name:   "scanner not published blocks the umbrella",
			mutate: func(f *Facts) { get(f, "scanner").Publish = false },
			want:   []string{"platform: blocked by scanner (publish: false on scanner); set publish: true for scanner in deploy/components.yaml, or set ALLOW_BLOCKED=1 to publish the rest without platform"},
			types:  []any{new(*Blocked)},
		},
		{
			name: "blocked through two levels",
			mutate: func(f *Facts) {
				get(f, "base").Publish = false
				get(f, "scanner").Publish = false
			},
			want: []string{
				"core: blocked by base (publish: false on base); set publish: true for base in deploy/components.yaml, or set ALLOW_BLOCKED=1 to publish the rest without core",
				"connector-fs: blocked by base, core (publish: false on base); set publish: true for base in deploy/components.yaml, or set ALLOW_BLOCKED=1 to publish the rest without connector-fs",
				"platform: blocked by connector-fs, core, scanner (publish: false on base, scanner); set publish: true for base, scanner in deploy/components.yaml, or set ALLOW_BLOCKED=1 to publish the rest without platform",
			},
		},
		{
			name:   "unknown dependency",
			mutate: func(f *Facts) { get(f, "core").DependsOn = []string{"ghost"} },
			want:   []string{`deploy/components.yaml: cannot check publishable dependencies: building dependency graph: component "core" depends on "ghost", which is not a component; define "ghost" or remove it from "core"'s dependencies`},
			types:  []any{new(*InvalidDependencies)},
		},
	})
}

func TestCleanTree(t *testing.T) {
	runCases(t, CleanTreeName, []guardCase{
		{name: "clean"},
		{name: "no release", mutate: func(f *Facts) { f.Release = nil }},
		{
			name:   "dirty",
			mutate: func(f *Facts) { f.Release.DirtyFiles = []string{"services/core/main.go", "VERSION"} },
			want:   []string{"working tree has 2 uncommitted changes (services/core/main.go, VERSION); commit or stash (git stash --include-untracked) before releasing"},
			types:  []any{new(*DirtyTree)},
		},
		{
			name:   "one file",
			mutate: func(f *Facts) { f.Release.DirtyFiles = []string{"notes.txt"} },
			want:   []string{"working tree has 1 uncommitted change (notes.txt); commit or stash (git stash --include-untracked) before releasing"},
		},
	})
}

func TestReleaseTag(t *testing.T) {
	runCases(t, ReleaseTagName, []guardCase{
		{name: "matches"},
		{name: "no release", mutate: func(f *Facts) { f.Release = nil }},
		{
			name:   "ahead of VERSION",
			mutate: func(f *Facts) { f.Release.Tag = "v1.0.0" },
			want:   []string{"release tag v1.0.0 does not match VERSION, which says 0.9.0; tag v0.9.0 instead, or run: go run mage.go bump platform 1.0.0 and commit before tagging v1.0.0"},
			types:  []any{new(*TagMismatch)},
		},
		{
			name:   "behind VERSION",
			mutate: func(f *Facts) { f.Release.Tag = "v0.8.0" },
			want:   []string{"release tag v0.8.0 does not match VERSION, which says 0.9.0; tag v0.9.0 instead"},
		},
		{
			name:   "no leading v",
			mutate: func(f *Facts) { f.Release.Tag = "0.9.0" },
			want:   []string{`release tag "0.9.0" is not v<semantic version>; tag the release v0.9.0 (from VERSION)`},
			types:  []any{new(*TagNotSemver)},
		},
		{
			name:   "not a version",
			mutate: func(f *Facts) { f.Release.Tag = "v0.9" },
			want:   []string{`release tag "v0.9" is not v<semantic version>; tag the release v0.9.0 (from VERSION)`},
		},
	})
}

func TestTagFree(t *testing.T) {
	runCases(t, TagFreeName, []guardCase{
		{name: "free"},
		{name: "no release", mutate: func(f *Facts) { f.Release = nil }},
		{
			name:   "exists locally",
			mutate: func(f *Facts) { f.Release.LocalTagExists = true },
			want:   []string{"platform: tag v0.9.0 already exists locally; if it is stale delete it (git tag -d v0.9.0), otherwise run: go run mage.go bump platform patch (or minor, major) and tag the new version"},
			types:  []any{new(*TagExists)},
		},
		{
			name:   "exists on the remote",
			mutate: func(f *Facts) { f.Release.LocalTagExists, f.Release.RemoteTagExists = true, true },
			want:   []string{"platform: tag v0.9.0 already exists on the remote, and a pushed tag is never moved; run: go run mage.go bump platform patch (or minor, major) and tag the new version"},
		},
		{
			name:   "component unknown",
			mutate: func(f *Facts) { f.Release.Component, f.Release.RemoteTagExists = "", true },
			want:   []string{"tag v0.9.0 already exists on the remote, and a pushed tag is never moved; run: go run mage.go bump <component> patch (or minor, major) and tag the new version"},
		},
	})
}

func TestRunAggregates(t *testing.T) {
	if err := Run(healthy()); err != nil {
		t.Fatalf("healthy facts: %v", err)
	}
	f := healthy()
	get(&f, "core").Chart.Version = "1.1.0"
	get(&f, "core").Chart.License = ""
	get(&f, "scanner").Publish = false
	f.Release.DirtyFiles = []string{"x"}
	err := Run(f)
	var names []string
	for _, v := range Violations(err) {
		names = append(names, v.Guardrail())
	}
	if want := []string{VersionsName, MetadataName, PublishableName, CleanTreeName}; !reflect.DeepEqual(names, want) {
		t.Errorf("violations from %v, want %v\n%v", names, want, err)
	}
	var mismatch *ChartVersionMismatch
	if !errors.As(err, &mismatch) || mismatch.Component != "core" || mismatch.Found != "1.1.0" {
		t.Errorf("errors.As(*ChartVersionMismatch) on the aggregate: %v", mismatch)
	}

	only, err2 := Select(CleanTreeName, ReleaseTagName)
	if err2 != nil {
		t.Fatal(err2)
	}
	if vs := Violations(Run(f, only...)); len(vs) != 1 || vs[0].Guardrail() != CleanTreeName {
		t.Errorf("selected guardrails: %v", vs)
	}
	var unknown *UnknownGuardrailError
	if _, err := Select("nope"); !errors.As(err, &unknown) ||
		err.Error() != `unknown guardrail "nope"; known guardrails: versions, umbrella-coverage, metadata, bumped, published-inputs, publishable, clean-tree, release-tag, tag-free` {
		t.Errorf("Select(nope) = %v", err)
	}
	if Violations(nil) != nil {
		t.Errorf("Violations(nil) not empty")
	}
}

func TestAllListed(t *testing.T) {
	seen := map[string]bool{}
	for _, g := range All {
		if g.Name == "" || g.Description == "" || g.Check == nil || seen[g.Name] {
			t.Errorf("guardrail %+v is incomplete or repeated", g.Name)
		}
		seen[g.Name] = true
		if g.Check(Facts{}) != nil {
			t.Errorf("%s reports violations on empty facts", g.Name)
		}
	}
	if len(All) != 9 {
		t.Errorf("%d guardrails, want 9", len(All))
	}
}

// TestPublishableGraphErrorIsAViolation: a graph the publishable check cannot
// build is a typed violation of that guardrail, still unwrapping to the
// graph's error, and Violations lists it beside the others.
func TestPublishableGraphErrorIsAViolation(t *testing.T) {
	f := healthy()
	get(&f, "core").DependsOn = []string{"ghost"}
	f.Release.DirtyFiles = []string{"x"}
	err := Run(f)
	var names []string
	for _, v := range Violations(err) {
		names = append(names, v.Guardrail())
	}
	if want := []string{PublishableName, CleanTreeName}; !slices.Equal(names, want) {
		t.Errorf("violations from %v, want %v\n%v", names, want, err)
	}
	var inv *InvalidDependencies
	var unknown *graph.UnknownDependencyError
	if !errors.As(err, &inv) || inv.Manifest != manifest || !errors.As(err, &unknown) || unknown.Dep != "ghost" {
		t.Errorf("errors.As on %v: %+v, %+v", err, inv, unknown)
	}
	if got := (&InvalidDependencies{Err: errors.New("boom")}).Error(); got != "cannot check publishable dependencies: boom" {
		t.Errorf("without a manifest: %q", got)
	}
}

// TestViolationsDropsNothing: errors that are not violations come back as
// *Unclassified, whole, in order.
func TestViolationsDropsNothing(t *testing.T) {
	dirty := &DirtyTree{Files: []string{"x"}}
	blocked := &Blocked{Component: "core", Immediate: []string{"base"}, Causes: []string{"base"}, Manifest: manifest}
	plain := errors.New("registry answered 503")
	err := errors.Join(
		dirty,
		fmt.Errorf("reading facts: %w", plain),
		fmt.Errorf("checking: %w", errors.Join(blocked, errors.New("disk full"))),
		errors.Join(errors.New("a"), errors.New("b")),
	)
	var got []string
	for _, v := range Violations(err) {
		got = append(got, v.Guardrail()+" | "+v.Error())
	}
	want := []string{
		CleanTreeName + " | " + dirty.Error(),
		UnclassifiedName + " | reading facts: registry answered 503",
		PublishableName + " | " + blocked.Error(),
		UnclassifiedName + " | disk full",
		UnclassifiedName + " | a",
		UnclassifiedName + " | b",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("Violations:\n got %q\nwant %q", got, want)
	}
	var u *Unclassified
	if vs := Violations(err); !errors.As(vs[1], &u) || !errors.Is(u, plain) {
		t.Errorf("Unclassified does not unwrap to the error: %v", vs[1])
	}
	if vs := Violations(plain); len(vs) != 1 || vs[0].Error() != plain.Error() {
		t.Errorf("Violations(plain) = %v", vs)
	}
}

// TestTagPlacementMessages: each cause of a release tag that is not at HEAD, and of one not on
// the remote, has its own advice (testdata/tag-placement.golden, -update rewrites it).
func TestTagPlacementMessages(t *testing.T) {
	const head = "923a1892e6ed4f0b6d5b1c2a3e4f5a6b7c8d9e0f"
	const other = "1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e"
	cases := []struct {
		name string
		err  Violation
	}{
		{"local tag elsewhere", &TagNotAtHead{Tag: "v1.2.0", TagCommit: other, Head: head, Where: Local}},
		{"where unset reads as local", &TagNotAtHead{Tag: "v1.2.0", TagCommit: "abc", Head: "def"}},
		{"remote tag elsewhere", &TagNotAtHead{Tag: "v1.2.0", TagCommit: other, Head: head, Where: Remote}},
		{"remote tag released earlier", &TagNotAtHead{Tag: "v1.2.0", TagCommit: other, Head: head, Where: Remote, Cause: CauseReleased, Component: "platform"}},
		{"local tag at an earlier commit", &TagNotAtHead{Tag: "v1.2.0", TagCommit: other, Head: head, Where: Local, Cause: CauseReleased, Component: "platform"}},
		{"remote tag moved", &TagNotAtHead{Tag: "v1.2.0", TagCommit: other, Head: head, Where: Remote, Cause: CauseMoved}},
		{"local tag stale", &TagNotAtHead{Tag: "v1.2.0", TagCommit: other, Head: head, Where: Local, Cause: CauseMoved}},
		{"remote tag's commit not here", &TagNotAtHead{Tag: "v1.2.0", TagCommit: other, Head: head, Where: Remote, Cause: CauseNotHere}},
		{"not pushed", &TagNotPushed{Tag: "v1.2.0", Remote: "origin", LocalExists: true}},
		{"not pushed, remote unknown", &TagNotPushed{Tag: "v1.2.0", LocalExists: true}},
		{"not created yet", &TagNotPushed{Tag: "v1.2.0", Remote: "origin"}},
	}
	var b strings.Builder
	for _, tc := range cases {
		fmt.Fprintf(&b, "%s:\n  %s\n", tc.name, tc.err.Error())
	}
	golden.Check(t, "tag-placement", b.String())
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			if g := tt.err.Guardrail(); g != "tag-placement" {
				t.Errorf("Guardrail() = %q", g)
			}
			if vs := Violations(fmt.Errorf("planning: %w", tt.err)); len(vs) != 1 || vs[0] != tt.err {
				t.Errorf("Violations does not find it: %v", vs)
			}
		})
	}
	if _, ok := Lookup(TagPlacementName); ok {
		t.Errorf("tag placement needs git: it must not be one of All")
	}
}
