package lane

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/shiplane/shiplane/magefiles/changelog"
	"github.com/shiplane/shiplane/magefiles/manifest"
	"github.com/shiplane/shiplane/magefiles/plan"
	versionpkg "github.com/shiplane/shiplane/magefiles/version"
)

// Changelogs are the repository's changelogs: the root CHANGELOG.md (the release's notes) and
// each component's own, when it keeps one in its paths. A changelog that does not exist is nil.
type Changelogs struct {
	Root       *changelog.Changelog
	Components map[string]*changelog.Changelog
}

// changelogPath is the component's CHANGELOG.md, relative to the root: the first of its paths
// (a folder) holding one, or "".
func (w *Workspace) changelogPath(c *manifest.Component) string {
	for _, p := range c.Paths {
		rel := path.Join(p, changelog.DefaultFile)
		if fi, err := os.Stat(w.Path(rel)); err == nil && fi.Mode().IsRegular() {
			return rel
		}
	}
	return ""
}

// Changelogs reads the root changelog and every component's. An unreadable one is an error
// naming its file and line.
func (w *Workspace) Changelogs() (Changelogs, error) {
	out := Changelogs{Components: map[string]*changelog.Changelog{}}
	var err error
	if out.Root, err = changelog.Read(w.Path(changelog.DefaultFile), changelog.DefaultFile); err != nil {
		return out, err
	}
	for _, c := range w.Manifest.Components {
		rel := w.changelogPath(c)
		if rel == "" {
			continue
		}
		cl, err := changelog.Read(w.Path(rel), rel)
		if err != nil {
			return out, err
		}
		out.Components[c.Name] = cl
	}
	return out, nil
}

// checkChangelog refuses a release version the root CHANGELOG.md (as read into w.changelogs) has
// no section for; without a CHANGELOG.md there is nothing to check.
func (w *Workspace) checkChangelog() error {
	if w.changelogs.Root == nil {
		return nil
	}
	_, err := w.changelogs.Root.Require(w.Manifest.Platform.Version, "")
	return err
}

// ReleaseNotes is the GitHub release's body: the root changelog's section for the release
// version, then the table of the components the release carries (with each component's own
// changelog section for its version after the table, in the table's order: a Markdown table cell
// holds no section), then what the release leaves out because it is blocked (ALLOW_BLOCKED=1),
// the umbrella chart first.
func (w *Workspace) ReleaseNotes(tag string, pl *plan.Plan, cls Changelogs) string {
	var b strings.Builder
	if s, ok := cls.Root.Section(w.Manifest.Platform.Version); ok && s.Body != "" {
		b.WriteString(s.Body)
		b.WriteString("\n\n")
	}
	entries := released(pl)
	fmt.Fprintf(&b, "Release %s from commit %s.\n\n| component | version |\n|---|---|\n", tag, w.Head.Hash)
	for _, e := range entries {
		if e.Name != PlatformComponent {
			fmt.Fprintf(&b, "| %s | %s |\n", e.Name, e.Version)
		}
	}
	for _, e := range entries {
		if s, ok := cls.Components[e.Name].Section(e.Version); ok && s.Body != "" {
			fmt.Fprintf(&b, "\n### %s %s\n\n%s\n", e.Name, e.Version, changelog.Demote(s.Body))
		}
	}
	var blocked []string
	umbrella := ""
	for _, l := range pl.Levels {
		for _, e := range l {
			cause := blockedCause(e)
			switch {
			case cause == "":
			case e.Name == PlatformComponent:
				umbrella = fmt.Sprintf("The umbrella chart (%s %s) is not published in this release: it is blocked %s.", PlatformComponent, e.Version, cause)
			default:
				blocked = append(blocked, fmt.Sprintf("- %s %s: blocked %s", e.Name, e.Version, cause))
			}
		}
	}
	if umbrella != "" || len(blocked) > 0 {
		b.WriteString("\n### Not in this release (ALLOW_BLOCKED=1)\n\n")
		if umbrella != "" {
			b.WriteString(umbrella + "\n")
			if len(blocked) > 0 {
				b.WriteString("\n")
			}
		}
		for _, l := range blocked {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// blockedCause is the cause of the entry's blocked artifacts ("" when none is blocked).
func blockedCause(e plan.Entry) string {
	for _, s := range e.Steps {
		if s.Decision == plan.Blocked {
			return s.Cause
		}
	}
	return ""
}

// changelogEdit plans the empty "## [next] - unreleased" section bump adds to the changelog
// at rel (relative to the root), when the file exists and has no section for next yet. It
// returns nil when there is nothing to add.
func (w *Workspace) changelogEdit(rel, next string) (*versionpkg.Edit, error) {
	full := w.Path(rel)
	data, err := os.ReadFile(full)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", rel, err)
	}
	cl, err := changelog.Parse(rel, data)
	if err != nil {
		return nil, err
	}
	content, changed := cl.WithSection(next)
	if !changed {
		return nil, nil
	}
	return versionpkg.PlanContent(full, data, content), nil
}
