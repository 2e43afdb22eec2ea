// Package changelog reads and edits a CHANGELOG.md kept in the Keep a Changelog format
// (https://keepachangelog.com): a title, an optional "## [Unreleased]" section, then one
// "## [x.y.z] - YYYY-MM-DD" section per version, newest first, and perhaps link reference
// definitions ("[1.0.0]: https://…") at the end.
//
// It is a careful line parser, not a Markdown renderer: a "## " line inside a fenced code block
// (``` or ~~~) is text, every version heading is located by its line, and a heading that
// starts like a version ("## [") but cannot be read is an error naming the file, the line and
// the fix. It is pure: it reads and returns bytes, and Read is the one function that opens a file.
package changelog

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"strings"

	"github.com/Masterminds/semver/v3"

	"github.com/shiplane/shiplane/magefiles/diag"
)

// DefaultFile is the changelog's name, at the repository root and in a component's paths.
const DefaultFile = "CHANGELOG.md"

// Unreleased is the version name of the "## [Unreleased]" section.
const Unreleased = "Unreleased"

// UnreleasedDate is the date bump writes in a new version's heading: the release date is set
// when the section is finished.
const UnreleasedDate = "unreleased"

// Section is one "## [version] - date" section.
type Section struct {
	// Version is the version in brackets, as x.y.z (or Unreleased).
	Version string
	// Date is what follows " - " in the heading: YYYY-MM-DD, "unreleased", or "" when absent.
	Date string
	// Yanked is a heading ending in [YANKED].
	Yanked bool
	// Line is the heading's line number, from 1.
	Line int
	// Body is the section's text without its heading, blank lines trimmed at both ends, and
	// without the file's closing link reference definitions.
	Body string
}

// Changelog is a parsed changelog.
type Changelog struct {
	// File is the name the changelog was read as (in messages).
	File string
	// Sections in file order.
	Sections []Section

	data []byte
}

// Error is a changelog heading that cannot be read: the file, the line, the problem and the fix,
// shown as "file:line: problem; fix: how".
type Error struct {
	File    string
	Line    int
	Problem string
	Fix     string
}

func (e *Error) Error() string { return diag.Format(e.File, e.Line, "", e.Problem, nil, e.Fix) }

// Errors are every problem Parse found, in line order.
type Errors []*Error

func (es Errors) Error() string { return diag.Lines(es) }

// Unwrap lets errors.Is/As reach each *Error.
func (es Errors) Unwrap() []error { return diag.Unwrap(es) }

// MissingSectionError is a release version the changelog has no section for.
type MissingSectionError struct {
	File, Version string
	// Component is the component whose version it is ("" for the release itself).
	Component string
}

func (e *MissingSectionError) Error() string {
	who := "the release version " + e.Version
	if e.Component != "" {
		who = e.Component + "'s version " + e.Version
	}
	return fmt.Sprintf("%s has no section for %s: add a heading \"## [%s] - YYYY-MM-DD\" with the release notes (Keep a Changelog format), commit it, and run again",
		e.File, who, e.Version)
}

var (
	// heading: "## [1.2.0] - 2026-01-02", "## [1.2.0](https://…) - 2026-01-02", "## [1.2.0]",
	// "## [1.2.0] - 2026-01-02 [YANKED]", "## [Unreleased]".
	headingRe = regexp.MustCompile(`^##[ \t]+\[([^\]]*)\](?:\([^)]*\))?(?:[ \t]+[-–—][ \t]+(.*?))?[ \t]*$`)
	dateRe    = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)
	linkDefRe = regexp.MustCompile(`^\[[^\]]+\]:[ \t]*\S`)
	yankedRe  = regexp.MustCompile(`(?i)[ \t]*\[YANKED\]$`)
)

// Read reads and parses the changelog at path, named name in messages. A missing file is
// (nil, nil): a repository without a changelog has no notes to check.
func Read(path, name string) (*Changelog, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	return Parse(name, data)
}

