package lane

import (
	"fmt"
	"strings"

	"github.com/shiplane/shiplane/magefiles/guard"
	"github.com/shiplane/shiplane/magefiles/settings"
)

// Policy is a lane, as a value set once when the lane starts: which guardrails refuse and which
// only warn, where it publishes, how it tags, and whether blocked components may be left out.
// Goals never ask which lane they are in; they are made from the policy's answers.
type Policy struct {
	// Name is "local", "dev" or "release", for messages.
	Name string
	// Check is which guardrails refuse the lane before it writes anything, and which only warn.
	Check Check
	// Target is where images and charts are published ("" registry: nowhere, the local lane).
	Target settings.Target
	// MovingTag: images get the moving <version> tag beside the immutable
	// <version>-g<commit> one (the dev lane). Otherwise the one immutable tag is <version>.
	MovingTag bool
	// DecideByInputs: an image or chart already at its immutable reference is decided by the
	// inputs it carries, before anything is read locally, so a run whose artifacts are all
	// published builds nothing (the release lane). Otherwise by digest (the dev lane).
	DecideByInputs bool
	// GitTags: the lane pushes per-component git tags and publishes the GitHub release.
	GitTags bool
	// RequireCommit: every image is built from the commit (never reused from uncommitted
	// edits or another commit), and the build's times are the commit's.
	RequireCommit bool
	// AllowBlocked: components blocked by a never-published dependency are left out and the
	// rest published (ALLOW_BLOCKED=1), instead of refusing.
	AllowBlocked bool
	// ReleaseFile is the release pipeline file (verification goals), relative to the root.
	ReleaseFile string
}

// Check is which guardrails a lane enforces and which it only warns about.
type Check struct {
	Refuse []string
	Warn   []string
}

// The lanes' guardrails: the local lane refuses inconsistent versions and a publishable chart the
// umbrella chart leaves out, and warns about changes without a bump; the dev lane also refuses missing metadata before it publishes; the release
// refuses all of those, a dirty tree and a tag that does not match the version, before planning
// (changed-without-bump, published-inputs and blocked are decided per artifact by the plan).
var (
	LocalCheck   = Check{Refuse: []string{guard.VersionsName, guard.UmbrellaCoverageName}, Warn: []string{guard.BumpedName}}
	DevCheck     = Check{Refuse: []string{guard.VersionsName, guard.UmbrellaCoverageName, guard.MetadataName}, Warn: []string{guard.BumpedName}}
	ReleaseCheck = Check{Refuse: []string{guard.VersionsName, guard.UmbrellaCoverageName, guard.MetadataName, guard.CleanTreeName, guard.ReleaseTagName}}
	// TagReleaseCheck is what tagRelease refuses on before it creates the tag.
	TagReleaseCheck = Check{Refuse: []string{guard.VersionsName, guard.UmbrellaCoverageName, guard.MetadataName, guard.BumpedName, guard.CleanTreeName, guard.ReleaseTagName, guard.TagFreeName}}
)

// LocalPolicy is the local lane: build into the daemon, publish nothing.
func LocalPolicy() Policy { return Policy{Name: "local", Check: LocalCheck} }

// DevPolicy is the dev lane: current versions to the dev registry, the <version> tag moving.
func (w *Workspace) DevPolicy() Policy {
	return Policy{Name: "dev", Check: DevCheck, Target: w.Settings.Dev, MovingTag: true, ReleaseFile: w.Config.Release}
}

// ReleasePolicy is the release lane: immutable versions to the release registry, decided by
// inputs, git tags and the GitHub release, images built from the commit.
func (w *Workspace) ReleasePolicy() Policy {
	return Policy{Name: "release", Check: ReleaseCheck, Target: w.Settings.Release, DecideByInputs: true, GitTags: true,
		RequireCommit: true, AllowBlocked: w.Env.AllowBlocked, ReleaseFile: w.Config.Release}
}

// requireTarget says, before anything is built or asked, when the policy has nowhere to publish.
func (p Policy) requireTarget(settingsFile string) error {
	upper := strings.ToUpper(p.Name)
	var missing []string
	if p.Target.Registry == "" {
		missing = append(missing, fmt.Sprintf("%s_REGISTRY (or %s.registry in %s)", upper, p.Name, settingsFile))
	}
	if !strings.HasPrefix(p.Target.ChartRepo, "oci://") {
		got := ""
		if p.Target.ChartRepo != "" {
			got = fmt.Sprintf("; got %q", p.Target.ChartRepo)
		}
		missing = append(missing, fmt.Sprintf("%s_CHART_REPO as oci://host/path (or %s.chart_repo in %s%s)", upper, p.Name, settingsFile, got))
	}
	if len(missing) > 0 {
		return fmt.Errorf("nowhere to publish the %s lane: set %s", p.Name, strings.Join(missing, " and "))
	}
	return nil
}
