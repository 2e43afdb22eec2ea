package version

import (
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/Masterminds/semver/v3"
)

func TestParse(t *testing.T) {
	valid := []string{"0.0.0", "1.2.3", "1.2.3-rc.1", "1.2.3+build.5", "1.2.3-alpha.1+sha.abc", "10.20.30"}
	for _, s := range valid {
		v, err := Parse(s)
		if err != nil {
			t.Errorf("Parse(%q): %v", s, err)
			continue
		}
		if v.String() != s {
			t.Errorf("Parse(%q).String() = %q", s, v)
		}
	}
	tests := []struct {
		in   string
		want string
	}{
		{"1.2", `invalid version "1.2": invalid semantic version; want a semantic version X.Y.Z[-prerelease][+build] without a leading v, e.g. 1.4.2 or 2.0.0-rc.1`},
		{"v1.2.3", `invalid version "v1.2.3": invalid characters in version; want a semantic version X.Y.Z[-prerelease][+build] without a leading v, e.g. 1.4.2 or 2.0.0-rc.1`},
		{"01.2.3", `invalid version "01.2.3": version segment starts with 0; want a semantic version X.Y.Z[-prerelease][+build] without a leading v, e.g. 1.4.2 or 2.0.0-rc.1`},
		{"", `invalid version "": version string empty; want a semantic version X.Y.Z[-prerelease][+build] without a leading v, e.g. 1.4.2 or 2.0.0-rc.1`},
		{" 1.2.3", `invalid version " 1.2.3": invalid characters in version; want a semantic version X.Y.Z[-prerelease][+build] without a leading v, e.g. 1.4.2 or 2.0.0-rc.1`},
	}
	for _, tt := range tests {
		_, err := Parse(tt.in)
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Input != tt.in {
			t.Errorf("Parse(%q) = %v, want *ParseError", tt.in, err)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("Parse(%q):\n got %s\nwant %s", tt.in, err, tt.want)
		}
	}
	if _, err := Parse("1.2"); !errors.Is(err, semver.ErrInvalidSemVer) {
		t.Errorf("ParseError does not unwrap to the semver error: %v", err)
	}
}