// Parse reads the sections of a changelog named file. Every heading that starts with "## ["
// must be a version (x.y.z or Unreleased) with a date that is YYYY-MM-DD or "unreleased", each
// version at most once.
func Parse(file string, data []byte) (*Changelog, error) {
	c := &Changelog{File: file, data: data}
	lines := splitLines(data)
	var errs Errors
	fail := func(line int, problem, fix string) {
		errs = append(errs, &Error{File: file, Line: line, Problem: problem, Fix: fix})
	}
	seen := map[string]int{}
	cur := -1 // the section being read
	var body [][]string
	fence := ""
	for i, raw := range lines {
		line := strings.TrimRight(raw, "\r")
		n := i + 1
		trimmed := strings.TrimLeft(line, " ")
		if fence != "" {
			if strings.HasPrefix(trimmed, fence) && strings.TrimSpace(strings.TrimLeft(trimmed, fence[:1])) == "" {
				fence = ""
			}
		} else if f := fenceOf(trimmed); f != "" {
			fence = f
		} else if strings.HasPrefix(line, "## ") || strings.HasPrefix(line, "##\t") || line == "##" {
			cur = -1 // any level-2 heading ends a section
			if strings.HasPrefix(strings.TrimSpace(line[2:]), "[") {
				s, ok := parseHeading(line, n, fail)
				if ok {
					if first, dup := seen[s.Version]; dup {
						fail(n, fmt.Sprintf("a second section for %s (the first is at line %d)", s.Version, first), "merge the two sections into one")
					} else {
						seen[s.Version] = n
						c.Sections = append(c.Sections, s)
						body = append(body, nil)
						cur = len(c.Sections) - 1
					}
				}
			}
			continue
		} else if strings.HasPrefix(line, "# ") {
			cur = -1
			continue
		}
		if cur >= 0 {
			body[cur] = append(body[cur], line)
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	if k := len(body) - 1; k >= 0 {
		body[k] = dropLinkDefs(body[k])
	}
	for i := range c.Sections {
		c.Sections[i].Body = strings.Join(trimBlank(body[i]), "\n")
	}
	return c, nil
}

func parseHeading(line string, n int, fail func(int, string, string)) (Section, bool) {
	m := headingRe.FindStringSubmatch(strings.TrimRight(line, " \t"))
	if m == nil {
		fail(n, fmt.Sprintf("cannot read the version heading %q", line), "write it as \"## [1.2.0] - YYYY-MM-DD\" or \"## [Unreleased]\"")
		return Section{}, false
	}
	s := Section{Line: n, Date: strings.TrimSpace(m[2])}
	if y := yankedRe.FindString(s.Date); y != "" {
		s.Yanked, s.Date = true, strings.TrimSpace(strings.TrimSuffix(s.Date, y))
	}
	name := strings.TrimSpace(m[1])
	if strings.EqualFold(name, Unreleased) {
		s.Version = Unreleased
		return s, true
	}
	v, err := semver.StrictNewVersion(name)
	if err != nil {
		fix := "write the version as x.y.z, as in VERSION"
		if strings.HasPrefix(name, "v") {
			fix = fmt.Sprintf("write [%s] without the v", strings.TrimPrefix(name, "v"))
		}
		fail(n, fmt.Sprintf("%q is not a version", name), fix)
		return Section{}, false
	}
	s.Version = v.String()
	if s.Date != "" && !dateRe.MatchString(s.Date) && !strings.EqualFold(s.Date, UnreleasedDate) {
		fail(n, fmt.Sprintf("the date %q of %s is not YYYY-MM-DD", s.Date, s.Version), fmt.Sprintf("write \"## [%s] - YYYY-MM-DD\" (or \"- %s\" until it is released)", s.Version, UnreleasedDate))
		return Section{}, false
	}
	return s, true
}

// fenceOf is the fence a line opens ("```" or "~~~", as long as written), or "".
func fenceOf(line string) string {
	for _, ch := range []string{"`", "~"} {
		if strings.HasPrefix(line, ch+ch+ch) {
			n := len(line) - len(strings.TrimLeft(line, ch))
			return strings.Repeat(ch, n)
		}
	}
	return ""
}

// Section returns the section of version (x.y.z, or Unreleased).
func (c *Changelog) Section(version string) (Section, bool) {
	if c == nil {
		return Section{}, false
	}
	if v, err := semver.StrictNewVersion(version); err == nil {
		version = v.String()
	}
	for _, s := range c.Sections {
		if s.Version == version {
			return s, true
		}
	}
	return Section{}, false
}

// Require returns the section of version, or a *MissingSectionError naming the file and the fix.
// component names whose version it is in the error ("" for the release).
func (c *Changelog) Require(version, component string) (Section, error) {
	s, ok := c.Section(version)
	if !ok {
		return s, &MissingSectionError{File: c.File, Version: version, Component: component}
	}
	return s, nil
}

// WithSection returns the changelog's content with an empty "## [version] - unreleased"
// section added where the newest version belongs: before the first version section (after
// [Unreleased], when there is one), else before the closing link reference definitions, else at
// the end. It returns the content unchanged, and false, when version already has a section.
func (c *Changelog) WithSection(version string) ([]byte, bool) {
	if _, ok := c.Section(version); ok {
		return c.data, false
	}
	lines := splitLines(c.data)
	at := len(lines)
	for _, s := range c.Sections {
		if s.Version != Unreleased {
			at = s.Line - 1
			break
		}
	}
	heading := fmt.Sprintf("## [%s] - %s", version, UnreleasedDate)
	var out []string
	if at < len(lines) {
		out = append(append(append(out, lines[:at]...), heading, ""), lines[at:]...)
	} else {
		// No version yet: after the last text, before the closing link definitions.
		end := len(lines)
		for end > 0 && (strings.TrimSpace(lines[end-1]) == "" || linkDefRe.MatchString(lines[end-1])) {
			end--
		}
		out = append(out, lines[:end]...)
		if end > 0 {
			out = append(out, "")
		}
		out = append(out, heading)
		if rest := trimBlank(lines[end:]); len(rest) > 0 {
			out = append(append(out, ""), rest...)
		}
	}
	text := strings.Join(out, "\n")
	if !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	return []byte(text), true
}

// splitLines splits data into lines without their "\n"; a final newline makes no empty line.
func splitLines(data []byte) []string {
	s := strings.TrimSuffix(string(data), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// dropLinkDefs removes the link reference definitions that close a changelog from its last
// section's lines.
func dropLinkDefs(lines []string) []string {
	end := len(lines)
	for end > 0 && (strings.TrimSpace(lines[end-1]) == "" || linkDefRe.MatchString(lines[end-1])) {
		end--
	}
	return lines[:end]
}

func trimBlank(lines []string) []string {
	for len(lines) > 0 && strings.TrimSpace(lines[0]) == "" {
		lines = lines[1:]
	}
	for len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

// Demote returns body with every ATX heading outside a code block one level deeper ("### Added"
// becomes "#### Added"; a level-6 heading stays), for a section shown under a heading of its own.
func Demote(body string) string {
	lines := strings.Split(body, "\n")
	fence := ""
	for i, line := range lines {
		trimmed := strings.TrimLeft(line, " ")
		switch {
		case fence != "":
			if strings.HasPrefix(trimmed, fence) && strings.TrimSpace(strings.TrimLeft(trimmed, fence[:1])) == "" {
				fence = ""
			}
		case fenceOf(trimmed) != "":
			fence = fenceOf(trimmed)
		case strings.HasPrefix(line, "#") && !strings.HasPrefix(line, "######"):
			if level := len(line) - len(strings.TrimLeft(line, "#")); level < 6 && (len(line) == level || line[level] == ' ' || line[level] == '\t') {
				lines[i] = "#" + line
			}
		}
	}
	return strings.Join(lines, "\n")
}
