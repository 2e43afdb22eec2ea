package changelog_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shiplane/shiplane/magefiles/changelog"
)

const sample = `# Changelog

All notable changes to this project are documented in this file.

## [Unreleased]

### Added
- something not yet released

## [1.2.0] - 2026-11-30

### Added
- the webhook connector

` + "```sh" + `
## [9.9.9] - not a heading: inside a code block
` + "```" + `

## [1.1.0](https://example.com/compare/v1.0.0...v1.1.0) - 2026-10-01 [YANKED]
### Fixed
- a fix

## [1.0.0] - 2026-09-01

- first release

[Unreleased]: https://example.com/compare/v1.2.0...HEAD
[1.2.0]: https://example.com/compare/v1.1.0...v1.2.0
`

func TestParseSections(t *testing.T) {
	c, err := changelog.Parse("CHANGELOG.md", []byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		version, date string
		line          int
		yanked        bool
		body          string
	}
	wants := []want{
		{"Unreleased", "", 5, false, "### Added\n- something not yet released"},
		{"1.2.0", "2026-11-30", 10, false, "### Added\n- the webhook connector\n\n```sh\n## [9.9.9] - not a heading: inside a code block\n```"},
		{"1.1.0", "2026-10-01", 19, true, "### Fixed\n- a fix"},
		{"1.0.0", "2026-09-01", 23, false, "- first release"},
	}
	if len(c.Sections) != len(wants) {
		t.Fatalf("sections = %+v", c.Sections)
	}
	for i, w := range wants {
		s := c.Sections[i]
		if s.Version != w.version || s.Date != w.date || s.Line != w.line || s.Yanked != w.yanked || s.Body != w.body {
			t.Errorf("section %d = %+v\nwant %+v", i, s, w)
		}
	}
	if s, ok := c.Section("1.2.0"); !ok || s.Line != 10 {
		t.Errorf("Section(1.2.0) = %+v, %v", s, ok)
	}
	if _, ok := c.Section("9.9.9"); ok {
		t.Error("a heading inside a code block was read as a section")
	}
}

func TestParseRefusesUnreadableHeadingsWithTheirLine(t *testing.T) {
	for name, tc := range map[string]struct{ text, want string }{
		"v prefix":   {"# Changelog\n\n## [v1.2.0] - 2026-01-01\n", `CHANGELOG.md:3: "v1.2.0" is not a version; fix: write [1.2.0] without the v`},
		"bad date":   {"## [1.2.0] - last tuesday\n", `CHANGELOG.md:1: the date "last tuesday" of 1.2.0 is not YYYY-MM-DD; fix: write "## [1.2.0] - YYYY-MM-DD" (or "- unreleased" until it is released)`},
		"no bracket": {"\n## [1.2.0 - 2026-01-01\n", `CHANGELOG.md:2: cannot read the version heading "## [1.2.0 - 2026-01-01"; fix: write it as "## [1.2.0] - YYYY-MM-DD" or "## [Unreleased]"`},
		"duplicate":  {"## [1.0.0] - 2026-01-01\n\n## [1.0.0] - 2026-01-02\n", "CHANGELOG.md:3: a second section for 1.0.0 (the first is at line 1); fix: merge the two sections into one"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := changelog.Parse("CHANGELOG.md", []byte(tc.text))
			var ce *changelog.Error
			if !errors.As(err, &ce) || err.Error() != tc.want {
				t.Errorf("err = %v\nwant %s", err, tc.want)
			}
		})
	}
}

func TestRequireNamesTheFileAndTheFix(t *testing.T) {
	c, err := changelog.Parse("services/core/CHANGELOG.md", []byte("## [1.0.0] - 2026-01-01\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Require("1.0.0", "core"); err != nil {
		t.Errorf("Require(1.0.0) = %v", err)
	}
	_, err = c.Require("1.2.0", "core")
	var me *changelog.MissingSectionError
	want := `services/core/CHANGELOG.md has no section for core's version 1.2.0: add a heading "## [1.2.0] - YYYY-MM-DD" with the release notes (Keep a Changelog format), commit it, and run again`
	if !errors.As(err, &me) || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
}

func TestWithSection(t *testing.T) {
	for name, tc := range map[string]struct{ in, want string }{
		"before the newest version, after Unreleased": {
			in:   "# Changelog\n\n## [Unreleased]\n\n- soon\n\n## [1.0.0] - 2026-01-01\n\n- first\n",
			want: "# Changelog\n\n## [Unreleased]\n\n- soon\n\n## [1.1.0] - unreleased\n\n## [1.0.0] - 2026-01-01\n\n- first\n",
		},
		"no version yet, link definitions kept last": {
			in:   "# Changelog\n\n## [Unreleased]\n- soon\n\n[Unreleased]: https://example.com\n",
			want: "# Changelog\n\n## [Unreleased]\n- soon\n\n## [1.1.0] - unreleased\n\n[Unreleased]: https://example.com\n",
		},
		"title only": {
			in:   "# Changelog\n",
			want: "# Changelog\n\n## [1.1.0] - unreleased\n",
		},
		"empty file": {
			in:   "",
			want: "## [1.1.0] - unreleased\n",
		},
	} {
		t.Run(name, func(t *testing.T) {
			c, err := changelog.Parse("CHANGELOG.md", []byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			got, changed := c.WithSection("1.1.0")
			if !changed || string(got) != tc.want {
				t.Errorf("changed=%v\n%s\nwant\n%s", changed, got, tc.want)
			}
			again, err := changelog.Parse("CHANGELOG.md", got)
			if err != nil {
				t.Fatal(err)
			}
			if s, ok := again.Section("1.1.0"); !ok || s.Date != changelog.UnreleasedDate || s.Body != "" {
				t.Errorf("the new section reads back as %+v, %v", s, ok)
			}
			if same, changed := again.WithSection("1.1.0"); changed || string(same) != string(got) {
				t.Error("a second WithSection changed the file")
			}
		})
	}
}

func TestReadMissingFileIsNoChangelog(t *testing.T) {
	dir := t.TempDir()
	c, err := changelog.Read(filepath.Join(dir, "CHANGELOG.md"), "CHANGELOG.md")
	if c != nil || err != nil {
		t.Errorf("Read(missing) = %v, %v", c, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "CHANGELOG.md"), []byte("## [1.0.0]\n\n- x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err = changelog.Read(filepath.Join(dir, "CHANGELOG.md"), "CHANGELOG.md")
	if err != nil || !strings.Contains(c.Sections[0].Body, "- x") {
		t.Errorf("Read = %+v, %v", c, err)
	}
}

func TestDemote(t *testing.T) {
	in := "### Added\n- x\n```\n### not a heading\n```\n#hashtag\n###### deepest\n#### Fixed"
	want := "#### Added\n- x\n```\n### not a heading\n```\n#hashtag\n###### deepest\n##### Fixed"
	if got := changelog.Demote(in); got != want {
		t.Errorf("Demote:\n%s\nwant\n%s", got, want)
	}
}

func TestParseReportsEveryProblemAtOnce(t *testing.T) {
	_, err := changelog.Parse("CHANGELOG.md", []byte("## [v1.0.0]\n\n## [1.1.0] - soon\n"))
	var es changelog.Errors
	if !errors.As(err, &es) || len(es) != 2 || es[0].Line != 1 || es[1].Line != 3 {
		t.Errorf("err = %v", err)
	}
}