func TestNext(t *testing.T) {
	tests := []struct {
		cur, spec, want string
		err             any // pointer to the wanted error type
		msg             string
	}{
		{cur: "1.2.3", spec: "patch", want: "1.2.4"},
		{cur: "1.2.3", spec: "minor", want: "1.3.0"},
		{cur: "1.2.3", spec: "major", want: "2.0.0"},
		{cur: "1.3.0-rc.1", spec: "patch", want: "1.3.0"},
		{cur: "1.3.0-rc.1", spec: "minor", want: "1.4.0"},
		{cur: "1.2.3+meta", spec: "patch", want: "1.2.4"},
		{cur: "1.2.3", spec: "1.2.4-rc.1", want: "1.2.4-rc.1"},
		{cur: "1.3.0-rc.1", spec: "1.3.0", want: "1.3.0"},
		{cur: "1.2.3", spec: "2.0.0", want: "2.0.0"},
		{
			cur: "1.2.3", spec: "1.2.2", err: new(*DowngradeError),
			msg: "refusing to downgrade from 1.2.3 to 1.2.2: a version, once published, is never reused; pick a version above 1.2.3 or use patch",
		},
		{
			cur: "1.3.0", spec: "1.3.0-rc.1", err: new(*DowngradeError),
			msg: "refusing to downgrade from 1.3.0 to 1.3.0-rc.1: a version, once published, is never reused; pick a version above 1.3.0 or use patch",
		},
		{cur: "1.2.3", spec: "1.2.3", err: new(*SameVersionError), msg: "version is already 1.2.3; pick a higher version or use patch"},
		{cur: "1.2.3+a", spec: "1.2.3+b", err: new(*SameVersionError), msg: "version is already 1.2.3+a; pick a higher version or use patch"},
		{
			cur: "1.2.3", spec: "Patch", err: new(*InvalidSpecError),
			msg: `invalid bump "Patch": want patch, minor, major or an explicit version X.Y.Z[-prerelease][+build] (e.g. 1.4.2)`,
		},
		{
			cur: "1.2.3", spec: "v1.3.0", err: new(*InvalidSpecError),
			msg: `invalid bump "v1.3.0": want patch, minor, major or an explicit version X.Y.Z[-prerelease][+build] (e.g. 1.4.2)`,
		},
		{
			cur: "1.2." + strconv.FormatUint(math.MaxUint64, 10), spec: "patch", err: new(*OverflowError),
			msg: "cannot bump the patch part of 1.2.18446744073709551615: it is at its maximum; give an explicit version",
		},
		{cur: "1." + strconv.FormatUint(math.MaxUint64, 10) + ".0", spec: "minor", err: new(*OverflowError)},
		{cur: strconv.FormatUint(math.MaxUint64, 10) + ".0.0", spec: "major", err: new(*OverflowError)},
	}
	for _, tt := range tests {
		t.Run(tt.cur+" "+tt.spec, func(t *testing.T) {
			got, err := Next(semver.MustParse(tt.cur), tt.spec)
			if tt.err != nil {
				if err == nil || !errors.As(err, tt.err) {
					t.Fatalf("got %v, %v; want error %T", got, err, tt.err)
				}
				if tt.msg != "" && err.Error() != tt.msg {
					t.Fatalf("message:\n got %s\nwant %s", err, tt.msg)
				}
				return
			}
			if err != nil || got.String() != tt.want {
				t.Fatalf("got %v, %v; want %s", got, err, tt.want)
			}
		})
	}
	var pe *ParseError
	if _, err := Next(semver.MustParse("1.0.0"), "1.2"); !errors.As(err, &pe) {
		t.Errorf("InvalidSpecError does not unwrap to *ParseError: %v", err)
	}
	if _, err := Next(nil, "patch"); !errors.Is(err, ErrNilVersion) {
		t.Errorf("Next(nil) = %v", err)
	}
}

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, content, want, msg string
	}{
		{name: "plain", content: "1.2.3\n", want: "1.2.3"},
		{name: "no newline", content: "1.2.3", want: "1.2.3"},
		{name: "surrounding whitespace", content: "\n  1.2.3-rc.1 \r\n\n", want: "1.2.3-rc.1"},
		{name: "empty", content: " \n", msg: "VERSION:1: version file is empty; write the component's version on one line, e.g. 1.4.2"},
		{name: "invalid", content: "\n\n1.2\n", msg: `VERSION:3: invalid version "1.2": invalid semantic version; want a semantic version X.Y.Z[-prerelease][+build] without a leading v, e.g. 1.4.2 or 2.0.0-rc.1`},
		{name: "comment on the line", content: "1.2.3 # core\n", msg: `VERSION:1: invalid version "1.2.3 # core": invalid characters in version; want a semantic version X.Y.Z[-prerelease][+build] without a leading v, e.g. 1.4.2 or 2.0.0-rc.1`},
		{name: "two lines", content: "1.2.3\n\n1.2.4\n", msg: `VERSION:3: unexpected second line "1.2.4" after the version; keep only the version, on one line, e.g. 1.4.2`},
		{name: "two lines crlf", content: "1.2.3\r\n1\r\n", msg: `VERSION:2: unexpected second line "1" after the version; keep only the version, on one line, e.g. 1.4.2`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, "VERSION")
			if err := os.WriteFile(path, []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			v, err := ReadFile(path)
			if tt.msg != "" {
				var fe *FileError
				if !errors.As(err, &fe) || fe.Path != path {
					t.Fatalf("got %v, %v; want *FileError", v, err)
				}
				if got := err.Error(); got != filepath.Join(dir, tt.msg) {
					t.Fatalf("message:\n got %s\nwant %s", got, filepath.Join(dir, tt.msg))
				}
				return
			}
			if err != nil || v.String() != tt.want {
				t.Fatalf("got %v, %v; want %s", v, err, tt.want)
			}
		})
	}

	missing := filepath.Join(dir, "nope", "VERSION")
	_, err := ReadFile(missing)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: %v, want fs.ErrNotExist", err)
	}
	if want := missing + ": cannot read version file: no such file or directory; create it with the component's version on one line, e.g. 1.4.2"; err.Error() != want {
		t.Errorf("message:\n got %s\nwant %s", err, want)
	}
	var pe *ParseError
	os.WriteFile(filepath.Join(dir, "bad"), []byte("x\n"), 0o644)
	if _, err := ReadFile(filepath.Join(dir, "bad")); !errors.As(err, &pe) {
		t.Errorf("invalid version does not unwrap to *ParseError: %v", err)
	}
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "VERSION")
	if err := os.WriteFile(path, []byte("1.0.0\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(path, semver.MustParse("1.0.1-rc.1")); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	if string(data) != "1.0.1-rc.1\n" {
		t.Errorf("content %q", data)
	}
	info, _ := os.Stat(path)
	if info.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640", info.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary file left behind: %v", entries)
	}

	// A symlinked VERSION stays a symlink; its target is updated.
	link := filepath.Join(dir, "LINK")
	if err := os.Symlink("VERSION", link); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(link, semver.MustParse("2.0.0")); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Lstat(link); fi.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("symlink replaced by a file")
	}
	if data, _ := os.ReadFile(path); string(data) != "2.0.0\n" {
		t.Errorf("target content %q", data)
	}

	fresh := filepath.Join(dir, "NEW")
	if err := WriteFile(fresh, semver.MustParse("0.1.0")); err != nil {
		t.Fatal(err)
	}
	if info, _ := os.Stat(fresh); info.Mode().Perm() != 0o644 {
		t.Errorf("new file mode %v, want 0644", info.Mode().Perm())
	}
	if err := WriteFile(filepath.Join(dir, "missing-dir", "VERSION"), semver.MustParse("0.1.0")); err == nil {
		t.Errorf("writing into a missing directory succeeded")
	}
	if err := WriteFile(fresh, nil); !errors.Is(err, ErrNilVersion) {
		t.Errorf("WriteFile(nil) = %v", err)
	}
}
